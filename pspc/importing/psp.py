"""A PodSecurityPolicy object (policy/v1beta1 or extensions/v1beta1) as an IR policy.

The object is read strictly: every field must have the type the API gives it, unknown
fields are errors, and the API's defaulting is applied (allowPrivilegeEscalation: true when
absent). What the API accepts but pspc cannot say exactly (ranges under RunAsAny, a list
that repeats an entry, allowedProcMountTypes without Default...) is an error naming the
field and why (E044); it is never dropped. Values are checked against the language's rules
later, by compiling the policy's source (see pspc.importing.verify).

The IR built here is canonical: lists whose order has no meaning are sorted exactly as
pspc.model.intents sorts them, so that it can be compared with the compiled source.
"""

from __future__ import annotations

from pspc import vocabulary as voc
from pspc.apitypes import LIST, MAPPING
from pspc.diagnostics import Diagnostics
from pspc.importing.reader import FieldPath, InvalidFieldError, Reader
from pspc.manifests import Manifest
from pspc.model import ir
from pspc.model.intents import ROOT
from pspc.targets import MANAGED_BY

API_VERSIONS = ("policy/v1beta1", "extensions/v1beta1")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BOOKKEEPING = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
               "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
"""Metadata the API server (or kubectl, for LAST_APPLIED) writes: not part of a policy."""

FIELDS: dict[str, FieldPath] = {
    "description": ("metadata", "annotations", voc.DESCRIPTION),
    "privileged": ("spec", "privileged"),
    "host_network": ("spec", "hostNetwork"),
    "host_pid": ("spec", "hostPID"),
    "host_ipc": ("spec", "hostIPC"),
    "host_ports": ("spec", "hostPorts"),
    "volumes": ("spec", "volumes"),
    "allowed_host_paths": ("spec", "allowedHostPaths"),
    "allowed_flex_volumes": ("spec", "allowedFlexVolumes"),
    "allowed_csi_drivers": ("spec", "allowedCSIDrivers"),
    "run_as_user": ("spec", "runAsUser"),
    "run_as_group": ("spec", "runAsGroup"),
    "supplemental_groups": ("spec", "supplementalGroups"),
    "fs_group": ("spec", "fsGroup"),
    "read_only_root_filesystem": ("spec", "readOnlyRootFilesystem"),
    "allow_privilege_escalation": ("spec", "allowPrivilegeEscalation"),
    "default_allow_privilege_escalation": ("spec", "defaultAllowPrivilegeEscalation"),
    "allowed_capabilities": ("spec", "allowedCapabilities"),
    "default_add_capabilities": ("spec", "defaultAddCapabilities"),
    "required_drop_capabilities": ("spec", "requiredDropCapabilities"),
    "selinux": ("spec", "seLinux"),
    "allowed_proc_mount_types": ("spec", "allowedProcMountTypes"),
    "allowed_unsafe_sysctls": ("spec", "allowedUnsafeSysctls"),
    "forbidden_sysctls": ("spec", "forbiddenSysctls"),
    "runtime_class": ("spec", "runtimeClass"),
    "seccomp_allowed": ("metadata", "annotations", voc.SECCOMP_ALLOWED),
    "seccomp_default": ("metadata", "annotations", voc.SECCOMP_DEFAULT),
    "apparmor_allowed": ("metadata", "annotations", voc.APPARMOR_ALLOWED),
    "apparmor_default": ("metadata", "annotations", voc.APPARMOR_DEFAULT),
    "annotations": ("metadata", "annotations"),
    "name": ("metadata", "name"),
}
"""Where each IR field lives in a PodSecurityPolicy object."""

SPEC_FIELDS = tuple(path[1] for path in FIELDS.values() if path[0] == "spec")
_ID_RULES = {
    "runAsUser": ("MustRunAs", "MustRunAsNonRoot", "RunAsAny"),
    "runAsGroup": ("MustRunAs", "RunAsAny", "MayRunAs"),
    "supplementalGroups": ("MayRunAs", "MustRunAs", "RunAsAny"),
    "fsGroup": ("MayRunAs", "MustRunAs", "RunAsAny"),
}
_PROC_MOUNT_TYPES = ("Default", "Unmasked")


# -- fields -------------------------------------------------------------------------------


def _ranges(r: Reader, path: FieldPath) -> tuple[ir.IdRange, ...]:
    found = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), ("min", "max"), required=True)
        low, high = r.integer(path + (i, "min")), r.integer(path + (i, "max"))
        found.append(ir.IdRange(low, high))
    return tuple(found)


def _id_policy(r: Reader, field: str) -> ir.IdPolicy | None:
    path = ("spec", field)
    required = field != "runAsGroup"
    if r.get(path) is None and not required:
        return None
    r.mapping(path, ("rule", "ranges"), required=True)
    rules = _ID_RULES[field]
    rule = r.string(path + ("rule",), required=True)
    if rule not in rules:
        r.fail(path + ("rule",), f"unsupported value {rule!r}: supported values are "
               + ", ".join(rules))
    ranges = _ranges(r, path + ("ranges",))
    for i, span in enumerate(ranges):
        if span.min > span.max:
            r.fail(path + ("ranges", i, "min"), f"min {span.min} is greater than max {span.max}")
    if rule in ("RunAsAny", "MustRunAsNonRoot") and ranges:
        if field == "runAsGroup":
            r.fail(path + ("ranges",), "ranges must be empty with rule RunAsAny")
        r.fail(path + ("ranges",), f"ranges have no effect with rule {rule}, and pspc cannot "
               "keep them", "E044", help="remove the ranges")
    if rule in ("MustRunAs", "MayRunAs") and not ranges:
        if field == "runAsGroup":
            r.fail(path + ("ranges",), f"rule {rule} must provide at least one range")
        r.fail(path + ("ranges",), f"rule {rule} without ranges makes the policy unusable "
               "(admission skips it); pspc cannot express it", "E044",
               help="add a range, or use RunAsAny")
    return ir.IdPolicy(ir.Rule(rule), ranges)


def _selinux(r: Reader) -> ir.SELinux:
    path = ("spec", "seLinux")
    r.mapping(path, ("rule", "seLinuxOptions"), required=True)
    rule = r.string(path + ("rule",), required=True)
    if rule not in ("MustRunAs", "RunAsAny"):
        r.fail(path + ("rule",), f"unsupported value {rule!r}: supported values are "
               "MustRunAs, RunAsAny")
    keys = ("level", "role", "type", "user")
    options_path = path + ("seLinuxOptions",)
    raw = r.mapping(options_path, keys)
    options = {k: r.string(options_path + (k,)) for k in keys if raw.get(k) is not None}
    if rule == "RunAsAny" and options:
        r.fail(options_path, "seLinuxOptions have no effect with rule RunAsAny, and pspc "
               "cannot keep them", "E044", help="remove seLinuxOptions")
    if rule == "MustRunAs" and not options:
        r.fail(options_path, "rule MustRunAs without seLinuxOptions makes the policy unusable "
               "(admission skips it); pspc cannot express it", "E044",
               help="set the level, role, type or user, or use RunAsAny")
    return ir.SELinux(ir.Rule(rule), **options)


def _set(r: Reader, field: str) -> tuple[str, ...]:
    path = ("spec", field)
    values = r.strings(path)
    r.unique(path, values, repr)
    return tuple(sorted(values))


def _objects(r: Reader, field: str, key: str) -> tuple[str, ...]:
    path = ("spec", field)
    values = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), (key,), required=True)
        values.append(r.string(path + (i, key), required=True))
    r.unique(path, values, lambda v: f"{key} {v!r}")
    return tuple(sorted(values))


def _host_paths(r: Reader) -> tuple[ir.HostPath, ...]:
    path = ("spec", "allowedHostPaths")
    found = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), ("pathPrefix", "readOnly"), required=True)
        prefix = r.string(path + (i, "pathPrefix"), required=True)
        found.append(ir.HostPath(prefix, bool(r.boolean(path + (i, "readOnly")))))
    r.unique(path, [p.prefix for p in found], lambda v: f"pathPrefix {v!r}")
    return tuple(sorted(found, key=lambda p: p.prefix))


def _volumes(r: Reader) -> tuple[str, ...]:
    volumes = _set(r, "volumes")
    if voc.ALL in volumes and len(volumes) > 1:
        r.fail(("spec", "volumes"), "`*` already allows every volume type; pspc cannot keep "
               "the other entries beside it", "E044", help="write only '*'")
    return volumes


def _needs_volume(r: Reader, field: str, values: tuple, volumes: tuple[str, ...],
                  volume: str) -> None:
    if values and volume not in volumes and voc.ALL not in volumes:
        r.fail(("spec", field), f"has no effect: volumes does not allow {volume}, and pspc "
               f"cannot express {field} without {volume} volumes", "E044",
               help=f"add {volume} to volumes, or remove {field}")


def _proc_mount_types(r: Reader) -> tuple[str, ...]:
    path = ("spec", "allowedProcMountTypes")
    values = r.strings(path)
    for i, value in enumerate(values):
        if value not in _PROC_MOUNT_TYPES:
            r.fail(path + (i,), f"unsupported value {value!r}: supported values are "
                   "Default, Unmasked")
    r.unique(path, values, repr)
    if values == ["Unmasked"]:
        r.fail(path, "[Unmasked] without Default rejects every container that does not ask "
               "for an unmasked /proc; pspc cannot express it", "E044",
               help="allow Default too (`allow unmasked proc mount`)")
    return _PROC_MOUNT_TYPES if "Unmasked" in values else ()


def _runtime_class(r: Reader) -> ir.RuntimeClass | None:
    path = ("spec", "runtimeClass")
    if r.get(path) is None:
        return None
    r.mapping(path, ("allowedRuntimeClassNames", "defaultRuntimeClassName"))
    names_path = path + ("allowedRuntimeClassNames",)
    r.typed(names_path, LIST, required=True)
    names = r.strings(names_path)
    r.unique(names_path, names, repr)
    return ir.RuntimeClass(tuple(sorted(names)), r.string(path + ("defaultRuntimeClassName",)))


def _profiles(r: Reader, key: str, kind: str) -> tuple[str, ...] | None:
    path = ("metadata", "annotations", key)
    text = r.string(path)
    if text is None:
        return None
    if text == "":
        meaning = ("allows no profile, like no annotation but with other rejection messages"
                   if kind == "seccomp" else "rejects every pod")
        r.fail(path, f"an empty list {meaning}; pspc cannot express it", "E044",
               help="remove the annotation" if kind == "seccomp" else "list the profiles")
    profiles = text.split(",")
    r.unique(path, profiles, lambda p: f"profile {p!r}", indexed=False)
    return tuple(profiles)


def _annotations(r: Reader) -> tuple[tuple[str, str], ...]:
    """The annotations no intent reads (kubectl's bookkeeping left out), sorted."""
    path = ("metadata", "annotations")
    raw = r.typed(path, MAPPING) or {}
    for key in raw:
        r.string(path + (key,), required=True)
    hidden = {*voc.RESERVED_ANNOTATIONS, LAST_APPLIED}
    return tuple(sorted((k, v) for k, v in raw.items() if k not in hidden))


def _metadata_name(r: Reader) -> str:
    keys = ("name", "annotations", "labels", *BOOKKEEPING)
    r.mapping(("metadata",), keys, required=True)
    name = r.string(("metadata", "name"), required=True)
    if not voc.is_subdomain(name):
        r.fail(("metadata", "name"), f"{name!r} is not a valid PodSecurityPolicy name (a DNS "
               "subdomain: lower-case letters, digits, '-' and '.')")
    return name


def _labels(r: Reader) -> None:
    path = ("metadata", "labels")
    for key, value in (r.typed(path, MAPPING) or {}).items():
        if MANAGED_BY.get(key) != value:
            r.error(path + (key,), "pspc cannot express labels (it writes only "
                    + ", ".join(f"{k}: {v}" for k, v in MANAGED_BY.items()) + " itself)",
                    "E044", help="remove the label")


def _flag(field: str, default: bool | None = False):
    return lambda r: r.boolean(("spec", field), default)


_READERS = {
    "description": lambda r: r.string(FIELDS["description"]),
    "privileged": _flag("privileged"),
    "host_network": _flag("hostNetwork"),
    "host_pid": _flag("hostPID"),
    "host_ipc": _flag("hostIPC"),
    "host_ports": lambda r: _ranges(r, ("spec", "hostPorts")),
    "volumes": _volumes,
    "allowed_host_paths": _host_paths,
    "allowed_flex_volumes": lambda r: _objects(r, "allowedFlexVolumes", "driver"),
    "allowed_csi_drivers": lambda r: _objects(r, "allowedCSIDrivers", "name"),
    "run_as_user": lambda r: _id_policy(r, "runAsUser"),
    "run_as_group": lambda r: _id_policy(r, "runAsGroup"),
    "supplemental_groups": lambda r: _id_policy(r, "supplementalGroups"),
    "fs_group": lambda r: _id_policy(r, "fsGroup"),
    "read_only_root_filesystem": _flag("readOnlyRootFilesystem"),
    "allow_privilege_escalation": _flag("allowPrivilegeEscalation", True),
    "default_allow_privilege_escalation": _flag("defaultAllowPrivilegeEscalation", None),
    "allowed_capabilities": lambda r: _set(r, "allowedCapabilities"),
    "default_add_capabilities": lambda r: _set(r, "defaultAddCapabilities"),
    "required_drop_capabilities": lambda r: _set(r, "requiredDropCapabilities"),
    "selinux": _selinux,
    "allowed_proc_mount_types": _proc_mount_types,
    "allowed_unsafe_sysctls": lambda r: _set(r, "allowedUnsafeSysctls"),
    "forbidden_sysctls": lambda r: _set(r, "forbiddenSysctls"),
    "runtime_class": _runtime_class,
    "seccomp_allowed": lambda r: _profiles(r, voc.SECCOMP_ALLOWED, "seccomp"),
    "seccomp_default": lambda r: r.string(FIELDS["seccomp_default"]),
    "apparmor_allowed": lambda r: _profiles(r, voc.APPARMOR_ALLOWED, "apparmor"),
    "apparmor_default": lambda r: r.string(FIELDS["apparmor_default"]),
    "annotations": _annotations,
}
"""How each IR field is read from the object (API defaults applied)."""
_VOLUME_LISTS = (("allowed_host_paths", "hostPath"), ("allowed_flex_volumes", "flexVolume"),
                 ("allowed_csi_drivers", "csi"))


def convert(manifest: Manifest, diags: Diagnostics) -> ir.Policy | None:
    """The policy a PodSecurityPolicy object states, or None after reporting why not."""
    r = Reader(manifest, diags)
    try:
        return _convert(r)
    except InvalidFieldError:
        return None


def _convert(r: Reader) -> ir.Policy:
    manifest = r.manifest
    r.repeated_keys()
    api = r.get(("apiVersion",))
    if api not in API_VERSIONS:
        r.fail(("apiVersion",), f"unsupported apiVersion {api!r} for a PodSecurityPolicy",
               "E042", help="PodSecurityPolicy is policy/v1beta1 (or extensions/v1beta1)")
    r.mapping((), ("apiVersion", "kind", "metadata", "spec"))
    name = _metadata_name(r)
    r.attempt(_labels)
    r.mapping(("spec",), SPEC_FIELDS, required=True)
    fields = {field: ROOT[field] for field in ir.INTENT_FIELDS}  # intents PSP cannot state
    fields.update((field, r.attempt(read)) for field, read in _READERS.items())
    if r.failed:
        raise InvalidFieldError
    for field, volume in _VOLUME_LISTS:
        r.attempt(_needs_volume, FIELDS[field][1], fields[field], fields["volumes"], volume)
    if r.failed:
        raise InvalidFieldError
    return ir.Policy(name=name, source=manifest.span.file, span=manifest.span, **fields)
