"""The API's types for the Kubernetes objects pspc reads: one table per kind.

An API server decodes an object into typed Go structs and refuses what does not fit:
`privileged: "false"` is a decoding error, never a privileged policy. pspc reads user YAML
as plain data, so every object it reads is checked against these tables first (by
pspc.manifests, for `import`, `eval` and everything else), and nothing downstream coerces
a value with bool() or int(). Semantic validation (ranges, rules, required fields) is the
reader's business on top; these tables are types only. Unknown fields are left alone:
the API server drops them.

The Pod table holds the fields pspc's engines read; the PodSecurityPolicy (policy/v1beta1)
and RBAC (rbac.authorization.k8s.io/v1) tables hold every field of their kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Scalar:
    """A Go scalar: `what` is how messages name it; `bits` bounds a signed integer."""

    what: str
    python: type
    bits: int | None = None


@dataclass(frozen=True)
class ListOf:
    item: object


@dataclass(frozen=True)
class MapOf:
    """map[string]<value>."""

    value: object


STR, BOOL = Scalar("a string", str), Scalar("true or false", bool)
INT32, INT64 = Scalar("an integer", int, 32), Scalar("an integer", int, 64)
LIST, MAPPING = ListOf(None), {}
"""Outer types only (the reader's item-by-item access checks the rest)."""

_META = {"name": STR, "generateName": STR, "namespace": STR,
         "annotations": MapOf(STR), "labels": MapOf(STR)}

# -- Pod (core/v1), the fields the engines read --------------------------------------------

_PROFILE = {"type": STR, "localhostProfile": STR}
_SELINUX = {"level": STR, "role": STR, "type": STR, "user": STR}
_WINDOWS = {"hostProcess": BOOL}
_HANDLER = {"httpGet": {"host": STR}, "tcpSocket": {"host": STR}}
_CONTAINER_SECURITY = {
    "privileged": BOOL, "runAsUser": INT64, "runAsGroup": INT64, "runAsNonRoot": BOOL,
    "readOnlyRootFilesystem": BOOL, "allowPrivilegeEscalation": BOOL, "procMount": STR,
    "capabilities": {"add": ListOf(STR), "drop": ListOf(STR)}, "seLinuxOptions": _SELINUX,
    "seccompProfile": _PROFILE, "appArmorProfile": _PROFILE, "windowsOptions": _WINDOWS,
}
_CONTAINER = {
    "name": STR, "securityContext": _CONTAINER_SECURITY,
    "ports": ListOf({"hostPort": INT32, "containerPort": INT32}),
    "volumeMounts": ListOf({"name": STR, "readOnly": BOOL}),
    "env": ListOf({"valueFrom": {"fieldRef": {"apiVersion": STR, "fieldPath": STR}}}),
    "livenessProbe": _HANDLER, "readinessProbe": _HANDLER, "startupProbe": _HANDLER,
    "lifecycle": {"postStart": _HANDLER, "preStop": _HANDLER}, "restartPolicy": STR,
}
_ITEMS = ListOf({"path": STR, "fieldRef": {"apiVersion": STR, "fieldPath": STR}})
_VOLUME = {
    "name": STR, "hostPath": {"path": STR, "type": STR}, "flexVolume": {"driver": STR},
    "csi": {"driver": STR}, "downwardAPI": {"items": _ITEMS},
    "projected": {"sources": ListOf({
        "serviceAccountToken": {"path": STR, "audience": STR, "expirationSeconds": INT64},
        "configMap": {"name": STR}, "downwardAPI": {"items": _ITEMS}, "secret": {"name": STR}})},
}
_POD_SECURITY = {
    "runAsUser": INT64, "runAsGroup": INT64, "runAsNonRoot": BOOL, "fsGroup": INT64,
    "supplementalGroups": ListOf(INT64), "seLinuxOptions": _SELINUX, "seccompProfile": _PROFILE,
    "appArmorProfile": _PROFILE, "windowsOptions": _WINDOWS,
    "sysctls": ListOf({"name": STR, "value": STR}),
}
POD_SPEC = {
    "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL, "hostUsers": BOOL,
    "serviceAccountName": STR, "serviceAccount": STR, "runtimeClassName": STR,
    "automountServiceAccountToken": BOOL, "os": {"name": STR},
    "securityContext": _POD_SECURITY, "containers": ListOf(_CONTAINER),
    "initContainers": ListOf(_CONTAINER), "ephemeralContainers": ListOf(_CONTAINER),
    "volumes": ListOf(_VOLUME),
}
POD = {"metadata": _META, "spec": POD_SPEC}

# -- PodSecurityPolicy (policy/v1beta1, also extensions/v1beta1) ---------------------------

_ID_STRATEGY = {"rule": STR, "ranges": ListOf({"min": INT64, "max": INT64})}
PSP_SPEC = {
    "privileged": BOOL, "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL,
    "hostPorts": ListOf({"min": INT32, "max": INT32}),
    "volumes": ListOf(STR),
    "allowedHostPaths": ListOf({"pathPrefix": STR, "readOnly": BOOL}),
    "allowedFlexVolumes": ListOf({"driver": STR}),
    "allowedCSIDrivers": ListOf({"name": STR}),
    "runAsUser": _ID_STRATEGY, "runAsGroup": _ID_STRATEGY,
    "supplementalGroups": _ID_STRATEGY, "fsGroup": _ID_STRATEGY,
    "seLinux": {"rule": STR, "seLinuxOptions": _SELINUX},
    "readOnlyRootFilesystem": BOOL, "allowPrivilegeEscalation": BOOL,
    "defaultAllowPrivilegeEscalation": BOOL,
    "allowedCapabilities": ListOf(STR), "defaultAddCapabilities": ListOf(STR),
    "requiredDropCapabilities": ListOf(STR),
    "allowedProcMountTypes": ListOf(STR),
    "allowedUnsafeSysctls": ListOf(STR), "forbiddenSysctls": ListOf(STR),
    "runtimeClass": {"allowedRuntimeClassNames": ListOf(STR),
                     "defaultRuntimeClassName": STR},
}

# -- RBAC (rbac.authorization.k8s.io/v1) and Namespace (core/v1) ---------------------------

_RULES = ListOf({key: ListOf(STR) for key in
                 ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")})
_SELECTOR = {"matchLabels": MapOf(STR), "matchExpressions": ListOf(
    {"key": STR, "operator": STR, "values": ListOf(STR)})}
_BINDING = {"metadata": _META, "roleRef": {"apiGroup": STR, "kind": STR, "name": STR},
            "subjects": ListOf({"kind": STR, "apiGroup": STR, "name": STR, "namespace": STR})}

KINDS: dict[str, dict] = {
    "Pod": POD,
    "PodSecurityPolicy": {"metadata": _META, "spec": PSP_SPEC},
    "Role": {"metadata": _META, "rules": _RULES},
    "ClusterRole": {"metadata": _META, "rules": _RULES,
                    "aggregationRule": {"clusterRoleSelectors": ListOf(_SELECTOR)}},
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "Namespace": {"metadata": _META, "spec": {"finalizers": ListOf(STR)}},
}
_HEADER = {"apiVersion": STR, "kind": STR}


def shape(kind: str, template_path: tuple[str, ...] | None = None) -> dict:
    """The table for objects of `kind`; for a workload, whose pod template is at
    `template_path` (pspc.workloads knows where), the template is typed as a Pod."""
    found = KINDS.get(kind)
    if found is None and template_path is not None:
        found = {"metadata": _META, "spec": POD_SPEC}
        for key in reversed(template_path):
            found = {"metadata": _META, key: found} if key == "spec" else {key: found}
    return {**_HEADER, **(found or {})}


# -- checking ------------------------------------------------------------------------------


def name(expected: object) -> str:
    """How messages name a type: `true or false`, `a list`..."""
    if isinstance(expected, Scalar):
        return expected.what
    return "a list" if isinstance(expected, ListOf) else "a mapping"


def mismatch(value: object, expected: object) -> str | None:
    """Why `value` is not of the outer type `expected`, as messages say it; None if it is."""
    python = (expected.python if isinstance(expected, Scalar)
              else list if isinstance(expected, ListOf) else dict)
    if not isinstance(value, python) or (python is not bool and isinstance(value, bool)):
        return f"must be {name(expected)}, not {_kind(value)}{_show(value)}"
    bits = getattr(expected, "bits", None)
    if bits and not -2 ** (bits - 1) <= value < 2 ** (bits - 1):
        return f"{value} does not fit in a {bits}-bit integer"
    return None


def problems(value: object, expected: object = POD,
             path: FieldPath = ()) -> list[tuple[FieldPath, str]]:
    """(field path, message) for every field of the wrong type; null counts as unset."""
    if value is None or expected is None:
        return []
    wrong = mismatch(value, expected)
    if wrong:
        return [(path, wrong)]
    if isinstance(expected, ListOf):
        return [p for i, item in enumerate(value) for p in problems(item, expected.item,
                                                                     path + (i,))]
    if isinstance(expected, MapOf):
        found = [(path, f"key {key!r} must be a string") for key in value
                 if not isinstance(key, str)]
        return found + [p for key, item in value.items() if isinstance(key, str)
                        for p in problems(item, expected.value, path + (key,))]
    if isinstance(expected, dict):
        return [p for key, inner in expected.items() if key in value
                for p in problems(value[key], inner, path + (key,))]
    return []


def field_path(path: FieldPath) -> str:
    """`spec.hostPorts[0].max`, `metadata.annotations[kubernetes.io/description]`."""
    text = ""
    for depth, step in enumerate(path):
        if isinstance(step, int) or (depth and path[depth - 1] in _MAPS):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


_MAPS = ("annotations", "labels", "matchLabels")
"""Fields whose keys are data (map[string]string), written in brackets."""


def without_nulls(value: object) -> object:
    """The value with null fields and list items removed: Kubernetes reads null as unset."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, (str, int, float, bool)) else ""
    text = text if len(text) <= 40 else text[:37] + "..."
    return f" {text}" if text else ""
