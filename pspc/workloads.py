"""Turn a Pod or a workload into the pod creation request a cluster would see.

A bare Pod is created by the user who applies it. A workload's pods are created by a
controller in kube-controller-manager, authenticated as its own service account: this is
why a Deployment can be forbidden while the same Pod is admitted (seed 001, section 7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pspc.apitypes import POD, field_path, problems, without_nulls

CONTROLLER_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system",
                     "system:authenticated")
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Workload:
    """Where a kind keeps its pod template and which controller creates its pods."""

    template_path: tuple[str, ...]
    controller: str
    naming: str  # "hash": <name>-<hash>-, "generate": <name>-, "ordinal": <name>-0


WORKLOADS = {
    "Deployment": Workload(("spec", "template"), "replicaset-controller", "hash"),
    "ReplicaSet": Workload(("spec", "template"), "replicaset-controller", "generate"),
    "ReplicationController": Workload(("spec", "template"), "replication-controller",
                                      "generate"),
    "StatefulSet": Workload(("spec", "template"), "statefulset-controller", "ordinal"),
    "DaemonSet": Workload(("spec", "template"), "daemon-set-controller", "generate"),
    "Job": Workload(("spec", "template"), "job-controller", "generate"),
    "CronJob": Workload(("spec", "jobTemplate", "spec", "template"), "job-controller", "hash"),
}


@dataclass(frozen=True)
class PodRequest:
    """A pod as the API server receives it, and who sends it."""

    pod: dict
    namespace: str
    requester: str | None  # a controller's user name, or None for "the user applying it"
    requester_groups: tuple[str, ...] = ()
    workload: dict | None = field(default=None, compare=False)  # the object, for a workload


def controller_user(controller: str) -> str:
    return f"system:serviceaccount:kube-system:{controller}"


def template_hash(template: dict) -> str:
    """A stable pod-template-hash in Kubernetes' alphabet (FNV-32a of the template)."""
    value = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(value))


class NoPodTemplateError(ValueError):
    """The object is neither a Pod nor a workload with a well-formed pod template."""


def pod_request(obj: dict, default_namespace: str) -> PodRequest:
    """The pod creation request for a Pod or for one pod of a workload, type-checked."""
    obj = without_nulls(obj)
    found = problems(obj, POD) if obj.get("kind") == "Pod" else []
    if not found:
        request = _pod_request(obj, default_namespace)
        found = problems(request.pod, POD)
    if found:
        where = "; ".join(f"{field_path(path)}: {message}" for path, message in found[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise NoPodTemplateError(f"not a valid pod: {where}{more}")
    return request


def _pod_request(obj: dict, default_namespace: str) -> PodRequest:
    kind = obj.get("kind")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
    namespace = namespace or default_namespace
    if kind == "Pod":
        pod = json.loads(json.dumps(obj))
        pod.setdefault("metadata", {})["namespace"] = namespace
        _default_service_account(pod)
        return PodRequest(pod, namespace, None)
    workload = WORKLOADS.get(kind)
    if workload is None:
        raise NoPodTemplateError(f"{kind or 'an object without kind'} has no pod template")
    template = obj
    for key in workload.template_path:
        template = template.get(key) if isinstance(template, dict) else None
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        path = ".".join(workload.template_path)
        raise NoPodTemplateError(f"{kind} has no pod template at {path}")
    template = json.loads(json.dumps(template))
    raw_metadata = template.get("metadata") or {}
    if not isinstance(raw_metadata, dict):
        raise NoPodTemplateError(f"{kind}'s pod template metadata is not an object")
    pod_metadata = dict(raw_metadata)
    name = metadata.get("name") or "unnamed"
    pod_metadata.pop("name", None)
    if workload.naming == "hash":
        digest = template_hash(template)
        pod_metadata["generateName"] = f"{name}-{digest}-"
        pod_metadata["labels"] = {**(pod_metadata.get("labels") or {}),
                                  "pod-template-hash": digest} if kind == "Deployment" else \
            pod_metadata.get("labels") or {}
    elif workload.naming == "ordinal":
        pod_metadata["name"] = f"{name}-0"
    else:
        pod_metadata["generateName"] = f"{name}-"
    pod_metadata["namespace"] = namespace
    if not pod_metadata.get("labels"):
        pod_metadata.pop("labels", None)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata, "spec": template["spec"]}
    _default_service_account(pod)
    return PodRequest(pod, namespace, controller_user(workload.controller), CONTROLLER_GROUPS,
                      obj)


def _default_service_account(pod: dict) -> None:
    """Pods run as the `default` service account unless they name one (the ServiceAccount
    admission plugin sets it before PSP runs, and PSP authorizes that account)."""
    spec = pod.get("spec")
    if isinstance(spec, dict) and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
