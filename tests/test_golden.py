"""Golden outputs: `pspc build examples/<x> -o outputs/<x>` reproduces outputs/ byte for byte.

Regenerate after a reviewed change with the command in README.md (Golden outputs).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import OUTPUTS, example_dirs, tree

from pspc.cli import main


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_build_reproduces_golden_outputs(in_repo, tmp_path, example):
    out = tmp_path / example.name
    result = CliRunner().invoke(main, ["build", f"examples/{example.name}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert tree(out) == tree(OUTPUTS / example.name)


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_golden_outputs_are_current(in_repo, example):
    result = CliRunner().invoke(main, ["build", f"examples/{example.name}", "-o",
                                       f"outputs/{example.name}", "--check"])
    assert result.exit_code == 0, result.output


def test_every_example_has_golden_outputs():
    assert sorted(p.name for p in OUTPUTS.iterdir()) == [p.name for p in example_dirs()]
