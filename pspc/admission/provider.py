"""One compiled PodSecurityPolicy (a "provider"): MutatePod
(docs/psp-admission.md#defaulting) and ValidatePod (docs/psp-admission.md#validation).

A provider is built once per PSP and then evaluated against many pods, so everything that
depends only on the policy is precomputed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fielderrors import FieldError, invalid
from .pod import CONTAINER_LISTS, annotations_of, iter_containers
from .strategies import (
    APPARMOR_CONTAINER_PREFIX,
    MUST_RUN_AS_NON_ROOT,
    RUN_AS_ANY,
    SECCOMP_POD_ANNOTATION,
    AppArmorStrategy,
    CapabilitiesStrategy,
    GroupStrategy,
    ProviderError,
    SeccompStrategy,
    SELinuxStrategy,
    SysctlStrategy,
    UserStrategy,
)
from .volumes import VolumePolicy

_EMPTY: dict = {}


def default_psp(psp: dict) -> dict:
    """Apply policy/v1beta1 API defaulting: a missing `allowPrivilegeEscalation` means true."""
    spec = psp.get("spec") or {}
    if spec.get("allowPrivilegeEscalation") is not None:
        return psp
    return {**psp, "spec": {**spec, "allowPrivilegeEscalation": True}}


def _build(problems: list[str], factory: Callable[..., Any], *args: Any) -> Any:
    try:
        return factory(*args)
    except ProviderError as error:
        problems.append(str(error))
        return None


def _writable_copy(pod: dict) -> dict:
    """Copy the parts of `pod` that mutation may write; everything else stays shared."""
    pod = dict(pod)
    metadata = pod["metadata"] = dict(pod.get("metadata") or _EMPTY)
    if metadata.get("annotations") is not None:
        metadata["annotations"] = dict(metadata["annotations"])
    spec = pod["spec"] = dict(pod.get("spec") or _EMPTY)
    if spec.get("securityContext") is not None:
        spec["securityContext"] = dict(spec["securityContext"])
    for key, _ in CONTAINER_LISTS:
        containers = spec.get(key)
        if containers:
            spec[key] = [_writable_container(container) for container in containers]
    return pod


def _writable_container(container: dict) -> dict:
    container = dict(container)
    if container.get("securityContext") is not None:
        container["securityContext"] = dict(container["securityContext"])
    return container


class Provider:
    """A PSP compiled for evaluation. Raises `ProviderError` for PSPs the plugin would skip.

    `ephemeral_containers` and `csi_inline_volume` are the feature gates of those names: when
    off, validation skips ephemeral containers (mutation still visits them) and the
    `allowedCSIDrivers` check (docs/psp-admission.md#feature-gates). The defaults honour the PSP
    as written.
    """

    __slots__ = (
        "name",
        "run_as_user",
        "run_as_group",
        "selinux",
        "fs_group",
        "supplemental_groups",
        "seccomp",
        "apparmor",
        "capabilities",
        "sysctls",
        "volumes",
        "privileged",
        "host_network",
        "host_pid",
        "host_ipc",
        "host_ports",
        "host_ports_text",
        "read_only_root_filesystem",
        "allow_privilege_escalation",
        "default_allow_privilege_escalation",
        "proc_mount_types",
        "runtime_class_names",
        "default_runtime_class",
        "ephemeral_containers",
    )

    def __init__(
        self, psp: dict, *, ephemeral_containers: bool = True, csi_inline_volume: bool = True
    ) -> None:
        psp = default_psp(psp)
        metadata = psp.get("metadata") or _EMPTY
        self.name: str = metadata.get("name", "")
        annotations = metadata.get("annotations") or _EMPTY
        spec = psp.get("spec") or _EMPTY
        problems: list[str] = []
        self.run_as_user: UserStrategy = _build(problems, UserStrategy, spec.get("runAsUser") or {})
        self.run_as_group: GroupStrategy = _build(
            problems, GroupStrategy, spec.get("runAsGroup") or {"rule": RUN_AS_ANY}, "RunAsGroup"
        )
        self.selinux: SELinuxStrategy = _build(problems, SELinuxStrategy, spec.get("seLinux") or {})
        self.fs_group: GroupStrategy = _build(
            problems, GroupStrategy, spec.get("fsGroup") or {}, "FSGroup"
        )
        self.supplemental_groups: GroupStrategy = _build(
            problems, GroupStrategy, spec.get("supplementalGroups") or {}, "SupplementalGroups"
        )
        if problems:
            detail = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
            raise ProviderError(f"PodSecurityPolicy {self.name!r} cannot be used: {detail}")
        self.seccomp = SeccompStrategy(annotations)
        self.apparmor = AppArmorStrategy(annotations)
        self.capabilities = CapabilitiesStrategy(spec)
        self.sysctls = SysctlStrategy(
            spec.get("allowedUnsafeSysctls") or [], spec.get("forbiddenSysctls") or []
        )
        self.volumes = VolumePolicy(
            spec, ephemeral_containers=ephemeral_containers, csi_inline_volume=csi_inline_volume
        )
        self.privileged = bool(spec.get("privileged"))
        self.host_network = bool(spec.get("hostNetwork"))
        self.host_pid = bool(spec.get("hostPID"))
        self.host_ipc = bool(spec.get("hostIPC"))
        self.host_ports = tuple(
            (r.get("min", 0), r.get("max", 0)) for r in spec.get("hostPorts") or ()
        )
        self.host_ports_text = ",".join(
            str(low) if low == high else f"{low}-{high}" for low, high in self.host_ports
        )
        self.read_only_root_filesystem = bool(spec.get("readOnlyRootFilesystem"))
        self.allow_privilege_escalation = bool(spec["allowPrivilegeEscalation"])
        self.default_allow_privilege_escalation = spec.get("defaultAllowPrivilegeEscalation")
        self.proc_mount_types = frozenset(spec.get("allowedProcMountTypes") or ("Default",))
        runtime_class = spec.get("runtimeClass")
        self.runtime_class_names = (
            None
            if runtime_class is None
            else frozenset(runtime_class.get("allowedRuntimeClassNames") or ())
        )
        self.default_runtime_class = (runtime_class or _EMPTY).get("defaultRuntimeClassName")
        self.ephemeral_containers = ephemeral_containers

    def __repr__(self) -> str:
        return f"Provider({self.name!r})"

    def mutate(self, pod: dict) -> tuple[dict, bool]:
        """Apply this policy's defaults to a copy of `pod`: return (copy, anything changed).

        Each step writes only when its target is unset (or a capability set must grow), so a
        per-step flag equals Go's semantic comparison of the pod before and after
        (docs/psp-admission.md#mutated-pods).
        The container-level seLinuxOptions step is absent: for MustRunAs the pod-level step
        has already set the options every container inherits, so it can never fire.
        """
        pod = _writable_copy(pod)
        metadata = pod["metadata"]
        spec = pod["spec"]
        pod_sc = spec.get("securityContext")
        if pod_sc is None:
            pod_sc = {}
        annotations = metadata.get("annotations")
        if annotations is None:
            annotations = {}
        changed = False

        if pod_sc.get("supplementalGroups") is None:
            group = self.supplemental_groups.default()
            if group is not None:
                pod_sc["supplementalGroups"] = [group]
                changed = True
        if pod_sc.get("fsGroup") is None:
            group = self.fs_group.default()
            if group is not None:
                pod_sc["fsGroup"] = group
                changed = True
        if pod_sc.get("seLinuxOptions") is None and self.selinux.options is not None:
            pod_sc["seLinuxOptions"] = dict(self.selinux.options)
            changed = True
        profile = self.seccomp.generate(annotations, pod_sc)
        if profile and annotations.get(SECCOMP_POD_ANNOTATION) != profile:
            annotations[SECCOMP_POD_ANNOTATION] = profile
            changed = True
        if self.default_runtime_class is not None and spec.get("runtimeClassName") is None:
            spec["runtimeClassName"] = self.default_runtime_class
            changed = True

        for key, _ in CONTAINER_LISTS:
            for container in spec.get(key) or ():
                if self._mutate_container(container, pod_sc, annotations):
                    changed = True

        if annotations and metadata.get("annotations") is None:
            metadata["annotations"] = annotations
        if pod_sc and spec.get("securityContext") is None:
            spec["securityContext"] = pod_sc
        return pod, changed

    def _mutate_container(self, container: dict, pod_sc: dict, annotations: dict) -> bool:
        current = container.get("securityContext")
        sc = {} if current is None else current
        changed = False
        if sc.get("runAsUser") is None and pod_sc.get("runAsUser") is None:
            uid = self.run_as_user.default()
            if uid is not None:
                sc["runAsUser"] = uid
                changed = True
        if sc.get("runAsGroup") is None and pod_sc.get("runAsGroup") is None:
            gid = self.run_as_group.default()
            if gid is not None:
                sc["runAsGroup"] = gid
                changed = True
        if self.apparmor.default:
            key = APPARMOR_CONTAINER_PREFIX + container.get("name", "")
            if not annotations.get(key):
                annotations[key] = self.apparmor.default
                changed = True
        if (
            self.run_as_user.rule == MUST_RUN_AS_NON_ROOT
            and sc.get("runAsNonRoot") is None
            and pod_sc.get("runAsNonRoot") is None
            and sc.get("runAsUser") is None
            and pod_sc.get("runAsUser") is None
        ):
            sc["runAsNonRoot"] = True
            changed = True
        capabilities = sc.get("capabilities")
        generated = self.capabilities.generate(capabilities)
        if generated is not capabilities:
            sc["capabilities"] = generated
            changed = True
        if self.read_only_root_filesystem and sc.get("readOnlyRootFilesystem") is None:
            sc["readOnlyRootFilesystem"] = True
            changed = True
        if sc.get("allowPrivilegeEscalation") is None:
            if self.default_allow_privilege_escalation is not None:
                sc["allowPrivilegeEscalation"] = self.default_allow_privilege_escalation
                changed = True
            elif not self.allow_privilege_escalation:
                sc["allowPrivilegeEscalation"] = False
                changed = True
        if current is None and sc:
            container["securityContext"] = sc
        return changed

    def validate(self, pod: dict) -> list[FieldError]:
        """All violations of this policy by `pod`, in the upstream check order
        (docs/psp-admission.md#validation)."""
        errors: list[FieldError] = []
        spec = pod.get("spec") or _EMPTY
        pod_sc = spec.get("securityContext") or _EMPTY
        annotations = annotations_of(pod)

        fs_group = pod_sc.get("fsGroup")
        self.fs_group.check(
            errors, "spec.securityContext.fsGroup", None if fs_group is None else [fs_group]
        )
        self.supplemental_groups.check(
            errors, "spec.securityContext.supplementalGroups", pod_sc.get("supplementalGroups")
        )
        self.seccomp.check_pod(errors, annotations, pod_sc)
        self.selinux.check(
            errors, "spec.securityContext.seLinuxOptions", pod_sc.get("seLinuxOptions")
        )
        if not self.host_network and spec.get("hostNetwork"):
            detail = "Host network is not allowed to be used"
            errors.append(invalid("spec.securityContext.hostNetwork", True, detail))
        if not self.host_pid and spec.get("hostPID"):
            detail = "Host PID is not allowed to be used"
            errors.append(invalid("spec.securityContext.hostPID", True, detail))
        if not self.host_ipc and spec.get("hostIPC"):
            detail = "Host IPC is not allowed to be used"
            errors.append(invalid("spec.securityContext.hostIPC", True, detail))
        self.sysctls.check(errors, pod_sc.get("sysctls"))
        self.volumes.check(errors, spec)
        if self.runtime_class_names is not None:
            name = spec.get("runtimeClassName")
            if (
                name is not None
                and name not in self.runtime_class_names
                and "*" not in self.runtime_class_names
            ):
                errors.append(invalid("spec.runtimeClassName", name))

        for prefix, container in iter_containers(spec, ephemeral=self.ephemeral_containers):
            self._validate_container(errors, prefix, container, pod_sc, annotations)
        return errors

    def _validate_container(
        self,
        errors: list[FieldError],
        prefix: str,
        container: dict,
        pod_sc: dict,
        annotations: dict,
    ) -> None:
        sc = container.get("securityContext") or _EMPTY
        sc_path = prefix + ".securityContext"
        uid = sc.get("runAsUser")
        if uid is None:
            uid = pod_sc.get("runAsUser")
        non_root = sc.get("runAsNonRoot")
        if non_root is None:
            non_root = pod_sc.get("runAsNonRoot")
        self.run_as_user.check(errors, sc_path, non_root, uid)
        gid = sc.get("runAsGroup")
        if gid is None:
            gid = pod_sc.get("runAsGroup")
        self.run_as_group.check_single(errors, sc_path, gid)
        selinux = sc.get("seLinuxOptions")
        if selinux is None:
            selinux = pod_sc.get("seLinuxOptions")
        self.selinux.check(errors, sc_path + ".seLinuxOptions", selinux)
        name = container.get("name", "")
        self.apparmor.check(errors, annotations, name)
        self.seccomp.check_container(errors, annotations, pod_sc, name, sc)

        if not self.privileged and sc.get("privileged"):
            detail = "Privileged containers are not allowed"
            errors.append(invalid(sc_path + ".privileged", True, detail))
        proc_mount = sc.get("procMount", "Default")
        if proc_mount not in self.proc_mount_types:
            detail = "ProcMountType is not allowed"
            errors.append(invalid(sc_path + ".procMount", proc_mount, detail))
        self.capabilities.check(errors, sc_path + ".capabilities", sc.get("capabilities"))
        for port in container.get("ports") or ():
            host_port = port.get("hostPort") or 0
            if host_port > 0 and not any(low <= host_port <= high for low, high in self.host_ports):
                detail = (
                    f"Host port {host_port} is not allowed to be used. "
                    f"Allowed ports: [{self.host_ports_text}]"
                )
                errors.append(invalid(prefix + ".hostPort", host_port, detail))
        if self.read_only_root_filesystem:
            read_only = sc.get("readOnlyRootFilesystem")
            path = sc_path + ".readOnlyRootFilesystem"
            if read_only is None:
                detail = "ReadOnlyRootFilesystem may not be nil and must be set to true"
                errors.append(invalid(path, None, detail))
            elif not read_only:
                errors.append(invalid(path, False, "ReadOnlyRootFilesystem must be set to true"))
        if not self.allow_privilege_escalation:
            escalation = sc.get("allowPrivilegeEscalation")
            if escalation is None or escalation:
                detail = "Allowing privilege escalation for containers is not allowed"
                errors.append(invalid(sc_path + ".allowPrivilegeEscalation", escalation, detail))
