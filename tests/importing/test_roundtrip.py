"""Import is lossless: for every PodSecurityPolicy of the seeds, of the stdlib and example
outputs, and of a generated corpus over the whole spec, `import` then `build` gives a
semantically equal PodSecurityPolicy (same spec after normalisation, same annotations),
and importing that output gives the same source text again. Derandomized and bounded."""

from __future__ import annotations

import pytest
import yaml
from conftest import OUTPUTS, REPO
from hypothesis import HealthCheck, given, settings

from .helpers import assert_round_trip, build, import_docs, import_text
from .strategies import api_valid_psps, representable_psps

SETTINGS = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
SEED_PSPS = [e["psp"] for e in yaml.safe_load(
    (REPO / "tests" / "fixtures" / "seed-psps.yaml").read_text())]
OUTPUT_PSPS = sorted(p for p in OUTPUTS.glob("**/psp/*.yaml") if p.name != "kustomization.yaml")
STDLIB = {p.name: p.read_text() for p in sorted((REPO / "stdlib").glob("*.pspc"))}
FIXTURES = sorted((REPO / "tests" / "fixtures" / "imports").glob("*.yaml"))


@pytest.mark.parametrize("psp", SEED_PSPS, ids=lambda p: p["metadata"]["name"])
def test_seed_policies(psp):
    assert_round_trip(psp)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_seed_fixtures_with_their_rbac(fixture):
    imported, diags = import_text(fixture.read_text(), path=fixture.name)
    assert imported and not diags.has_errors
    built = build({item.path: item.text for item in imported})
    again, diags = import_docs(*built)
    assert not diags.has_errors
    assert [i.text for i in again] == [i.text for i in imported]
    for psp in yaml.safe_load_all(fixture.read_text()):
        if psp and psp["kind"] == "PodSecurityPolicy":
            assert_round_trip(psp)


def test_stdlib_outputs():
    psps = [o for o in build(STDLIB) if o["kind"] == "PodSecurityPolicy"]
    assert sorted(p["metadata"]["name"] for p in psps) == ["baseline", "privileged",
                                                            "restricted"]
    for psp in psps:
        text = assert_round_trip(psp)
        name = psp["metadata"]["name"]
        assert text.startswith(f"policy {name} extends {name} {{\n  description ")


@pytest.mark.parametrize("path", OUTPUT_PSPS, ids=lambda p: f"{p.parts[-3]}/{p.stem}")
def test_example_outputs(path):
    assert_round_trip(yaml.safe_load(path.read_text()))


@settings(SETTINGS, max_examples=300)
@given(representable_psps())
def test_generated_corpus_round_trips(psp):
    assert_round_trip(psp)


@settings(SETTINGS, max_examples=40)
@given(representable_psps())
def test_generated_corpus_round_trips_through_yaml(psp):
    assert_round_trip(psp, via_yaml=True)


@SETTINGS
@given(api_valid_psps())
def test_odd_but_valid_policies_round_trip(case):
    psp, _ = case
    assert_round_trip(psp)
