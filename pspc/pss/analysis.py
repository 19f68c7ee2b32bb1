"""Which Pod Security Standards level a policy fits: a static, field-by-field analysis.

The question is the PSA target's: enforcing which level breaks nothing the policy admits?

**The pods a policy admits** are the pods its PodSecurityPolicy admits without changing them
and that meet its intents beyond PSP (ir.BEYOND_PSP, which the validating targets enforce).
Without a mutation target the validating targets admit exactly those; with one, every
admitted pod is the mutated form, which PSP admits unchanged. So a PSP default becomes a
requirement here (a pod that names no seccomp profile is not admitted as written), and a
value PSP never checks stays free (MustRunAsNonRoot leaves `runAsNonRoot` unset when the
pod sets a non-zero `runAsUser`). PSP semantics are those of Kubernetes v1.24
(docs/psp-admission.md), read on a current cluster:

* A profile is the same intent whether a pod names it in an annotation or in a field: the
  API server syncs the two and rejects pods where they disagree. A seccomp or AppArmor
  allow-list therefore bounds the `seccompProfile` and `appArmorProfile` fields too.
* API validation holds: `procMount: Unmasked` needs `hostUsers: false`, and a Windows
  HostProcess pod needs `hostNetwork: true`.
* PodSecurityPolicy has no field for the host of probes and lifecycle handlers, which
  baseline checks from v1.34. No PSP-shaped policy could fit baseline v1.34+ if that counted,
  so it does not block a level: it is reported as a *caveat* of the level instead (a pod with
  a probe host, which the API documentation discourages, is rejected by PSA).

A `Conflict` is a check of a level that rejects pods the policy admits, naming the IR field
that admits them (None for a caveat). A `Gap` is an intent stricter than the recommended
level, which PSA cannot enforce and the validating targets must.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.model.unparse import statements
from pspc.pss.controls import BASELINE_CAPABILITIES, Rules
from pspc.pss.levels import (
    LEVELS,
    Version,
    checks_for,
    parse_version,
    rules_for,
    standard_version,
)

# The restricted volume sources as PodSecurityPolicy types (PSP has no `image` type).
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
})
NET_BIND_SERVICE = frozenset({"NET_BIND_SERVICE"})


@dataclass(frozen=True)
class Conflict:
    """Pods the policy admits that a check of `level` rejects."""

    level: str
    check: str
    field: str | None  # the IR field that admits them; None when no PSP field could
    intent: str | None  # that field's intent as pspc source, None when not stated
    sentence: str


@dataclass(frozen=True)
class Gap:
    """An intent stricter than the recommended level: PSA cannot enforce it."""

    field: str
    intent: str | None
    sentence: str
    why: str


@dataclass(frozen=True)
class LevelReport:
    policy: str
    version: str
    level: str  # the strictest level that rejects nothing the policy admits
    gaps: tuple[Gap, ...]
    blockers: tuple[Conflict, ...]  # for every stricter level
    caveats: tuple[Conflict, ...]  # checks of `level` that no PSP field controls


def conflicts(policy: ir.Policy, level: str, version: str,
              intents: dict[str, str] | None = None) -> tuple[Conflict, ...]:
    """Every check of `level:version` that rejects pods `policy` admits (caveats included).
    `intents`: the policy's statements (`_intents`), when the caller has them."""
    parsed = parse_version(version)
    rules = rules_for(parsed)
    intents = _intents(policy) if intents is None else intents
    return tuple(
        Conflict(level, spec.id, field, intents.get(field) if field else None, sentence)
        for spec in checks_for(level, parsed)
        for field, sentence in CONFLICTS[spec.id](policy, rules))


def contains(level: str, version: str, outer: str, outer_version: str) -> bool:
    """Does PSA `outer` at `outer_version` admit every pod that `level` at `version` admits?

    Decided on the checks and rule tables (pspc.pss.levels), conservatively: every check of
    the outer level must run at the inner one (itself or a restricted check that replaces
    it), the inner allow-lists (sysctls, SELinux types) must be within the outer ones, both
    must read seccomp the same way (annotations before v1.19, fields after), and the inner
    one may not exempt pods (user namespaces, Windows) that the outer one checks."""
    inner_v, outer_v = parse_version(version), parse_version(outer_version)
    inner = checks_for(level, inner_v)
    ran = {c.id for c in inner} | {c.overrides for c in inner if c.overrides}
    if any(c.id not in ran for c in checks_for(outer, outer_v)):
        return False
    if outer == "privileged":
        return True
    a, b = rules_for(inner_v), rules_for(outer_v)
    return (a.sysctls <= b.sysctls and a.selinux_types <= b.selinux_types
            and a.seccomp_fields == b.seccomp_fields
            and not (a.user_namespace_relaxation and not b.user_namespace_relaxation)
            and not (a.windows_exemption and not b.windows_exemption and level == "restricted"))


def _standard_report(policy: ir.Policy, version: str,
                     profile_version: str | None) -> LevelReport:
    """A policy that states a level admits what that level admits, at most (its validating
    outputs require the level's controls): it fits the strictest level that contains it."""
    standard = policy.pod_security_standard
    at = standard_version(policy, profile_version)
    intents = _intents(policy)
    statement = intents.get("pod_security_standard")
    order = LEVELS[:LEVELS.index(standard.level) + 1][::-1]
    level = next(name for name in order if contains(standard.level, at, name, version))
    blockers = tuple(
        Conflict(name, "level", "pod_security_standard", statement,
                 f"admits what Pod Security Standards {standard.level} {at} admits, pods "
                 f"that {name} {version} rejects included")
        for name in LEVELS[LEVELS.index(level) + 1:])
    return LevelReport(policy=policy.name, version=version, level=level,
                       gaps=gaps(policy, level, version, profile_version, intents),
                       blockers=blockers,
                       caveats=())


def recommend_level(policy: ir.Policy, version: str,
                    profile_version: str | None = None) -> LevelReport:
    """The strictest level that admits every pod the policy admits, with gaps and blockers.
    `profile_version`: the cluster's version, for a level the policy states without one."""
    if policy.pod_security_standard is not None:
        return _standard_report(policy, version, profile_version)
    intents = _intents(policy)
    found = {level: conflicts(policy, level, version, intents) for level in LEVELS}
    level = next((name for name in ("restricted", "baseline")
                  if all(c.field is None for c in found[name])), "privileged")
    stricter = LEVELS[LEVELS.index(level) + 1:]
    return LevelReport(
        policy=policy.name,
        version=version,
        level=level,
        gaps=gaps(policy, level, version, intents=intents),
        blockers=tuple(c for name in stricter for c in found[name] if c.field is not None),
        caveats=tuple(c for c in found[level] if c.field is None),
    )


def gaps(policy: ir.Policy, level: str, version: str, profile_version: str | None = None,
         intents: dict[str, str] | None = None) -> tuple[Gap, ...]:
    """Every intent of `policy` that `level:version` does not enforce. `intents`: the
    policy's statements (`_intents`), when the caller has them."""
    parsed = parse_version(version)
    at = _Level(level, parsed, rules_for(parsed),
                frozenset(c.id for c in checks_for(level, parsed)))
    intents = _intents(policy) if intents is None else intents
    found = tuple(Gap(field, intents.get(field), sentence, why)
                  for finder in GAPS for field, sentence, why in finder(policy, at)
                  if field not in policy.psp_only)
    standard = policy.pod_security_standard
    if standard is None:
        return found
    stated = standard_version(policy, profile_version)
    if contains(level, version, standard.level, stated):
        return found
    return (Gap("pod_security_standard", intents.get("pod_security_standard"),
                f"pods conform to Pod Security Standards {standard.level} {stated}",
                f"PSA {level} {version} admits pods it rejects"), *found)


# -- what the policy admits ------------------------------------------------------------------


def _intents(policy: ir.Policy) -> dict[str, str]:
    """Each IR field's statements as pspc source, e.g. `run as user 32767..32768`."""
    out: dict[str, str] = {}
    for field, (head, items, tail) in statements(policy):
        text = head + (" " + ", ".join(items) if items else "") + tail
        out[field] = f"{out[field]}; {text}" if field in out else text
    return out


def _volume_types(p: ir.Policy) -> frozenset[str]:
    return frozenset(voc.VOLUME_TYPES) if voc.ALL in p.volumes else frozenset(p.volumes)


def _addable(p: ir.Policy) -> frozenset[str] | None:
    """Capabilities a container may add (None: any)."""
    if voc.ALL in p.allowed_capabilities:
        return None
    return frozenset(p.allowed_capabilities) | frozenset(p.default_add_capabilities)


def _matches(patterns: tuple[str, ...], name: str) -> bool:
    return any(name.startswith(x[:-1]) if x.endswith("*") else name == x for x in patterns)


def _sysctl_admitted(p: ir.Policy, name: str) -> bool:
    """PSP's order: forbidden first, then the v1.24 safe set, then the allowed unsafe ones."""
    if _matches(p.forbidden_sysctls, name):
        return False
    return name in voc.SAFE_SYSCTLS or _matches(p.allowed_unsafe_sysctls, name)


def _escapes(p: ir.Policy, entry: str, allowlist: frozenset[str]) -> bool:
    """Does an allowed-unsafe entry admit a sysctl outside the allowlist?

    A pattern admits infinitely many names, so it escapes unless one forbidden pattern
    covers it whole (a conservative answer: it may name a pattern that cannot escape).
    """
    if entry.endswith("*"):
        prefix = entry[:-1]
        return not any(f.endswith("*") and prefix.startswith(f[:-1]) for f in p.forbidden_sysctls)
    return entry not in allowlist and not _matches(p.forbidden_sysctls, entry)


def _ranges(ranges: tuple[ir.IdRange, ...]) -> str:
    return ", ".join(str(r.min) if r.min == r.max else f"{r.min}..{r.max}" for r in ranges)


def _open_host_ports(p: ir.Policy) -> tuple[ir.IdRange, ...]:
    """Ranges that admit a real host port (0 means none; min > max matches nothing)."""
    return tuple(r for r in p.host_ports if r.min <= r.max and r.max >= 1)


# -- conflicts, one function per check id ----------------------------------------------------

Found = Iterator[tuple[str | None, str]]


def _privileged(p: ir.Policy, rules: Rules) -> Found:
    if p.privileged:
        yield "privileged", "admits privileged containers"


def _host_namespaces(p: ir.Policy, rules: Rules) -> Found:
    for field, key in (("host_network", "hostNetwork"), ("host_pid", "hostPID"),
                       ("host_ipc", "hostIPC")):
        if getattr(p, field):
            yield field, f"admits pods with {key}: true"


def _host_ports(p: ir.Policy, rules: Rules) -> Found:
    if ports := _open_host_ports(p):
        yield "host_ports", f"admits host ports {_ranges(ports)}"


def _host_path_volumes(p: ir.Policy, rules: Rules) -> Found:
    if "hostPath" in _volume_types(p):
        where = ", ".join(h.prefix for h in p.allowed_host_paths)
        yield "volumes", "admits hostPath volumes" + (f" (under {where})" if where else "")


def _added_capabilities(p: ir.Policy, allowed: frozenset[str]) -> Found:
    if voc.ALL in p.allowed_capabilities:
        yield "allowed_capabilities", "admits adding any capability"
        return
    for field, verb in (("allowed_capabilities", "admits adding"),
                        ("default_add_capabilities", "adds by default")):
        if extra := sorted(set(getattr(p, field)) - allowed):
            yield field, f"{verb} {', '.join(extra)}"


def _capabilities_baseline(p: ir.Policy, rules: Rules) -> Found:
    yield from _added_capabilities(p, BASELINE_CAPABILITIES)


def _app_armor_profile(p: ir.Policy, rules: Rules) -> Found:
    if p.apparmor_allowed is None:
        yield "apparmor_allowed", ("has no AppArmor allow-list, which in PodSecurityPolicy "
                                   "admits every profile, Unconfined included")
    elif "unconfined" in p.apparmor_allowed:
        yield "apparmor_allowed", "admits the unconfined AppArmor profile"


def _se_linux_options(p: ir.Policy, rules: Rules) -> Found:
    s = p.selinux
    if p.selinux_types is not None and s.rule is ir.Rule.RUN_AS_ANY:
        if extra := sorted(set(p.selinux_types) - set(rules.selinux_types)):
            yield "selinux_types", f"admits SELinux types {', '.join(extra)}"
        return
    if s.rule is ir.Rule.RUN_AS_ANY:
        yield "selinux", ("admits any SELinux options, such as type spc_t or a custom user "
                          "or role")
        return
    if p.selinux_types is not None and ((s.type or "") not in ("", *p.selinux_types)
                                        or s.user or s.role):
        return  # PSP gives every pod options the type allow-list refuses: none is admitted
    problems = [f"type {s.type}"] if (s.type or "") not in rules.selinux_types else []
    problems += [f"{key} {getattr(s, key)}" for key in ("user", "role") if getattr(s, key)]
    if problems:
        yield "selinux", f"gives every pod SELinux {' and '.join(problems)}"


def _proc_mount(p: ir.Policy, rules: Rules) -> Found:
    # From v1.35 baseline exempts user-namespace pods, the only ones the API lets unmask /proc.
    if "Unmasked" in p.allowed_proc_mount_types and not rules.user_namespace_relaxation:
        yield "allowed_proc_mount_types", "admits procMount: Unmasked"


def _seccomp_profile_baseline(p: ir.Policy, rules: Rules) -> Found:
    allowed = p.seccomp_allowed or ()
    if voc.ALL in allowed:
        yield "seccomp_allowed", "admits every seccomp profile, Unconfined included"
    elif "unconfined" in allowed:
        yield "seccomp_allowed", "admits the unconfined seccomp profile"


def _sysctls(p: ir.Policy, rules: Rules) -> Found:
    if bad := [s for s in p.allowed_unsafe_sysctls if _escapes(p, s, rules.sysctls)]:
        yield "allowed_unsafe_sysctls", f"admits sysctls {', '.join(bad)}, outside the allowlist"


def _windows_host_process(p: ir.Policy, rules: Rules) -> Found:
    if p.host_network:
        yield "host_network", ("admits hostNetwork pods, and so Windows HostProcess pods: "
                               "PodSecurityPolicy has no hostProcess field")


def _host_probes_and_host_lifecycle(p: ir.Policy, rules: Rules) -> Found:
    yield None, ("PodSecurityPolicy cannot restrict the host of probes and lifecycle "
                 "handlers, so every policy admits pods that set one")


def _restricted_volumes(p: ir.Policy, rules: Rules) -> Found:
    if voc.ALL in p.volumes:
        yield "volumes", "admits every volume type"
    elif extra := sorted(_volume_types(p) - RESTRICTED_VOLUMES):
        yield "volumes", f"admits {', '.join(extra)} volumes"


def _run_as_non_root(p: ir.Policy, rules: Rules) -> Found:
    if p.require_explicit_non_root:
        return
    rule = p.run_as_user.rule
    if rule is ir.Rule.RUN_AS_ANY:
        yield "run_as_user", "admits pods that run as root or leave runAsNonRoot unset"
    elif rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        yield "run_as_user", ("admits pods that set a non-zero runAsUser and leave runAsNonRoot "
                              "unset: PodSecurityPolicy sets runAsNonRoot: true only when "
                              "runAsUser is unset too")
    else:
        yield "run_as_user", ("pins runAsUser but never checks runAsNonRoot, so it admits pods "
                              "that leave it unset or false")


def _run_as_user(p: ir.Policy, rules: Rules) -> Found:
    if p.require_explicit_non_root:
        return
    strategy = p.run_as_user
    if strategy.rule is ir.Rule.RUN_AS_ANY:
        yield "run_as_user", "admits runAsUser: 0"
    elif any(r.min <= 0 <= r.max for r in strategy.ranges):
        yield "run_as_user", "admits runAsUser: 0 (its UID ranges include 0)"
    else:
        yield "run_as_user", ("admits a pod-level runAsUser: 0 that every container overrides: "
                              "PodSecurityPolicy checks each container's own UID only")


def _allow_privilege_escalation(p: ir.Policy, rules: Rules) -> Found:
    if p.allow_privilege_escalation:
        yield "allow_privilege_escalation", "admits containers that allow privilege escalation"


def _capabilities_restricted(p: ir.Policy, rules: Rules) -> Found:
    if "ALL" not in p.required_drop_capabilities:
        yield "required_drop_capabilities", "does not require dropping ALL capabilities"
    yield from _added_capabilities(p, NET_BIND_SERVICE)


def _seccomp_profile_restricted(p: ir.Policy, rules: Rules) -> Found:
    allowed = p.seccomp_allowed
    if not allowed:
        yield "seccomp_allowed", ("allows no seccomp profile (a PodSecurityPolicy without an "
                                  "allow-list rejects them all), so no pod has the "
                                  "RuntimeDefault or Localhost profile restricted requires")
    elif voc.ALL in allowed:
        yield "seccomp_allowed", "admits pods with no seccomp profile or an Unconfined one"
    elif "unconfined" in allowed:
        yield "seccomp_allowed", "admits the unconfined seccomp profile"


def _proc_mount_restricted(p: ir.Policy, rules: Rules) -> Found:
    if "Unmasked" in p.allowed_proc_mount_types:
        yield "allowed_proc_mount_types", "admits procMount: Unmasked"


CONFLICTS: dict[str, Callable[[ir.Policy, Rules], Found]] = {
    "privileged": _privileged,
    "hostNamespaces": _host_namespaces,
    "hostPorts": _host_ports,
    "hostPathVolumes": _host_path_volumes,
    "capabilities_baseline": _capabilities_baseline,
    "appArmorProfile": _app_armor_profile,
    "seLinuxOptions": _se_linux_options,
    "procMount": _proc_mount,
    "seccompProfile_baseline": _seccomp_profile_baseline,
    "sysctls": _sysctls,
    "windowsHostProcess": _windows_host_process,
    "hostProbesAndHostLifecycle": _host_probes_and_host_lifecycle,
    "restrictedVolumes": _restricted_volumes,
    "runAsNonRoot": _run_as_non_root,
    "runAsUser": _run_as_user,
    "allowPrivilegeEscalation": _allow_privilege_escalation,
    "capabilities_restricted": _capabilities_restricted,
    "seccompProfile_restricted": _seccomp_profile_restricted,
    "procMount_restricted": _proc_mount_restricted,
}


# -- gaps: intents stricter than the level ---------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """The level a gap is measured against: its name, version and active check ids."""

    name: str
    version: Version
    rules: Rules
    checks: frozenset[str]

    @property
    def label(self) -> str:
        """`baseline v1.30`; privileged is the same at every version."""
        if self.name == "privileged":
            return self.name
        return f"{self.name} v{self.version[0]}.{self.version[1]}"

    def lacks(self, what: str) -> str:
        return f"PSA {self.name} does not check {what}"


NO_CONTROL = "the Pod Security Standards have no control for "
NO_DEFAULTS = "PSA only validates: it never sets a default, so pods must state it themselves"

GapFound = Iterator[tuple[str, str, str]]  # field, sentence, why


def _flag_gaps(p: ir.Policy, at: _Level) -> GapFound:
    if not p.privileged and "privileged" not in at.checks:
        yield ("privileged", "privileged containers are refused",
               at.lacks("privileged containers"))
    for field, key in (("host_network", "hostNetwork"), ("host_pid", "hostPID"),
                       ("host_ipc", "hostIPC")):
        if not getattr(p, field) and "hostNamespaces" not in at.checks:
            yield field, f"{key} is refused", at.lacks("host namespaces")
    if not p.allow_privilege_escalation and "allowPrivilegeEscalation" not in at.checks:
        yield ("allow_privilege_escalation", "containers may not allow privilege escalation",
               at.lacks("allowPrivilegeEscalation"))
    if p.default_allow_privilege_escalation is not None:
        value = str(p.default_allow_privilege_escalation).lower()
        yield ("default_allow_privilege_escalation",
               f"containers that do not say get allowPrivilegeEscalation: {value}", NO_DEFAULTS)
    if p.read_only_root_filesystem:
        yield ("read_only_root_filesystem", "containers must have a read-only root filesystem",
               NO_CONTROL + "readOnlyRootFilesystem")


def _covers_every_port(p: ir.Policy) -> bool:
    reach = 0
    for r in sorted(_open_host_ports(p), key=lambda r: r.min):
        if r.min > reach + 1:
            return False
        reach = max(reach, r.max)
    return reach >= voc.MAX_PORT


def _host_port_gaps(p: ir.Policy, at: _Level) -> GapFound:
    if "hostPorts" not in at.checks and not _covers_every_port(p):
        ports = _open_host_ports(p)
        sentence = f"host ports are limited to {_ranges(ports)}" if ports else \
            "host ports are refused"
        yield "host_ports", sentence, at.lacks("host ports")


def _level_volumes(at: _Level) -> frozenset[str]:
    if "restrictedVolumes" in at.checks:
        return RESTRICTED_VOLUMES
    everything = frozenset(voc.VOLUME_TYPES)
    return everything - {"hostPath"} if "hostPathVolumes" in at.checks else everything


def _volume_gaps(p: ir.Policy, at: _Level) -> GapFound:
    types = _volume_types(p)
    if refused := sorted(_level_volumes(at) - types):
        if "projected" in refused and "secret" in types:
            refused[refused.index("projected")] = "projected (but the service account token)"
        yield "volumes", f"refuses {', '.join(refused)} volumes", f"PSA {at.label} admits them"
    admits_host_path = "hostPathVolumes" not in at.checks and "restrictedVolumes" not in at.checks
    if "hostPath" in types and p.allowed_host_paths and admits_host_path:
        paths = ", ".join(h.prefix + (" (read-only)" if h.read_only else "")
                          for h in p.allowed_host_paths)
        yield ("allowed_host_paths", f"host paths are limited to {paths}",
               NO_CONTROL + "host path prefixes")
    if "flexVolume" in types and p.allowed_flex_volumes and "restrictedVolumes" not in at.checks:
        yield ("allowed_flex_volumes", "flex volume drivers are limited to "
               + ", ".join(p.allowed_flex_volumes), NO_CONTROL + "flex volume drivers")
    if "csi" in types and p.allowed_csi_drivers:
        yield ("allowed_csi_drivers", "inline CSI drivers are limited to "
               + ", ".join(p.allowed_csi_drivers), NO_CONTROL + "CSI drivers")


def _id_gaps(p: ir.Policy, at: _Level) -> GapFound:
    user = p.run_as_user
    if user.rule is ir.Rule.MUST_RUN_AS:
        yield ("run_as_user", f"containers run as UID {_ranges(user.ranges)}",
               NO_CONTROL + "UIDs: restricted only rejects UID 0")
    elif user.rule is ir.Rule.MUST_RUN_AS_NON_ROOT and "runAsNonRoot" not in at.checks:
        yield "run_as_user", "containers may not run as root", at.lacks("runAsNonRoot")
    if p.require_explicit_non_root:
        sentence = "containers must set runAsNonRoot: true, and no runAsUser may be 0"
        if "runAsNonRoot" not in at.checks:
            yield "require_explicit_non_root", sentence, at.lacks("runAsNonRoot")
        elif "runAsUser" not in at.checks:
            yield "require_explicit_non_root", sentence, at.lacks("runAsUser: 0")
    groups = (("run_as_group", p.run_as_group, "containers run as GID"),
              ("supplemental_groups", p.supplemental_groups, "supplemental groups must be in"),
              ("fs_group", p.fs_group, "the fsGroup must be in"))
    for field, strategy, what in groups:
        if strategy is not None and strategy.rule is not ir.Rule.RUN_AS_ANY:
            optional = " (if set)" if strategy.rule is ir.Rule.MAY_RUN_AS else ""
            yield field, f"{what} {_ranges(strategy.ranges)}{optional}", NO_CONTROL + "group IDs"


def _level_addable(at: _Level) -> frozenset[str] | None:
    if "capabilities_restricted" in at.checks:
        return NET_BIND_SERVICE
    return BASELINE_CAPABILITIES if "capabilities_baseline" in at.checks else None


def _capability_gaps(p: ir.Policy, at: _Level) -> GapFound:
    addable, level_addable = _addable(p), _level_addable(at)
    if addable is not None and level_addable is None:
        listed = ", ".join(sorted(addable))
        yield ("allowed_capabilities", f"only {listed} may be added" if listed else
               "no capability may be added", at.lacks("added capabilities"))
    elif addable is not None and (refused := sorted(level_addable - addable)):
        yield ("allowed_capabilities", f"{', '.join(refused)} may not be added",
               f"PSA {at.label} admits adding them")
    if p.default_add_capabilities:
        yield ("default_add_capabilities", "containers get "
               + ", ".join(p.default_add_capabilities) + " added unless they drop it",
               NO_DEFAULTS)
    required = {"ALL"} if "capabilities_restricted" in at.checks else set()
    if extra := sorted(set(p.required_drop_capabilities) - required):
        yield ("required_drop_capabilities", f"containers must drop {', '.join(extra)}",
               at.lacks("dropped capabilities") if not required else
               "restricted requires dropping ALL, not these names")


def _selinux_gaps(p: ir.Policy, at: _Level) -> GapFound:
    s = p.selinux
    if p.selinux_types is not None and s.rule is ir.Rule.RUN_AS_ANY:
        sentence = ("SELinux types are limited to " + ", ".join(p.selinux_types)
                    + ", with no SELinux user or role")
        if "seLinuxOptions" not in at.checks:
            yield "selinux_types", sentence, at.lacks("SELinux options")
        elif refused := sorted(set(at.rules.selinux_types) - {""} - set(p.selinux_types)):
            yield "selinux_types", sentence, f"PSA {at.label} also admits {', '.join(refused)}"
    if s.rule is ir.Rule.MUST_RUN_AS:
        options = ", ".join(f"{key} {getattr(s, key)}" for key in ("level", "role", "type", "user")
                            if getattr(s, key) is not None)
        yield ("selinux", f"pods run with exactly these SELinux options: {options or 'none'}",
               NO_CONTROL + "SELinux options beyond forbidding some types, users and roles")


def _proc_mount_gaps(p: ir.Policy, at: _Level) -> GapFound:
    if "Unmasked" in p.allowed_proc_mount_types:
        return
    if not at.checks & {"procMount", "procMount_restricted"}:
        yield "allowed_proc_mount_types", "procMount: Unmasked is refused", at.lacks("procMount")
    elif "procMount" in at.checks and at.rules.user_namespace_relaxation:
        yield ("allowed_proc_mount_types", "procMount: Unmasked is refused in every pod",
               f"PSA {at.label} admits it in user-namespace pods (hostUsers: false)")


def _sysctl_gaps(p: ir.Policy, at: _Level) -> GapFound:
    if "sysctls" not in at.checks:
        if voc.ALL not in p.allowed_unsafe_sysctls:
            yield ("allowed_unsafe_sysctls", "unsafe sysctls are refused"
                   + (f" except {', '.join(p.allowed_unsafe_sysctls)}"
                      if p.allowed_unsafe_sysctls else ""), at.lacks("sysctls"))
        if p.forbidden_sysctls:
            yield ("forbidden_sysctls", f"sysctls {', '.join(p.forbidden_sysctls)} are refused",
                   at.lacks("sysctls"))
        return
    refused = sorted(s for s in at.rules.sysctls if not _sysctl_admitted(p, s))
    if forbidden := [s for s in refused if _matches(p.forbidden_sysctls, s)]:
        yield ("forbidden_sysctls", f"sysctls {', '.join(forbidden)} are refused",
               f"PSA {at.label} admits them")
    if unsafe := [s for s in refused if s not in forbidden]:
        yield ("allowed_unsafe_sysctls", f"sysctls {', '.join(unsafe)} are refused: "
               "PodSecurityPolicy's safe set is the v1.24 one", f"PSA {at.label} admits them")


def _runtime_class_gaps(p: ir.Policy, at: _Level) -> GapFound:
    runtime = p.runtime_class
    if runtime is None:
        return
    if runtime.allowed != (voc.ALL,):
        listed = ", ".join(runtime.allowed)
        yield ("runtime_class", f"runtime classes are limited to {listed}" if listed else
               "pods may not name a runtime class", NO_CONTROL + "runtime classes")
    if runtime.default:
        yield "runtime_class", f"pods that name none get runtime class {runtime.default}", \
            NO_DEFAULTS


def _profile_gaps(p: ir.Policy, at: _Level) -> GapFound:
    seccomp = p.seccomp_allowed or ()
    if voc.ALL not in seccomp:
        refused = []
        if not seccomp:
            refused.append("every profile, RuntimeDefault included")
        else:
            if "seccompProfile_restricted" not in at.checks:
                refused.append("pods that name no profile")
            if not voc.RUNTIME_DEFAULT_PROFILES & set(seccomp):
                refused.append("RuntimeDefault")
            refused.append("Localhost profiles not listed")
            if not at.checks and "unconfined" not in seccomp:
                refused.append("Unconfined")
        yield ("seccomp_allowed", "seccomp refuses " + ", ".join(refused),
               f"PSA {at.name} admits them")
    if p.seccomp_default is not None:
        yield ("seccomp_default", f"pods that name no seccomp profile get {p.seccomp_default}",
               NO_DEFAULTS)
    if p.apparmor_allowed is not None:
        refused = ["pods that name no profile", "Localhost profiles not listed"]
        if voc.RUNTIME_DEFAULT not in p.apparmor_allowed:
            refused.insert(1, "RuntimeDefault")
        if not at.checks and "unconfined" not in p.apparmor_allowed:
            refused.append("Unconfined")
        yield ("apparmor_allowed", "AppArmor refuses " + ", ".join(refused),
               f"PSA {at.name} admits them")
    if p.apparmor_default is not None:
        yield ("apparmor_default",
               f"containers that name no AppArmor profile get {p.apparmor_default}", NO_DEFAULTS)


GAPS: tuple[Callable[[ir.Policy, _Level], GapFound], ...] = (
    _flag_gaps, _host_port_gaps, _volume_gaps, _id_gaps, _capability_gaps, _selinux_gaps,
    _proc_mount_gaps, _sysctl_gaps, _runtime_class_gaps, _profile_gaps,
)
