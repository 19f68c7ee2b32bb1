"""The MutatingAdmissionPolicy output against the PodSecurityPolicy simulator, differentially.

The generated cases of tests/validation/test_selection.py (seeded repositories of 2-6
policies from the stdlib, the examples and the intent policies, with random bindings; the
corpus pods, created by users or by controllers). For each request the simulator
(pspc/admission, the reference) decides; the MAP's CEL is evaluated in cel-expr-python and
its apply configuration applied (tests/mutation/apply.py), then:

* a pod PSP admits after mutating it: the MAP yields the same pod, field by field; and the
  validating CEL then gives the contract's verdict on it (admitted, unless an intent beyond
  PSP or a stated level rejects it);
* a pod PSP admits unchanged: the MAP changes nothing;
* where PSP picks a later policy than the MAP can (pspc.mutation.choice: the first usable
  policy with defaults to apply rejects the pod anyway), the case is counted as the known
  difference, and only there.
"""

from __future__ import annotations

import random

import pytest
from validation.test_selection import SEED, _pods, _pool, _repo, _request

from pspc.admission import Identity
from pspc.admission.pod import default_pod
from pspc.analysis import Analysis
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.engines.validating import ContractOracle, with_apparmor_annotations
from pspc.model import ir
from pspc.mutation.defaults import defaults
from pspc.targets import map as map_target
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.validation.selection import cel_identifiers
from pspc.workloads import PodRequest

pytest.importorskip("cel_expr_python", reason="cel-expr-python runs the CEL")

from pspc.engines.validators import Requester, SelectionCelEngine  # noqa: E402

from .apply import MutatingPolicy, comparable  # noqa: E402

REPOS = 130
CASES_PER_REPO = 80


class Outputs:
    def __init__(self, policies: list[ir.Policy]) -> None:
        self.policies = policies
        analysis = Analysis(ir.Program(tuple(policies), {}))
        defaulting = sorted((d for d in (defaults(p) for p in policies) if d),
                            key=lambda d: d.policy)
        self.psp = PspEngine([manifest(p) for p in policies],
                             [d for p in policies for d in rbac_manifests(p)]
                             + list(BOOTSTRAP_RBAC), PspOptions())
        self.oracle = ContractOracle(policies)
        self.cel = SelectionCelEngine(analysis, Requester("", ()), runtime="cel-expr-python")
        self.map = MutatingPolicy(map_target.policy_object(
            analysis, "admissionregistration.k8s.io/v1", defaulting)) if defaulting else None

    def mutate(self, request: PodRequest) -> tuple[dict, str]:
        pod = default_pod(request.pod)
        if self.map is None:
            return pod, ""
        return self.map.apply(pod, _review(request))

    def admits_own_defaults(self, chosen: str, pod: dict, request: PodRequest) -> bool:
        """Does the chosen policy admit the pod its defaults made?"""
        ident = cel_identifiers(self.policies)[chosen]
        return bool(self.map.evaluate(pod, _review(request)).get(f"admitted_by_{ident}"))


def _review(request: PodRequest) -> dict:
    return {"namespace": request.namespace, "operation": "CREATE",
            "userInfo": {"username": request.requester,
                         "groups": list(request.requester_groups)}}


def test_the_map_mutates_as_psp_does():
    rng = random.Random(SEED)
    pool, pods = _pool(), _pods()
    counts = {"mutated": 0, "unchanged": 0, "rejected": 0, "later policy (W306)": 0,
              "beyond PSP": 0,
              "rejected, admitted after the MAP": 0}
    mismatches: list[str] = []
    for index in range(REPOS):
        outputs = Outputs(_repo(rng, pool, index))
        for _ in range(CASES_PER_REPO):
            request = _request(rng, pods)
            verdict = outputs.psp.pipeline.review("CREATE", request.pod, user=Identity(
                request.requester, request.requester_groups), namespace=request.namespace)
            got, chosen = outputs.mutate(request)
            where = (f"{[p.name for p in outputs.policies]} {request.requester} "
                     f"{request.namespace}/{request.pod['metadata'].get('name')}")
            if not verdict.allowed:
                counts["rejected"] += 1
                after = PodRequest(with_apparmor_annotations(got), request.namespace,
                                   request.requester, request.requester_groups)
                if outputs.cel.evaluate(after).allowed and outputs.oracle.expected(after):
                    # another policy admits what the chosen one's defaults made
                    key = ("later policy (W306)" if chosen and not outputs.admits_own_defaults(
                        chosen, got, request) else "rejected, admitted after the MAP")
                    counts[key] += 1
                continue
            original = default_pod(request.pod)
            if not outputs.oracle.expected(request) and not verdict.mutated:
                # PSP admits it unchanged, the contract does not (an intent beyond PSP, or a
                # stated level): the validating outputs reject it, with or without defaults
                counts["beyond PSP"] += 1
                continue
            if not verdict.mutated:
                counts["unchanged"] += 1
                if comparable(got, original, psp=False) == comparable(original, original,
                                                                       psp=False):
                    continue
                if chosen and not outputs.admits_own_defaults(chosen, got, request):
                    counts["later policy (W306)"] += 1
                else:
                    mismatches.append(f"changed a pod PSP admits unchanged: {where}: {got}")
                continue
            counts["mutated"] += 1
            simulated = verdict.pod
            if comparable(got, original, psp=False) != comparable(simulated, request.pod,
                                                                   psp=True):
                if chosen and chosen < verdict.policy and not outputs.admits_own_defaults(
                        chosen, got, request):
                    # the MAP's choice rejects the pod even after its defaults; PSP went on
                    counts["later policy (W306)"] += 1
                    continue
                mismatches.append(f"{where} ({verdict.policy}): got "
                                  f"{comparable(got, original, psp=False)}, PSP "
                                  f"{comparable(simulated, request.pod, psp=True)}")
                continue
            after = PodRequest(with_apparmor_annotations(got), request.namespace,
                               request.requester, request.requester_groups)
            if outputs.cel.evaluate(after).allowed != outputs.oracle.expected(after):
                mismatches.append(f"validating CEL after the MAP: {where}")
    print(f"\nMAP differential: {counts}; {len(mismatches)} mismatches")
    for m in mismatches[:6]:
        print("MISMATCH", m[:1500])
    assert mismatches[:5] == []
    assert counts["rejected, admitted after the MAP"] == 0
    assert counts["mutated"] > 500 and counts["unchanged"] > 500

