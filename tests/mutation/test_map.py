"""The MutatingAdmissionPolicy output against the PodSecurityPolicy simulator, differentially.

The generated cases of tests/validation/test_selection.py (seeded repositories of 2-6
policies from the stdlib, the examples and the intent policies, with random bindings; the
corpus pods and the Kubernetes PSA fixtures, created by users or by controllers). The
reference (`Outputs.reference`) is PSP's choice of policy and PSP's mutation, from the
simulator's providers (pspc/admission), with the contract's admission (intents beyond PSP
and levels, docs/equivalence.md); where a repository has no such intent, it is checked to
be the simulator's answer. The MAP's CEL is evaluated in cel-expr-python and its apply
configuration applied (tests/mutation/apply.py), then:

* a pod the reference admits after mutating it: the MAP yields the same pod, field by field;
* a pod it admits unchanged: the MAP changes nothing;
* either way the validating CEL then gives the contract's verdict on the MAP's pod, and a
  pod the reference rejects is not admitted after the MAP;
* where the MAP's choice rejects the pod even after its own defaults and PSP went on to a
  later policy (W307), the case is counted as that known difference, and only there.
"""

from __future__ import annotations

import random

import pytest
from validation.test_differential import _psa_fixtures
from validation.test_selection import SEED, _pods, _pool, _repo, _request

from pspc import vocabulary as voc
from pspc.admission import Identity
from pspc.admission.pod import default_pod, seccomp_annotation_for_field
from pspc.admission.provider import Provider
from pspc.admission.strategies import ProviderError
from pspc.analysis import Analysis
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.engines.validating import ContractOracle, with_apparmor_annotations
from pspc.model import ir
from pspc.mutation.defaults import defaults
from pspc.targets import map as map_target
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.validation.selection import cel_identifiers
from pspc.workloads import PodRequest, pod_request

pytest.importorskip("cel_expr_python", reason="cel-expr-python runs the CEL")

from pspc.engines.validators import Requester, SelectionCelEngine  # noqa: E402

from .apply import MutatingPolicy, as_fields, comparable  # noqa: E402

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
        self.providers = {}
        for policy in policies:
            try:
                self.providers[policy.name] = Provider(manifest(policy))
            except ProviderError:
                continue  # admission skips it (docs/psp-admission.md#unusable-policies)
        self.beyond_psp = any(p.pod_security_standard or any(
            getattr(p, f) for f in ir.BEYOND_PSP) for p in policies)
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
        return self.map.evaluate(pod, _review(request)).get(f"violations_{ident}") == []

    def reference(self, request: PodRequest) -> tuple[str | None, dict, bool]:
        """PSP's choice with the contract's admission: the usable policies in name order,
        each mutating the pod as its PSP does (pspc/admission's providers); the first that
        admits the pod unchanged wins (none does when PSP mirrors the pod's seccomp
        field into the annotation: a change), else the first that admits it after its
        defaults; a policy admits when its PSP does and the pod meets its intents beyond
        PSP or its level (ContractOracle), judged on the pod as the mutating targets
        write it (seccomp and AppArmor as fields, which a level reads). Returns (policy,
        pod, changed by more than the seccomp mirror); for repositories without intents
        beyond PSP, this is the simulator's answer (checked in the test).
        """
        pod = default_pod(request.pod)
        field = (pod["spec"].get("securityContext") or {}).get("seccompProfile")
        mirrored = bool(field and seccomp_annotation_for_field(field) and not (
            pod.get("metadata", {}).get("annotations") or {}).get(voc.SECCOMP_POD))
        fallback = None
        for policy in sorted(self.oracle.usable(request), key=lambda p: p.name):
            provider = self.providers.get(policy.name)
            if provider is None:
                continue
            if not mirrored and self.oracle.admits_unchanged(policy, request):
                return policy.name, pod, False
            mutated, changed = provider.mutate(pod)
            after = PodRequest(as_fields(mutated, pod), request.namespace, request.requester,
                               request.requester_groups)
            if not self.oracle.admits_unchanged(policy, after):
                continue
            if not changed:
                return policy.name, pod, False
            if fallback is None:
                fallback = (policy.name, mutated)
        if fallback is None:
            return None, pod, False
        name, mutated = fallback
        return name, mutated, comparable(mutated, pod, psp=True) != comparable(pod, pod,
                                                                                psp=True)


def _review(request: PodRequest) -> dict:
    return {"namespace": request.namespace, "operation": "CREATE",
            "userInfo": {"username": request.requester,
                         "groups": list(request.requester_groups)}}


def test_the_map_mutates_as_psp_does():
    rng = random.Random(SEED)
    pool = _pool()
    pods = _pods() + [pod_request(doc, "default").pod for _, doc in _psa_fixtures()]
    counts = {"mutated": 0, "unchanged": 0, "rejected": 0, "later policy (W307)": 0,
              "simulator agrees": 0}
    mismatches: list[str] = []
    for index in range(REPOS):
        outputs = Outputs(_repo(rng, pool, index))
        for _ in range(CASES_PER_REPO):
            request = _request(rng, pods)
            chosen, expected, mutated = outputs.reference(request)
            got, map_chosen = outputs.mutate(request)
            where = (f"{[p.name for p in outputs.policies]} {request.requester} "
                     f"{request.namespace}/{request.pod['metadata'].get('name')}")
            if not outputs.beyond_psp:
                # without intents beyond PSP the reference is the simulator itself
                verdict = outputs.psp.pipeline.review("CREATE", request.pod, user=Identity(
                    request.requester, request.requester_groups), namespace=request.namespace)
                assert (verdict.allowed, verdict.policy if verdict.allowed else None) == (
                    chosen is not None, chosen), where
                if verdict.allowed:
                    assert comparable(verdict.pod, request.pod, psp=True) == comparable(
                        expected, request.pod, psp=True), where
                counts["simulator agrees"] += 1
            original = default_pod(request.pod)
            after = PodRequest(with_apparmor_annotations(got), request.namespace,
                               request.requester, request.requester_groups)
            same = comparable(got, original, psp=False) == comparable(
                expected, request.pod, psp=True)
            admitted = outputs.cel.evaluate(after).allowed
            if chosen is None:
                counts["rejected"] += 1
                if not admitted:
                    continue
            else:
                counts["mutated" if mutated else "unchanged"] += 1
                if same and admitted == outputs.oracle.expected(after):
                    continue
            if map_chosen and map_chosen != chosen and not outputs.admits_own_defaults(
                    map_chosen, got, request):
                # the MAP's choice rejects the pod even after its defaults; PSP went on
                counts["later policy (W307)"] += 1
                continue
            mismatches.append(f"{where} (PSP {chosen}, MAP {map_chosen}): got "
                              f"{comparable(got, original, psp=False)}, expected "
                              f"{comparable(expected, request.pod, psp=True)}")
    print(f"\nMAP differential: {counts}; {len(mismatches)} mismatches")
    for m in mismatches[:6]:
        print("MISMATCH", m[:1500])
    assert mismatches[:5] == []
    assert counts["mutated"] > 1000 and counts["unchanged"] > 1000
    assert counts["simulator agrees"] > 1000
