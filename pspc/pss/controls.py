"""The Pod Security Standards checks, one small function per upstream check id.

Each function reads a `PodView` and the version-dependent `Rules` that levels.py picks for a
policy version, and returns None (the pod passes) or a `Violation` whose text is exactly the
`reason (detail)` fragment that the pod-security-admission library puts in its error message,
so that pspc's PSA engine reads like a real API server. Names, plurals, quoting and ordering
follow upstream's helpers: `joinQuote` wraps items in double quotes without escaping, sets are
listed sorted, and containers are visited init, regular, then ephemeral.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.gostrings import go_quote

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
})
# Every other source the v1 API knows, in the order upstream's switch names the first one set.
DENIED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos",
)
_VALID_PROFILE_TYPES = ("RuntimeDefault", "Localhost")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("postStart", "preStop")


@dataclass(frozen=True)
class Rules:
    """What changes between policy versions, as data (levels.py fills it in)."""

    sysctls: frozenset[str]
    selinux_types: frozenset[str]
    seccomp_fields: bool  # v1.19+: read seccompProfile fields instead of annotations
    user_namespace_relaxation: bool  # v1.35+: `hostUsers: false` pods are exempt
    windows_exemption: bool  # v1.25+: `os.name: windows` pods are exempt


@dataclass(frozen=True)
class Violation:
    """One failed check: upstream's ForbiddenReason and ForbiddenDetail, plus the fields."""

    reason: str
    detail: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


@dataclass(frozen=True)
class Container:
    name: str
    path: str  # e.g. "spec.initContainers[0]"
    spec: dict
    context: dict  # the securityContext, {} when absent


class PodView:
    """The parts of a pod every check reads, extracted once per evaluation.

    The fixtures (and pods written by hand) are not API-defaulted; the only default that
    changes a verdict is that a volume with no source becomes an emptyDir, which the
    volume checks honour.
    """

    def __init__(self, pod: dict) -> None:
        metadata = pod.get("metadata") or {}
        self.annotations: dict = metadata.get("annotations") or {}
        self.spec: dict = pod.get("spec") or {}
        self.context: dict = self.spec.get("securityContext") or {}
        self.containers = tuple(
            Container(str(c.get("name") or ""), path, c, c.get("securityContext") or {})
            for path, c in voc.iter_containers(self.spec))
        self.volumes: list = self.spec.get("volumes") or []
        self.windows = (self.spec.get("os") or {}).get("name") == "windows"
        self.user_namespace = self.spec.get("hostUsers") is False


Control = Callable[[PodView, Rules], Violation | None]


# -- upstream's formatting helpers ----------------------------------------------------------


def _join_quote(items: Iterable[str]) -> str:
    items = list(items)
    return '"' + '", "'.join(items) + '"' if items else ""


def _pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(names: list[str]) -> str:
    return f"{_pluralize('container', 'containers', len(names))} {_join_quote(names)}"


def _setters(pod_bad: bool, names: list[str]) -> str:
    """`pod`, `container "a"` or `pod and containers "a", "b"`, as upstream joins them."""
    parts = (["pod"] if pod_bad else []) + ([_containers(names)] if names else [])
    return " and ".join(parts)


def _sc_path(container: Container, leaf: str) -> str:
    return f"{container.path}.securityContext.{leaf}"


# -- baseline checks -------------------------------------------------------------------------


def privileged(pod: PodView, rules: Rules) -> Violation | None:
    bad = [c for c in pod.containers if c.context.get("privileged") is True]
    if not bad:
        return None
    return Violation("privileged", f"{_containers([c.name for c in bad])} must not set "
                     "securityContext.privileged=true",
                     tuple(_sc_path(c, "privileged") for c in bad))


def host_namespaces(pod: PodView, rules: Rules) -> Violation | None:
    used = [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(key) is True]
    if not used:
        return None
    return Violation("host namespaces", ", ".join(f"{key}=true" for key in used),
                     tuple(f"spec.{key}" for key in used))


def host_ports(pod: PodView, rules: Rules) -> Violation | None:
    bad, ports, fields = [], set(), []
    for c in pod.containers:
        used = [(j, p["hostPort"]) for j, p in enumerate(c.spec.get("ports") or ())
                if p.get("hostPort")]
        if used:
            bad.append(c.name)
            ports.update(str(port) for _, port in used)
            fields.extend(f"{c.path}.ports[{j}].hostPort" for j, _ in used)
    if not bad:
        return None
    return Violation("hostPort", f"{_containers(bad)} {_pluralize('uses', 'use', len(bad))} "
                     f"{_pluralize('hostPort', 'hostPorts', len(ports))} "
                     + ", ".join(sorted(ports)), tuple(fields))


def host_path_volumes(pod: PodView, rules: Rules) -> Violation | None:
    bad = [(i, v) for i, v in enumerate(pod.volumes) if v.get("hostPath") is not None]
    if not bad:
        return None
    names = [str(v.get("name") or "") for _, v in bad]
    return Violation("hostPath volumes",
                     f"{_pluralize('volume', 'volumes', len(names))} {_join_quote(names)}",
                     tuple(f"spec.volumes[{i}].hostPath" for i, _ in bad))


def capabilities_baseline(pod: PodView, rules: Rules) -> Violation | None:
    bad, added = [], set()
    for c in pod.containers:
        extra = [cap for cap in (c.context.get("capabilities") or {}).get("add") or ()
                 if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c)
            added.update(extra)
    if not bad:
        return None
    return Violation("non-default capabilities",
                     f"{_containers([c.name for c in bad])} must not include "
                     f"{_join_quote(sorted(added))} in securityContext.capabilities.add",
                     tuple(_sc_path(c, "capabilities.add") for c in bad))


def _apparmor_annotation_ok(value: str) -> bool:
    return value in ("", voc.RUNTIME_DEFAULT) or value.startswith(voc.LOCALHOST_PREFIX)


def _bad_annotations(pod: PodView, keys: Iterable[str]) -> list[tuple[str, str]]:
    """(key, `key="value"`) pairs sorted by the text, as upstream sorts its string set."""
    texts = {key: f"{key}={go_quote(str(pod.annotations[key]))}" for key in keys}
    return sorted(texts.items(), key=lambda item: item[1])


def app_armor_profile(pod: PodView, rules: Rules) -> Violation | None:
    """The field (pod and containers) and the beta annotations; one rule for every version."""
    values: set[str] = set()
    fields: list[str] = []
    pod_profile = pod.context.get("appArmorProfile")
    pod_bad = pod_profile is not None and pod_profile.get("type") not in _VALID_PROFILE_TYPES
    if pod_bad:
        values.add(str(pod_profile.get("type") or ""))
        fields.append("spec.securityContext.appArmorProfile.type")
    bad = []
    for c in pod.containers:
        profile = c.context.get("appArmorProfile")
        if profile is not None and profile.get("type") not in _VALID_PROFILE_TYPES:
            bad.append(c.name)
            values.add(str(profile.get("type") or ""))
            fields.append(_sc_path(c, "appArmorProfile.type"))
    annotations = _bad_annotations(pod, (
        key for key, value in pod.annotations.items()
        if key.startswith(APPARMOR_CONTAINER_PREFIX) and not _apparmor_annotation_ok(str(value))))
    fields.extend(f"metadata.annotations[{key}]" for key, _ in annotations)
    setters = [s for s in (_setters(pod_bad, bad),) if s]
    if annotations:
        setters.append(_pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    listed = sorted(values) + [text for _, text in annotations]
    return Violation(_pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles",
                               len(listed)),
                     f"{' and '.join(setters)} must not set AppArmor profile type to "
                     f"{_join_quote(listed)}", tuple(fields))


def se_linux_options(pod: PodView, rules: Rules) -> Violation | None:
    bad_types: set[str] = set()
    found = {"user": False, "role": False}

    def valid(options: dict) -> bool:
        ok = True
        if (options.get("type") or "") not in rules.selinux_types:
            bad_types.add(options.get("type") or "")
            ok = False
        for key in found:
            if options.get(key):
                found[key], ok = True, False
        return ok

    pod_options = pod.context.get("seLinuxOptions")
    pod_bad = pod_options is not None and not valid(pod_options)
    bad = [c for c in pod.containers
           if c.context.get("seLinuxOptions") is not None
           and not valid(c.context["seLinuxOptions"])]
    if not pod_bad and not bad:
        return None
    data = [f"{_pluralize('type', 'types', len(bad_types))} {_join_quote(sorted(bad_types))}"
            ] if bad_types else []
    data.extend(f"{key} may not be set" for key, was_set in found.items() if was_set)
    fields = (["spec.securityContext.seLinuxOptions"] if pod_bad else []) + [
        _sc_path(c, "seLinuxOptions") for c in bad]
    return Violation("seLinuxOptions",
                     f"{_setters(pod_bad, [c.name for c in bad])} set forbidden "
                     f"securityContext.seLinuxOptions: {'; '.join(data)}", tuple(fields))


def _unmasked_proc_mounts(pod: PodView) -> Violation | None:
    bad = [c for c in pod.containers
           if c.context.get("procMount") is not None and c.context["procMount"] != "Default"]
    if not bad:
        return None
    kinds = sorted({str(c.context["procMount"]) for c in bad})
    return Violation("procMount", f"{_containers([c.name for c in bad])} must not set "
                     f"securityContext.procMount to {_join_quote(kinds)}",
                     tuple(_sc_path(c, "procMount") for c in bad))


def proc_mount(pod: PodView, rules: Rules) -> Violation | None:
    if rules.user_namespace_relaxation and pod.user_namespace:
        return None
    return _unmasked_proc_mounts(pod)


def _seccomp_annotation_ok(value: str) -> bool:
    return value in voc.RUNTIME_DEFAULT_PROFILES or value.startswith(voc.LOCALHOST_PREFIX)


def _seccomp_annotations(pod: PodView) -> Violation | None:
    """v1.0-v1.18: only the alpha annotations of the pod and of containers that exist."""
    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_PREFIX + c.name for c in pod.containers]
    bad = _bad_annotations(pod, (key for key in keys if key in pod.annotations
                                 and not _seccomp_annotation_ok(str(pod.annotations[key]))))
    if not bad:
        return None
    return Violation("seccompProfile",
                     f"forbidden {_pluralize('annotation', 'annotations', len(bad))} "
                     + ", ".join(text for _, text in bad),
                     tuple(f"metadata.annotations[{key}]" for key, _ in bad))


def _explicit_seccomp(pod: PodView) -> Violation | None:
    """Pod or containers that set a seccompProfile.type other than RuntimeDefault/Localhost."""
    values: set[str] = set()
    pod_profile = pod.context.get("seccompProfile")
    pod_bad = pod_profile is not None and pod_profile.get("type") not in _VALID_PROFILE_TYPES
    if pod_bad:
        values.add(str(pod_profile.get("type") or ""))
    bad = []
    for c in pod.containers:
        profile = c.context.get("seccompProfile")
        if profile is not None and profile.get("type") not in _VALID_PROFILE_TYPES:
            bad.append(c)
            values.add(str(profile.get("type") or ""))
    if not pod_bad and not bad:
        return None
    fields = (["spec.securityContext.seccompProfile.type"] if pod_bad else []) + [
        _sc_path(c, "seccompProfile.type") for c in bad]
    return Violation("seccompProfile",
                     f"{_setters(pod_bad, [c.name for c in bad])} must not set "
                     f"securityContext.seccompProfile.type to {_join_quote(sorted(values))}",
                     tuple(fields))


def seccomp_profile_baseline(pod: PodView, rules: Rules) -> Violation | None:
    return _explicit_seccomp(pod) if rules.seccomp_fields else _seccomp_annotations(pod)


def sysctls(pod: PodView, rules: Rules) -> Violation | None:
    bad = [(i, str(s.get("name") or "")) for i, s in enumerate(pod.context.get("sysctls") or ())
           if s.get("name") not in rules.sysctls]
    if not bad:
        return None
    return Violation("forbidden sysctls", ", ".join(name for _, name in bad),
                     tuple(f"spec.securityContext.sysctls[{i}].name" for i, _ in bad))


def _host_process(context: dict) -> bool:
    return (context.get("windowsOptions") or {}).get("hostProcess") is True


def windows_host_process(pod: PodView, rules: Rules) -> Violation | None:
    pod_bad = _host_process(pod.context)
    bad = [c for c in pod.containers if _host_process(c.context)]
    if not pod_bad and not bad:
        return None
    fields = (["spec.securityContext.windowsOptions.hostProcess"] if pod_bad else []) + [
        _sc_path(c, "windowsOptions.hostProcess") for c in bad]
    return Violation("hostProcess", f"{_setters(pod_bad, [c.name for c in bad])} must not set "
                     "securityContext.windowsOptions.hostProcess=true", tuple(fields))


def _handler_hosts(container: Container) -> list[tuple[str, str]]:
    """(field path, host) for every non-empty host in the probes and lifecycle handlers."""
    handlers = [(name, container.spec.get(name)) for name in _PROBES]
    lifecycle = container.spec.get("lifecycle") or {}
    handlers += [(f"lifecycle.{name}", lifecycle.get(name)) for name in _HANDLERS]
    found = []
    for name, handler in handlers:
        for kind in ("httpGet", "tcpSocket"):
            host = ((handler or {}).get(kind) or {}).get("host")
            if host:
                found.append((f"{container.path}.{name}.{kind}.host", str(host)))
    return found


def host_probes_and_host_lifecycle(pod: PodView, rules: Rules) -> Violation | None:
    names, hosts, fields = set(), set(), []
    for c in pod.containers:
        found = _handler_hosts(c)
        if found:
            names.add(c.name)
            hosts.update(host for _, host in found)
            fields.extend(path for path, _ in found)
    if not names:
        return None
    what = _pluralize("probe or lifecycle host", "probe or lifecycle hosts", len(hosts))
    return Violation("probe or lifecycle host",
                     f"{_containers(sorted(names))} {_pluralize('uses', 'use', len(names))} "
                     f"{what} {_join_quote(sorted(hosts))}", tuple(fields))


# -- restricted checks -----------------------------------------------------------------------


def _denied_volume_type(volume: dict) -> str | None:
    """The restricted type a volume uses, or None when it is allowed (or has no source)."""
    if any(volume.get(key) is not None for key in RESTRICTED_VOLUME_SOURCES):
        return None
    for key in DENIED_VOLUME_SOURCES:
        if volume.get(key) is not None:
            return key
    unknown = [key for key, value in volume.items() if key != "name" and value is not None]
    return "unknown" if unknown else None


def restricted_volumes(pod: PodView, rules: Rules) -> Violation | None:
    bad = [(i, v, kind) for i, v in enumerate(pod.volumes)
           if (kind := _denied_volume_type(v)) is not None]
    if not bad:
        return None
    names = [str(v.get("name") or "") for _, v, _ in bad]
    kinds = sorted({kind for _, _, kind in bad})
    what = _pluralize("restricted volume type", "restricted volume types", len(kinds))
    return Violation("restricted volume types",
                     f"{_pluralize('volume', 'volumes', len(names))} {_join_quote(names)} "
                     f"{_pluralize('uses', 'use', len(names))} {what} {_join_quote(kinds)}",
                     tuple(f"spec.volumes[{i}].{kind}" for i, _, kind in bad))


def run_as_non_root(pod: PodView, rules: Rules) -> Violation | None:
    if rules.user_namespace_relaxation and pod.user_namespace:
        return None
    pod_value = pod.context.get("runAsNonRoot")
    explicit = [c for c in pod.containers if c.context.get("runAsNonRoot") is False]
    if pod_value is False or explicit:
        fields = (["spec.securityContext.runAsNonRoot"] if pod_value is False else []) + [
            _sc_path(c, "runAsNonRoot") for c in explicit]
        return Violation("runAsNonRoot != true",
                         f"{_setters(pod_value is False, [c.name for c in explicit])} must not "
                         "set securityContext.runAsNonRoot=false", tuple(fields))
    implicit = [c for c in pod.containers
                if c.context.get("runAsNonRoot") is None and pod_value is not True]
    if not implicit:
        return None
    return Violation("runAsNonRoot != true",
                     f"pod or {_containers([c.name for c in implicit])} must set "
                     "securityContext.runAsNonRoot=true",
                     tuple(_sc_path(c, "runAsNonRoot") for c in implicit))


def run_as_user(pod: PodView, rules: Rules) -> Violation | None:
    if rules.user_namespace_relaxation and pod.user_namespace:
        return None
    pod_bad = pod.context.get("runAsUser") == 0
    bad = [c for c in pod.containers if c.context.get("runAsUser") == 0]
    if not pod_bad and not bad:
        return None
    fields = (["spec.securityContext.runAsUser"] if pod_bad else []) + [
        _sc_path(c, "runAsUser") for c in bad]
    return Violation("runAsUser=0", f"{_setters(pod_bad, [c.name for c in bad])} must not set "
                     "runAsUser=0", tuple(fields))


def allow_privilege_escalation(pod: PodView, rules: Rules) -> Violation | None:
    if rules.windows_exemption and pod.windows:
        return None
    bad = [c for c in pod.containers if c.context.get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return Violation("allowPrivilegeEscalation != false",
                     f"{_containers([c.name for c in bad])} must set "
                     "securityContext.allowPrivilegeEscalation=false",
                     tuple(_sc_path(c, "allowPrivilegeEscalation") for c in bad))


def capabilities_restricted(pod: PodView, rules: Rules) -> Violation | None:
    if rules.windows_exemption and pod.windows:
        return None
    no_drop, adding, added = [], [], set()
    for c in pod.containers:
        capabilities = c.context.get("capabilities")
        if capabilities is None:
            no_drop.append(c)
            continue
        if "ALL" not in (capabilities.get("drop") or ()):
            no_drop.append(c)
        extra = [cap for cap in capabilities.get("add") or () if cap != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c)
            added.update(extra)
    details = []
    if no_drop:
        details.append(f"{_containers([c.name for c in no_drop])} must set "
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers([c.name for c in adding])} must not include "
                       f"{_join_quote(sorted(added))} in securityContext.capabilities.add")
    if not details:
        return None
    fields = [_sc_path(c, "capabilities.drop") for c in no_drop] + [
        _sc_path(c, "capabilities.add") for c in adding]
    return Violation("unrestricted capabilities", "; ".join(details), tuple(fields))


def seccomp_profile_restricted(pod: PodView, rules: Rules) -> Violation | None:
    if rules.windows_exemption and pod.windows:
        return None
    explicit = _explicit_seccomp(pod)
    if explicit is not None:
        return explicit
    if pod.context.get("seccompProfile") is not None:
        return None  # a valid pod-level profile covers every container that sets none
    implicit = [c for c in pod.containers if c.context.get("seccompProfile") is None]
    if not implicit:
        return None
    return Violation("seccompProfile",
                     f"pod or {_containers([c.name for c in implicit])} must set "
                     'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
                     tuple(_sc_path(c, "seccompProfile") for c in implicit))


def proc_mount_restricted(pod: PodView, rules: Rules) -> Violation | None:
    return _unmasked_proc_mounts(pod)
