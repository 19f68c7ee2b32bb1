"""The seed scenarios' PodSecurityPolicies come out of pspc exactly (semantically)."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import OUTPUTS, REPO
from psp_semantics import normal_spec, profiles

SEED_PSPS = yaml.safe_load((REPO / "tests" / "fixtures" / "seed-psps.yaml").read_text())


def _emitted(example: str, name: str) -> dict:
    return yaml.safe_load((OUTPUTS / example / "psp" / f"{name}.yaml").read_text())


@pytest.mark.parametrize("entry", SEED_PSPS,
                         ids=[f"{e['seed']}-{e['psp']['metadata']['name']}" for e in SEED_PSPS])
def test_emitted_psp_equals_the_seed(entry):
    seed = entry["psp"]
    emitted = _emitted(entry["example"], seed["metadata"]["name"])
    assert normal_spec(emitted["spec"]) == normal_spec(seed["spec"])
    assert profiles(emitted) == profiles(seed)


_YAML_LINE = re.compile(r"^(\s|-|#|[\w.-]+:|$)")


def _seed_psp_blocks(text: str) -> dict[str, dict]:
    """The PodSecurityPolicy documents quoted in a seed (the first definition of a name).

    A quoted document starts at `apiVersion: policy/v1beta1` and ends at the first line
    that cannot be YAML (prose, a code fence, a heredoc's EOF).
    """
    found: dict[str, dict] = {}
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line != "apiVersion: policy/v1beta1":
            continue
        end = start + 1
        while end < len(lines) and _YAML_LINE.match(lines[end]) and lines[end] != "---":
            end += 1
        doc = yaml.safe_load("\n".join(lines[start:end]))
        if doc.get("kind") == "PodSecurityPolicy":
            found.setdefault(doc["metadata"]["name"], doc)
    return found


@pytest.mark.parametrize("seed", ["000", "001"])
def test_transcription_matches_the_seed_text(shared, seed):
    path = next((shared / "seeds").glob(f"{seed}_*.txt"))
    quoted = _seed_psp_blocks(path.read_text())
    transcribed = [e["psp"] for e in SEED_PSPS if e["seed"] == seed]
    assert {p["metadata"]["name"] for p in transcribed} <= set(quoted)
    for psp in transcribed:
        original = quoted[psp["metadata"]["name"]]
        assert normal_spec(original["spec"]) == normal_spec(psp["spec"])
        assert profiles(original) == profiles(psp)
