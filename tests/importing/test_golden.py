"""Golden imports: `pspc import tests/fixtures/imports/<x>.yaml -o tests/golden/imports/<x>`
reproduces the golden sources byte for byte (and, with --include-wildcard-bindings,
`<x>-wildcard`). Regenerate after a reviewed change with the command in README.md
(Importing existing PSPs)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import REPO, tree

from pspc.importing.command import import_command

from .helpers import build

FIXTURES = REPO / "tests" / "fixtures" / "imports"
GOLDEN = REPO / "tests" / "golden" / "imports"
WILDCARD = ("seed-001-psp-by-example",)
CASES = {**{p.stem: (p, []) for p in sorted(FIXTURES.glob("*.yaml"))},
         **{f"{name}-wildcard": (FIXTURES / f"{name}.yaml", ["--include-wildcard-bindings"])
            for name in WILDCARD}}


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_reproduces_golden_sources(in_repo, tmp_path, name):
    fixture, flags = CASES[name]
    result = CliRunner().invoke(import_command, [str(fixture.relative_to(REPO)), *flags,
                                                 "-o", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    assert tree(tmp_path / name) == tree(GOLDEN / name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_sources_are_current(in_repo, name):
    fixture, flags = CASES[name]
    result = CliRunner().invoke(import_command, [str(fixture.relative_to(REPO)), *flags,
                                                 "-o", f"tests/golden/imports/{name}",
                                                 "--check"])
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.output


def test_every_golden_folder_has_a_case():
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(CASES)


def test_golden_sources_build():
    for folder in sorted(GOLDEN.iterdir()):
        objects = build({p.name: p.read_text() for p in folder.glob("*.pspc")})
        assert any(o["kind"] == "PodSecurityPolicy" for o in objects)


def test_check_reports_a_stale_import_without_writing(tmp_path):
    fixture = FIXTURES / "seed-000-metakube.yaml"
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(import_command, [str(fixture), "-o", str(out)]).exit_code == 0
    source = out / "psp-restricted.pspc"
    source.write_text(source.read_text().replace("runtime/default", "docker/default"))
    before = tree(out)
    result = runner.invoke(import_command, [str(fixture), "-o", str(out), "--check"])
    assert result.exit_code == 1
    assert "-  default seccomp profile docker/default\n+  default seccomp profile " \
        "runtime/default\n" in result.output
    assert tree(out) == before
    assert runner.invoke(import_command, [str(fixture), "-o", str(out)]).exit_code == 0
    assert "default seccomp profile runtime/default" in source.read_text()
