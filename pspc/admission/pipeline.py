"""PSP admission inside an API server request: feature gates and the "full pipeline" mode.

The golden data ran the plugin on its own (docs/psp-admission.md#golden-cases). A real
kube-apiserver surrounds it with steps that change what PSP sees
(docs/psp-admission.md#request-pipeline): the ServiceAccount plugin injects a token volume that
counts against `volumes`, the pod REST strategy syncs seccomp annotations and fields, and
feature gates switch checks off. `Pipeline` runs either the plugin alone or that whole chain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable

from .authorizers import Authorizer, CanUse
from .jsonpatch import diff
from .plugin import CREATE, AdmissionResult, PodSecurityPolicyPlugin
from .pod import (
    default_pod,
    iter_containers,
    seccomp_annotation_for_field,
    seccomp_field_for_annotation,
)
from .rbac import Identity
from .strategies import SECCOMP_CONTAINER_PREFIX, SECCOMP_POD_ANNOTATION

__all__ = ["FeatureGates", "Pipeline"]

PLUGIN = "plugin"
FULL = "full"

_GATE_FIELDS = {
    "CSIInlineVolume": "csi_inline_volume",
    "EphemeralContainers": "ephemeral_containers",
    "ProcMountType": "proc_mount_type",
}
# What Go's strconv.ParseBool accepts, as `--feature-gates` does.
_GO_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}

TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# Kubernetes' random-name alphabet (no vowels, no 0, 1 or 3, so no words or look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclasses.dataclass(frozen=True)
class FeatureGates:
    """The kube-apiserver feature gates that change PSP admission
    (docs/psp-admission.md#feature-gates)."""

    ephemeral_containers: bool
    csi_inline_volume: bool
    proc_mount_type: bool

    @classmethod
    def v124_defaults(cls) -> FeatureGates:
        return cls(ephemeral_containers=True, csi_inline_volume=True, proc_mount_type=False)

    @classmethod
    def parse(cls, text: str) -> FeatureGates:
        """Read `--feature-gates` syntax (`Name=bool,...`); unnamed gates keep v1.24 defaults."""
        values = {}
        for item in text.split(","):
            if not item:
                continue
            name, equals, value = (part.strip() for part in item.partition("="))
            if not equals:
                raise ValueError(f"malformed feature gate {item!r}: expected Name=true|false")
            if name not in _GATE_FIELDS:
                known = ", ".join(_GATE_FIELDS)
                raise ValueError(f"unknown feature gate {name!r}: known gates are {known}")
            if value not in _GO_BOOLS:
                raise ValueError(
                    f"invalid value {value!r} for feature gate {name}: expected true|false"
                )
            values[_GATE_FIELDS[name]] = _GO_BOOLS[value]
        return dataclasses.replace(cls.v124_defaults(), **values)


# Plugin mode without gates: every gate on, so PSPs and pods count exactly as written.
_AS_WRITTEN = FeatureGates(ephemeral_containers=True, csi_inline_volume=True, proc_mount_type=True)


class Pipeline:
    """Reviews pod requests against a fixed set of PSPs in "plugin" or "full" mode
    (docs/psp-admission.md#plugin-and-full-modes).

    "plugin" is the golden data's pipeline: v1 defaulting, PSP Admit, PSP Validate; without
    `gates` it is exactly `PodSecurityPolicyPlugin.review`. "full" is a stock v1.24 API server
    (gates default to v1.24's): on CREATE, v1 defaulting, the ServiceAccount plugin, PSP Admit,
    the REST strategy's PrepareForCreate, then PSP Validate. Gates apply in either mode;
    `gates` holds the ones in force, all on for plugin mode without gates.
    """

    def __init__(
        self,
        psps: Iterable[dict],
        authorizer: Authorizer | CanUse | None = None,
        *,
        mode: str = PLUGIN,
        gates: FeatureGates | None = None,
        legacy_wording: bool = False,
    ) -> None:
        if mode not in (PLUGIN, FULL):
            raise ValueError(f"unknown pipeline mode {mode!r}: expected {PLUGIN!r} or {FULL!r}")
        if gates is None:
            gates = FeatureGates.v124_defaults() if mode == FULL else _AS_WRITTEN
        self.mode = mode
        self.gates = gates
        self.plugin = PodSecurityPolicyPlugin(
            [_as_stored(psp, gates) for psp in psps],
            authorizer,
            legacy_wording=legacy_wording,
            ephemeral_containers=gates.ephemeral_containers,
            csi_inline_volume=gates.csi_inline_volume,
        )

    def review(
        self,
        operation: str,
        pod: dict,
        *,
        user: Identity | None = None,
        namespace: str | None = None,
        old_pod: dict | None = None,
    ) -> AdmissionResult:
        """Run one request; the result's `pod` and `patch` include every step the mode ran."""
        if self.mode == PLUGIN or operation != CREATE:
            # The ServiceAccount plugin and PrepareForCreate act on CREATE only; an UPDATE
            # meets PSP Validate alone (docs/psp-admission.md#create-and-update).
            return self.plugin.review(
                operation, pod, user=user, namespace=namespace, old_pod=old_pod
            )
        request = default_pod(pod)
        _admit_service_account(request)
        # The plugin defaults the pod again, which changes nothing the second time.
        result = self.plugin.review(
            CREATE,
            request,
            user=user,
            namespace=namespace,
            prepare_for_create=self._prepare_for_create,
        )
        if result.allowed:
            result.patch = diff(pod, result.pod)
        return result

    def _prepare_for_create(self, pod: dict) -> None:
        """The pod REST strategy's PrepareForCreate, between PSP Admit and Validate
        (docs/psp-admission.md#prepareforcreate).

        It drops what disabled gates forbid, then fills in whichever of each seccomp annotation
        and field is missing, so that PSP Validate sees the pod as it will be stored.
        """
        spec = pod["spec"]
        if not self.gates.ephemeral_containers:
            spec.pop("ephemeralContainers", None)
        if not self.gates.proc_mount_type:
            # Upstream's step. Here it never changes the outcome: the PSPs lost
            # allowedProcMountTypes, so Admit has already rejected every other value
            # (docs/psp-admission.md#procmount).
            for _, container in iter_containers(spec):
                context = container.get("securityContext") or {}
                if context.get("procMount") is not None:
                    container["securityContext"] = {**context, "procMount": "Default"}
        annotations = pod["metadata"].setdefault("annotations", {})
        _sync_seccomp(annotations, SECCOMP_POD_ANNOTATION, spec)
        for _, container in iter_containers(spec):
            key = SECCOMP_CONTAINER_PREFIX + container.get("name", "")
            _sync_seccomp(annotations, key, container)


def _as_stored(psp: dict, gates: FeatureGates) -> dict:
    """The PSP as the API stores it: with ProcMountType off it drops `allowedProcMountTypes`
    on write, so the plugin falls back to [Default] (docs/psp-admission.md#procmount)."""
    spec = psp.get("spec") or {}
    if gates.proc_mount_type or "allowedProcMountTypes" not in spec:
        return psp
    kept = {key: value for key, value in spec.items() if key != "allowedProcMountTypes"}
    return {**psp, "spec": kept}


def _admit_service_account(pod: dict) -> None:
    """The ServiceAccount admission plugin on CREATE, in place
    (docs/psp-admission.md#serviceaccount-admission).

    The service account is taken to exist with no automount setting of its own, so only the
    pod's `automountServiceAccountToken: false` keeps the token volume out. As upstream, an
    existing `kube-api-access-*` volume is reused and containers that already mount something
    at the token path are left alone; ephemeral containers get no mount.
    """
    spec = pod["spec"]
    spec["serviceAccountName"] = spec.get("serviceAccountName") or "default"
    if spec.get("automountServiceAccountToken") is False:
        return
    volumes = spec.get("volumes") or []
    existing = next(
        (v["name"] for v in volumes if v.get("name", "").startswith(TOKEN_VOLUME_PREFIX)), None
    )
    name = existing or _token_volume_name(pod)
    mounted = False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            mounts = container.get("volumeMounts") or []
            if all(mount.get("mountPath") != TOKEN_MOUNT_PATH for mount in mounts):
                mount = {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
                container["volumeMounts"] = [*mounts, mount]
                mounted = True
    if mounted and existing is None:
        spec["volumes"] = [*volumes, {"name": name, "projected": _token_projection()}]


def _token_volume_name(pod: dict) -> str:
    """`kube-api-access-` and five characters of Kubernetes' random-name alphabet.

    Upstream draws the characters at random; deriving them from the pod instead makes every
    review of the same pod produce the same volume name, and so the same patch.
    """
    canonical = json.dumps(pod, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(canonical).digest()
    suffix = "".join(_NAME_ALPHABET[byte % len(_NAME_ALPHABET)] for byte in digest[:5])
    return TOKEN_VOLUME_PREFIX + suffix


def _token_projection() -> dict:
    """Upstream's token volume source: the three sources the projected-token exception
    (docs/psp-admission.md#token-volume-exception) admits, with upstream's explicit `defaultMode`
    (0644) and `expirationSeconds` (1h7s)."""
    return {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {
                "configMap": {
                    "name": "kube-root-ca.crt",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                }
            },
            {
                "downwardAPI": {
                    "items": [
                        {
                            "path": "namespace",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        }
                    ]
                }
            },
        ],
    }


def _sync_seccomp(annotations: dict, key: str, owner: dict) -> None:
    """Fill in whichever of the seccomp annotation `key` and `owner`'s field is missing.

    `owner` is the pod spec or a container; each keeps `seccompProfile` in its
    `securityContext`. Values with no counterpart in the mapping of
    docs/psp-admission.md#seccomp are left alone.
    """
    context = owner.get("securityContext") or {}
    field = context.get("seccompProfile")
    if field is not None and key not in annotations:
        value = seccomp_annotation_for_field(field)
        if value:
            annotations[key] = value
    elif field is None and key in annotations:
        profile = seccomp_field_for_annotation(annotations[key])
        if profile is not None:
            owner["securityContext"] = {**context, "seccompProfile": profile}
