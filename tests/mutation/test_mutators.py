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

Then whole repositories (`_repo`: 2-6 policies, random bindings, cluster-wide ones among
them), all their mutators together, where pspc.mutation.scope decides which policy's
mutators match a namespace: a pod is mutated as PSP mutates it or left alone where that is
declared (W309, and Kyverno's exclusion of system:masters), never given another policy's
defaults beyond Gatekeeper's declared limits.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from validation.test_selection import SEED, _pods, _pool, _repo, _request

from pspc.admission import Identity
from pspc.admission.pod import default_pod
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.model import ir
from pspc.mutation.coverage import limits
from pspc.mutation.defaults import defaults
from pspc.mutation.scope import Scope, scopes
from pspc.targets.gatekeeper_mutation import mutators
from pspc.targets.kyverno_mutation import cluster_policy
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.validation.expr import Any, Has, In, Items, Lit, Var, or_
from pspc.validation.interpret import holds
from pspc.validation.requirements import SC
from pspc.validation.selection import SUPERUSER_GROUP

from .apply import comparable
from .mutators import gatekeeper, kyverno

pytest.importorskip("jmespath", reason="jmespath evaluates Kyverno's variables")

CASES = 60
REPOS = 130
CASES_PER_REPO = 60
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
        objects = (mutators(policy, scopes((policy,))[policy.name]) if mechanism == "gatekeeper"
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


def _matches(within: Scope, namespace: str) -> bool:
    if within.namespaces is None:
        return namespace not in within.excluded
    return namespace in within.namespaces


@pytest.mark.parametrize("mechanism", ["gatekeeper", "kyverno"])
def test_a_repository_of_policies_is_mutated_as_psp_does_or_left_alone(mechanism):
    """Seeded repositories of 2-6 policies with random bindings, cluster-wide ones among
    them (tests/validation/test_selection.py `_repo`), all their mutators together: a pod
    PSP admits is mutated as PSP mutates it, or left alone where PSP's chosen policy's
    mutators leave the namespace out (W309) or, for Kyverno, where a member of
    system:masters creates it (they may use every policy); never given another policy's
    defaults, but by Gatekeeper to a member of system:masters or where its pathTests cannot
    see a field (both declared, W308). A pod PSP rejects stays rejected after the
    mutators."""
    rng = random.Random(SEED + 1)
    pool, pods = _pool(), _pods()
    counts = {"as PSP": 0, "left out (W309)": 0, "rejected either way": 0,
              "documented limit": 0, "system:masters left alone": 0,
              "system:masters given defaults": 0,
              "repos with cluster-wide defaults": 0, "repos with 2+ defaulting policies": 0}
    mismatches = []
    for index in range(REPOS):
        policies = tuple(_repo(rng, pool, index))
        by_name = {p.name: p for p in policies}
        defaulting = [p for p in policies if defaults(p)]
        counts["repos with 2+ defaulting policies"] += len(defaulting) > 1
        counts["repos with cluster-wide defaults"] += any(
            b.namespace is None for p in defaulting for b in p.bindings)
        psp = PspEngine([manifest(p) for p in policies],
                        [d for p in policies for d in rbac_manifests(p)]
                        + list(BOOTSTRAP_RBAC), PspOptions())
        objects = ([m for p in policies for m in mutators(p, scopes(policies)[p.name])]
                   if mechanism == "gatekeeper" else cluster_policy(policies))
        for _ in range(CASES_PER_REPO):
            request = _request(rng, pods)
            user = Identity(request.requester, request.requester_groups)
            result = psp.pipeline.review("CREATE", request.pod, user=user,
                                         namespace=request.namespace)
            original = default_pod(request.pod)
            superuser = SUPERUSER_GROUP in request.requester_groups
            raw = (gatekeeper(objects, original, request.namespace) if mechanism == "gatekeeper"
                   else kyverno(objects, original, request.namespace,
                                request.requester_groups))
            got = comparable(raw, original, psp=False)
            alone = comparable(original, original, psp=False)
            chosen = by_name.get(result.policy or "")
            if not result.allowed:
                again = psp.pipeline.review("CREATE", raw, user=user,
                                            namespace=request.namespace)
                ok = got == alone or not again.allowed
                counts["rejected either way"] += ok and got != alone
                limit = not ok and mechanism == "gatekeeper" and any(
                    _beyond_gatekeeper(p, original) for p in policies
                    if _matches(scopes(policies)[p.name], request.namespace))
                counts["documented limit"] += limit
                ok = ok or limit
            elif got == (comparable(result.pod, request.pod, psp=True) if result.mutated
                         else alone):
                counts["as PSP"] += 1
                continue
            elif got == alone:
                within = scopes(policies)[chosen.name]
                if mechanism == "kyverno" and superuser and within.superusers_shared:
                    counts["system:masters left alone"] += 1
                    continue
                ok = not _matches(within, request.namespace)
                counts["left out (W309)"] += ok
            else:
                # Gatekeeper: a pathTest cannot see the field, or a member of system:masters
                # (who may use every policy) gets the namespace's policy's defaults
                ok = mechanism == "gatekeeper" and (superuser or chosen is not None and _matches(
                    scopes(policies)[chosen.name], request.namespace) and _beyond_gatekeeper(
                    chosen, original))
                counts["system:masters given defaults" if superuser else "documented limit"] += ok
            if not ok:
                mismatches.append(f"repo {index} {request.namespace} "
                                  f"{request.pod['metadata'].get('name')} by "
                                  f"{request.requester}: PSP {result.allowed} "
                                  f"{result.policy}; got {got}")
    print(f"\n{mechanism} repositories: {counts}; {len(mismatches)} mismatches")
    for m in mismatches[:4]:
        print("MISMATCH", m[:1500])
    assert mismatches[:5] == []
    assert counts["as PSP"] > 500 and counts["left out (W309)"] > 20
    assert counts["repos with cluster-wide defaults"] > 10
    assert counts["repos with 2+ defaulting policies"] > 10
