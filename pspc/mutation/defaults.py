"""What a policy's PodSecurityPolicy fills in, as data the mutating targets render.

The order and the conditions are the PSP plugin's MutatePod (docs/psp-admission.md#defaulting,
pspc/admission/provider.py is the executable reference):

* pod: supplementalGroups [first range's min] and fsGroup (min) for MustRunAs, seLinuxOptions
  for MustRunAs, the default seccomp profile (when the pod sets neither the annotation nor
  the field), the default runtime class;
* every container (init, regular, ephemeral): runAsUser and runAsGroup (min) for MustRunAs
  unless the container or the pod sets it, runAsNonRoot=true for MustRunAsNonRoot unless the
  container or the pod sets runAsNonRoot or runAsUser, the default AppArmor profile,
  capabilities (defaultAddCapabilities not dropped, requiredDropCapabilities),
  readOnlyRootFilesystem=true, allowPrivilegeEscalation (defaultAllowPrivilegeEscalation,
  else false where escalation is not allowed).

Seccomp and AppArmor defaults are written as the `seccompProfile` / `appArmorProfile` fields:
a field is what the kubelet reads, and the API server copies annotations into fields
before admission (in PrepareForCreate), not after it, so an annotation written by a
mutating webhook would not be copied. AppArmor has its field from Kubernetes 1.30; before,
the container annotation is written (`apparmor_field`).

A default is a field, its value, and the fields whose presence leaves it alone (`unless`,
as paths of pspc.validation.expr, so renderers reuse the CEL and Rego accessors).
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.validation.expr import Concat, Lit, Path, Val, path
from pspc.validation.requirements import ANNOTATIONS, SPEC, C

POD, CONTAINER = "pod", "container"
ANNOTATION = ("annotation",)  # the field of a default written as the container annotation


@dataclass(frozen=True)
class Default:
    """`field` (keys under the pod spec for scope `pod`, under each container for scope
    `container`) takes `value` where it is unset and none of `unless` is set. `text` is how
    the report and the diagnostics name it (as the validating checks do:
    pspc.validation.requirements `default`)."""

    intent: str
    scope: str
    field: tuple[str, ...]
    value: object
    text: str
    unless: tuple[Path, ...] = ()

    @property
    def where(self) -> Path:
        return path(SPEC if self.scope == POD else C, *self.field)


@dataclass(frozen=True)
class Capabilities:
    """Each container's capabilities grow by `add` (those it does not drop) and `drop`."""

    add: tuple[str, ...]
    drop: tuple[str, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        """As the validating checks name these defaults (one per list, as PSP's fields)."""
        return tuple(f"capabilities.{kind} {', '.join(caps)}"
                     for kind, caps in (("add", self.add), ("drop", self.drop)) if caps)


@dataclass(frozen=True)
class Defaults:
    """A policy's defaults; `lost` names those no field can carry (an AppArmor or seccomp
    profile without a field form), with the reason."""

    policy: str
    pod: tuple[Default, ...]
    container: tuple[Default, ...]
    capabilities: Capabilities | None
    lost: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pod or self.container or self.capabilities)

    @property
    def texts(self) -> tuple[str, ...]:
        found = [d.text for d in self.pod + self.container]
        return tuple(found + list(self.capabilities.texts if self.capabilities else ()))


def usable(policy: ir.Policy) -> bool:
    """Whether admission can build the policy at all: SELinux MustRunAs without options
    makes the plugin skip it (docs/psp-admission.md#unusable-policies), defaults included."""
    return not policy.selinux.no_options


def _min(strategy: ir.IdPolicy | None) -> int | None:
    if strategy is None or strategy.rule is not ir.Rule.MUST_RUN_AS:
        return None
    return strategy.ranges[0].min


def _sc(*keys: str) -> tuple[str, ...]:
    return ("securityContext", *keys)


def _pod(policy: ir.Policy) -> list[Default]:
    found = []
    if (group := _min(policy.supplemental_groups)) is not None:
        found.append(Default("supplemental_groups", POD, _sc("supplementalGroups"), [group],
                             f"supplementalGroups [{group}]"))
    if (group := _min(policy.fs_group)) is not None:
        found.append(Default("fs_group", POD, _sc("fsGroup"), group, f"fsGroup {group}"))
    selinux = policy.selinux
    if selinux.rule is ir.Rule.MUST_RUN_AS:
        options = {k: getattr(selinux, k) for k in ("level", "role", "type", "user")
                   if getattr(selinux, k)}
        text = " ".join(f"{k}={v}" for k, v in options.items())
        found.append(Default("selinux", POD, _sc("seLinuxOptions"), options,
                             f"seLinuxOptions {text}".rstrip()))
    if policy.seccomp_default and (field := voc.profile_field(policy.seccomp_default)):
        found.append(Default("seccomp_default", POD, _sc("seccompProfile"), field,
                             f"seccomp profile {policy.seccomp_default}",
                             unless=(ANNOTATIONS / voc.SECCOMP_POD,)))
    if policy.runtime_class and policy.runtime_class.default:
        name = policy.runtime_class.default
        found.append(Default("runtime_class", POD, ("runtimeClassName",), name,
                             f"runtimeClassName {name}"))
    return found


def _pod_sc(*keys: str) -> Path:
    return path(SPEC, "securityContext", *keys)


# the AppArmor annotation PSP reads, for the container in `c`
APPARMOR_ANNOTATION = ANNOTATIONS / Concat((Lit(voc.APPARMOR_CONTAINER_PREFIX),
                                            Val(path(C, "name"), Lit(""))))


def _container(policy: ir.Policy, apparmor_field: bool) -> tuple[list[Default], list]:
    found, lost = [], []
    if (uid := _min(policy.run_as_user)) is not None:
        found.append(Default("run_as_user", CONTAINER, _sc("runAsUser"), uid,
                             f"runAsUser {uid}", unless=(_pod_sc("runAsUser"),)))
    if (gid := _min(policy.run_as_group)) is not None:
        found.append(Default("run_as_group", CONTAINER, _sc("runAsGroup"), gid,
                             f"runAsGroup {gid}", unless=(_pod_sc("runAsGroup"),)))
    if profile := policy.apparmor_default:
        field = voc.profile_field(profile)
        unless = (APPARMOR_ANNOTATION, path(C, "securityContext", "appArmorProfile"),
                  _pod_sc("appArmorProfile"))
        text = f"AppArmor profile {profile}"
        if not apparmor_field:
            found.append(Default("apparmor_default", CONTAINER, ANNOTATION, profile, text,
                                 unless=unless))
        elif field is None:
            lost.append(("apparmor_default", f"{profile} has no appArmorProfile field form"))
        else:
            found.append(Default("apparmor_default", CONTAINER, _sc("appArmorProfile"), field,
                                 text, unless=unless))
    if policy.run_as_user.rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        found.append(Default("run_as_user", CONTAINER, _sc("runAsNonRoot"), True,
                             "runAsNonRoot true", unless=(
                                 path(C, "securityContext", "runAsUser"), _pod_sc("runAsNonRoot"),
                                 _pod_sc("runAsUser"))))
    if policy.read_only_root_filesystem:
        found.append(Default("read_only_root_filesystem", CONTAINER,
                             _sc("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem true"))
    escalation = policy.default_allow_privilege_escalation
    if escalation is None and not policy.allow_privilege_escalation:
        escalation = False
    if escalation is not None:
        intent = ("default_allow_privilege_escalation"
                  if policy.default_allow_privilege_escalation is not None
                  else "allow_privilege_escalation")
        found.append(Default(intent, CONTAINER, _sc("allowPrivilegeEscalation"), escalation,
                             f"allowPrivilegeEscalation {str(escalation).lower()}"))
    return found, lost


def defaults(policy: ir.Policy, apparmor_field: bool = True) -> Defaults:
    """The policy's defaults (none for a policy admission cannot build)."""
    if not usable(policy):
        return Defaults(policy.name, (), (), None)
    container, lost = _container(policy, apparmor_field)
    if policy.seccomp_default and voc.profile_field(policy.seccomp_default) is None:
        lost.append(("seccomp_default", f"{policy.seccomp_default} has no seccompProfile "
                     "field form"))
    add, drop = policy.default_add_capabilities, policy.required_drop_capabilities
    capabilities = Capabilities(tuple(sorted(add)), tuple(sorted(drop))) if add or drop else None
    return Defaults(policy.name, tuple(_pod(policy)), tuple(container), capabilities,
                    tuple(lost))
