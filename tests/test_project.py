"""Project hygiene that CI enforces: the README's commands, style, formatted sources."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import REPO

from pspc.cli import main


def _readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (REPO / "README.md").read_text())


def test_ci_runs_the_readme_test_command():
    test_command = next(c for c in _readme_commands() if "pytest" in c)
    assert test_command in (REPO / ".ci" / "run").read_text().splitlines()


def test_code_passes_ruff():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "pspc", "tests", "bench"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_examples_and_stdlib_are_formatted():
    result = CliRunner().invoke(main, ["fmt", "--check", str(REPO / "examples"),
                                       str(REPO / "stdlib")])
    assert result.exit_code == 0, result.output


def test_python_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "pspc", "--version"], capture_output=True,
                            text=True, check=True)
    assert result.stdout.startswith("pspc, version")


def test_every_target_name_is_a_target_module_that_says_so():
    """`pspc --help` lists targets without importing them; each name is a module whose
    TARGET carries that name (`-` written `_`), and nothing else in pspc.targets declares a
    TARGET."""
    import pkgutil

    import pspc.targets
    from pspc.targets import TARGETS, target

    assert [target(name).name for name in TARGETS] == list(TARGETS)
    modules = {m.name for m in pkgutil.iter_modules(pspc.targets.__path__)}
    declaring = {m for m in modules
                 if hasattr(__import__(f"pspc.targets.{m}", fromlist=["_"]), "TARGET")}
    assert declaring == {name.replace("-", "_") for name in TARGETS}


def test_version_starts_without_the_compiler():
    """Nor Jinja: only the Markdown targets import it, when they render."""
    heavy = "('lark', 'yaml', 'jinja2', 'pspc.targets.psp')"
    code = f"import sys, pspc.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
