"""Helm values that make a `helm create` chart's pods satisfy a policy.

`helm create` charts read `podSecurityContext` (the pod's securityContext) and
`securityContext` (the container's). pspc fills them with the smallest settings the
policy's checks require — and sets nothing the policy forbids (a PSP without seccomp
profiles rejects even RuntimeDefault). Fields a scaffold chart has no key for are listed
in the file's comment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def container_security_context(policy: ir.Policy) -> dict:
    out: dict = {"allowPrivilegeEscalation": False}
    capabilities: dict = {}
    if policy.default_add_capabilities:
        capabilities["add"] = list(policy.default_add_capabilities)
    capabilities["drop"] = sorted({"ALL", *policy.required_drop_capabilities})
    out["capabilities"] = capabilities
    if policy.read_only_root_filesystem:
        out["readOnlyRootFilesystem"] = True
    if (apparmor := _profile(policy.apparmor_allowed, "apparmor")) is not None:
        out["appArmorProfile"] = apparmor
    return out


def unsupported(policy: ir.Policy) -> list[str]:
    """What the policy requires that a scaffold chart has no values key for."""
    notes = []
    if policy.runtime_class and policy.runtime_class.default:
        notes.append(f"runtimeClassName: {policy.runtime_class.default} (no key in the "
                     "scaffold; add it to the pod template)")
    return notes


def values(policy: ir.Policy) -> dict:
    return {"podSecurityContext": pod_security_context(policy),
            "securityContext": container_security_context(policy)}


def build(build: Build) -> list[OutputFile]:
    return [OutputFile(f"helm/{voc.file_stem(p.name)}.values.yaml", p.source, (values(p),),
                       comment="\n".join(f"also needed: {note}" for note in unsupported(p))
                       or None)
            for p in build.program.policies]


TARGET = Target("helm", build)
