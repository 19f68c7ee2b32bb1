"""The shape of a Pod, for the fields pspc's engines read: checked before evaluation.

An API server decodes a pod into typed structs and rejects what does not fit; pspc reads
user YAML as plain data, so it checks the same types first and reports each mismatch with
its path, instead of failing inside an engine. Unknown fields are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListOf:
    item: object


@dataclass(frozen=True)
class MapOf:
    value: object


STR, INT, BOOL = "string", "integer", "boolean"

_PROFILE = {"type": STR, "localhostProfile": STR}
_SELINUX = {"level": STR, "role": STR, "type": STR, "user": STR}
_WINDOWS = {"hostProcess": BOOL}
_HANDLER = {"httpGet": {"host": STR}, "tcpSocket": {"host": STR}}
_CONTAINER_SECURITY = {
    "privileged": BOOL, "runAsUser": INT, "runAsGroup": INT, "runAsNonRoot": BOOL,
    "readOnlyRootFilesystem": BOOL, "allowPrivilegeEscalation": BOOL, "procMount": STR,
    "capabilities": {"add": ListOf(STR), "drop": ListOf(STR)}, "seLinuxOptions": _SELINUX,
    "seccompProfile": _PROFILE, "appArmorProfile": _PROFILE, "windowsOptions": _WINDOWS,
}
_CONTAINER = {
    "name": STR, "securityContext": _CONTAINER_SECURITY,
    "ports": ListOf({"hostPort": INT, "containerPort": INT}),
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
        "serviceAccountToken": {"path": STR, "audience": STR, "expirationSeconds": INT},
        "configMap": {"name": STR}, "downwardAPI": {"items": _ITEMS}, "secret": {"name": STR}})},
}
_POD_SECURITY = {
    "runAsUser": INT, "runAsGroup": INT, "runAsNonRoot": BOOL, "fsGroup": INT,
    "supplementalGroups": ListOf(INT), "seLinuxOptions": _SELINUX, "seccompProfile": _PROFILE,
    "appArmorProfile": _PROFILE, "windowsOptions": _WINDOWS,
    "sysctls": ListOf({"name": STR, "value": STR}),
}
POD = {
    "metadata": {"name": STR, "generateName": STR, "namespace": STR,
                 "annotations": MapOf(STR), "labels": MapOf(STR)},
    "spec": {
        "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL, "hostUsers": BOOL,
        "serviceAccountName": STR, "serviceAccount": STR, "runtimeClassName": STR,
        "automountServiceAccountToken": BOOL, "os": {"name": STR},
        "securityContext": _POD_SECURITY, "containers": ListOf(_CONTAINER),
        "initContainers": ListOf(_CONTAINER), "ephemeralContainers": ListOf(_CONTAINER),
        "volumes": ListOf(_VOLUME),
    },
}
_PYTHON = {STR: str, BOOL: bool}


def _fits(value: object, kind: str) -> bool:
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _PYTHON[kind])


def problems(value: object, shape: object = POD, path: str = "") -> list[tuple[str, str]]:
    """(field path, expected type) for every field whose type is wrong; null counts as unset."""
    if value is None:
        return []
    if isinstance(shape, str):
        return [] if _fits(value, shape) else [(path, shape)]
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return [(path, "list")]
        return [p for i, item in enumerate(value) for p in problems(item, shape.item,
                                                                     f"{path}[{i}]")]
    if isinstance(shape, MapOf):
        if not isinstance(value, dict):
            return [(path, "object")]
        return [p for key, item in value.items() for p in problems(item, shape.value,
                                                                    f"{path}[{key}]")]
    if not isinstance(value, dict):
        return [(path, "object")]
    found = []
    for key, inner in shape.items():
        if key in value:
            found += problems(value[key], inner, f"{path}.{key}" if path else key)
    return found


def without_nulls(value: object) -> object:
    """The value with null fields and list items removed: Kubernetes reads null as unset."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value
