"""A PodSecurityPolicy object (policy/v1beta1 or extensions/v1beta1) as an IR policy.

The object is read strictly: every field must have the type the API gives it, unknown
fields are errors, and the API's defaulting is applied (allowPrivilegeEscalation: true when
absent). What the API refuses is an error naming the field (E043). Everything it accepts is
kept exactly, odd or contradictory values included (the language states them, with
warnings), except where another spelling means the same to admission: a list entry written
twice is kept once, `*` beside other volume types is `*`, a read-only host path beside a
writable one with the same prefix is the writable one, empty SELinux options under RunAsAny
are dropped (each noted once per policy, W205). Values are checked against the language's
rules later, by compiling the policy's source (see pspc.importing.verify).

The IR built here is canonical: lists whose order has no meaning are sorted exactly as
pspc.model.intents sorts them, so that it can be compared with the compiled source.
"""

from __future__ import annotations

from pspc import vocabulary as voc
from pspc.apitypes import INT64, LIST, MAPPING
from pspc.diagnostics import Diagnostics
from pspc.importing.reader import FieldPath, InvalidFieldError, Reader, describe, field_path
from pspc.manifests import Manifest, locate
from pspc.model import ir
from pspc.model.intents import ROOT, canonical_host_paths
from pspc.targets import MANAGED_BY

API_VERSIONS = ("policy/v1beta1", "extensions/v1beta1")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BOOKKEEPING = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
               "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
               "ownerReferences", "namespace", "generateName")
"""Metadata the API server (or kubectl, for LAST_APPLIED) writes, or that has no meaning for
a cluster-wide policy: not part of a policy, ignored (as `status` is)."""

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
    "labels": ("metadata", "labels"),
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


def _note(r: Reader, path: FieldPath, message: str) -> None:
    """A normalisation to an equal meaning (W205), once per kind of change and policy."""
    text = f"{describe(r.manifest)}: {field_path(path)}: {message}"
    if text not in {d.message for d in r.diags.items}:
        r.diags.warning("W205", text, locate(r.manifest, path))


def _ranges(r: Reader, path: FieldPath, signed: bool = False) -> tuple[ir.IdRange, ...]:
    """ID ranges (non-negative, as the API validates), or host ports (`signed`: the API
    does not validate them, and pspc keeps whatever 32-bit integers they hold)."""
    found = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), ("min", "max"), required=True)
        if signed:
            low, high = (r.typed(path + (i, key), INT64, required=True) for key in ("min", "max"))
        else:
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
    if field == "runAsGroup" and rule == "RunAsAny" and ranges:
        r.fail(path + ("ranges",), "ranges must be empty with rule RunAsAny")
    if field == "runAsGroup" and rule in ("MustRunAs", "MayRunAs") and not ranges:
        r.fail(path + ("ranges",), f"rule {rule} must provide at least one range")
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
    if rule == "RunAsAny" and r.get(options_path) is not None and not options:
        _note(r, options_path, "empty seLinuxOptions under RunAsAny (which ignores them) "
              "are left out")
    no_options = rule == "MustRunAs" and r.get(options_path) is None
    return ir.SELinux(ir.Rule(rule), **options, no_options=no_options)


def _once(r: Reader, path: FieldPath, values: list, label=repr) -> list:
    """The values, each once (admission reads these lists as sets)."""
    kept = list(dict.fromkeys(values))
    if len(kept) < len(values):
        twice = next(v for i, v in enumerate(values) if v in values[:i])
        _note(r, path, f"{label(twice)} is listed twice: kept once")
    return kept


def _set(r: Reader, field: str) -> tuple[str, ...]:
    path = ("spec", field)
    return tuple(sorted(_once(r, path, r.strings(path))))


def _objects(r: Reader, field: str, key: str) -> tuple[str, ...]:
    path = ("spec", field)
    values = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), (key,), required=True)
        values.append(r.string(path + (i, key), required=True))
    return tuple(sorted(_once(r, path, values, lambda v: f"{key} {v!r}")))


def _host_paths(r: Reader) -> tuple[ir.HostPath, ...]:
    path = ("spec", "allowedHostPaths")
    found = []
    for i in range(len(r.items(path))):
        r.mapping(path + (i,), ("pathPrefix", "readOnly"), required=True)
        prefix = r.string(path + (i, "pathPrefix"), required=True)
        found.append(ir.HostPath(prefix, bool(r.boolean(path + (i, "readOnly")))))
    canonical = canonical_host_paths(found)
    if len(canonical) < len(found):
        _note(r, path, "a pathPrefix listed twice is kept once (writable if any entry for it "
              "is: admission lets a writable entry win)")
    return canonical


def _volumes(r: Reader) -> tuple[str, ...]:
    volumes = _set(r, "volumes")
    if voc.ALL in volumes and len(volumes) > 1:
        _note(r, ("spec", "volumes"), "`*` already allows every volume type: the other "
              "entries are left out")
        return (voc.ALL,)
    return volumes


def _proc_mount_types(r: Reader) -> tuple[str, ...]:
    path = ("spec", "allowedProcMountTypes")
    values = r.strings(path)
    for i, value in enumerate(values):
        if value not in _PROC_MOUNT_TYPES:
            r.fail(path + (i,), f"unsupported value {value!r}: supported values are "
                   "Default, Unmasked")
    values = _once(r, path, values)
    if values == ["Unmasked"]:
        return ("Unmasked",)
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
    return tuple(text.split(","))


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


def _labels(r: Reader) -> tuple[tuple[str, str], ...]:
    """The labels, as `label` statements; those pspc writes itself are left out (with a
    note, unless they say what pspc would)."""
    path = ("metadata", "labels")
    raw = r.typed(path, MAPPING) or {}
    for key in raw:
        r.string(path + (key,), required=True)
    for key, value in raw.items():
        if key in MANAGED_BY and MANAGED_BY[key] != value:
            _note(r, path + (key,), f"left out: pspc labels what it builds {key}="
                  f"{MANAGED_BY[key]}")
    return tuple(sorted((k, v) for k, v in raw.items() if k not in MANAGED_BY))


def _flag(field: str, default: bool | None = False):
    return lambda r: r.boolean(("spec", field), default)


_READERS = {
    "description": lambda r: r.string(FIELDS["description"]),
    "privileged": _flag("privileged"),
    "host_network": _flag("hostNetwork"),
    "host_pid": _flag("hostPID"),
    "host_ipc": _flag("hostIPC"),
    "host_ports": lambda r: _ranges(r, ("spec", "hostPorts"), signed=True),
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
    "labels": _labels,
}
"""How each IR field is read from the object (API defaults applied)."""


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
    r.mapping((), ("apiVersion", "kind", "metadata", "spec", "status"))
    name = _metadata_name(r)
    r.mapping(("spec",), SPEC_FIELDS, required=True)
    fields = {field: ROOT[field] for field in ir.INTENT_FIELDS}  # intents PSP cannot state
    fields.update((field, r.attempt(read)) for field, read in _READERS.items())
    if r.failed:
        raise InvalidFieldError
    return ir.Policy(name=name, source=manifest.span.file, span=manifest.span, **fields)
