"""The PSS model against every upstream pod-security-admission fixture.

Each fixture is `<level>/<version>/<pass|fail>/<name>.yaml`; `evaluate_pod` must allow the
pass pods and deny the fail pods at that level and version. The fixtures live in
`../shared/conformance/psa` beside the checkout (or `$PSPC_SHARED/conformance/psa`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pspc.pss import evaluate_pod, known_versions

SHARED = Path(os.environ.get("PSPC_SHARED",
                             Path(__file__).resolve().parents[2].parent / "shared"))
FIXTURES = SHARED / "conformance" / "psa"
TOTAL = 4537  # the corpus README's count


@pytest.fixture(scope="module")
def fixtures() -> list[tuple[Path, dict]]:
    """Every fixture with its pod, parsed once for the whole module."""
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent: the PSA conformance fixtures live in ../shared "
                    "beside the checkout (set PSPC_SHARED to point elsewhere)")
    return [(path, yaml.safe_load(path.read_text(encoding="utf-8")))
            for path in sorted(FIXTURES.glob("*/*/*/*.yaml"))]


def test_every_fixture_gets_its_verdict(fixtures: list[tuple[Path, dict]]) -> None:
    misses = []
    for path, pod in fixtures:
        level, version, outcome = path.parts[-4:-1]
        reasons = evaluate_pod(pod, level, version)
        if (not reasons) != (outcome == "pass"):
            misses.append(f"{path.relative_to(FIXTURES)}: {reasons or 'allowed'}")
    agreed = len(fixtures) - len(misses)
    print(f"PSA conformance: {agreed}/{len(fixtures)} fixtures agree")
    for miss in misses:
        print("  miss:", miss)
    assert len(fixtures) == TOTAL
    assert not misses


def test_the_fixtures_cover_every_known_version(fixtures: list[tuple[Path, dict]]) -> None:
    on_disk = {path.parts[-3] for path, _ in fixtures}
    assert on_disk == set(known_versions()) - {"latest"}


def test_fail_fixtures_fail_for_the_check_they_name(
        fixtures: list[tuple[Path, dict]]) -> None:
    """The reason names the fixture's check, or the restricted check that overrides it."""
    reason_of = {
        "privileged": "privileged", "hostnamespaces": "host namespaces", "hostports": "hostPort",
        "hostpathvolumes": "hostPath volumes", "capabilities_baseline": "non-default capabilities",
        "apparmorprofile": "forbidden AppArmor profile", "selinuxoptions": "seLinuxOptions",
        "procmount": "procMount", "seccompprofile_baseline": "seccompProfile",
        "sysctls": "forbidden sysctls", "windowshostprocess": "hostProcess",
        "hostprobesandhostlifecycle": "probe or lifecycle host",
        "restrictedvolumes": "restricted volume types", "runasnonroot": "runAsNonRoot != true",
        "runasuser": "runAsUser=0", "allowprivilegeescalation": "allowPrivilegeEscalation != false",
        "capabilities_restricted": "unrestricted capabilities",
        "seccompprofile_restricted": "seccompProfile", "procmount_restricted": "procMount",
    }
    for path, pod in fixtures:
        level, version, outcome = path.parts[-4:-1]
        if outcome != "fail":
            continue
        check = path.stem.rstrip("0123456789")
        expected = reason_of[check]
        if level == "restricted" and check == "hostpathvolumes":
            expected = "restricted volume types"  # restrictedVolumes overrides it
        if level == "restricted" and check == "capabilities_baseline" and \
                int(version.split(".")[1]) >= 22:
            expected = "unrestricted capabilities"  # capabilities_restricted overrides it
        reasons = evaluate_pod(pod, level, version)
        assert any(r.startswith(expected + " (") for r in reasons), (path, reasons)
