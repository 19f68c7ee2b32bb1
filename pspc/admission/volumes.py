"""A PSP's volume rules: allowed types, host path prefixes, flex and CSI drivers
(docs/psp-admission.md#volumes, docs/psp-admission.md#host-paths,
docs/psp-admission.md#flex-volumes, docs/psp-admission.md#csi-drivers)."""

from __future__ import annotations

from .fielderrors import FieldError, invalid
from .pod import iter_containers, volume_source

# Pod volume source keys whose PSP volume type is spelled differently.
_PSP_TYPE_NAMES = {"cephfs": "cephFS"}


def psp_volume_type(volume: dict) -> str:
    """The PSP volume type of a pod volume; a source-less volume defaults to emptyDir."""
    source = volume_source(volume) or "emptyDir"
    return _PSP_TYPE_NAMES.get(source, source)


def is_only_service_account_token_sources(projected: dict) -> bool:
    """True when a projected volume holds only what the token-volume injection creates."""
    for source in projected.get("sources") or ():
        token = source.get("serviceAccountToken")
        config_map = source.get("configMap")
        downward_api = source.get("downwardAPI")
        if token is None and config_map is None and downward_api is None:
            return False
        if token is not None and (token.get("path") != "token" or token.get("audience")):
            return False
        if config_map is not None and config_map.get("name") != "kube-root-ca.crt":
            return False
        for item in (downward_api or {}).get("items") or ():
            field_ref = item.get("fieldRef") or {}
            if (
                item.get("path") != "namespace"
                or field_ref.get("apiVersion") != "v1"
                or field_ref.get("fieldPath") != "metadata.namespace"
            ):
                return False
    return True


def has_path_prefix(path: str, prefix: str) -> bool:
    """Segment-aware prefix match after removing one trailing slash from each side."""
    path = path.removesuffix("/")
    prefix = prefix.removesuffix("/")
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/")


class VolumePolicy:
    """The volume part of one compiled PSP.

    The keyword arguments are the EphemeralContainers and CSIInlineVolume feature gates: with
    the first off, read-only host path mounts are not checked in ephemeral containers; with
    the second off, `allowedCSIDrivers` is ignored (docs/psp-admission.md#feature-gates).
    """

    __slots__ = (
        "allow_all",
        "allowed",
        "host_paths",
        "flex_drivers",
        "csi_drivers",
        "ephemeral_containers",
    )

    def __init__(
        self, spec: dict, *, ephemeral_containers: bool = True, csi_inline_volume: bool = True
    ) -> None:
        volumes = spec.get("volumes") or ()
        self.allow_all = "*" in volumes
        self.allowed = frozenset(volumes)
        self.host_paths = tuple(
            (entry.get("pathPrefix", ""), bool(entry.get("readOnly")))
            for entry in spec.get("allowedHostPaths") or ()
        )
        self.flex_drivers = frozenset(
            entry.get("driver", "") for entry in spec.get("allowedFlexVolumes") or ()
        )
        csi_drivers = spec.get("allowedCSIDrivers") if csi_inline_volume else None
        self.csi_drivers = frozenset(entry.get("name", "") for entry in csi_drivers or ())
        self.ephemeral_containers = ephemeral_containers

    def allows_host_path(self, path: str) -> tuple[bool, bool]:
        """(allowed, must be read-only); an empty allow-list allows every path read-write."""
        if not self.host_paths:
            return True, False
        allowed = False
        for prefix, read_only in self.host_paths:
            if has_path_prefix(path, prefix):
                if not read_only:
                    return True, False
                allowed = True
        return allowed, allowed

    def check(self, errors: list[FieldError], spec: dict) -> None:
        for index, volume in enumerate(spec.get("volumes") or ()):
            kind = psp_volume_type(volume)
            if not self.allow_all and kind not in self.allowed:
                if (
                    kind == "projected"
                    and "secret" in self.allowed
                    and is_only_service_account_token_sources(volume["projected"])
                ):
                    continue
                detail = f"{kind} volumes are not allowed to be used"
                errors.append(invalid(f"spec.volumes[{index}]", kind, detail))
                continue
            if kind == "hostPath":
                self._check_host_path(errors, spec, index, volume)
            elif kind == "flexVolume" and self.flex_drivers:
                driver = volume["flexVolume"].get("driver", "")
                if driver not in self.flex_drivers:
                    detail = "Flexvolume driver is not allowed to be used"
                    errors.append(invalid(f"spec.volumes[{index}].driver", driver, detail))
            elif kind == "csi" and self.csi_drivers:
                driver = volume["csi"].get("driver", "")
                if driver not in self.csi_drivers:
                    detail = "Inline CSI driver is not allowed to be used"
                    errors.append(invalid(f"spec.volumes[{index}].csi.driver", driver, detail))

    def _check_host_path(
        self, errors: list[FieldError], spec: dict, index: int, volume: dict
    ) -> None:
        path = volume["hostPath"].get("path", "")
        allowed, read_only = self.allows_host_path(path)
        if not allowed:
            path_field = f"spec.volumes[{index}].hostPath.pathPrefix"
            errors.append(invalid(path_field, path, "is not allowed to be used"))
        elif read_only:
            name = volume.get("name", "")
            for prefix, container in iter_containers(spec, ephemeral=self.ephemeral_containers):
                for mount_index, mount in enumerate(container.get("volumeMounts") or ()):
                    if mount.get("name", "") == name and not mount.get("readOnly"):
                        mount_field = f"{prefix}.volumeMounts[{mount_index}].readOnly"
                        errors.append(invalid(mount_field, False, "must be read-only"))
