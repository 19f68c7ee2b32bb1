"""The RBAC target: what makes a PodSecurityPolicy take effect.

A PSP admits nothing until someone may `use` it. Per policy: one ClusterRole granting
`use` on exactly that PSP, one ClusterRoleBinding for the cluster-wide subjects and one
RoleBinding per namespace for the namespaced ones (a RoleBinding may reference a
ClusterRole, which keeps a single role per policy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc.model import ir
from pspc.targets import MANAGED_BY, Target, per_policy

if TYPE_CHECKING:
    from pspc.compiler import Build

API = "rbac.authorization.k8s.io"


def role_name(policy: ir.Policy) -> str:
    return f"psp:{policy.name}"


def _subject(subject: ir.Subject) -> dict:
    if subject.kind == "ServiceAccount":
        return {"kind": "ServiceAccount", "name": subject.name, "namespace": subject.namespace}
    return {"kind": subject.kind, "apiGroup": API, "name": subject.name}


def _metadata(name: str, namespace: str | None = None) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(MANAGED_BY)
    return meta


def manifests(policy: ir.Policy) -> list[dict]:
    name = role_name(policy)
    docs: list[dict] = [{
        "apiVersion": f"{API}/v1",
        "kind": "ClusterRole",
        "metadata": _metadata(name),
        "rules": [{"apiGroups": ["policy"], "resources": ["podsecuritypolicies"],
                   "verbs": ["use"], "resourceNames": [policy.name]}],
    }]
    by_scope: dict[str | None, list[ir.Subject]] = {}
    for binding in policy.bindings:
        by_scope.setdefault(binding.namespace, []).append(binding.subject)
    for namespace in sorted(by_scope, key=lambda ns: (ns is not None, ns or "")):
        subjects = sorted(set(by_scope[namespace]), key=lambda s: s.sort_key)
        docs.append({
            "apiVersion": f"{API}/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": _metadata(name, namespace),
            "roleRef": {"apiGroup": API, "kind": "ClusterRole", "name": name},
            "subjects": [_subject(s) for s in subjects],
        })
    return docs


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    return tuple(manifests(policy))


TARGET = Target("rbac", per_policy("rbac", documents), manifests=True)
