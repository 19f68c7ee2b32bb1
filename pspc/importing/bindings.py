"""Who may `use` each imported policy, recovered from RBAC objects.

A rule grants `use` of PodSecurityPolicy P when its verbs hold `use` or `*`, its apiGroups
`policy`, `extensions` or `*`, its resources `podsecuritypolicies` or `*`, and its
resourceNames are empty or hold P (as the API server's authorizer decides,
docs/psp-admission.md#usable-policies).
A ClusterRoleBinding makes the grant cluster-wide; a RoleBinding (to a Role of its
namespace or to a ClusterRole) makes it hold in its namespace.

A grant that needs a `*` to match (cluster-admin's `*` on `*`) is a *wildcard* grant: such
roles give every policy to their subjects without anyone meaning it as a policy binding,
so they are reported and imported only on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pspc import vocabulary as voc
from pspc.apitypes import MAPPING
from pspc.diagnostics import Diagnostics
from pspc.importing.reader import FieldPath, InvalidFieldError, Reader, describe, where
from pspc.manifests import Manifest
from pspc.model import ir

API_GROUP = "rbac.authorization.k8s.io"
API_VERSIONS = tuple(f"{API_GROUP}/{v}" for v in ("v1", "v1beta1", "v1alpha1"))
KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
_USE, _GROUPS, _RESOURCE = "use", ("policy", "extensions"), "podsecuritypolicies"
_KNOWN = {
    "Role": ("apiVersion", "kind", "metadata", "rules"),
    "ClusterRole": ("apiVersion", "kind", "metadata", "rules", "aggregationRule"),
    "RoleBinding": ("apiVersion", "kind", "metadata", "roleRef", "subjects"),
    "ClusterRoleBinding": ("apiVersion", "kind", "metadata", "roleRef", "subjects"),
}


@dataclass(frozen=True)
class Rule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str]

    def grants(self, policy: str) -> str | None:
        """"direct", "wildcard" (matches only through a `*`), or None."""
        if not (self.verbs & {_USE, "*"} and self.api_groups & {*_GROUPS, "*"}
                and self.resources & {_RESOURCE, "*"}):
            return None
        if self.names and policy not in self.names:
            return None
        explicit = _USE in self.verbs and self.api_groups & set(_GROUPS) and (
            _RESOURCE in self.resources)
        return "direct" if explicit else "wildcard"


@dataclass(frozen=True)
class Grant:
    """One binding of one policy, how it was granted, and the RBAC objects behind it."""

    binding: ir.Binding
    wildcard: bool
    via: str


@dataclass(frozen=True)
class WildcardBinding:
    """An RBAC binding that gives policies only through `*` rules."""

    manifest: Manifest
    via: str
    subjects: tuple[ir.Subject, ...]
    policies: tuple[str, ...]


@dataclass
class Recovered:
    """Per policy, its bindings (a direct grant wins over a wildcard one for the same
    binding); and, per RBAC binding object, the wildcard grants it makes."""

    grants: dict[str, dict[ir.Binding, Grant]] = field(default_factory=dict)
    wildcard_bindings: list[WildcardBinding] = field(default_factory=list)

    def add(self, policy: str, grant: Grant) -> None:
        known = self.grants.setdefault(policy, {})
        if grant.binding not in known or known[grant.binding].wildcard and not grant.wildcard:
            known[grant.binding] = grant

    def bindings(self, policy: str, include_wildcard: bool) -> list[Grant]:
        found = self.grants.get(policy, {}).values()
        return sorted((g for g in found if include_wildcard or not g.wildcard),
                      key=lambda g: (g.binding.namespace or "", g.binding.subject.sort_key))


def _identity(manifest: Manifest) -> tuple[str, str, str]:
    metadata = manifest.object.get("metadata") or {}
    return manifest.kind, str(metadata.get("namespace") or ""), manifest.name


def _header(r: Reader) -> tuple[str, str | None]:
    """Check apiVersion, fields and metadata; the object's name and namespace."""
    manifest = r.manifest
    r.repeated_keys()
    api = r.get(("apiVersion",))
    if api not in API_VERSIONS:
        r.fail(("apiVersion",), f"unsupported apiVersion {api!r} for a {manifest.kind}",
               "E042", help=f"RBAC objects are {API_VERSIONS[0]}")
    r.mapping((), _KNOWN[manifest.kind])
    r.typed(("metadata",), MAPPING, required=True)
    name = r.string(("metadata", "name"), required=True)
    namespace = r.string(("metadata", "namespace"))
    if manifest.kind in ("Role", "RoleBinding"):
        if namespace is None:
            r.fail(("metadata", "namespace"), f"a {manifest.kind} belongs to a namespace",
                   help="set metadata.namespace")
        if not voc.is_label(namespace):
            r.fail(("metadata", "namespace"), f"{namespace!r} is not a valid namespace name")
    return name, namespace if manifest.kind in ("Role", "RoleBinding") else None


def _rules(r: Reader) -> tuple[Rule, ...]:
    rules = []
    for i in range(len(r.items(("rules",)))):
        path: FieldPath = ("rules", i)
        r.typed(path, MAPPING, required=True)
        lists = [frozenset(r.strings(path + (key,))) for key in
                 ("verbs", "apiGroups", "resources", "resourceNames")]
        rules.append(Rule(*lists))
    return tuple(rules)


def _subject(r: Reader, i: int, namespace: str | None) -> ir.Subject:
    path: FieldPath = ("subjects", i)
    r.mapping(path, ("kind", "apiGroup", "name", "namespace"), required=True)
    kind = r.string(path + ("kind",), required=True)
    name = r.string(path + ("name",), required=True)
    api_group = r.string(path + ("apiGroup",)) or ""
    if kind not in ("User", "Group", "ServiceAccount"):
        r.fail(path + ("kind",), f"unsupported subject kind {kind!r}: supported values are "
               "User, Group, ServiceAccount")
    if api_group not in (("",) if kind == "ServiceAccount" else ("", API_GROUP)):
        r.fail(path + ("apiGroup",), f"a {kind} subject has apiGroup "
               + (f'"{API_GROUP}"' if kind != "ServiceAccount" else '""'))
    if kind != "ServiceAccount":
        if not name.strip():
            r.fail(path + ("name",), f"a {kind} name cannot be blank")
        return ir.Subject(kind, name)
    sa_namespace = r.string(path + ("namespace",)) or namespace
    if sa_namespace is None:
        r.fail(path + ("namespace",), "a ServiceAccount subject of a ClusterRoleBinding needs "
               "a namespace")
    if not (voc.is_label(sa_namespace) and voc.is_subdomain(name)):
        r.fail(path, f"`{sa_namespace}/{name}` is not a valid service account")
    return ir.Subject("ServiceAccount", name, sa_namespace)


def _role_ref(r: Reader) -> tuple[str, str]:
    path: FieldPath = ("roleRef",)
    r.mapping(path, ("apiGroup", "kind", "name"), required=True)
    kind = r.string(path + ("kind",), required=True)
    allowed = ("ClusterRole",) if r.manifest.kind == "ClusterRoleBinding" else (
        "Role", "ClusterRole")
    if kind not in allowed:
        r.fail(path + ("kind",), f"a {r.manifest.kind} refers to " + " or ".join(allowed)
               + f", not {kind!r}")
    if (r.string(path + ("apiGroup",)) or API_GROUP) != API_GROUP:
        r.fail(path + ("apiGroup",), f"must be {API_GROUP}")
    return kind, r.string(path + ("name",), required=True)


def recover(manifests: list[Manifest], policies: list[str], diags: Diagnostics) -> Recovered:
    """The bindings of `policies` that the RBAC objects among `manifests` make."""
    roles: dict[tuple[str, str | None, str], tuple[Rule, ...]] = {}
    bindings: list[tuple[Reader, str | None]] = []
    seen: dict[tuple[str, str, str], Manifest] = {}
    for manifest in manifests:
        r = Reader(manifest, diags)
        identity = _identity(manifest)
        if identity in seen:
            diags.error("E045", f"{describe(manifest)}: {manifest.kind} "
                        f"{'/'.join(filter(None, identity[1:]))} is defined twice",
                        where(manifest), notes=(("first defined here", where(seen[identity])),))
            continue
        seen[identity] = manifest
        try:
            name, namespace = _header(r)
            if manifest.kind in ("Role", "ClusterRole"):
                roles[manifest.kind, namespace, name] = _rules(r)
            else:
                bindings.append((r, namespace))
        except InvalidFieldError:
            continue
    found = Recovered()
    for r, namespace in bindings:
        try:
            _recover_binding(r, namespace, roles, policies, found)
        except InvalidFieldError:
            continue
    return found


def _recover_binding(r: Reader, namespace: str | None, roles, policies: list[str],
                     found: Recovered) -> None:
    role_kind, role_name = _role_ref(r)
    rules = roles.get((role_kind, namespace if role_kind == "Role" else None, role_name))
    if rules is None:
        r.diags.warning("W204", f"{describe(r.manifest)}: refers to {role_kind} {role_name}, "
                        "which is not in the input: the policies it may grant are unknown",
                        where(r.manifest), help="import a complete dump: kubectl get psp,"
                        "clusterrole,role,clusterrolebinding,rolebinding -A -o yaml")
        return
    granted = {}
    for policy in policies:
        kinds = {rule.grants(policy) for rule in rules} - {None}
        if kinds:
            granted[policy] = "direct" not in kinds
    if not granted:
        return
    subjects = tuple(_subject(r, i, namespace) for i in range(len(r.items(("subjects",)))))
    binding = f"{r.manifest.kind} {r.manifest.name}"
    via = f"{binding} -> {role_kind} {role_name}"
    for policy, wildcard in granted.items():
        for subject in subjects:
            found.add(policy, Grant(ir.Binding(subject, namespace), wildcard, via))
    wildcard = tuple(policy for policy, only_wildcard in granted.items() if only_wildcard)
    if wildcard:
        found.wildcard_bindings.append(WildcardBinding(r.manifest, via, subjects, wildcard))
