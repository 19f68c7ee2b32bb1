"""The package layering: each part of pspc imports only the parts below it.

Read from the source (imports under `if TYPE_CHECKING:` are for annotations only and do
not count), so a new import that climbs a layer, or closes a loop, fails here with the
module and line that added it. Each package must also import alone, in a fresh
interpreter: an import loop hidden behind a lazy import shows up there.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pspc"

# What each part may import (besides itself). The admission simulator is an independent
# oracle: it shares nothing with the compiler but Go's quoting.
LEAVES = {"diagnostics", "diagnostic_codes", "vocabulary", "gostrings", "resources", "coverage",
          "apitypes", "profiles"}
ALLOWED: dict[str, set[str]] = {
    "admission": {"gostrings"},
    "syntax": {"diagnostics", "resources"},
    "model": {"syntax", *LEAVES},
    "pss": {"model", *LEAVES},
    "validation": {"model", "analysis", "pss", "workloads", *LEAVES},
    "analysis": {"model", "pss", "validation", *LEAVES},
    "mutation": {"model", "validation", *LEAVES},
    "targets": {"analysis", "model", "mutation", "pss", "validation", "output", *LEAVES},
    "config": {*LEAVES},
    "compiler": {"analysis", "config", "model", "pss", "syntax", "targets", "output", *LEAVES},
    "output": {"targets", *LEAVES},
    "workloads": {*LEAVES},
    "manifests": {"workloads", *LEAVES},
    "formatter": {"model", "syntax", *LEAVES},
    "engines": {"admission", "analysis", "model", "pss", "targets", "validation", "workloads",
                *LEAVES},
    "importing": {"compiler", "formatter", "manifests", "model", "syntax", "targets", "output",
                  "admission", *LEAVES},
    "evaluation": {"analysis", "compiler", "engines", "manifests", "model", "pss", "targets",
                   "workloads", *LEAVES},
    "migrating": {"analysis", "compiler", "engines", "importing", "manifests", "model", "pss",
                  "targets", "workloads", *LEAVES},
    "cli": {"admission", "compiler", "engines", "evaluation", "formatter", "manifests", "model",
            "output", "pss", "syntax", "targets", "importing", "migrating", *LEAVES},
}


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "pspc" or len(parts) == 1 or parts[1].startswith("__"):
        return None  # not pspc's, or pspc's own metadata (__version__)
    return parts[1]


def _runtime_imports(tree: ast.AST):
    """(line, module) of every import not guarded by `if TYPE_CHECKING:`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from pspc import vocabulary`
                if node.module == "pspc":
                    yield node.lineno, f"pspc.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__main__.py",))


def test_every_part_imports_only_the_parts_below_it():
    climbing = []
    for path in _modules():
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        allowed = ALLOWED.get(part, LEAVES) | {part}
        for line, module in _runtime_imports(ast.parse(path.read_text(), str(path))):
            target = _part(module)
            if target is not None and target not in allowed:
                climbing.append(f"pspc/{relative}:{line} imports {module}")
    assert climbing == []


def test_the_admission_simulator_is_an_independent_oracle():
    """Nothing in the compiler path reads the simulator: only engines, import, eval, cli."""
    users = set()
    for path in _modules():
        for _, module in _runtime_imports(ast.parse(path.read_text())):
            if _part(module) == "admission":
                users.add(path.relative_to(PACKAGE).parts[0].removesuffix(".py"))
    assert users <= {"admission", "engines", "importing", "evaluation", "cli"}


@pytest.mark.parametrize("package", sorted(
    p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()))
def test_each_package_imports_alone(package: str):
    modules = [f"pspc.{package}." + p.stem for p in sorted((PACKAGE / package).glob("*.py"))
               if p.stem != "__init__"]
    for module in [f"pspc.{package}", *modules]:
        result = subprocess.run([sys.executable, "-c", f"import {module}"],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{module}: {result.stderr[-800:]}"
