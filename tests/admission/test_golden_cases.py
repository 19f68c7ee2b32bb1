"""The 115 golden PSP admission cases, produced by the real upstream plugin
(docs/psp-admission.md#golden-cases)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pspc.admission import AdmissionResult, AllowAll, GrantList, Identity, PodSecurityPolicyPlugin
from pspc.admission.fielderrors import render_list

SHARED = Path(os.environ.get("PSPC_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
GOLDEN = SHARED / "spec" / "psp-admission-golden.json"


def golden_cases() -> list:
    """One pytest param per golden case, or a single skipped param without the file."""
    if not GOLDEN.is_file():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(reason=f"{GOLDEN} is absent (set PSPC_SHARED)"),
                id="golden-file-absent",
            )
        ]
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


def _slim(pod: dict) -> dict:
    """The golden file's `resultingFields` view of an admitted pod."""
    spec = pod["spec"]
    view = {
        "annotations": pod["metadata"].get("annotations", {}),
        "securityContext": spec.get("securityContext"),
    }
    if "runtimeClassName" in spec:
        view["runtimeClassName"] = spec["runtimeClassName"]
    for key, name in (
        ("initContainers", "initContainerSC"),
        ("containers", "containerSC"),
        ("ephemeralContainers", "ephemeralContainerSC"),
    ):
        if spec.get(key) or key == "containers":
            view[name] = [c.get("securityContext") for c in spec.get(key) or ()]
    return view


def _acceptable_messages(message: str, policy_errors: list) -> set[str]:
    """Every message Go could print: per-policy blocks concatenated in any order
    (docs/psp-admission.md#error-aggregation)."""
    if "no providers available" in message:
        return {message}
    blocks = [errors for _, errors in policy_errors]
    ours = render_list([error for block in blocks for error in block])
    assert message.endswith(ours)
    head = message[: -len(ours)]
    return {
        head + render_list([error for block in order for error in block])
        for order in itertools.permutations(blocks)
    }


def check_golden_case(case: dict, reviewer: Callable) -> AdmissionResult:
    """Review `case` with `reviewer(psps, authorizer)`, check the result against the expected
    outputs and return it. `reviewer` builds anything with the plugin's `review` signature.
    """
    authorization = case["authorization"]
    authorizer = AllowAll() if authorization["allowAll"] else GrantList(authorization["useGrants"])
    result = reviewer(case["psps"], authorizer).review(
        case["operation"],
        case["pod"],
        user=Identity(case["user"]["name"], case["user"]["groups"]),
        namespace=case["namespace"],
        old_pod=case.get("oldPod"),
    )
    expect = case["expect"]

    assert result.allowed is expect["admitted"]
    assert result.rejected_in == expect["rejectedIn"]
    if expect["error"] is None:
        assert result.message is None
    else:
        assert expect["error"] in _acceptable_messages(result.message, result.policy_errors)
    if not result.allowed:
        assert result.pod is None
        assert expect["resultingFields"] is None
        return result
    annotation = result.pod["metadata"]["annotations"].get("kubernetes.io/psp")
    assert annotation == expect["pspAnnotationAfter"]
    if case["operation"] == "CREATE":
        assert result.policy == expect["pspAnnotationAfter"]
    assert _slim(result.pod) == expect["resultingFields"]
    return result


@pytest.mark.parametrize("case", golden_cases())
def test_golden_case(case: dict) -> None:
    check_golden_case(case, PodSecurityPolicyPlugin)
