"""Semantic checks on resolved policies: contradictions, dead intents, and the seeds' traps.

Each check reads only the IR and reports at the span where the offending value was set
(which may be in a parent policy: the message then names the policy that inherits it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics, Span
from pspc.model import ir

Finding = tuple[str, str, str, str | None]  # code, field, message, help


def _capabilities(p: ir.Policy) -> Iterator[Finding]:
    drops = set(p.required_drop_capabilities)
    for field, label in (("allowed_capabilities", "allowed"),
                         ("default_add_capabilities", "added by default")):
        for cap in getattr(p, field):
            if cap in drops:
                yield ("E012", field, f"capability `{cap}` is both required to be dropped and "
                       f"{label}", "a capability cannot be dropped and added; keep one")
    if voc.ALL in p.allowed_capabilities and drops:
        yield ("E013", "allowed_capabilities", "`allow capabilities any` cannot be combined with "
               "required drops (" + ", ".join(sorted(drops)) + ")",
               "also say `drop capabilities none`, or list the allowed capabilities")


def _privilege_escalation(p: ir.Policy) -> Iterator[Finding]:
    if p.default_allow_privilege_escalation and not p.allow_privilege_escalation:
        yield ("E014", "default_allow_privilege_escalation", "privilege escalation is allowed by "
               "default but denied", "say `allow privilege escalation` or "
               "`default deny privilege escalation`")
    if p.privileged and not p.allow_privilege_escalation:
        yield ("W107", "privileged", "privileged containers are allowed but privilege escalation "
               "is denied: Kubernetes rejects a privileged container whose "
               "allowPrivilegeEscalation is false, so no privileged pod is admitted",
               "also say `allow privilege escalation`, or `deny privileged`")


def _prefix_overlap(a: str, b: str) -> bool:
    a_glob, b_glob = a.endswith("*"), b.endswith("*")
    a_stem, b_stem = a.rstrip("*"), b.rstrip("*")
    if a_glob and b_glob:
        return a_stem.startswith(b_stem) or b_stem.startswith(a_stem)
    if a_glob:
        return b.startswith(a_stem)
    if b_glob:
        return a.startswith(b_stem)
    return a == b


def _sysctls(p: ir.Policy) -> Iterator[Finding]:
    for allowed in p.allowed_unsafe_sysctls:
        for forbidden in p.forbidden_sysctls:
            if _prefix_overlap(allowed, forbidden):
                yield ("E017", "allowed_unsafe_sysctls", f"sysctl `{allowed}` is allowed but "
                       f"overlaps the denied `{forbidden}`",
                       "Kubernetes refuses a policy whose allowed and denied sysctls overlap")


def _runtime_class(p: ir.Policy) -> Iterator[Finding]:
    rc = p.runtime_class
    if rc and rc.default and voc.ALL not in rc.allowed and rc.default not in rc.allowed:
        yield ("E020", "runtime_class", f"default runtime class `{rc.default}` is not allowed",
               "add it to `allow runtime classes`")


def _profiles(p: ir.Policy) -> Iterator[Finding]:
    for kind in ("seccomp", "apparmor"):
        allowed = getattr(p, f"{kind}_allowed")
        default = getattr(p, f"{kind}_default")
        if default is None or allowed is None and kind == "apparmor":
            continue
        if allowed is None:
            yield ("W109", f"{kind}_default", f"default {kind} profile `{default}` is set but no "
                   f"{kind} profile is allowed", f"add `allow {kind} profiles {default}`")
        elif voc.ALL not in allowed and not any(voc.same_profile(default, a) for a in allowed):
            yield ("W109", f"{kind}_default", f"default {kind} profile `{default}` is not among "
                   "the allowed profiles, so every pod that relies on it is rejected",
                   f"add it to `allow {kind} profiles`")


def _host_paths(p: ir.Policy) -> Iterator[Finding]:
    for field, what, volume in (("allowed_host_paths", "allowed host paths", "hostPath"),
                                ("allowed_flex_volumes", "allowed flex volume drivers",
                                 "flexVolume"),
                                ("allowed_csi_drivers", "allowed CSI drivers", "csi")):
        if getattr(p, field) and volume not in p.volumes and voc.ALL not in p.volumes:
            yield ("W104", field, f"{what} have no effect: {volume} volumes are not allowed",
                   f"remove them, or allow {volume} volumes")


_ID_FIELDS = {"run_as_user": "run as user", "run_as_group": "run as group",
              "supplemental_groups": "supplemental groups", "fs_group": "fs group"}


def _admits_nothing(p: ir.Policy) -> Iterator[Finding]:
    """Strategies Kubernetes accepts that admit no pod, or hold values they ignore."""
    for field, words in _ID_FIELDS.items():
        strategy: ir.IdPolicy | None = getattr(p, field)
        if strategy is None:
            continue
        if strategy.rule in (ir.Rule.MUST_RUN_AS, ir.Rule.MAY_RUN_AS) and not strategy.ranges:
            yield ("W108", field, f"`{words}` has no range: admission cannot use the policy, "
                   "so it admits no pod", "give a range, or say `any`")
        elif strategy.rule in (ir.Rule.RUN_AS_ANY, ir.Rule.MUST_RUN_AS_NON_ROOT) and (
                strategy.ranges):
            yield ("W108", field, f"ranges have no effect with {strategy.rule.value}",
                   "remove the ranges")
    selinux = p.selinux
    options = any(getattr(selinux, k) is not None for k in ("level", "role", "type", "user"))
    if selinux.rule is ir.Rule.MUST_RUN_AS and selinux.no_options:
        yield ("W108", "selinux", "`selinux none` (MustRunAs without options): admission "
               "cannot use the policy, so it admits no pod", "name the options, or say `any`")
    elif selinux.rule is ir.Rule.RUN_AS_ANY and options:
        yield ("W108", "selinux", "SELinux options have no effect with `any` (RunAsAny)",
               "remove the options")
    if p.allowed_proc_mount_types == ("Unmasked",):
        yield ("W108", "allowed_proc_mount_types", "only the Unmasked proc mount is allowed: "
               "every container that does not ask for it is rejected",
               "say `allow unmasked proc mount` to allow the default too")


POLICY_CHECKS: tuple[Callable[[ir.Policy], Iterator[Finding]], ...] = (
    _capabilities, _privilege_escalation, _sysctls, _runtime_class, _profiles, _host_paths,
    _admits_nothing,
)

_WORKLOAD_GROUPS = ("system:serviceaccounts", "system:authenticated")


def _covers_workloads(subject: ir.Subject) -> bool:
    """Can this subject be the identity that creates a controller's pods, or the pod's SA?"""
    if subject.kind == "ServiceAccount":
        return True
    return subject.kind == "Group" and (
        subject.name in _WORKLOAD_GROUPS or subject.name.startswith("system:serviceaccounts:"))


def _binding_warnings(p: ir.Policy, diags: Diagnostics) -> None:
    if not p.bindings:
        diags.warning("W101", f"policy `{p.name}` is not bound to anyone, so it admits no pod",
                      _name_span(p), help=f"add e.g. `bind {p.name} to service accounts in "
                      "namespace <ns>`")
        return
    if not any(_covers_workloads(b.subject) for b in p.bindings):
        first = p.bindings[0]
        diags.warning("W102", f"policy `{p.name}` is bound only to users or groups of people: "
                      "pods that controllers create for Deployments, StatefulSets, Jobs... are "
                      "requested by the controller's service account, so this policy will not "
                      "admit them", first.span or _name_span(p),
                      help="also bind the workloads' service accounts, e.g. `bind "
                      f"{p.name} to service accounts in namespace <ns>`")


def _name_span(p: ir.Policy) -> Span:
    return Span(p.span.file, p.span.line, p.span.column, p.span.line, p.span.column + 6)


def lint_policies(policies: tuple[ir.Policy, ...], diags: Diagnostics) -> None:
    for policy in policies:
        for check in POLICY_CHECKS:
            for code, field, message, help_text in check(policy):
                origin = policy.origins.get(field)
                span = origin.span if origin else _name_span(policy)
                notes: tuple[tuple[str, Span], ...] = ()
                if origin and origin.policy != policy.name:
                    message += f" (inherited by `{policy.name}` from `{origin.policy}`)"
                    notes = ((f"`{policy.name}` inherits it here", _name_span(policy)),)
                report = diags.error if code.startswith("E") else diags.warning
                report(code, message, span, help=help_text, notes=notes)
        _binding_warnings(policy, diags)


def lint_usable_namespaces(program: ir.Program, diags: Diagnostics) -> None:
    """W306: a declared namespace where no policy is usable (no cluster-wide binding and
    none in it): PodSecurityPolicy, and the validating outputs with it, reject every pod
    there but those of system:masters."""
    if any(b.namespace is None for p in program.policies for b in p.bindings):
        return
    bound = {b.namespace for p in program.policies for b in p.bindings}
    for declared in program.namespaces:
        if declared.name not in bound:
            diags.warning("W306", f"no policy is usable in namespace `{declared.name}`: "
                          "PodSecurityPolicy and the validating outputs reject every pod "
                          "there, except those that members of system:masters create",
                          declared.spans.get("name", declared.span),
                          help=f"bind a policy in it, e.g. `bind restricted to service "
                          f"accounts in namespace {declared.name}`")
