"""The oracle that says what the validating engines should answer under the equivalence
contract (docs/equivalence.md#checking-the-contract).

The validating outputs apply PodSecurityPolicy's selection rule: a pod is admitted when a
policy usable by the requester or the pod's service account (the RBAC that pspc writes for
the sources, and the superuser group) admits it unchanged, with the intents beyond PSP met.
"""

from __future__ import annotations

from pspc import vocabulary as voc
from pspc.admission import AllowAll, Identity, RBACAuthorizer
from pspc.admission.pipeline import Pipeline
from pspc.admission.pod import iter_containers, json_clone
from pspc.admission.rbac import service_account_identity
from pspc.model import ir
from pspc.pss import evaluate_pod
from pspc.pss.levels import standard_version
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.validation.interpret import passes
from pspc.validation.requirements import requirements
from pspc.validation.standards import INTENT
from pspc.workloads import PodRequest

_ANYONE = Identity("pspc:contract", ("system:authenticated",))


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
    does the pod meet the policy's intents that no PSP can express (ir.BEYOND_PSP)? The
    expected verdict: some policy usable for the request does both.

    A policy that conforms to a Pod Security Standards level admits instead what PSA at that
    level and version admits (pspc.pss), among the pods that meet the intents it states
    beyond its stdlib base (docs/equivalence.md#levels).

    `requester` sends requests for Pods (a workload's pods are sent by its controller)."""

    def __init__(self, policies: list[ir.Policy], requester: Identity = _ANYONE) -> None:
        self.policies = list(policies)
        self.requester = requester
        self.authorizer = RBACAuthorizer([doc for p in policies for doc in rbac_manifests(p)])
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
        self._annotated: dict | None = None  # the pod as PSP reads it (one copy per pod)

    def admits_unchanged(self, policy: ir.Policy, request: PodRequest,
                         beyond: bool = True) -> bool:
        """Whether the policy's PSP admits the pod unchanged and, unless `beyond` is
        false, the pod meets the policy's intents beyond PSP."""
        if request is not self._request:
            self._request, self._answers, self._annotated = request, {}, None
        answer = self._answers.get(policy.name)
        if answer is None and policy.name in self.levels:
            level, version = self.levels[policy.name]
            answer = self._answers[policy.name] = (not evaluate_pod(
                request.pod, level, version), all(
                passes(check, request.pod) for check in self.beyond[policy.name]
                if check.intent != INTENT))
        if answer is None:
            if self._annotated is None:
                self._annotated = with_apparmor_annotations(request.pod)
            result = self.pipelines[policy.name].review(
                "CREATE", self._annotated, user=_ANYONE, namespace=request.namespace)
            answer = self._answers[policy.name] = (result.allowed and not result.mutated, all(
                passes(check, request.pod) for check in self.beyond[policy.name]))
        return answer[0] and (answer[1] or not beyond)

    def usable(self, request: PodRequest) -> list[ir.Policy]:
        """The policies the requester or the pod's service account may use in the pod's
        namespace (docs/psp-admission.md#usable-policies)."""
        user = self.requester if request.requester is None else Identity(
            request.requester, request.requester_groups)
        identities = [user]
        account = (request.pod.get("spec") or {}).get("serviceAccountName")
        if account:
            identities.insert(0, service_account_identity(request.namespace, account))
        return [p for p in self.policies if any(
            self.authorizer.can_use(identity, p.name, request.namespace)
            for identity in identities)]

    def expected(self, request: PodRequest) -> bool:
        return any(self.admits_unchanged(p, request) for p in self.usable(request))
