"""What each target can and cannot say of a policy, intent by intent.

The report (report.md / report.json) and the build diagnostics both read this, so a target
never drops an intent silently: every intent is `exact`, `partial` (enforced, differently,
with the reason) or `not expressible` (with what the target does instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc.model import ir
from pspc.targets.gatekeeper import namespaces
from pspc.validation.checks import checks

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
    for check in checks(policy):
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
    gaps.append(_binding_gap(policy, target))
    return gaps


def _binding_gap(policy: ir.Policy, target: str) -> Gap:
    if target == "rego":
        return Gap(BINDINGS, NOT_EXPRESSIBLE, "conftest checks manifests in CI, before any "
                   "request: it applies the policy to every manifest it is given")
    scope = namespaces(policy)
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


def report_gaps(policies: tuple[ir.Policy, ...], targets: list[str], diags) -> None:
    """Say in the build output what targets enforce differently; report.md has every intent.

    W301/W302: the validating targets are stricter or broader than PSP, never weaker.
    W303/E303: the PSP target is weaker than the policy (an intent beyond PSP): a warning
    when an admission-time target of the same build enforces it, an error (fail closed)
    when the build has no such target.
    """
    chosen = [t for t in VALIDATING_TARGETS if t in targets]
    for policy in policies:
        span = policy.span.__class__(policy.span.file, policy.span.line, policy.span.column,
                                     policy.span.line, policy.span.column + 6)
        weaker = [g.intent for g in psp_gaps(policy) if g.weakens]
        if "psp" in targets and weaker:
            enforcing = [t for t in ENFORCING_TARGETS if t in targets]
            message = (f"policy `{policy.name}`: the PodSecurityPolicy cannot enforce "
                       + ", ".join(f"`{_STATEMENTS[w]}`" for w in weaker))
            if enforcing:
                diags.warning("W303", message + f"; {', '.join(enforcing)} do", span,
                              help="apply those outputs too (see report.md)")
            else:
                diags.error("E303", message + ", and no target of this build does", span,
                            help="also build gatekeeper, vap or kyverno (`--target`)")
        if not chosen:
            continue
        defaults = [c.default for c in checks(policy) if c.default]
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
