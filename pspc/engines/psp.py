"""The `psp` engine: the PodSecurityPolicy admission simulator over PSP and RBAC objects."""

from __future__ import annotations

from dataclasses import dataclass

from pspc.admission import Identity, RBACAuthorizer
from pspc.admission.pipeline import FeatureGates, Pipeline
from pspc.engines import Verdict
from pspc.workloads import PodRequest

LEGACY_WORDING_BEFORE = (1, 19)
DEFAULT_REQUESTER = Identity("kubernetes-admin", ("system:masters", "system:authenticated"))

BOOTSTRAP_RBAC = (
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "cluster-admin"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
               {"nonResourceURLs": ["*"], "verbs": ["*"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "cluster-admin"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "cluster-admin"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                   "name": "system:masters"}]},
)


@dataclass(frozen=True)
class PspOptions:
    requester: Identity = DEFAULT_REQUESTER
    operation: str = "CREATE"
    kube_version: tuple[int, int] = (1, 24)
    pipeline: str = "plugin"
    feature_gates: FeatureGates | None = None


class PspEngine:
    name = "psp"

    def __init__(self, psps: list[dict], rbac: list[dict], options: PspOptions) -> None:
        self.options = options
        self.pipeline = Pipeline(psps, RBACAuthorizer(rbac), mode=options.pipeline,
                                 gates=options.feature_gates,
                                 legacy_wording=options.kube_version < LEGACY_WORDING_BEFORE)

    def evaluate(self, request: PodRequest) -> Verdict:
        user = self.options.requester
        if request.requester is not None:
            user = Identity(request.requester, request.requester_groups)
        result = self.pipeline.review(self.options.operation, request.pod, user=user,
                                      namespace=request.namespace)
        return Verdict(result.allowed, result.policy, result.message,
                       tuple(result.violations), tuple(result.patch), result.mutated)
