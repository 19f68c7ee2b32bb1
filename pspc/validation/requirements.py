"""Each intent of a policy as checks: what a validating engine must require of a pod.

A check passes exactly when the PodSecurityPolicy admits the pod without changing it:
its validation passes and none of its defaults would apply (docs/equivalence.md#validation
and docs/equivalence.md#defaults). Where PSP would fill a field in, the check instead
requires it set, and says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.validation.expr import (
    FALSE,
    TRUE,
    All,
    Any,
    Cmp,
    Concat,
    Cond,
    Containers,
    Expr,
    Has,
    In,
    Items,
    Lit,
    Named,
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
    param,
    path,
)
from pspc.validation.partial import specialise

OBJ, SPEC, C, V = Var("obj"), Var("spec"), Var("c"), Var("v")
SC, PSC = path(C, "securityContext"), path(SPEC, "securityContext")
ANNOTATIONS = path(OBJ, "metadata", "annotations")


@dataclass(frozen=True)
class Family:
    """A check whose policy values are parameters (Param nodes of PARAMS): the Gatekeeper
    template renders it once for every policy, the other targets partially evaluate it with
    one policy's values (pspc.validation.partial). `key` names the policy parameter holding
    the values; families of one intent reading the same values share it (the pod's and the
    containers' SELinux checks). `text` words the requirement for any values."""

    key: str
    id: str
    intent: str
    scope: str
    check: Expr
    text: str
    # the check specialised, by the values it was specialised with (as `_frozen` gives
    # them): policies share most values (`deny privileged` has none), so a build of many
    # policies evaluates each family once per distinct value, not once per policy
    _specialised: dict = field(default_factory=dict, compare=False, repr=False)

    def specialised(self, params: dict, values: object) -> Expr:
        """The check with the values `params` (`values`, frozen) substituted and folded
        (pspc.validation.partial)."""
        found = self._specialised.get(values)
        if found is None:
            found = self._specialised[values] = specialise(self.check, params)
        return found


def _frozen(value: object) -> object:
    """`value` (parameters: dicts, lists, scalars) as a hashable key; a scalar keeps its
    type, as True == 1 but a check of `True` is not one of `1`."""
    if isinstance(value, dict):
        return ("dict", *((k, _frozen(v)) for k, v in sorted(value.items())))
    if isinstance(value, list | tuple):
        return ("list", *(_frozen(v) for v in value))
    return (type(value).__name__, value)


@dataclass(frozen=True)
class Requirement:
    """One requirement. `scope` says what `ok` ranges over: the pod, each container (`c`)
    or each volume (`v`); `requirement` completes "container X ..." / "pod ..." / "volume X
    ..."; `default` is set when PSP would fill the field in instead of rejecting. `ok` is
    `family`'s check with the policy's values `params` substituted. Two requirements with
    equal `key` (the family and the values) have the same `ok`, so renderers render it once."""

    id: str
    intent: str
    scope: str
    ok: Expr
    requirement: str
    default: str | None = None
    family: Family | None = None
    params: dict | None = None
    key: tuple = ()


def require(family: Family, params: dict, requirement: str | None = None,
            default: str | None = None) -> Requirement:
    """The requirement of `family` with the policy's values `params`."""
    values = _frozen(params)
    return Requirement(family.id, family.intent, family.scope,
                       family.specialised(params, values),
                       family.text if requirement is None else requirement, default, family,
                       params, (family.key, family.id, family.scope, family.intent, values))


def _effective(field: str, default: object) -> Val:
    """A container's security setting, falling back to the pod's (runAsUser and friends)."""
    return Val(SC / field, Val(PSC / field, Lit(default)))


def _ranges_text(ranges: tuple[ir.IdRange, ...]) -> str:
    return ", ".join(str(r.min) if r.min == r.max else f"{r.min}-{r.max}" for r in ranges)


def _ranges(ranges: tuple[ir.IdRange, ...]) -> list[dict]:
    return [{"min": r.min, "max": r.max} for r in ranges]


def _family(key: str, intent: str, scope: str, check: Expr, text: str,
            name: str | None = None) -> Family:
    return Family(key, name or key, intent, scope, check, text)


PRIVILEGED = _family("privileged", "privileged", "container",
                     ne(Val(SC / "privileged", FALSE), True),
                     "must not set securityContext.privileged=true")
HOST_NAMESPACES = {key: _family(key, field, "pod", ne(Val(path(SPEC, key), FALSE), True),
                                f"must not set {key}=true")
                   for field, key in (("host_network", "hostNetwork"), ("host_pid", "hostPID"),
                                      ("host_ipc", "hostIPC"))}


def _privileged(p: ir.Policy) -> list[Requirement]:
    return [] if p.privileged else [require(PRIVILEGED, {})]


def _host_namespaces(p: ir.Policy) -> list[Requirement]:
    return [require(family, {}) for family in HOST_NAMESPACES.values()
            if not getattr(p, family.intent)]


def _host_ports_check() -> Expr:
    port = Var("port")
    host_port = Val(path(port, "hostPort"), Lit(0))
    container_port = Val(path(port, "containerPort"), Lit(0))
    host_network = eq(Val(path(SPEC, "hostNetwork"), FALSE), True)
    ranges = param("ranges")
    allowed = or_(
        and_(Cmp(">", host_port, Lit(0)), in_ranges(host_port, ranges)),
        and_(eq(host_port, 0), Named("container_port_allowed", or_(
            not_(host_network), eq(container_port, 0), in_ranges(container_port, ranges)))))
    return All(port, Items(path(C, "ports")), Named("host_port_allowed", allowed))


HOST_PORTS = _family("hostPorts", "host_ports", "container", _host_ports_check(),
                     "must use only allowed host ports (with hostNetwork every containerPort "
                     "is a host port)")


def _host_ports(p: ir.Policy) -> list[Requirement]:
    if any(r.min <= 1 and r.max >= voc.MAX_PORT for r in p.host_ports):
        return []
    ranges = _ranges_text(p.host_ports) or "none"
    return [require(HOST_PORTS, {"ranges": _ranges(p.host_ports)},
                    f"must use only allowed host ports ({ranges}; with hostNetwork every "
                    "containerPort is a host port)")]


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
                                               Named("token_volume_source",
                                                     or_(token, root_ca, namespace))))


def _volumes_check() -> Expr:
    """A volume whose source is one of the `sources` (the fields of a volume that name its
    type); a volume with no source is defaulted to an emptyDir; with `serviceAccountToken`,
    the token volume is allowed too."""
    source = Var("source")
    return or_(Any(source, param("sources"), Has(path(V, Concat((source,))))),
               and_(In(Lit("emptyDir"), param("sources")), OnlyKeys(V, ("name",))),
               and_(eq(param("serviceAccountToken"), True), _projected_token(V)))


VOLUMES = _family("volumes", "volumes", "volume", _volumes_check(),
                  "must be of an allowed type")


def _volumes(p: ir.Policy) -> list[Requirement]:
    if voc.ALL in p.volumes:
        return []
    sources = ["cephfs" if t == "cephFS" else t for t in p.volumes]
    token = "secret" in p.volumes and "projected" not in p.volumes
    names = ", ".join(p.volumes) or "none"
    return [require(VOLUMES, {"sources": sources, "serviceAccountToken": token},
                    f"must be of an allowed type ({names})")]


def _under(text: Expr, prefix: Var) -> Expr:
    """Segment-wise prefix match of a host path (docs/psp-admission.md#host-paths); the
    parameter's `path` is the prefix without one trailing '/'."""
    stem = param("path", prefix)
    return or_(eq(text, stem), StartsWith(text, Concat((stem, Lit("/")))))


def _host_paths_checks() -> tuple[Expr, Expr]:
    host_path = Val(path(V, "hostPath", "path"), Lit(""))
    prefix = Var("prefix")
    allowed = or_(not_(Has(path(V, "hostPath"))),
                  Any(prefix, param("prefixes"), _under(host_path, prefix)))
    mount, container = Var("mount"), Var("ctr")
    mounted_read_only = All(container, Containers(SPEC), All(
        mount, Items(path(container, "volumeMounts")), Named("mount_read_only_or_other", or_(
            ne(Val(path(mount, "name"), Lit("")), Val(path(V, "name"), Lit(""))),
            eq(Val(path(mount, "readOnly"), FALSE), True)))))
    writable = Any(prefix, param("prefixes"),
                   and_(eq(param("readOnly", prefix), False), _under(host_path, prefix)))
    return allowed, or_(not_(Has(path(V, "hostPath"))), writable, mounted_read_only)


HOST_PATHS = _family("allowedHostPaths", "allowed_host_paths", "volume",
                     _host_paths_checks()[0], "must use a host path under an allowed prefix")
# Shares its parameter with HOST_PATHS: where no prefix is read-only, it fails only for a
# host path under no prefix, which HOST_PATHS rejects anyway.
HOST_PATHS_READ_ONLY = _family(
    "allowedHostPaths", "allowed_host_paths", "volume", _host_paths_checks()[1],
    "must be mounted read-only (its host path is allowed read-only)",
    name="allowedHostPathsReadOnly")


def _host_paths(p: ir.Policy) -> list[Requirement]:
    if not p.allowed_host_paths:
        return []
    params = {"prefixes": [{"path": h.prefix[:-1] if h.prefix.endswith("/") else h.prefix,
                            "readOnly": h.read_only} for h in p.allowed_host_paths]}
    prefixes = ", ".join(h.prefix for h in p.allowed_host_paths)
    checks = [require(HOST_PATHS, params,
                      f"must use a host path under an allowed prefix ({prefixes})")]
    if any(h.read_only for h in p.allowed_host_paths):
        checks.append(require(HOST_PATHS_READ_ONLY, params))
    return checks


def _driver_check(source: str) -> Expr:
    return or_(not_(Has(path(V, source))),
               In(Val(path(V, source, "driver"), Lit("")), param("drivers")))


FLEX_VOLUMES = _family("allowedFlexVolumes", "allowed_flex_volumes", "volume",
                       _driver_check("flexVolume"), "must use an allowed flex volume driver")
CSI_DRIVERS = _family("allowedCSIDrivers", "allowed_csi_drivers", "volume",
                      _driver_check("csi"), "must use an allowed inline CSI driver")


def _drivers(p: ir.Policy) -> list[Requirement]:
    checks = []
    for family, drivers in ((FLEX_VOLUMES, p.allowed_flex_volumes),
                            (CSI_DRIVERS, p.allowed_csi_drivers)):
        if drivers:
            checks.append(require(family, {"drivers": list(drivers)},
                                  f"{family.text} ({', '.join(drivers)})"))
    return checks


RUN_AS_USER = _family("runAsUser", "run_as_user", "container",
                      in_ranges(_effective("runAsUser", -1), param("ranges")),
                      "must set runAsUser (container or pod) within the allowed ranges")
RUN_AS_NON_ROOT = _family(
    "runAsNonRoot", "run_as_user", "container",
    and_(or_(Has(SC / "runAsNonRoot"), Has(PSC / "runAsNonRoot"), Has(SC / "runAsUser"),
             Has(PSC / "runAsUser")),
         ne(_effective("runAsNonRoot", True), False), ne(_effective("runAsUser", 1), 0)),
    "must set runAsNonRoot=true or a non-zero runAsUser, and neither runAsNonRoot=false "
    "nor runAsUser=0")


def _run_as_user(p: ir.Policy) -> list[Requirement]:
    rule = p.run_as_user.rule
    if rule is ir.Rule.MUST_RUN_AS:
        ranges = _ranges_text(p.run_as_user.ranges)
        return [require(RUN_AS_USER, {"ranges": _ranges(p.run_as_user.ranges)},
                        f"must set runAsUser (container or pod) within {ranges}",
                        default=f"runAsUser {p.run_as_user.ranges[0].min}")]
    if rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        return [require(RUN_AS_NON_ROOT, {}, default="runAsNonRoot true")]
    return []


def _group_families(key: str, intent: str, scope: str, value: Expr,
                    present: Expr) -> dict[ir.Rule, Family]:
    inside = in_ranges(value, param("ranges"))
    return {ir.Rule.MUST_RUN_AS: _family(key, intent, scope, inside,
                                         f"must set {key} within the allowed ranges"),
            ir.Rule.MAY_RUN_AS: _family(f"{key}MayRunAs", intent, scope,
                                        or_(not_(present), inside),
                                        f"must keep {key}, when set, within the allowed ranges",
                                        name=key)}


RUN_AS_GROUP = _group_families("runAsGroup", "run_as_group", "container",
                               _effective("runAsGroup", -1),
                               Named("run_as_group_set",
                                     or_(Has(SC / "runAsGroup"), Has(PSC / "runAsGroup"))))
FS_GROUP = _group_families("fsGroup", "fs_group", "pod", Val(PSC / "fsGroup", Lit(-1)),
                           Has(PSC / "fsGroup"))


def _supplemental_families() -> dict[ir.Rule, Family]:
    group, groups = Var("gid"), Items(PSC / "supplementalGroups")
    every = All(group, groups, in_ranges(group, param("ranges")))
    key, intent = "supplementalGroups", "supplemental_groups"
    return {ir.Rule.MUST_RUN_AS: _family(key, intent, "pod", and_(NonEmpty(groups), every),
                                         "must set supplementalGroups, all within the allowed "
                                         "ranges"),
            ir.Rule.MAY_RUN_AS: _family(f"{key}MayRunAs", intent, "pod", every,
                                        "must keep supplementalGroups within the allowed ranges",
                                        name=key)}


SUPPLEMENTAL_GROUPS = _supplemental_families()


def _group(strategy: ir.IdPolicy | None, families: dict[ir.Rule, Family],
           field: str) -> list[Requirement]:
    if strategy is None or strategy.rule is ir.Rule.RUN_AS_ANY:
        return []
    ranges = _ranges_text(strategy.ranges)
    params = {"ranges": _ranges(strategy.ranges)}
    family = families[strategy.rule]
    if strategy.rule is ir.Rule.MAY_RUN_AS:
        text = (f"must keep {field} within {ranges}" if field == "supplementalGroups"
                else f"must keep {field}, when set, within {ranges}")
        return [require(family, params, text)]
    text = (f"must set supplementalGroups, all within {ranges}" if field == "supplementalGroups"
            else f"must set {field} within {ranges}")
    default = (f"supplementalGroups [{strategy.ranges[0].min}]" if field == "supplementalGroups"
               else f"{field} {strategy.ranges[0].min}")
    return [require(family, params, text, default=default)]


def _groups(p: ir.Policy) -> list[Requirement]:
    return (_group(p.run_as_group, RUN_AS_GROUP, "runAsGroup")
            + _group(p.fs_group, FS_GROUP, "fsGroup")
            + _group(p.supplemental_groups, SUPPLEMENTAL_GROUPS, "supplementalGroups"))


READ_ONLY_ROOT_FILESYSTEM = _family(
    "readOnlyRootFilesystem", "read_only_root_filesystem", "container",
    eq(Val(SC / "readOnlyRootFilesystem", FALSE), True),
    "must set securityContext.readOnlyRootFilesystem=true")
NO_PRIVILEGE_ESCALATION = _family(
    "allowPrivilegeEscalation", "allow_privilege_escalation", "container",
    eq(Val(SC / "allowPrivilegeEscalation", TRUE), False),
    "must set securityContext.allowPrivilegeEscalation=false")
EXPLICIT_PRIVILEGE_ESCALATION = _family(
    "defaultAllowPrivilegeEscalation", "default_allow_privilege_escalation", "container",
    Has(SC / "allowPrivilegeEscalation"), "must set securityContext.allowPrivilegeEscalation")


def _root_filesystem(p: ir.Policy) -> list[Requirement]:
    if not p.read_only_root_filesystem:
        return []
    return [require(READ_ONLY_ROOT_FILESYSTEM, {}, default="readOnlyRootFilesystem true")]


def _privilege_escalation(p: ir.Policy) -> list[Requirement]:
    if not p.allow_privilege_escalation:
        return [require(NO_PRIVILEGE_ESCALATION, {}, default="allowPrivilegeEscalation false")]
    if p.default_allow_privilege_escalation is not None:
        value = str(p.default_allow_privilege_escalation).lower()
        return [require(EXPLICIT_PRIVILEGE_ESCALATION, {},
                        default=f"allowPrivilegeEscalation {value}")]
    return []


_ADDS, _DROPS = Items(SC / "capabilities" / "add"), Items(SC / "capabilities" / "drop")
_CAP = Var("cap")
ALLOWED_CAPABILITIES = _family("allowedCapabilities", "allowed_capabilities", "container",
                               All(_CAP, _ADDS, In(_CAP, param("capabilities"))),
                               "must add only allowed capabilities")
DEFAULT_ADD_CAPABILITIES = _family(
    "defaultAddCapabilities", "default_add_capabilities", "container",
    All(_CAP, param("capabilities"), or_(In(_CAP, _ADDS), In(_CAP, _DROPS))),
    "must add (or drop) the policy's default capabilities")
REQUIRED_DROP_CAPABILITIES = _family(
    "requiredDropCapabilities", "required_drop_capabilities", "container",
    All(_CAP, param("capabilities"), In(_CAP, _DROPS)),
    "must drop the policy's required capabilities")


def _capabilities(p: ir.Policy) -> list[Requirement]:
    checks = []
    if voc.ALL not in p.allowed_capabilities:
        allowed = sorted(set(p.allowed_capabilities) | set(p.default_add_capabilities))
        checks.append(require(ALLOWED_CAPABILITIES, {"capabilities": allowed},
                              "must add only allowed capabilities ("
                              + (", ".join(allowed) or "none") + ")"))
    defaults = p.default_add_capabilities
    if defaults:
        checks.append(require(DEFAULT_ADD_CAPABILITIES, {"capabilities": list(defaults)},
                              "must add capabilities " + ", ".join(defaults) + " (or drop them)",
                              default="capabilities.add " + ", ".join(defaults)))
    drops = p.required_drop_capabilities
    if drops:
        checks.append(require(REQUIRED_DROP_CAPABILITIES, {"capabilities": list(drops)},
                              "must drop capabilities " + ", ".join(drops),
                              default="capabilities.drop " + ", ".join(drops)))
    return checks


_MAX_PERMUTED_CATEGORIES = 4


def _levels(level: str) -> list[str]:
    """Every spelling of an SELinux level that PSP treats as equal (category order)."""
    sensitivity, _, categories = level.partition(":")
    parts = categories.split(",") if categories else []
    if not parts or len(parts) > _MAX_PERMUTED_CATEGORIES:
        return [level]
    return sorted({f"{sensitivity}:{','.join(order)}" for order in itertools.permutations(parts)})


def _selinux_equal(options: Path) -> Expr:
    """The options equal the parameters' role, type and user, and their level is one of
    `levels` (its spellings; [""] for no level)."""
    return and_(In(Val(options / "level", Lit("")), param("levels")),
                *(eq(Val(options / name, Lit("")), param(name))
                  for name in ("role", "type", "user")))


SELINUX = _family("seLinux", "selinux", "pod",
                  and_(Has(PSC / "seLinuxOptions"), _selinux_equal(PSC / "seLinuxOptions")),
                  "must set securityContext.seLinuxOptions to exactly the policy's")
SELINUX_CONTAINER = _family("seLinux", "selinux", "container",
                            or_(not_(Has(SC / "seLinuxOptions")),
                                _selinux_equal(SC / "seLinuxOptions")),
                            "must not set seLinuxOptions other than the policy's",
                            name="seLinux.container")


def _selinux(p: ir.Policy) -> list[Requirement]:
    if p.selinux.rule is not ir.Rule.MUST_RUN_AS:
        return []
    text = " ".join(f"{k}={getattr(p.selinux, k)}" for k in ("level", "role", "type", "user")
                    if getattr(p.selinux, k))
    level = p.selinux.level or ""
    params = {"levels": _levels(level) if level else [""], "role": p.selinux.role or "",
              "type": p.selinux.type or "", "user": p.selinux.user or ""}
    return [require(SELINUX, params, f"must set securityContext.seLinuxOptions to exactly {text}",
                    default=f"seLinuxOptions {text}"),
            require(SELINUX_CONTAINER, params, f"must not set seLinuxOptions other than {text}")]


def _selinux_types_check(options: Path) -> Expr:
    return and_(In(Val(options / "type", Lit("")), param("types")),
                eq(Val(options / "user", Lit("")), ""), eq(Val(options / "role", Lit("")), ""))


SELINUX_TYPES = _family("seLinuxTypes", "selinux_types", "pod",
                        _selinux_types_check(PSC / "seLinuxOptions"),
                        "must use an allowed SELinux type and no SELinux user or role")
SELINUX_TYPES_CONTAINER = _family("seLinuxTypes", "selinux_types", "container",
                                  _selinux_types_check(SC / "seLinuxOptions"), SELINUX_TYPES.text,
                                  name="seLinuxTypes.container")


def _selinux_types(p: ir.Policy) -> list[Requirement]:
    """Beyond PSP: SELinux types from a list (or none), never a user or role."""
    if p.selinux_types is None:
        return []
    text = (f"must use an allowed SELinux type ({', '.join(p.selinux_types)}) and no SELinux "
            "user or role")
    params = {"types": ["", *p.selinux_types]}
    return [require(SELINUX_TYPES, params, text), require(SELINUX_TYPES_CONTAINER, params, text)]


EXPLICIT_NON_ROOT = _family("explicitNonRoot", "require_explicit_non_root", "container",
                            and_(eq(_effective("runAsNonRoot", False), True),
                                 ne(Val(SC / "runAsUser", Lit(1)), 0)),
                            "must set runAsNonRoot=true (on the container or the pod) and not "
                            "runAsUser=0", name="runAsNonRoot.explicit")
EXPLICIT_NON_ROOT_POD = _family("explicitNonRoot", "require_explicit_non_root", "pod",
                                ne(Val(PSC / "runAsUser", Lit(1)), 0), "must not set runAsUser=0",
                                name="runAsUser.pod")


def _explicit_non_root(p: ir.Policy) -> list[Requirement]:
    """Beyond PSP: runAsNonRoot set to true for every container, and no runAsUser 0."""
    if not p.require_explicit_non_root:
        return []
    return [require(EXPLICIT_NON_ROOT, {}), require(EXPLICIT_NON_ROOT_POD, {})]


PROC_MOUNT = _family("procMount", "allowed_proc_mount_types", "container",
                     In(Val(SC / "procMount", Lit("Default")), param("types")),
                     "must use an allowed procMount")


def _proc_mount(p: ir.Policy) -> list[Requirement]:
    allowed = sorted(set(p.allowed_proc_mount_types) or {"Default"})  # [Unmasked]: only it
    return [require(PROC_MOUNT, {"types": allowed},
                    "must use an allowed procMount (" + ", ".join(allowed) + ")")]


def _sysctl_match(name: Expr, names: Expr, prefixes: Expr) -> Expr:
    prefix = Var("prefix")
    return or_(In(name, names), Any(prefix, prefixes, StartsWith(name, prefix)))


def _sysctls_check() -> Expr:
    sysctl = Var("sysctl")
    name = Val(path(sysctl, "name"), Lit(""))
    forbidden = Named("forbidden_sysctl", _sysctl_match(
        name, param("forbidden"), param("forbiddenPrefixes")))
    allowed = Named("allowed_sysctl", or_(
        In(name, Lit(list(voc.SAFE_SYSCTLS))),
        _sysctl_match(name, param("allowed"), param("allowedPrefixes"))))
    ok = and_(not_(forbidden), allowed)
    return All(sysctl, Items(PSC / "sysctls"), ok)


SYSCTLS = _family("sysctls", "allowed_unsafe_sysctls", "pod", _sysctls_check(),
                  "must use only safe or allowed sysctls, none of the denied ones")


def _patterns(patterns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Sysctl patterns as exact names and prefixes (`kernel.shm*`)."""
    return ([p for p in patterns if not p.endswith("*")],
            [p[:-1] for p in patterns if p.endswith("*")])


def _sysctls(p: ir.Policy) -> list[Requirement]:
    forbidden, forbidden_prefixes = _patterns(p.forbidden_sysctls)
    allowed, allowed_prefixes = _patterns(p.allowed_unsafe_sysctls)
    return [require(SYSCTLS, {"forbidden": forbidden, "forbiddenPrefixes": forbidden_prefixes,
                              "allowed": allowed, "allowedPrefixes": allowed_prefixes})]


def _runtime_class_families() -> dict[bool, Family]:
    name = Val(path(SPEC, "runtimeClassName"), Lit(""))
    present = Has(path(SPEC, "runtimeClassName"))
    allowed = or_(In(Lit(voc.ALL), param("classes")), In(name, param("classes")))
    return {True: _family("runtimeClass", "runtime_class", "pod", and_(present, allowed),
                          "must set runtimeClassName to an allowed class"),
            False: _family("runtimeClassAllowed", "runtime_class", "pod",
                           or_(not_(present), allowed),
                           "must not set a runtimeClassName other than the allowed ones",
                           name="runtimeClass")}


RUNTIME_CLASS = _runtime_class_families()


def _runtime_class(p: ir.Policy) -> list[Requirement]:
    rc = p.runtime_class
    if rc is None:
        return []
    names = ", ".join(rc.allowed) or "none"
    params = {"classes": list(rc.allowed)}
    if rc.default:
        return [require(RUNTIME_CLASS[True], params,
                        f"must set runtimeClassName to an allowed class ({names})",
                        default=f"runtimeClassName {rc.default}")]
    return [require(RUNTIME_CLASS[False], params,
                    f"must not set a runtimeClassName other than {names}")]


def _profile_of(field: Path) -> Expr:
    """A seccomp or AppArmor profile field as its annotation value
    (docs/psp-admission.md#seccomp, docs/psp-admission.md#apparmor)."""
    kind = Val(field / "type", Lit(""))
    localhost = Concat((Lit("localhost/"), Val(field / "localhostProfile", Lit(""))))
    who = "pod" if field.base == SPEC else "container"
    what = "seccomp" if field.keys[-1] == "seccompProfile" else "apparmor"
    return Named(f"{who}_{what}_field_profile", Cond(
        eq(kind, "RuntimeDefault"), Lit(voc.RUNTIME_DEFAULT),
        Cond(and_(eq(kind, "Localhost"), Has(field / "localhostProfile")), localhost,
             Cond(eq(kind, "Unconfined"), Lit("unconfined"), Lit("")))))


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
    return Named("pod_seccomp_profile", pod), Named("container_seccomp_profile", container)


_POD_SECCOMP, _CONTAINER_SECCOMP = _seccomp_profiles()
SECCOMP = _family("seccomp", "seccomp_allowed", "pod", In(_POD_SECCOMP, param("profiles")),
                  "must set an allowed seccomp profile")
SECCOMP_CONTAINER = _family("seccomp", "seccomp_allowed", "container",
                            In(_CONTAINER_SECCOMP, param("profiles")),
                            "must run with an allowed seccomp profile", name="seccomp.container")
NO_SECCOMP = _family("noSeccomp", "seccomp_allowed", "pod", eq(_POD_SECCOMP, ""),
                     "must not set a seccomp profile (the policy allows none)", name="seccomp")
NO_SECCOMP_CONTAINER = _family("noSeccomp", "seccomp_allowed", "container",
                               eq(_CONTAINER_SECCOMP, ""), NO_SECCOMP.text,
                               name="seccomp.container")


def _seccomp(p: ir.Policy) -> list[Requirement]:
    allowed = p.seccomp_allowed
    if allowed is not None and voc.ALL in allowed:
        return []
    if allowed is None:
        return [require(NO_SECCOMP, {}), require(NO_SECCOMP_CONTAINER, {})]
    accepted = set(allowed)
    if accepted & voc.RUNTIME_DEFAULT_PROFILES:
        accepted |= voc.RUNTIME_DEFAULT_PROFILES
    names = ", ".join(allowed)
    default = f"seccomp profile {p.seccomp_default}" if p.seccomp_default else None
    params = {"profiles": sorted(accepted)}
    return [require(SECCOMP, params, f"must set an allowed seccomp profile ({names})",
                    default=default),
            require(SECCOMP_CONTAINER, params,
                    f"must run with an allowed seccomp profile ({names})", default=default)]


def _apparmor_profile() -> Expr:
    """The annotation names a container's profile; where it is unset or empty, its field
    (the container's, else the pod's) does, as an API server since 1.30 syncs them."""
    annotation = Val(_container_key(voc.APPARMOR_CONTAINER_PREFIX), Lit(""))
    container_field, pod_field = SC / "appArmorProfile", PSC / "appArmorProfile"
    return Named("container_apparmor_profile", Cond(
        ne(annotation, ""), annotation,
        Cond(Has(container_field), _profile_of(container_field), _profile_of(pod_field))))


APPARMOR = _family("apparmor", "apparmor_allowed", "container",
                   In(_apparmor_profile(), param("profiles")),
                   "must set an allowed AppArmor profile")
ANY_APPARMOR = _family("anyApparmor", "apparmor_allowed", "container",
                       ne(_apparmor_profile(), ""), "must set an AppArmor profile",
                       name="apparmor")


def _apparmor(p: ir.Policy) -> list[Requirement]:
    allowed, default = p.apparmor_allowed, p.apparmor_default
    if allowed is None and default is None:
        return []
    names = ", ".join(allowed) if allowed is not None else "any"
    family, params = (ANY_APPARMOR, {}) if allowed is None else (
        APPARMOR, {"profiles": list(allowed)})
    return [require(family, params, f"must set an allowed AppArmor profile ({names})",
                    default=f"AppArmor profile {default}" if default else None)]


def requirement_families() -> tuple[Family, ...]:
    """The families of PodSecurityPolicy's intents (and pspc's beyond them), in PSP's
    validation order."""
    return (PRIVILEGED, *HOST_NAMESPACES.values(), HOST_PORTS, VOLUMES, HOST_PATHS,
            HOST_PATHS_READ_ONLY, FLEX_VOLUMES, CSI_DRIVERS, RUN_AS_USER, RUN_AS_NON_ROOT,
            *RUN_AS_GROUP.values(), *FS_GROUP.values(), *SUPPLEMENTAL_GROUPS.values(),
            READ_ONLY_ROOT_FILESYSTEM, NO_PRIVILEGE_ESCALATION, EXPLICIT_PRIVILEGE_ESCALATION,
            ALLOWED_CAPABILITIES, DEFAULT_ADD_CAPABILITIES, REQUIRED_DROP_CAPABILITIES, SELINUX,
            SELINUX_CONTAINER, SELINUX_TYPES, SELINUX_TYPES_CONTAINER, EXPLICIT_NON_ROOT,
            EXPLICIT_NON_ROOT_POD, PROC_MOUNT, SYSCTLS, *RUNTIME_CLASS.values(), SECCOMP,
            SECCOMP_CONTAINER, NO_SECCOMP, NO_SECCOMP_CONTAINER, APPARMOR,
            ANY_APPARMOR)


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

