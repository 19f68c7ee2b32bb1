"""How each mutating target carries a policy's defaults (pspc.coverage), for the report and
for the build's diagnostics (pspc.targets.losses): W301 does not fire for a default that a
mutating target of the build fills in, and what a mechanism cannot reproduce is a row here
and a diagnostic there.

Per target, the limits are those of its mechanism:

* map (MutatingAdmissionPolicy) sees the request and the validating selection, so it follows
  PSP's choice of policy (pspc.mutation.choice) except where the first usable policy with a
  default to apply rejects the pod anyway;
* gatekeeper-mutation matches namespaces only, not who sends the request, and cannot test a
  field outside the path it assigns (its pathTests test that path's own prefixes);
* kyverno-mutation matches namespaces, not who may use a policy, so it cannot follow PSP's
  choice either; it fills each default in exactly (pod-level fields in preconditions).

Both therefore leave a policy's defaults out of the namespaces where another policy may be
usable too (pspc.mutation.scope): there its defaults are not covered (`scope_loss`, W309),
so W301 names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pspc.coverage import BINDINGS, EXACT, NOT_EXPRESSIBLE, PARTIAL, Coverage, unsupported
from pspc.mutation.defaults import ANNOTATION, Default, defaults
from pspc.mutation.scope import Scope, scopes
from pspc.profiles import APPARMOR_FIELD_SINCE
from pspc.validation.expr import Path
from pspc.validation.requirements import SPEC

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.model import ir

MUTATING = ("map", "gatekeeper-mutation", "kyverno-mutation")

_CHOICE = {
    "map": (PARTIAL, "PodSecurityPolicy's choice of policy: a pod that a usable policy admits "
            "unchanged is left alone; otherwise it gets the defaults of the first usable "
            "policy, by name, that admits it or has a default to apply (PSP takes the first "
            "whose defaults make the pod valid: they differ only where that policy rejects "
            "the pod anyway, W307)"),
    "gatekeeper-mutation": (PARTIAL, "Gatekeeper mutators match namespaces, not who sends the "
                            "request: they match only where no other policy may be usable "
                            "(W309 names the namespaces left out); there a pod whose requester "
                            "and service account may not use the policy still gets its "
                            "defaults (PSP and the validating targets reject that pod), and so "
                            "does a pod a member of system:masters creates, who may use every "
                            "policy (PSP leaves it alone where another policy admits it "
                            "unchanged)"),
    "kyverno-mutation": (PARTIAL, "Kyverno mutate rules match namespaces, not who may use "
                         "the policy: they match only where no other policy may be usable "
                         "(W309 names the namespaces left out), and not for members of "
                         "system:masters where another policy exists (they may use every "
                         "policy: their pods are left alone, and the validating targets "
                         "reject those relying on the defaults); there a pod whose requester "
                         "and service account may not use the policy still gets its defaults "
                         "(PSP and the validating targets reject that pod)"),
}


def scope_loss(target: str, analysis: Analysis, policy: ir.Policy) -> str | None:
    """Where and why `target` leaves the policy's defaults out (pspc.mutation.scope)."""
    if target == "map" or not defaults(policy, apparmor_field(analysis)):
        return None
    within = scope(analysis, policy)
    return within.describe() if within.reasons else None


def scope(analysis: Analysis, policy: ir.Policy) -> Scope:
    """The policy's scope (pspc.mutation.scope), the scopes of all computed once."""
    return analysis.once(("mutation scopes",),
                         lambda: scopes(analysis.program.policies))[policy.name]


def limits(target: str, default: Default) -> str | None:
    """Why `target` cannot fill `default` in as PSP does (None: it can)."""
    if target != "gatekeeper-mutation":
        return None
    if default.field == ANNOTATION:
        return ("the AppArmor annotation's key holds the container's name, which no "
                "AssignMetadata can compute (Kubernetes before 1.30 has no field)")
    if default.unless:
        return ("set even where " + " or ".join(_field_text(u) for u in default.unless)
                + " is set: a Gatekeeper pathTest only tests the assigned path")
    return None


_DROPPED_ADD = ("adds {caps} to each container's capabilities, also where the container "
                "drops it (PSP adds a default capability only where it is not dropped)")


def _field_text(where: Path) -> str:
    keys = [k if isinstance(k, str) else "<container name>" for k in where.keys]
    if "annotations" in keys:
        return "its annotation"
    owner = "the pod's" if where.base == SPEC else "the container's"
    return f"{owner} {'.'.join(keys)}"


def apparmor_field(analysis: Analysis) -> bool:
    """Does the build's cluster have the appArmorProfile field (1.30+; no profile: yes)?"""
    version = analysis.profile_version
    return version is None or int(version.split(".")[1]) >= APPARMOR_FIELD_SINCE[1]


def mutating_coverage(target: str) -> Callable[[Analysis, ir.Policy], list[Coverage]]:
    """The coverage declaration of one mutating target."""
    def declare(analysis: Analysis, policy: ir.Policy) -> list[Coverage]:
        found = defaults(policy, apparmor_field(analysis))
        if not found and not found.lost:
            return []
        rows = [unsupported(intent, reason) for intent, reason in found.lost]
        for default in (*found.pod, *found.container):
            why = limits(target, default)
            if why and default.field == ANNOTATION:
                rows.append(unsupported(default.intent, why))
                continue
            rows.append(Coverage(default.intent, PARTIAL, why) if why else Coverage(
                default.intent, EXACT, f"fills in {default.text} where the pod leaves it "
                "unset, as PodSecurityPolicy does"))
        if found.capabilities and found.capabilities.add:
            caps = ", ".join(found.capabilities.add)
            rows.append(Coverage("default_add_capabilities", EXACT, f"adds {caps} to each "
                                 "container's capabilities where it neither adds nor drops it, "
                                 "as PodSecurityPolicy does") if target != "gatekeeper-mutation"
                else Coverage(
                "default_add_capabilities", PARTIAL, _DROPPED_ADD.format(caps=caps)))
        if found.capabilities and found.capabilities.drop:
            rows.append(Coverage("required_drop_capabilities", EXACT, "adds "
                                 + ", ".join(found.capabilities.drop) + " to each container's "
                                 "dropped capabilities where missing, as PodSecurityPolicy does"))
        status, reason = _CHOICE[target]
        rows.append(Coverage(BINDINGS, status, reason))
        if loss := scope_loss(target, analysis, policy):
            status = NOT_EXPRESSIBLE if scope(analysis, policy).empty \
                else PARTIAL
            rows = [r if r.intent == BINDINGS or r.status == NOT_EXPRESSIBLE
                    else Coverage(r.intent, status, loss) for r in rows]
        return rows

    return declare


def filled(target: str, analysis: Analysis, policy: ir.Policy) -> set[str]:
    """The defaults (as validating checks name them) that `target` fills in for `policy`."""
    found = defaults(policy, apparmor_field(analysis))
    if scope_loss(target, analysis, policy):
        return set()
    texts = {d.text for d in (*found.pod, *found.container) if limits(target, d) is None}
    if found.capabilities:
        texts |= {t for t in found.capabilities.texts
                  if target != "gatekeeper-mutation" or t.startswith("capabilities.drop")}
    return texts
