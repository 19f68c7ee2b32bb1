"""Reading a cluster dump, and resolving which workload owns each pod.

A dump is what `kubectl get ... -A -o yaml` prints: a `kind: List` (or any YAML pspc
reads, several files allowed) of pods, workloads, namespaces, PodSecurityPolicies and RBAC.
Every object is type-checked as it is read (pspc.manifests); other kinds are counted and
left out.

A pod's controller is the `ownerReferences` entry with `controller: true`. Following it up
through the dump gives the object whose pod template makes the pod's replacements: pod ->
ReplicaSet -> Deployment, pod -> Job -> CronJob, pod -> StatefulSet or DaemonSet. That
object, the *top*, is what the plan evaluates; a pod whose controller is not in the dump
(a custom resource's operator, a kind the dump did not ask for) is evaluated as it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pspc.compiler import UsageError, discover, display_path
from pspc.diagnostics import Diagnostics
from pspc.manifests import Manifest, read_manifests
from pspc.workloads import WORKLOADS

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
PSP_API_VERSIONS = ("policy/v1beta1", "extensions/v1beta1")


@dataclass(frozen=True, order=True)
class Ref:
    """An object by kind, namespace and name: `Deployment payments/checkout`."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind} {self.name}"


def ref(manifest: Manifest) -> Ref:
    metadata = manifest.object.get("metadata") or {}
    return Ref(manifest.kind, str(metadata.get("namespace") or ""), manifest.name)


@dataclass
class ClusterDump:
    """The objects of a dump that the plan reads, in file and document order."""

    files: list[str] = field(default_factory=list)
    namespaces: dict[str, Manifest] = field(default_factory=dict)  # Namespace objects
    pods: list[Manifest] = field(default_factory=list)
    workloads: list[Manifest] = field(default_factory=list)  # kinds of pspc.workloads
    psps: list[Manifest] = field(default_factory=list)
    rbac: list[Manifest] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)  # other kinds, counted

    def add(self, manifest: Manifest) -> None:
        kind = manifest.kind
        if kind == "Pod":
            self.pods.append(manifest)
        elif kind in WORKLOADS:
            self.workloads.append(manifest)
        elif kind == "Namespace":
            self.namespaces[manifest.name] = manifest
        elif kind == "PodSecurityPolicy" and manifest.object.get("apiVersion") in \
                PSP_API_VERSIONS:
            self.psps.append(manifest)
        elif kind in RBAC_KINDS:
            self.rbac.append(manifest)
        else:
            self.ignored[kind or "(no kind)"] = self.ignored.get(kind or "(no kind)", 0) + 1


def read_dump(paths: Iterable[str], diags: Diagnostics) -> ClusterDump:
    """The objects of every YAML/JSON file named (or found below a folder named)."""
    dump = ClusterDump()
    for raw in paths:
        if not Path(raw).exists():
            raise UsageError(f"no such file or directory: {raw}")
    for path in discover(list(paths), MANIFEST_SUFFIXES, take_named=True):
        dump.files.append(display_path(path))
        for manifest in read_manifests(path, display_path(path), diags):
            dump.add(manifest)
    return dump


def namespace_of(manifest: Manifest) -> str:
    metadata = manifest.object.get("metadata") or {}
    return str(metadata.get("namespace") or "default")


def controller_reference(manifest: Manifest) -> dict | None:
    """The ownerReferences entry that is the object's controller (`controller: true`;
    else the only entry), or None."""
    metadata = manifest.object.get("metadata") or {}
    found = [r for r in metadata.get("ownerReferences") or () if isinstance(r, dict)
             and isinstance(r.get("kind"), str) and isinstance(r.get("name"), str)]
    controllers = [r for r in found if r.get("controller") is True]
    if controllers:
        return controllers[0]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Resolution:
    """Where a pod or workload leads: its top object in the dump, the chain up to it
    (the object first), and the controller it names that the dump does not hold."""

    top: Manifest
    chain: tuple[Ref, ...]
    missing: Ref | None = None


def _uid(manifest: Manifest) -> str | None:
    uid = (manifest.object.get("metadata") or {}).get("uid")
    return uid if isinstance(uid, str) and uid else None


class Owners:
    """ownerReferences over the objects of a dump: by uid, as Kubernetes matches them; by
    kind, namespace and name where the reference or the object has no uid (a hand-written
    dump). An object of that name with another uid is not the owner: the owner was
    deleted, and the name taken again."""

    def __init__(self, objects: Iterable[Manifest]) -> None:
        self.by_uid: dict[str, Manifest] = {}
        self.by_ref: dict[Ref, Manifest] = {}
        for manifest in objects:
            metadata = manifest.object.get("metadata") or {}
            uid = metadata.get("uid")
            if isinstance(uid, str) and uid:
                self.by_uid[uid] = manifest
            self.by_ref[Ref(manifest.kind, namespace_of(manifest), manifest.name)] = manifest

    def owner(self, manifest: Manifest) -> tuple[Manifest | None, Ref | None]:
        """(the controller in the dump, None) or (None, the controller it names but the
        dump lacks); (None, None) when the object has no controller."""
        reference = controller_reference(manifest)
        if reference is None:
            return None, None
        wanted = Ref(reference["kind"], namespace_of(manifest), reference["name"])
        uid = reference.get("uid") if isinstance(reference.get("uid"), str) else None
        found = self.by_uid.get(uid) if uid else None
        if found is not None and found.kind == wanted.kind and \
                namespace_of(found) == wanted.namespace:
            return found, None
        found = self.by_ref.get(wanted)
        if found is not None and uid and _uid(found) and _uid(found) != uid:
            found = None  # same name, another object: the owner was deleted and re-created
        return (found, None) if found is not None else (None, wanted)

    def resolve(self, manifest: Manifest) -> Resolution:
        """Follow controllers up through the dump (a loop stops where it closes)."""
        chain = [Ref(manifest.kind, namespace_of(manifest), manifest.name)]
        current = manifest
        seen = {id(manifest)}
        while True:
            found, missing = self.owner(current)
            if found is None or id(found) in seen:
                return Resolution(current, tuple(chain), missing)
            seen.add(id(found))
            chain.append(Ref(found.kind, namespace_of(found), found.name))
            current = found
