"""Validating engines over a set of policies, as a cluster applies them, and the oracle
that says what they should answer under the equivalence contract
(docs/equivalence.md#checking-the-contract).

Gatekeeper, ValidatingAdmissionPolicy and Kyverno apply every policy whose bindings cover
the pod's namespace, and admit a pod only if all of them do; conftest applies every
policy to every manifest. The contract is per policy: a validating engine admits exactly
the pods that policy's PSP admits without changing them.
"""

from __future__ import annotations

from collections.abc import Callable

from pspc import vocabulary as voc
from pspc.admission import AllowAll, Identity
from pspc.admission.pipeline import Pipeline
from pspc.admission.pod import iter_containers, json_clone
from pspc.engines import Verdict
from pspc.model import ir
from pspc.pss import evaluate_pod
from pspc.pss.levels import standard_version
from pspc.targets.psp import manifest
from pspc.validation.interpret import passes
from pspc.validation.requirements import requirements
from pspc.validation.standards import INTENT
from pspc.workloads import PodRequest

_ANYONE = Identity("pspc:contract", ("system:authenticated",))


def applies(policy: ir.Policy, namespace: str, scoped: bool) -> bool:
    if not scoped:
        return True
    scope = policy.namespaces()
    return scope is None or namespace in scope


class PolicySetEngine:
    """One validating engine kind (rego, gatekeeper, cel) over all policies."""

    def __init__(self, name: str, policies: list[ir.Policy],
                 make: Callable[[ir.Policy], object], scoped: bool) -> None:
        self.name = name
        self.scoped = scoped
        self.policies = policies
        self.engines = {p.name: make(p) for p in policies}

    def applicable(self, namespace: str) -> list[ir.Policy]:
        return [p for p in self.policies if applies(p, namespace, self.scoped)]

    def evaluate(self, request: PodRequest) -> Verdict:
        applicable = self.applicable(request.namespace)
        verdicts = [self.engines[p.name].evaluate(request) for p in applicable]
        failed = [v for v in verdicts if not v.allowed]
        return Verdict(not failed, ", ".join(p.name for p in applicable) or None,
                       "; ".join(v.message for v in failed if v.message) or None,
                       tuple(violation for v in failed for violation in v.violations))


_APPARMOR_FIELD = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}


def with_apparmor_annotations(pod: dict) -> dict:
    """The pod as an API server since 1.30 stores it: each container's AppArmor field
    (its own, else the pod's) copied into the annotation PSP reads, where that is unset.

    PodSecurityPolicy predates the field; the contract treats the two as one setting, as
    Kubernetes does, and the validating targets read both.
    """
    spec = pod.get("spec") or {}
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile")
    copy = json_clone(pod)
    annotations = copy.setdefault("metadata", {}).setdefault("annotations", {})
    for _, container in iter_containers(spec):
        profile = (container.get("securityContext") or {}).get("appArmorProfile") or pod_profile
        key = voc.APPARMOR_CONTAINER_PREFIX + container.get("name", "")
        if profile and not annotations.get(key):
            kind = profile.get("type", "")
            value = _APPARMOR_FIELD.get(kind) or (
                "localhost/" + profile.get("localhostProfile", "") if kind == "Localhost" else "")
            if value:
                annotations[key] = value
    return copy


class ContractOracle:
    """Each policy's PSP alone, usable by anyone: does it admit the pod unchanged? And
    does the pod meet the policy's intents that no PSP can express (ir.BEYOND_PSP)?

    A policy that conforms to a Pod Security Standards level admits instead what PSA at that
    level and version admits (pspc.pss), among the pods that meet the intents it states
    beyond its stdlib base (docs/equivalence.md#levels)."""

    def __init__(self, policies: list[ir.Policy]) -> None:
        self.pipelines = {p.name: Pipeline([manifest(p)], AllowAll()) for p in policies}
        self.beyond = {p.name: [c for c in requirements(p) if c.intent in ir.BEYOND_PSP
                                or p.pod_security_standard is not None]
                       for p in policies}
        self.levels = {p.name: (p.pod_security_standard.level, standard_version(p))
                       for p in policies if p.pod_security_standard is not None}
        # answers for the request asked about last: each validating engine and the PSA
        # check ask the same questions about one pod
        self._request: PodRequest | None = None
        self._answers: dict[str, bool] = {}

    def admits_unchanged(self, policy: ir.Policy, request: PodRequest) -> bool:
        if request is not self._request:
            self._request, self._answers = request, {}
        answer = self._answers.get(policy.name)
        if answer is None and policy.name in self.levels:
            level, version = self.levels[policy.name]
            answer = self._answers[policy.name] = not evaluate_pod(
                request.pod, level, version) and all(
                passes(check, request.pod) for check in self.beyond[policy.name]
                if check.intent != INTENT)
        if answer is None:
            result = self.pipelines[policy.name].review("CREATE", with_apparmor_annotations(
                request.pod), user=_ANYONE, namespace=request.namespace)
            answer = self._answers[policy.name] = result.allowed and not result.mutated and all(
                passes(check, request.pod) for check in self.beyond[policy.name])
        return answer

    def expected(self, engine: PolicySetEngine, request: PodRequest) -> bool:
        return all(self.admits_unchanged(p, request)
                   for p in engine.applicable(request.namespace))
