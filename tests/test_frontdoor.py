"""One front door: `pspc check` and `pspc build` say the same of the same sources.

Both commands are `pspc.compiler.compile`, so a CI job gated on `pspc check` learns
exactly what `pspc build` would refuse or warn about, for the same targets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, example_dirs

from pspc.cli import main

NOTHING_WRITTEN = "nothing written: fix the errors above\n"

GAPS = {
    # W301 (defaults); W303 where vap enforces
    "w301-w303": ("policy p extends restricted {\n  run as user 1000\n}\n"
                  "bind p to service account kube-system/replicaset-controller\n"),
    # E303: PSP alone cannot enforce an intent beyond PSP
    "e303": ("policy p extends baseline {\n  no pod security standard\n"
             "  allow selinux types container_t\n}\nbind p to all service accounts\n"),
    # W304: PSP alone only approximates a level, which the author chose: not fatal
    "w304": "policy p extends restricted {}\nbind p to all service accounts\n",
}


def _both(args: list[str], tmp_path: Path) -> tuple[str, str, int, int]:
    runner = CliRunner()
    checked = runner.invoke(main, ["check", *args])
    built = runner.invoke(main, ["build", *args, "-o", str(tmp_path / "out")])
    assert checked.exception is None or isinstance(checked.exception, SystemExit)
    assert built.exception is None or isinstance(built.exception, SystemExit)
    return checked.stderr, built.stderr.removesuffix(NOTHING_WRITTEN), checked.exit_code, \
        built.exit_code


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_check_and_build_print_the_same_diagnostics_on_every_example(example, tmp_path,
                                                                     in_repo):
    checked, built, check_code, build_code = _both([str(example.relative_to(REPO))], tmp_path)
    assert checked == built
    assert check_code == build_code == 0


@pytest.mark.parametrize("targets", [(), ("psp", "rbac"), ("psp", "vap"), ("psp", "psa"),
                                     ("gatekeeper",), ("rego",)])
@pytest.mark.parametrize("case", sorted(GAPS))
def test_check_and_build_agree_on_gap_diagnostics(case, targets, tmp_path):
    source = tmp_path / "p.pspc"
    source.write_text(GAPS[case])
    args = [str(source)] + [f"--target={t}" for t in targets]
    checked, built, check_code, build_code = _both(args, tmp_path)
    assert checked == built
    assert check_code == build_code
    codes = {code for code in ("W301", "W303", "W304", "E303") if f"[{code}]" in checked}
    if case == "e303" and targets == ("psp", "rbac"):
        assert codes == {"E303"} and check_code == 1
    if case == "w301-w303" and targets == ():
        assert codes == {"W301", "W303"} and check_code == 0
    if case == "w304" and targets == ("psp", "rbac"):
        assert codes == {"W304"} and check_code == 0


def test_discovery_skips_pspc_output_folders_below_a_folder(tmp_path):
    """`pspc eval .` in a repository whose outputs/ lies inside reads the workloads, not the
    PSPs pspc generated there (a folder holding a .pspc-manifest is pspc's output)."""
    from pspc.compiler import discover

    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text("kind: Pod\n")
    out = tmp_path / "outputs" / "psp"
    out.mkdir(parents=True)
    (out / "web.yaml").write_text("kind: PodSecurityPolicy\n")
    assert [p.name for p in discover([str(tmp_path)], (".yaml",))] == ["web.yaml", "web.yaml"]
    (tmp_path / "outputs" / ".pspc-manifest").write_text("psp/web.yaml\n")
    assert discover([str(tmp_path)], (".yaml",)) == [tmp_path / "apps" / "web.yaml"]
    # named explicitly, the output folder is read
    assert discover([str(tmp_path / "outputs")], (".yaml",)) == [out / "web.yaml"]
