"""Each intent of a policy as checks: what a validating engine must require of a pod.

A check passes exactly when the PodSecurityPolicy admits the pod without changing it:
its validation passes and none of its defaults would apply (docs/equivalence.md#validation
and docs/equivalence.md#defaults). Where PSP would fill a field in, the check instead
requires it set, and says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.validation.expr import (
    FALSE,
    TRUE,
    All,
    Cmp,
    Concat,
    Cond,
    Containers,
    Expr,
    Has,
    In,
    Items,
    Lit,
    NonEmpty,
    OnlyKeys,
    Path,
    StartsWith,
    Val,
    Var,
    and_,
    eq,
    in_ranges,
    ne,
    not_,
    or_,
    path,
)

OBJ, SPEC, C, V = Var("obj"), Var("spec"), Var("c"), Var("v")
SC, PSC = path(C, "securityContext"), path(SPEC, "securityContext")
ANNOTATIONS = path(OBJ, "metadata", "annotations")


@dataclass(frozen=True)
class Requirement:
    """One requirement. `scope` says what `ok` ranges over: the pod, each container (`c`)
    or each volume (`v`); `requirement` completes "container X ..." / "pod ..." / "volume X
    ..."; `default` is set when PSP would fill the field in instead of rejecting."""

    id: str
    intent: str
    scope: str
    ok: Expr
    requirement: str
    default: str | None = None


def _effective(field: str, default: object) -> Val:
    """A container's security setting, falling back to the pod's (runAsUser and friends)."""
    return Val(SC / field, Val(PSC / field, Lit(default)))


def _ranges_text(ranges: tuple[ir.IdRange, ...]) -> str:
    return ", ".join(str(r.min) if r.min == r.max else f"{r.min}-{r.max}" for r in ranges)


def _privileged(p: ir.Policy) -> list[Requirement]:
    if p.privileged:
        return []
    return [Requirement("privileged", "privileged", "container",
                  ne(Val(SC / "privileged", FALSE), True),
                  "must not set securityContext.privileged=true")]


def _host_namespaces(p: ir.Policy) -> list[Requirement]:
    checks = []
    for field, key in (("host_network", "hostNetwork"), ("host_pid", "hostPID"),
                       ("host_ipc", "hostIPC")):
        if not getattr(p, field):
            checks.append(Requirement(key, field, "pod", ne(Val(path(SPEC, key), FALSE), True),
                                f"must not set {key}=true"))
    return checks


def _host_ports(p: ir.Policy) -> list[Requirement]:
    if any(r.min <= 1 and r.max >= voc.MAX_PORT for r in p.host_ports):
        return []
    port = Var("port")
    host_port = Val(path(port, "hostPort"), Lit(0))
    container_port = Val(path(port, "containerPort"), Lit(0))
    host_network = eq(Val(path(SPEC, "hostNetwork"), FALSE), True)
    allowed = or_(
        and_(Cmp(">", host_port, Lit(0)), in_ranges(host_port, p.host_ports)),
        and_(eq(host_port, 0), or_(not_(host_network), eq(container_port, 0),
                                   in_ranges(container_port, p.host_ports))))
    ranges = _ranges_text(p.host_ports) or "none"
    return [Requirement("hostPorts", "host_ports", "container",
                  All(port, Items(path(C, "ports")), allowed),
                  f"must use only allowed host ports ({ranges}; with hostNetwork every "
                  "containerPort is a host port)")]


def _volume_type(volume_type: str) -> Expr:
    key = "cephfs" if volume_type == "cephFS" else volume_type
    presence = Has(path(V, key))
    if volume_type == "emptyDir":  # a volume with no source is defaulted to an emptyDir
        return or_(presence, OnlyKeys(V, ("name",)))
    return presence


def _projected_token(v: Var) -> Expr:
    """The service account token volume, allowed wherever secrets are
    (docs/psp-admission.md#token-volume-exception)."""
    source, item = Var("src"), Var("item")
    token = and_(Has(path(source, "serviceAccountToken")),
                 eq(Val(path(source, "serviceAccountToken", "path"), Lit("")), "token"),
                 eq(Val(path(source, "serviceAccountToken", "audience"), Lit("")), ""))
    root_ca = and_(Has(path(source, "configMap")),
                   eq(Val(path(source, "configMap", "name"), Lit("")), "kube-root-ca.crt"))
    namespace = and_(Has(path(source, "downwardAPI")), All(
        item, Items(path(source, "downwardAPI", "items")),
        and_(eq(Val(path(item, "path"), Lit("")), "namespace"),
             eq(Val(path(item, "fieldRef", "apiVersion"), Lit("v1")), "v1"),
             eq(Val(path(item, "fieldRef", "fieldPath"), Lit("")), "metadata.namespace"))))
    return and_(Has(path(v, "projected")), All(source, Items(path(v, "projected", "sources")),
                                               or_(token, root_ca, namespace)))


def _volumes(p: ir.Policy) -> list[Requirement]:
    if voc.ALL in p.volumes:
        return []
    allowed = [_volume_type(t) for t in p.volumes]
    if "secret" in p.volumes and "projected" not in p.volumes:
        allowed.append(_projected_token(V))
    names = ", ".join(p.volumes) or "none"
    return [Requirement("volumes", "volumes", "volume", or_(*allowed),
                  f"must be of an allowed type ({names})")]


def _path_match(text: Expr, prefix: str) -> Expr:
    """Segment-wise prefix match, after dropping one trailing '/'
    (docs/psp-admission.md#host-paths)."""
    stem = prefix[:-1] if prefix.endswith("/") else prefix
    return or_(eq(text, stem), StartsWith(text, Lit(stem + "/")))


def _host_paths(p: ir.Policy) -> list[Requirement]:
    if not p.allowed_host_paths:
        return []
    host_path = Val(path(V, "hostPath", "path"), Lit(""))
    matches = or_(*(_path_match(host_path, h.prefix) for h in p.allowed_host_paths))
    prefixes = ", ".join(h.prefix for h in p.allowed_host_paths)
    checks = [Requirement("allowedHostPaths", "allowed_host_paths", "volume",
                    or_(not_(Has(path(V, "hostPath"))), matches),
                    f"must use a host path under an allowed prefix ({prefixes})")]
    read_only = [h for h in p.allowed_host_paths if h.read_only]
    if read_only:
        writable = or_(*(_path_match(host_path, h.prefix) for h in p.allowed_host_paths
                         if not h.read_only))
        mount, container = Var("mount"), Var("ctr")
        mounted_read_only = All(container, Containers(SPEC), All(
            mount, Items(path(container, "volumeMounts")),
            or_(ne(Val(path(mount, "name"), Lit("")), Val(path(V, "name"), Lit(""))),
                eq(Val(path(mount, "readOnly"), FALSE), True))))
        checks.append(Requirement("allowedHostPathsReadOnly", "allowed_host_paths", "volume",
                            or_(not_(Has(path(V, "hostPath"))), writable, mounted_read_only),
                            "must be mounted read-only (its host path is allowed read-only)"))
    return checks


def _drivers(p: ir.Policy) -> list[Requirement]:
    checks = []
    if p.allowed_flex_volumes:
        checks.append(Requirement("allowedFlexVolumes", "allowed_flex_volumes", "volume", or_(
            not_(Has(path(V, "flexVolume"))),
            In(Val(path(V, "flexVolume", "driver"), Lit("")), Lit(list(p.allowed_flex_volumes)))),
            "must use an allowed flex volume driver (" + ", ".join(p.allowed_flex_volumes)
            + ")"))
    if p.allowed_csi_drivers:
        checks.append(Requirement("allowedCSIDrivers", "allowed_csi_drivers", "volume", or_(
            not_(Has(path(V, "csi"))),
            In(Val(path(V, "csi", "driver"), Lit("")), Lit(list(p.allowed_csi_drivers)))),
            "must use an allowed inline CSI driver (" + ", ".join(p.allowed_csi_drivers) + ")"))
    return checks


def _run_as_user(p: ir.Policy) -> list[Requirement]:
    rule = p.run_as_user.rule
    if rule is ir.Rule.MUST_RUN_AS:
        ranges = _ranges_text(p.run_as_user.ranges)
        return [Requirement("runAsUser", "run_as_user", "container",
                      in_ranges(_effective("runAsUser", -1), p.run_as_user.ranges),
                      f"must set runAsUser (container or pod) within {ranges}",
                      default=f"runAsUser {p.run_as_user.ranges[0].min}")]
    if rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        set_either = or_(Has(SC / "runAsNonRoot"), Has(PSC / "runAsNonRoot"),
                         Has(SC / "runAsUser"), Has(PSC / "runAsUser"))
        return [Requirement("runAsNonRoot", "run_as_user", "container",
                      and_(set_either, ne(_effective("runAsNonRoot", True), False),
                           ne(_effective("runAsUser", 1), 0)),
                      "must set runAsNonRoot=true or a non-zero runAsUser, and neither "
                      "runAsNonRoot=false nor runAsUser=0", default="runAsNonRoot true")]
    return []


def _group(strategy: ir.IdPolicy | None, value: Expr, present: Expr, field: str, intent: str,
           scope: str, name: str) -> list[Requirement]:
    if strategy is None or strategy.rule is ir.Rule.RUN_AS_ANY:
        return []
    ranges = _ranges_text(strategy.ranges)
    inside = in_ranges(value, strategy.ranges)
    if strategy.rule is ir.Rule.MAY_RUN_AS:
        return [Requirement(name, intent, scope, or_(not_(present), inside),
                      f"must keep {field}, when set, within {ranges}")]
    return [Requirement(name, intent, scope, inside, f"must set {field} within {ranges}",
                  default=f"{field} {strategy.ranges[0].min}")]


def _groups(p: ir.Policy) -> list[Requirement]:
    checks = _group(p.run_as_group, _effective("runAsGroup", -1),
                    or_(Has(SC / "runAsGroup"), Has(PSC / "runAsGroup")), "runAsGroup",
                    "run_as_group", "container", "runAsGroup")
    checks += _group(p.fs_group, Val(PSC / "fsGroup", Lit(-1)), Has(PSC / "fsGroup"),
                     "fsGroup", "fs_group", "pod", "fsGroup")
    strategy = p.supplemental_groups
    if strategy.rule is not ir.Rule.RUN_AS_ANY:
        group = Var("gid")
        groups = Items(PSC / "supplementalGroups")
        every = All(group, groups, in_ranges(group, strategy.ranges))
        ranges = _ranges_text(strategy.ranges)
        if strategy.rule is ir.Rule.MUST_RUN_AS:
            checks.append(Requirement("supplementalGroups", "supplemental_groups", "pod",
                                and_(NonEmpty(groups), every),
                                f"must set supplementalGroups, all within {ranges}",
                                default=f"supplementalGroups [{strategy.ranges[0].min}]"))
        else:
            checks.append(Requirement("supplementalGroups", "supplemental_groups", "pod", every,
                                f"must keep supplementalGroups within {ranges}"))
    return checks


def _root_filesystem(p: ir.Policy) -> list[Requirement]:
    if not p.read_only_root_filesystem:
        return []
    return [Requirement("readOnlyRootFilesystem", "read_only_root_filesystem", "container",
                  eq(Val(SC / "readOnlyRootFilesystem", FALSE), True),
                  "must set securityContext.readOnlyRootFilesystem=true",
                  default="readOnlyRootFilesystem true")]


def _privilege_escalation(p: ir.Policy) -> list[Requirement]:
    if not p.allow_privilege_escalation:
        return [Requirement("allowPrivilegeEscalation", "allow_privilege_escalation", "container",
                      eq(Val(SC / "allowPrivilegeEscalation", TRUE), False),
                      "must set securityContext.allowPrivilegeEscalation=false",
                      default="allowPrivilegeEscalation false")]
    if p.default_allow_privilege_escalation is not None:
        value = str(p.default_allow_privilege_escalation).lower()
        return [Requirement("defaultAllowPrivilegeEscalation", "default_allow_privilege_escalation",
                      "container", Has(SC / "allowPrivilegeEscalation"),
                      "must set securityContext.allowPrivilegeEscalation",
                      default=f"allowPrivilegeEscalation {value}")]
    return []


def _capabilities(p: ir.Policy) -> list[Requirement]:
    checks = []
    adds, drops = Items(SC / "capabilities" / "add"), Items(SC / "capabilities" / "drop")
    if voc.ALL not in p.allowed_capabilities:
        allowed = sorted(set(p.allowed_capabilities) | set(p.default_add_capabilities))
        cap = Var("cap")
        checks.append(Requirement("allowedCapabilities", "allowed_capabilities", "container",
                            All(cap, adds, In(cap, Lit(allowed))),
                            "must add only allowed capabilities (" + (", ".join(allowed) or
                                                                      "none") + ")"))
    for cap in p.default_add_capabilities:
        checks.append(Requirement(f"defaultAddCapabilities.{cap}", "default_add_capabilities",
                            "container", or_(In(Lit(cap), adds), In(Lit(cap), drops)),
                            f"must add capability {cap} (or drop it)",
                            default=f"capabilities.add {cap}"))
    for cap in p.required_drop_capabilities:
        checks.append(Requirement(f"requiredDropCapabilities.{cap}", "required_drop_capabilities",
                            "container", In(Lit(cap), drops), f"must drop capability {cap}",
                            default=f"capabilities.drop {cap}"))
    return checks


_MAX_PERMUTED_CATEGORIES = 4


def _levels(level: str) -> list[str]:
    """Every spelling of an SELinux level that PSP treats as equal (category order)."""
    sensitivity, _, categories = level.partition(":")
    parts = categories.split(",") if categories else []
    if not parts or len(parts) > _MAX_PERMUTED_CATEGORIES:
        return [level]
    return sorted({f"{sensitivity}:{','.join(order)}" for order in itertools.permutations(parts)})


def _selinux_equal(options: Path, selinux: ir.SELinux) -> Expr:
    fields = []
    for name in ("level", "role", "type", "user"):
        expected = getattr(selinux, name) or ""
        value = Val(options / name, Lit(""))
        if name == "level" and expected:
            fields.append(In(value, Lit(_levels(expected))))
        else:
            fields.append(eq(value, expected))
    return and_(*fields)


def _selinux(p: ir.Policy) -> list[Requirement]:
    if p.selinux.rule is not ir.Rule.MUST_RUN_AS:
        return []
    text = " ".join(f"{k}={getattr(p.selinux, k)}" for k in ("level", "role", "type", "user")
                    if getattr(p.selinux, k))
    pod_options, options = PSC / "seLinuxOptions", SC / "seLinuxOptions"
    return [
        Requirement("seLinux", "selinux", "pod", and_(Has(pod_options),
                                                _selinux_equal(pod_options, p.selinux)),
              f"must set securityContext.seLinuxOptions to exactly {text}",
              default=f"seLinuxOptions {text}"),
        Requirement("seLinux.container", "selinux", "container",
              or_(not_(Has(options)), _selinux_equal(options, p.selinux)),
              f"must not set seLinuxOptions other than {text}"),
    ]


def _selinux_types(p: ir.Policy) -> list[Requirement]:
    """Beyond PSP: SELinux types from a list (or none), never a user or role."""
    if p.selinux_types is None:
        return []
    types = ["", *p.selinux_types]

    def ok(options: Path) -> Expr:
        return and_(In(Val(options / "type", Lit("")), Lit(types)),
                    eq(Val(options / "user", Lit("")), ""), eq(Val(options / "role", Lit("")), ""))

    text = ", ".join(p.selinux_types)
    return [Requirement("seLinuxTypes", "selinux_types", "pod", ok(PSC / "seLinuxOptions"),
                  f"must use an allowed SELinux type ({text}) and no SELinux user or role"),
            Requirement("seLinuxTypes.container", "selinux_types", "container",
                  ok(SC / "seLinuxOptions"),
                  f"must use an allowed SELinux type ({text}) and no SELinux user or role")]


def _explicit_non_root(p: ir.Policy) -> list[Requirement]:
    """Beyond PSP: runAsNonRoot set to true for every container, and no runAsUser 0."""
    if not p.require_explicit_non_root:
        return []
    return [Requirement("runAsNonRoot.explicit", "require_explicit_non_root", "container",
                  and_(eq(_effective("runAsNonRoot", False), True),
                       ne(Val(SC / "runAsUser", Lit(1)), 0)),
                  "must set runAsNonRoot=true (on the container or the pod) and not "
                  "runAsUser=0"),
            Requirement("runAsUser.pod", "require_explicit_non_root", "pod",
                  ne(Val(PSC / "runAsUser", Lit(1)), 0), "must not set runAsUser=0")]


def _proc_mount(p: ir.Policy) -> list[Requirement]:
    allowed = sorted(set(p.allowed_proc_mount_types) or {"Default"})  # [Unmasked]: only it
    return [Requirement("procMount", "allowed_proc_mount_types", "container",
                  In(Val(SC / "procMount", Lit("Default")), Lit(allowed)),
                  "must use an allowed procMount (" + ", ".join(allowed) + ")")]


def _sysctl_match(name: Expr, patterns: tuple[str, ...]) -> Expr:
    return or_(*(StartsWith(name, Lit(p[:-1])) if p.endswith("*") else eq(name, p)
                 for p in patterns))


def _sysctls(p: ir.Policy) -> list[Requirement]:
    sysctl = Var("sysctl")
    name = Val(path(sysctl, "name"), Lit(""))
    ok = and_(not_(_sysctl_match(name, p.forbidden_sysctls)),
              or_(In(name, Lit(list(voc.SAFE_SYSCTLS))),
                  _sysctl_match(name, p.allowed_unsafe_sysctls)))
    return [Requirement("sysctls", "allowed_unsafe_sysctls", "pod",
                  All(sysctl, Items(PSC / "sysctls"), ok),
                  "must use only safe or allowed sysctls, none of the denied ones")]


def _runtime_class(p: ir.Policy) -> list[Requirement]:
    rc = p.runtime_class
    if rc is None:
        return []
    present = Has(path(SPEC, "runtimeClassName"))
    allowed = TRUE if voc.ALL in rc.allowed else In(Val(path(SPEC, "runtimeClassName"), Lit("")),
                                                    Lit(list(rc.allowed)))
    names = ", ".join(rc.allowed) or "none"
    if rc.default:
        return [Requirement("runtimeClass", "runtime_class", "pod", and_(present, allowed),
                      f"must set runtimeClassName to an allowed class ({names})",
                      default=f"runtimeClassName {rc.default}")]
    return [Requirement("runtimeClass", "runtime_class", "pod", or_(not_(present), allowed),
                  f"must not set a runtimeClassName other than {names}")]


def _profile_of(field: Path) -> Expr:
    """A seccomp or AppArmor profile field as its annotation value
    (docs/psp-admission.md#seccomp, docs/psp-admission.md#apparmor)."""
    kind = Val(field / "type", Lit(""))
    localhost = Concat((Lit("localhost/"), Val(field / "localhostProfile", Lit(""))))
    return Cond(eq(kind, "RuntimeDefault"), Lit(voc.RUNTIME_DEFAULT),
                Cond(and_(eq(kind, "Localhost"), Has(field / "localhostProfile")), localhost,
                     Cond(eq(kind, "Unconfined"), Lit("unconfined"), Lit(""))))


def _container_key(prefix: str) -> Path:
    return ANNOTATIONS / Concat((Lit(prefix), Val(path(C, "name"), Lit(""))))


def _seccomp_profiles() -> tuple[Expr, Expr]:
    """The pod's profile (its annotation, else its field) and a container's (its own field,
    else its annotation even when empty, else the pod's field, else the pod's annotation)."""
    pod_annotation = Val(ANNOTATIONS / voc.SECCOMP_POD, Lit(""))
    pod_field, container_field = PSC / "seccompProfile", SC / "seccompProfile"
    key = _container_key(voc.SECCOMP_CONTAINER_PREFIX)
    pod = Cond(ne(pod_annotation, ""), pod_annotation, _profile_of(pod_field))
    container = Cond(Has(container_field), _profile_of(container_field),
                     Cond(Has(key), Val(key, Lit("")),
                          Cond(Has(pod_field), _profile_of(pod_field), pod_annotation)))
    return pod, container


def _seccomp(p: ir.Policy) -> list[Requirement]:
    allowed = p.seccomp_allowed
    if allowed is not None and voc.ALL in allowed:
        return []
    pod, container = _seccomp_profiles()
    if allowed is None:
        return [Requirement("seccomp", "seccomp_allowed", "pod", eq(pod, ""),
                      "must not set a seccomp profile (the policy allows none)"),
                Requirement("seccomp.container", "seccomp_allowed", "container", eq(container, ""),
                      "must not set a seccomp profile (the policy allows none)")]
    accepted = set(allowed)
    if accepted & voc.RUNTIME_DEFAULT_PROFILES:
        accepted |= voc.RUNTIME_DEFAULT_PROFILES
    names = ", ".join(allowed)
    default = f"seccomp profile {p.seccomp_default}" if p.seccomp_default else None
    return [Requirement("seccomp", "seccomp_allowed", "pod", In(pod, Lit(sorted(accepted))),
                  f"must set an allowed seccomp profile ({names})", default=default),
            Requirement("seccomp.container", "seccomp_allowed", "container",
                  In(container, Lit(sorted(accepted))),
                  f"must run with an allowed seccomp profile ({names})", default=default)]


def _apparmor(p: ir.Policy) -> list[Requirement]:
    """The annotation names a container's profile; where it is unset or empty, its field
    (the container's, else the pod's) does, as an API server since 1.30 syncs them."""
    allowed, default = p.apparmor_allowed, p.apparmor_default
    if allowed is None and default is None:
        return []
    annotation = Val(_container_key(voc.APPARMOR_CONTAINER_PREFIX), Lit(""))
    container_field, pod_field = SC / "appArmorProfile", PSC / "appArmorProfile"
    profile = Cond(ne(annotation, ""), annotation,
                   Cond(Has(container_field), _profile_of(container_field),
                        _profile_of(pod_field)))
    ok = ne(profile, "") if allowed is None else In(profile, Lit(list(allowed)))
    names = ", ".join(allowed) if allowed is not None else "any"
    return [Requirement("apparmor", "apparmor_allowed", "container", ok,
                  f"must set an allowed AppArmor profile ({names})",
                  default=f"AppArmor profile {default}" if default else None)]


BUILDERS = (
    _privileged, _host_namespaces, _host_ports, _volumes, _host_paths, _drivers, _run_as_user,
    _groups, _root_filesystem, _privilege_escalation, _capabilities, _selinux, _selinux_types,
    _explicit_non_root, _proc_mount,
    _sysctls, _runtime_class, _seccomp, _apparmor,
)


def stated_requirements(policy: ir.Policy) -> list[Requirement]:
    """Every intent of the policy as checks, in PSP's validation order."""
    return [check for build in BUILDERS for check in build(policy) if check.ok != TRUE]


def requirements(policy: ir.Policy, profile_version: str | None = None) -> list[Requirement]:
    """Every check a validating engine needs for this policy: its intents as PodSecurityPolicy
    validates them, or, for a policy that states a Pod Security Standards level, the level's
    controls and the intents it states beyond its stdlib base (pspc.validation.standards).
    `profile_version` is a cluster profile's version, for a level stated without one.

    A build asks for them once per policy, through pspc.analysis."""
    from pspc.validation.standards import policy_requirements  # it builds on this module

    return policy_requirements(policy, stated_requirements(policy), profile_version)

