"""What each target can and cannot say of a policy, intent by intent.

The report (report.md / report.json) and the build diagnostics both read this, so a target
never drops an intent silently: every intent is `exact`, `partial` (enforced, differently,
with the reason) or `not expressible` (with what the target does instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc.model import ir
from pspc.validation.requirements import requirements

EXACT, PARTIAL, NOT_EXPRESSIBLE = "exact", "partial", "not expressible"
VALIDATING_TARGETS = ("rego", "gatekeeper", "vap", "kyverno")
BINDINGS = "bindings"


@dataclass(frozen=True)
class Gap:
    intent: str
    status: str
    reason: str
    weakens: bool = False  # True when the target admits pods the policy would not


def validating_gaps(policy: ir.Policy, target: str) -> list[Gap]:
    """How one validating target renders each restricting intent, plus the bindings."""
    by_intent: dict[str, list] = {}
    for check in requirements(policy):
        by_intent.setdefault(check.intent, []).append(check)
    gaps = []
    for intent, found in by_intent.items():
        defaults = [c.default for c in found if c.default]
        if defaults:
            gaps.append(Gap(intent, PARTIAL, "PodSecurityPolicy fills in "
                            + ", ".join(dict.fromkeys(defaults)) + " when unset; a validating "
                            "target cannot change pods, so it rejects them and asks for the "
                            "field to be set"))
        else:
            gaps.append(Gap(intent, EXACT, "checked as PodSecurityPolicy validates it"))
    for intent, host in _CHECKED_WITH.items():
        if intent in policy.origins and host in by_intent:
            if intent.endswith("_default"):
                gaps.append(Gap(intent, PARTIAL, "a validating target cannot apply a default: "
                                f"the {host} check rejects pods that set no profile"))
            else:
                gaps.append(Gap(intent, EXACT, f"checked with {host}"))
    for intent in ("description", "annotations"):
        if intent in policy.origins:
            gaps.append(Gap(intent, NOT_EXPRESSIBLE, "metadata of the PodSecurityPolicy "
                            "object: nothing to require of pods"))
    gaps.append(_binding_gap(policy, target))
    return gaps


# Intents enforced inside another intent's check (a default is what the check asks for).
_CHECKED_WITH = {"forbidden_sysctls": "allowed_unsafe_sysctls",
                 "seccomp_default": "seccomp_allowed", "apparmor_default": "apparmor_allowed"}


def _binding_gap(policy: ir.Policy, target: str) -> Gap:
    if target == "rego":
        return Gap(BINDINGS, NOT_EXPRESSIBLE, "conftest checks manifests in CI, before any "
                   "request: it applies the policy to every manifest it is given")
    scope = policy.namespaces()
    where = "every namespace" if scope is None else (
        "namespaces " + ", ".join(scope) if scope else "no namespace (the policy is unbound)")
    return Gap(BINDINGS, PARTIAL, f"applies to all pods in {where}; it cannot tell which user "
               "or service account creates a pod, and where several policies apply a pod must "
               "satisfy all of them (PodSecurityPolicy admits a pod any usable policy allows)")


_BEYOND_REASONS = {
    "selinux_types": "a PodSecurityPolicy can only allow any SELinux options or require one "
                     "exact set (MustRunAs); it admits other types",
    "require_explicit_non_root": "a PodSecurityPolicy accepts a non-zero runAsUser without "
                                 "runAsNonRoot, and a pod-level runAsUser 0 that containers "
                                 "override",
}


def psp_gaps(policy: ir.Policy) -> list[Gap]:
    gaps = []
    for field in ir.INTENT_FIELDS:
        if field not in policy.origins:
            continue
        if field in ir.BEYOND_PSP:
            if getattr(policy, field) not in (None, False):
                gaps.append(Gap(field, NOT_EXPRESSIBLE, _BEYOND_REASONS[field] + "; the "
                                "validating targets and PSA enforce it", weakens=True))
        else:
            gaps.append(Gap(field, EXACT, "a PodSecurityPolicy field"))
    return gaps


ENFORCING_TARGETS = ("gatekeeper", "vap", "kyverno")
_STATEMENTS = {"selinux_types": "allow selinux types",
               "require_explicit_non_root": "require explicit non-root"}


def psa_enforces(policy: ir.Policy, fields: list[str], program) -> bool:
    """Do pspc's PSA labels enforce these intents of `policy` wherever it is usable?

    Only where pspc labels every such namespace (no cluster-wide binding) and none of the
    fields is a gap at the namespace's enforce level.
    """
    from pspc.pss.analysis import gaps
    from pspc.pss.namespaces import levels_for

    if not policy.bindings or any(b.namespace is None for b in policy.bindings):
        return False
    for namespace in sorted({b.namespace for b in policy.bindings}):
        found = levels_for(program, namespace)
        if any(g.field in fields for g in gaps(policy, found.enforce, found.version)):
            return False
    return True


def report_gaps(policies: tuple[ir.Policy, ...], targets: list[str], diags,
                program=None) -> None:
    """Say in the build output what targets enforce differently; report.md has every intent.

    W301/W302: the validating targets are stricter or broader than PSP, never weaker.
    W303/E303: the PSP target is weaker than the policy (an intent beyond PSP): a warning
    when an admission-time target of the same build enforces it (gatekeeper, vap, kyverno,
    or psa where its labels cover the intent: see psa_enforces, which needs `program`), an
    error (fail closed) when the build has no such target.
    """
    chosen = [t for t in VALIDATING_TARGETS if t in targets]
    for policy in policies:
        span = policy.span.__class__(policy.span.file, policy.span.line, policy.span.column,
                                     policy.span.line, policy.span.column + 6)
        weaker = [g.intent for g in psp_gaps(policy) if g.weakens]
        if "psp" in targets and weaker:
            enforcing = [t for t in ENFORCING_TARGETS if t in targets]
            if "psa" in targets and program is not None and psa_enforces(policy, weaker,
                                                                         program):
                enforcing.append("psa")
            message = (f"policy `{policy.name}`: the PodSecurityPolicy cannot enforce "
                       + ", ".join(f"`{_STATEMENTS[w]}`" for w in weaker))
            if enforcing:
                verb = "does" if len(enforcing) == 1 else "do"
                diags.warning("W303", message + f"; {', '.join(enforcing)} {verb}", span,
                              help="apply those outputs too (see report.md)")
            else:
                diags.error("E303", message + ", and no target of this build does", span,
                            help="also build gatekeeper, vap or kyverno (`--target`)")
        if not chosen:
            continue
        defaults = [c.default for c in requirements(policy) if c.default]
        if defaults:
            diags.warning("W301", f"policy `{policy.name}`: {', '.join(chosen)} cannot fill in "
                          "what the PodSecurityPolicy defaults (" + ", ".join(
                              dict.fromkeys(defaults)) + "); they reject pods that leave it "
                          "unset", span, help="set these fields in the workloads (see "
                          "report.md), or rely on the PSP/PSA outputs")
        scoped = [t for t in chosen if t != "rego"]
        personal = [b for b in policy.bindings if b.namespace is None and not (
            b.subject.kind == "Group" and b.subject.name in ("system:authenticated",
                                                             "system:serviceaccounts"))]
        if scoped and personal:
            who = ", ".join(sorted({f"{b.subject.kind} {b.subject.name}" for b in personal}))
            diags.warning("W302", f"policy `{policy.name}` is bound cluster-wide to {who}: "
                          f"{', '.join(scoped)} cannot tell who creates a pod, so they apply it "
                          "to every pod in every namespace, together with the other policies",
                          span, help="bind it in the namespaces where it should apply, e.g. "
                          "`in namespace kube-system`")


# Gap fields (pspc.pss.analysis) whose checks carry another intent's name.
_CHECKED_AS = {"seccomp_default": "seccomp_allowed", "apparmor_default": "apparmor_allowed",
               "forbidden_sysctls": "allowed_unsafe_sysctls"}
PSA_GAP_TARGETS = ("gatekeeper", "rego", "vap", "kyverno")


def enforced_by(policy: ir.Policy, field: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which outputs enforce an intent PSA cannot (a gap of the PSS analysis), and the
    fields they require set where PodSecurityPolicy would fill them in."""
    intent = _CHECKED_AS.get(field, field)
    found = [c for c in requirements(policy) if c.intent == intent]
    if not found:
        return (), ()
    return PSA_GAP_TARGETS, tuple(dict.fromkeys(c.default for c in found if c.default))


def enforcement_text(policy: ir.Policy, field: str) -> str:
    targets, defaults = enforced_by(policy, field)
    if not targets:
        return "only the PodSecurityPolicy"
    text = ", ".join(targets)
    if defaults:
        text += (" (pods must set it themselves: PodSecurityPolicy filled in "
                 + ", ".join(defaults) + ")")
    return text
