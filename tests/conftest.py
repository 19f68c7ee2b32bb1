"""Shared test set-up: where the repository, its examples and ../shared live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
OUTPUTS = REPO / "outputs"
SHARED = Path(os.environ.get("PSPC_SHARED", REPO.parent / "shared"))


def example_dirs() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir())


@pytest.fixture
def shared() -> Path:
    """../shared (CI has it beside the checkout); tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared specs and fixtures live beside the checkout")
    return SHARED


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository as working directory, as the documented commands do."""
    monkeypatch.chdir(REPO)
    return REPO


def run(*args: str):
    """`pspc ARGS` in this process (click's runner), as the CLI tests call it."""
    from click.testing import CliRunner

    from pspc.cli import main

    return CliRunner().invoke(main, list(args))


def tree(root: Path) -> dict[str, bytes]:
    """Every file below `root`, by its POSIX path relative to `root`, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
