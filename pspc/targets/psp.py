"""The PodSecurityPolicy target: policy/v1beta1 objects, one file per policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.coverage import EXACT, Coverage, unsupported
from pspc.model import ir
from pspc.targets import MANAGED_BY, Target, per_policy

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build


def _ranges(ranges: tuple[ir.IdRange, ...]) -> list[dict]:
    return [{"min": r.min, "max": r.max} for r in ranges]


def _strategy(strategy: ir.IdPolicy) -> dict:
    out: dict = {"rule": strategy.rule.value}
    if strategy.ranges:
        out["ranges"] = _ranges(strategy.ranges)
    return out


def _selinux(selinux: ir.SELinux) -> dict:
    out: dict = {"rule": selinux.rule.value}
    options = {k: getattr(selinux, k) for k in ("level", "role", "type", "user")
               if getattr(selinux, k) is not None}
    if options or selinux.rule is ir.Rule.MUST_RUN_AS and not selinux.no_options:
        out["seLinuxOptions"] = options
    return out


def annotations(policy: ir.Policy) -> dict[str, str]:
    """The PSP's annotations: description, seccomp/AppArmor profiles, and the user's own."""
    out = dict(policy.annotations)
    if policy.description is not None:
        out[voc.DESCRIPTION] = policy.description
    if policy.seccomp_allowed is not None:
        out[voc.SECCOMP_ALLOWED] = ",".join(policy.seccomp_allowed)
    if policy.seccomp_default is not None:
        out[voc.SECCOMP_DEFAULT] = policy.seccomp_default
    if policy.apparmor_allowed is not None:
        out[voc.APPARMOR_ALLOWED] = ",".join(policy.apparmor_allowed)
    if policy.apparmor_default is not None:
        out[voc.APPARMOR_DEFAULT] = policy.apparmor_default
    return dict(sorted(out.items()))


def spec(policy: ir.Policy) -> dict:
    """The PodSecurityPolicySpec, keys in the API's field order; empty lists omitted."""
    out: dict = {"privileged": policy.privileged}
    optional_lists = (
        ("defaultAddCapabilities", list(policy.default_add_capabilities)),
        ("requiredDropCapabilities", list(policy.required_drop_capabilities)),
        ("allowedCapabilities", list(policy.allowed_capabilities)),
    )
    out.update((k, v) for k, v in optional_lists if v)
    out["volumes"] = list(policy.volumes)
    out["hostNetwork"] = policy.host_network
    if policy.host_ports:
        out["hostPorts"] = _ranges(policy.host_ports)
    out["hostPID"] = policy.host_pid
    out["hostIPC"] = policy.host_ipc
    out["seLinux"] = _selinux(policy.selinux)
    out["runAsUser"] = _strategy(policy.run_as_user)
    if policy.run_as_group is not None:
        out["runAsGroup"] = _strategy(policy.run_as_group)
    out["supplementalGroups"] = _strategy(policy.supplemental_groups)
    out["fsGroup"] = _strategy(policy.fs_group)
    out["readOnlyRootFilesystem"] = policy.read_only_root_filesystem
    if policy.default_allow_privilege_escalation is not None:
        out["defaultAllowPrivilegeEscalation"] = policy.default_allow_privilege_escalation
    out["allowPrivilegeEscalation"] = policy.allow_privilege_escalation
    more_lists = (
        ("allowedHostPaths", [
            {"pathPrefix": p.prefix, "readOnly": True} if p.read_only else {"pathPrefix": p.prefix}
            for p in policy.allowed_host_paths]),
        ("allowedFlexVolumes", [{"driver": d} for d in policy.allowed_flex_volumes]),
        ("allowedCSIDrivers", [{"name": d} for d in policy.allowed_csi_drivers]),
        ("allowedUnsafeSysctls", list(policy.allowed_unsafe_sysctls)),
        ("forbiddenSysctls", list(policy.forbidden_sysctls)),
        ("allowedProcMountTypes", list(policy.allowed_proc_mount_types)),
    )
    out.update((k, v) for k, v in more_lists if v)
    if policy.runtime_class is not None:
        runtime: dict = {"allowedRuntimeClassNames": list(policy.runtime_class.allowed)}
        if policy.runtime_class.default:
            runtime["defaultRuntimeClassName"] = policy.runtime_class.default
        out["runtimeClass"] = runtime
    return out


def manifest(policy: ir.Policy) -> dict:
    metadata: dict = {"name": policy.name, "labels": {**dict(policy.labels), **MANAGED_BY}}
    if notes := annotations(policy):
        metadata["annotations"] = notes
    return {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": metadata,
            "spec": spec(policy)}


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    return (manifest(policy),)


# Why a PodSecurityPolicy cannot carry the intents beyond it (ir.BEYOND_PSP).
_BEYOND = {
    "selinux_types": "a PodSecurityPolicy can only allow any SELinux options or require one "
                     "exact set (MustRunAs); it admits other types",
    "require_explicit_non_root": "a PodSecurityPolicy accepts a non-zero runAsUser without "
                                 "runAsNonRoot, and a pod-level runAsUser 0 that containers "
                                 "override",
    "pod_security_standard": "no PodSecurityPolicy can express a Pod Security Standards level "
                             "exactly (SELinux types, explicit runAsNonRoot, Localhost "
                             "profiles, probe hosts...): the PSP output is the closest "
                             "PodSecurityPolicy, from the policy's PSP fields",
}


def coverage(analysis: Analysis, policy: ir.Policy) -> list[Coverage]:
    """Every PSP field is exact; an intent beyond PSP, when stated, is lost (and weakens)."""
    found = []
    for field in ir.INTENT_FIELDS:
        if field not in policy.origins:
            continue
        if field not in ir.BEYOND_PSP:
            found.append(Coverage(field, EXACT, "a PodSecurityPolicy field"))
        elif getattr(policy, field) not in (None, False):
            found.append(unsupported(field, _BEYOND[field] + "; the validating targets and PSA "
                                     "enforce it", weakens=True))
    return found


TARGET = Target("psp", per_policy("psp", documents), manifests=True, coverage=coverage)
