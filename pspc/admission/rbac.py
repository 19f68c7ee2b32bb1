"""Who may `use` a PodSecurityPolicy: identities and an RBAC evaluator
(docs/psp-admission.md#usable-policies).

The evaluator reads Role, ClusterRole, RoleBinding and ClusterRoleBinding objects as dicts
and answers the same question as the apiserver's superuser check followed by RBAC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SUPERUSER_GROUP = "system:masters"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
PSP_RESOURCE = "podsecuritypolicies"
PSP_API_GROUPS = ("policy", "extensions")


@dataclass(frozen=True)
class Identity:
    """An authenticated user: a name and its groups."""

    name: str
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))


def service_account_identity(namespace: str, name: str) -> Identity:
    """The identity PSP checks for a pod's service account.

    Quirk kept from upstream: it lacks `system:authenticated`, so bindings to that group
    never match it.
    """
    return Identity(
        f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
    )


@dataclass(frozen=True)
class _Rule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str]

    @classmethod
    def parse(cls, rule: dict) -> _Rule:
        return cls(
            frozenset(rule.get("verbs") or ()),
            frozenset(rule.get("apiGroups") or ()),
            frozenset(rule.get("resources") or ()),
            frozenset(rule.get("resourceNames") or ()),
        )

    def allows(self, verb: str, api_group: str, resource: str, name: str) -> bool:
        return (
            ("*" in self.verbs or verb in self.verbs)
            and ("*" in self.api_groups or api_group in self.api_groups)
            and ("*" in self.resources or resource in self.resources)
            and (not self.resource_names or name in self.resource_names)
        )


def _subject_matches(subject: dict, identity: Identity, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return identity.name == name
    if kind == "Group":
        return name in identity.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and identity.name == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
    return False


def _flatten(objects: Iterable[dict]) -> Iterable[dict]:
    for obj in objects:
        if (obj.get("kind") or "").endswith("List"):
            yield from _flatten(obj.get("items") or ())
        else:
            yield obj


class RBACAuthorizer:
    """Resource authorization from RBAC objects, with the `system:masters` bypass first."""

    def __init__(self, objects: Iterable[dict]) -> None:
        self._cluster_roles: dict[str, tuple[_Rule, ...]] = {}
        self._roles: dict[tuple[str, str], tuple[_Rule, ...]] = {}
        self._cluster_bindings: list[tuple[list[dict], str]] = []
        self._role_bindings: dict[str, list[tuple[list[dict], str, str]]] = {}
        # The RBAC is fixed once read, and a cluster's requests repeat their identities
        # (controllers, service accounts): each question is answered once.
        self._answers: dict[tuple, bool] = {}
        for obj in _flatten(objects):
            kind = obj.get("kind")
            metadata = obj.get("metadata") or {}
            name = metadata.get("name", "")
            namespace = metadata.get("namespace", "")
            subjects = obj.get("subjects") or []
            role_ref = obj.get("roleRef") or {}
            if kind == "ClusterRole":
                self._cluster_roles[name] = tuple(map(_Rule.parse, obj.get("rules") or ()))
            elif kind == "Role":
                self._roles[namespace, name] = tuple(map(_Rule.parse, obj.get("rules") or ()))
            elif kind == "ClusterRoleBinding" and role_ref.get("kind") == "ClusterRole":
                self._cluster_bindings.append((subjects, role_ref.get("name", "")))
            elif kind == "RoleBinding" and role_ref.get("kind") in ("Role", "ClusterRole"):
                binding = (subjects, role_ref["kind"], role_ref.get("name", ""))
                self._role_bindings.setdefault(namespace, []).append(binding)

    def allows(
        self,
        identity: Identity,
        verb: str,
        api_group: str,
        resource: str,
        name: str,
        namespace: str,
    ) -> bool:
        """Whether `identity` may perform `verb` on the named resource in `namespace`."""
        key = (identity, verb, api_group, resource, name, namespace)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self._allows(identity, verb, api_group, resource,
                                                       name, namespace)
        return answer

    def _allows(self, identity: Identity, verb: str, api_group: str, resource: str,
                name: str, namespace: str) -> bool:
        if SUPERUSER_GROUP in identity.groups:
            return True
        for subjects, role_name in self._cluster_bindings:
            if any(_subject_matches(s, identity, "") for s in subjects) and any(
                rule.allows(verb, api_group, resource, name)
                for rule in self._cluster_roles.get(role_name, ())
            ):
                return True
        for subjects, role_kind, role_name in self._role_bindings.get(namespace, ()):
            if not any(_subject_matches(s, identity, namespace) for s in subjects):
                continue
            rules = (
                self._roles.get((namespace, role_name), ())
                if role_kind == "Role"
                else self._cluster_roles.get(role_name, ())
            )
            if any(rule.allows(verb, api_group, resource, name) for rule in rules):
                return True
        return False

    def can_use(self, identity: Identity, psp_name: str, namespace: str) -> bool:
        """The plugin's check: `use` of the PSP in group `policy`, retried in `extensions`."""
        return any(
            self.allows(identity, "use", group, PSP_RESOURCE, psp_name, namespace)
            for group in PSP_API_GROUPS
        )
