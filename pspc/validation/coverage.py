"""How the validating targets (conftest Rego, Gatekeeper, VAP, Kyverno) carry each intent.

They all render the same requirements (pspc.validation.requirements), so they share this
declaration; each target module names it as its `coverage`. A requirement that asks for a
field PodSecurityPolicy would fill in is `partial` (the target rejects the pod and says
which field to set); who may use a policy is exact at admission and `partial` for conftest,
which sees no request.
"""

from __future__ import annotations

from pspc.analysis import Analysis
from pspc.coverage import BINDINGS, EXACT, PARTIAL, Coverage, unsupported
from pspc.model import ir
from pspc.validation.requirements import Requirement

# Intents enforced inside another intent's check (a default is what the check asks for).
CHECKED_WITH = {"forbidden_sysctls": "allowed_unsafe_sysctls",
                "seccomp_default": "seccomp_allowed", "apparmor_default": "apparmor_allowed"}
# The outputs that enforce what PSA cannot, in the order the report names them.
PSA_GAP_TARGETS = ("gatekeeper", "rego", "vap", "kyverno")


def validating_coverage(analysis: Analysis, policy: ir.Policy, target: str) -> list[Coverage]:
    """How one validating target renders each restricting intent, plus the bindings."""
    shared = analysis.once(("validating coverage", policy.name),
                           lambda: _intents(analysis, policy))
    return [*shared, _bindings(policy, target)]


def _intents(analysis: Analysis, policy: ir.Policy) -> list[Coverage]:
    """The part every validating target shares: they render the same requirements."""
    by_intent: dict[str, list] = {}
    for check in analysis.requirements(policy):
        by_intent.setdefault(check.intent, []).append(check)
    found = []
    for intent, checks in by_intent.items():
        defaults = tuple(dict.fromkeys(c.default for c in checks if c.default))
        if defaults:
            found.append(Coverage(intent, PARTIAL, "PodSecurityPolicy fills in "
                                  + ", ".join(defaults) + " when unset; a validating target "
                                  "cannot change pods, so it rejects them and asks for the "
                                  "field to be set", defaults=defaults))
        else:
            found.append(Coverage(intent, EXACT, "checked as PodSecurityPolicy validates it"))
    for intent, host in CHECKED_WITH.items():
        if intent in policy.origins and host in by_intent:
            if intent.endswith("_default"):
                found.append(Coverage(intent, PARTIAL, "a validating target cannot apply a "
                                      f"default: the {host} check rejects pods that set no "
                                      "profile"))
            else:
                found.append(Coverage(intent, EXACT, f"checked with {host}"))
    for intent in ("description", "annotations", "labels"):
        if intent in policy.origins:
            found.append(unsupported(intent, "metadata of the PodSecurityPolicy object: "
                                     "nothing to require of pods"))
    return found + _unchecked(policy, {c.intent for c in found})


def _unchecked(policy: ir.Policy, covered: set[str]) -> list[Coverage]:
    """A row for each stated intent that yields no check, so that the report names every
    intent: one that restricts nothing (`selinux any`), or, in a policy that states a Pod
    Security Standards level, one that only shapes its PodSecurityPolicy (ir.Policy.psp_only:
    the level's controls are enforced instead)."""
    standard = policy.pod_security_standard
    found = []
    for field in ir.INTENT_FIELDS:
        if field not in policy.origins or field in covered:
            continue
        if standard is not None and field in policy.psp_only:
            found.append(Coverage(field, PARTIAL, "shapes only the PodSecurityPolicy, which "
                                  f"approximates Pod Security Standards {standard.level}: the "
                                  "validating targets enforce the level's controls instead"))
        else:
            found.append(Coverage(field, EXACT, "admits every pod, as PodSecurityPolicy "
                                  "does: nothing to check"))
    return found


def _bindings(policy: ir.Policy, target: str) -> Coverage:
    if target == "rego":
        return Coverage(BINDINGS, PARTIAL, "PodSecurityPolicy's selection rule, but conftest "
                        "sees no request: a workload's pods are judged as created by its "
                        "controller's service account, a Pod as created by the user given as "
                        "data.pspc_requester, or else by nobody (its service account alone); "
                        "the namespace is the manifest's, else default")
    return Coverage(BINDINGS, EXACT, "PodSecurityPolicy's selection rule: the pod is admitted "
                    "when a policy that the requester (request.userInfo) or the pod's service "
                    "account may use in its namespace admits it, as the RBAC of rbac/ grants "
                    "(members of system:masters may use every policy)")


def enforced_by(analysis: Analysis, policy: ir.Policy,
                field: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which outputs enforce an intent PSA cannot (a gap of the PSS analysis), and the
    fields they require set where PodSecurityPolicy would fill them in."""
    by_intent = analysis.once(("requirements by intent", policy.name),
                              lambda: _by_intent(analysis.requirements(policy)))
    found = by_intent.get(CHECKED_WITH.get(field, field))
    if not found:
        return (), ()
    return PSA_GAP_TARGETS, tuple(dict.fromkeys(c.default for c in found if c.default))


def _by_intent(requirements: tuple[Requirement, ...]) -> dict[str, list[Requirement]]:
    found: dict[str, list[Requirement]] = {}
    for requirement in requirements:
        found.setdefault(requirement.intent, []).append(requirement)
    return found


def enforcement_text(analysis: Analysis, policy: ir.Policy, field: str) -> str:
    targets, defaults = enforced_by(analysis, policy, field)
    if not targets:
        return "only the PodSecurityPolicy"
    text = ", ".join(targets)
    if defaults:
        text += (" (pods must set it themselves: PodSecurityPolicy filled in "
                 + ", ".join(defaults) + ")")
    return text
