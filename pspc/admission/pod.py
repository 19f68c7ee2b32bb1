"""Pod helpers: the v1 defaulting PSP can observe, container walking and semantic equality.

Pods are plain dicts in their v1 JSON shape. The PSP plugin sees pods after API decoding and
defaulting, so the simulator applies the defaults that change what PSP checks
(docs/psp-admission.md#v1-defaulting) before anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

CONTAINER_LISTS = (
    ("initContainers", "spec.initContainers"),
    ("containers", "spec.containers"),
    ("ephemeralContainers", "spec.ephemeralContainers"),
)

# Volume source keys in the order Go's GetVolumeFSType tests them: the first one set wins.
VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "storageos",
    "projected",
    "portworxVolume",
    "scaleIO",
    "csi",
    "ephemeral",
)

# Fields whose Go type is a map or a non-pointer struct, where `{}` equals an absent field.
_EMPTY_IS_ABSENT = frozenset(
    {
        "metadata",
        "spec",
        "status",
        "labels",
        "annotations",
        "nodeSelector",
        "overhead",
        "resources",
        "limits",
        "requests",
        "volumeAttributes",
    }
)

# Metadata the garbage collector rewrites; an UPDATE touching only these is not checked.
_GC_FIELDS = ("ownerReferences", "finalizers", "managedFields", "selfLink")

PSP_ANNOTATION = "kubernetes.io/psp"
_LOCALHOST_PREFIX = "localhost/"


def json_clone(value: Any) -> Any:
    """Deep-copy JSON-like data, dropping null object members (Go decodes them as unset)."""
    if isinstance(value, dict):
        return {key: json_clone(item) if isinstance(item, _CONTAINERS) else item
                for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [json_clone(item) if isinstance(item, _CONTAINERS) else item for item in value]
    return value


_CONTAINERS = (dict, list)  # json_clone calls itself only for these: most members are scalars


def default_pod(pod: dict) -> dict:
    """Return a copy of `pod` with the v1 API defaults that PSP can observe applied."""
    pod = json_clone(pod)
    spec = pod.setdefault("spec", {})
    spec.setdefault("securityContext", {})
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for container in spec.get(key) or ():
                for port in container.get("ports") or ():
                    if not port.get("hostPort") and port.get("containerPort"):
                        port["hostPort"] = port["containerPort"]
    for volume in spec.get("volumes") or ():
        _default_volume(volume)
    for _, container in iter_containers(spec):
        for env in container.get("env") or ():
            _default_field_ref((env.get("valueFrom") or {}).get("fieldRef"))
    return pod


def _default_volume(volume: dict) -> None:
    source = volume_source(volume)
    if source is None:
        volume["emptyDir"] = {}
    elif source == "hostPath":
        volume["hostPath"].setdefault("type", "")
    elif source == "downwardAPI":
        _default_field_refs(volume["downwardAPI"])
    elif source == "projected":
        for projection in volume["projected"].get("sources") or ():
            _default_field_refs(projection.get("downwardAPI"))


def _default_field_refs(downward_api: dict | None) -> None:
    for item in (downward_api or {}).get("items") or ():
        _default_field_ref(item.get("fieldRef"))


def _default_field_ref(field_ref: dict | None) -> None:
    if field_ref is not None and not field_ref.get("apiVersion"):
        field_ref["apiVersion"] = "v1"


def volume_source(volume: dict) -> str | None:
    """The volume's source key as Go picks it, or None for a source-less volume."""
    for key in VOLUME_SOURCES:
        if volume.get(key) is not None:
            return key
    return None


def iter_containers(spec: dict, *, ephemeral: bool = True) -> Iterator[tuple[str, dict]]:
    """Yield `(path prefix, container)` for init, regular, then ephemeral containers.

    `ephemeral=False` leaves out ephemeral containers, as upstream's validation walk does
    while the EphemeralContainers feature gate is off (docs/psp-admission.md#containers).
    """
    lists = CONTAINER_LISTS if ephemeral else CONTAINER_LISTS[:2]
    for key, prefix in lists:
        for index, container in enumerate(spec.get(key) or ()):
            yield f"{prefix}[{index}]", container


def annotations_of(pod: dict) -> dict:
    return (pod.get("metadata") or {}).get("annotations") or {}


def seccomp_annotation_for_field(profile: dict) -> str:
    """Translate a `seccompProfile` field into the legacy annotation value
    (docs/psp-admission.md#seccomp)."""
    kind = profile.get("type")
    if kind == "RuntimeDefault":
        return "runtime/default"
    if kind == "Unconfined":
        return "unconfined"
    if kind == "Localhost" and profile.get("localhostProfile") is not None:
        return _LOCALHOST_PREFIX + profile["localhostProfile"]
    return ""


def seccomp_field_for_annotation(annotation: str) -> dict | None:
    """Translate a legacy seccomp annotation into a `seccompProfile` field
    (docs/psp-admission.md#seccomp).

    None for values with no field form (empty, unknown, or `localhost/` without a profile).
    """
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation in ("runtime/default", "docker/default"):
        return {"type": "RuntimeDefault"}
    profile = annotation.removeprefix(_LOCALHOST_PREFIX)
    if annotation.startswith(_LOCALHOST_PREFIX) and profile:
        return {"type": "Localhost", "localhostProfile": profile}
    return None


def semantically_equal(left: Any, right: Any) -> bool:
    """Go's `apiequality.Semantic.DeepEqual` over JSON shapes (docs/psp-admission.md#mutated-pods).

    Null, absent and empty lists are equal; an empty object equals an absent one only for Go
    maps and value structs (labels, metadata, ...), because elsewhere `{}` is a non-nil pointer.
    Without a schema, an explicit zero scalar (`false`, `0`) still differs from an absent
    field, which can only make the simulator evaluate an update Go would have ignored.
    """
    if isinstance(left, dict) and isinstance(right, dict):
        return all(
            _members_equal(key, left.get(key), right.get(key)) for key in left.keys() | right.keys()
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(semantically_equal, left, right))
    return left == right and isinstance(left, bool) == isinstance(right, bool)


def _members_equal(key: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        other = right if left is None else left
        return other is None or other == [] or (other == {} and key in _EMPTY_IS_ABSENT)
    return semantically_equal(left, right)


def only_gc_fields_changed(new: dict, old: dict) -> bool:
    """True when `new` differs from `old` at most in garbage-collector metadata
    (docs/psp-admission.md#ignored-requests)."""
    new_meta = dict(new.get("metadata") or {})
    old_meta = old.get("metadata") or {}
    for key in _GC_FIELDS:
        if key in old_meta:
            new_meta[key] = old_meta[key]
        else:
            new_meta.pop(key, None)
    return semantically_equal({**new, "metadata": new_meta}, old)
