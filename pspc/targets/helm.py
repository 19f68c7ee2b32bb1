"""Helm values that make a `helm create` chart's pods satisfy a policy.

`helm create` charts read `podSecurityContext` (the pod's securityContext) and
`securityContext` (the container's). pspc fills them with the smallest settings the
policy's checks require — and sets nothing the policy forbids (a PSP without seccomp
profiles rejects even RuntimeDefault). Fields a scaffold chart has no key for are listed
in the file's comment.

For a cluster profile below Kubernetes 1.30, which has no appArmorProfile field, the values
leave it out; when the policy requires an AppArmor profile, the comment names the container
annotation to set in podAnnotations (and the build warns, W403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import profiles
from pspc import vocabulary as voc
from pspc.model import ir
from pspc.targets import OutputFile, Target

if TYPE_CHECKING:
    from pspc.compiler import Build


def _first_id(strategy: ir.IdPolicy | None) -> int | None:
    if strategy is None or strategy.rule is not ir.Rule.MUST_RUN_AS:
        return None
    return strategy.ranges[0].min


def _profile(allowed: tuple[str, ...] | None, kind: str) -> dict | None:
    """A profile field the policy allows, preferring the runtime's default."""
    if allowed is None:
        return {"type": "RuntimeDefault"} if kind == "apparmor" else None
    for preferred in (voc.RUNTIME_DEFAULT, voc.DOCKER_DEFAULT, voc.ALL):
        if preferred in allowed:
            return {"type": "RuntimeDefault"}
    for profile in allowed:
        if profile.startswith("localhost/"):
            return {"type": "Localhost", "localhostProfile": profile[len("localhost/"):]}
    return {"type": "Unconfined"} if "unconfined" in allowed else None


def pod_security_context(policy: ir.Policy) -> dict:
    out: dict = {}
    user = policy.run_as_user
    if policy.require_explicit_non_root or user.rule is ir.Rule.MUST_RUN_AS_NON_ROOT or (
            user.rule is ir.Rule.MUST_RUN_AS and user.ranges[0].min > 0):
        out["runAsNonRoot"] = True
    if (uid := _first_id(user)) is not None:
        out["runAsUser"] = uid
    if (gid := _first_id(policy.run_as_group)) is not None:
        out["runAsGroup"] = gid
    if (fs_group := _first_id(policy.fs_group)) is not None:
        out["fsGroup"] = fs_group
    if (supplemental := _first_id(policy.supplemental_groups)) is not None:
        out["supplementalGroups"] = [supplemental]
    if policy.selinux.rule is ir.Rule.MUST_RUN_AS:
        out["seLinuxOptions"] = {k: getattr(policy.selinux, k) for k in
                                 ("level", "role", "type", "user") if getattr(policy.selinux, k)}
    if (seccomp := _profile(policy.seccomp_allowed, "seccomp")) is not None:
        out["seccompProfile"] = seccomp
    return out


def container_security_context(policy: ir.Policy, apparmor_field: bool = True) -> dict:
    out: dict = {"allowPrivilegeEscalation": False}
    capabilities: dict = {}
    if policy.default_add_capabilities:
        capabilities["add"] = list(policy.default_add_capabilities)
    capabilities["drop"] = sorted({"ALL", *policy.required_drop_capabilities})
    out["capabilities"] = capabilities
    if policy.read_only_root_filesystem:
        out["readOnlyRootFilesystem"] = True
    if apparmor_field and (apparmor := _profile(policy.apparmor_allowed, "apparmor")):
        out["appArmorProfile"] = apparmor
    return out


def apparmor_annotation(policy: ir.Policy) -> str | None:
    """The legacy annotation value for the AppArmor profile the policy requires, if any."""
    if policy.apparmor_allowed is None:
        return None
    found = _profile(policy.apparmor_allowed, "apparmor")
    if found is None:
        return None
    if found["type"] == "Localhost":
        return "localhost/" + found["localhostProfile"]
    return {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}[found["type"]]


def unsupported(policy: ir.Policy, apparmor_field: bool = True) -> list[str]:
    """What the policy requires that a scaffold chart has no values key for."""
    notes = []
    if not apparmor_field and (value := apparmor_annotation(policy)):
        notes.append(f"podAnnotations: container.apparmor.security.beta.kubernetes.io/"
                     f"<container>: {value} for each container (this Kubernetes version has "
                     "no appArmorProfile field; a `helm create` chart's container is named "
                     "after the chart)")
    if policy.runtime_class and policy.runtime_class.default:
        notes.append(f"runtimeClassName: {policy.runtime_class.default} (no key in the "
                     "scaffold; add it to the pod template)")
    return notes


def values(policy: ir.Policy, apparmor_field: bool = True) -> dict:
    return {"podSecurityContext": pod_security_context(policy),
            "securityContext": container_security_context(policy, apparmor_field)}


def build(build: Build) -> list[OutputFile]:
    field = profiles.apparmor_field(build.profile)
    return [OutputFile(f"helm/{voc.file_stem(p.name)}.values.yaml", p.source, (values(p, field),),
                       comment="\n".join(f"also needed: {note}"
                                         for note in unsupported(p, field)) or None)
            for p in build.program.policies]


TARGET = Target("helm", build)
