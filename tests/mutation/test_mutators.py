"""The Gatekeeper and Kyverno mutation outputs against the PodSecurityPolicy simulator.

Those mechanisms match namespaces, not who may use a policy (pspc.mutation.coverage), so
PSP's choice among policies is not theirs to follow: each policy with defaults of the pool
(stdlib, examples, intent policies) is judged alone, bound cluster-wide to every
authenticated user and service account, over the corpus pods created by users and
controllers (tests/validation/test_selection.py). Their objects run in the interpreters of
tests/mutation/mutators.py. For every pod PSP admits after mutating it, the mutated pod is
PSP's, field by field (tests/mutation/apply.py `comparable`); for every pod PSP admits
unchanged (among them each pod PSP made, sent again), nothing changes; except, for
Gatekeeper, where the pod sets a field its pathTests cannot see (the pod-level runAsUser,
runAsGroup, runAsNonRoot or AppArmor field, the seccomp annotation) or drops a capability
the policy adds by default: the limits coverage declares and W308 reports, counted here.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from validation.test_selection import SEED, _pods, _pool, _request

from pspc.admission import Identity
from pspc.admission.pod import default_pod
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.model import ir
from pspc.mutation.coverage import limits
from pspc.mutation.defaults import defaults
from pspc.targets.gatekeeper_mutation import mutators
from pspc.targets.kyverno_mutation import cluster_policy
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.validation.expr import Any, Has, In, Items, Lit, Var, or_
from pspc.validation.interpret import holds
from pspc.validation.requirements import SC

from .apply import comparable
from .mutators import gatekeeper, kyverno

pytest.importorskip("jmespath", reason="jmespath evaluates Kyverno's variables")

CASES = 60
EVERYONE = (ir.Subject("Group", "system:authenticated"),
            ir.Subject("Group", "system:serviceaccounts"))


def _alone(policy: ir.Policy) -> ir.Policy:
    return replace(policy, bindings=tuple(ir.Binding(s, None) for s in EVERYONE))


def _beyond_gatekeeper(policy: ir.Policy, pod: dict) -> bool:
    """Does the pod set a field a Gatekeeper pathTest cannot see, or drop a capability the
    policy adds by default?"""
    found = defaults(policy)
    spec = pod.get("spec") or {}
    containers = [c for key in ("initContainers", "containers", "ephemeralContainers")
                  for c in spec.get(key) or ()]
    for default in (*found.pod, *found.container):
        if limits("gatekeeper-mutation", default):
            test = or_(*(Has(u) for u in default.unless))
            envs = [{"obj": pod, "spec": spec, "c": c} for c in containers] or [
                {"obj": pod, "spec": spec, "c": {}}]
            if any(holds(test, env) for env in envs):
                return True
    caps = found.capabilities
    if caps and caps.add:
        cap = Var("cap")
        dropped = Any(cap, Lit(list(caps.add)), In(cap, Items(SC / "capabilities" / "drop")))
        return any(holds(dropped, {"c": c}) for c in containers)
    return False


@pytest.mark.parametrize("mechanism", ["gatekeeper", "kyverno"])
def test_the_mutators_fill_in_what_psp_does(mechanism):
    rng = random.Random(SEED)
    pool = [_alone(p) for p in _pool() if defaults(p)]
    pods = _pods()
    counts = {"policies": len(pool), "mutated": 0, "unchanged": 0, "documented limit": 0}
    mismatches = []
    for policy in pool:
        psp = PspEngine([manifest(policy)], rbac_manifests(policy) + list(BOOTSTRAP_RBAC),
                        PspOptions())
        objects = (mutators((policy,), policy) if mechanism == "gatekeeper"
                   else cluster_policy((policy,)))
        requests = [_request(rng, pods) for _ in range(CASES)]
        for request in requests:
            result = psp.pipeline.review("CREATE", request.pod, user=Identity(
                request.requester, request.requester_groups), namespace=request.namespace)
            if not result.allowed:
                continue
            original = default_pod(request.pod)
            got = (gatekeeper(objects, original, request.namespace) if mechanism ==
                   "gatekeeper" else kyverno(objects, original, request.namespace))
            expected = (comparable(result.pod, request.pod, psp=True) if result.mutated
                        else comparable(original, original, psp=False))
            if comparable(got, original, psp=False) == expected:
                counts["mutated" if result.mutated else "unchanged"] += 1
            elif mechanism == "gatekeeper" and _beyond_gatekeeper(policy, original):
                counts["documented limit"] += 1
            else:
                mismatches.append(f"{policy.name} {request.pod['metadata'].get('name')}: got "
                                  f"{comparable(got, original, psp=False)}, PSP {expected}")
            if result.mutated and len(requests) < 2 * CASES:
                # what PSP made, sent again: PSP admits it unchanged, so must the mutators
                requests.append(replace(request, pod=comparable(result.pod, request.pod,
                                                                psp=True)))
    print(f"\n{mechanism} differential: {counts}; {len(mismatches)} mismatches")
    for m in mismatches[:4]:
        print("MISMATCH", m[:1500])
    assert mismatches[:5] == []
    assert counts["mutated"] > 500 and counts["unchanged"] > 500
