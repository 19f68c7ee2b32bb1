"""Which policy's defaults a pod gets: PodSecurityPolicy's rule, as far as a mutating
admission mechanism can follow it (docs/psp-admission.md#candidate-evaluation).

PSP tries the policies usable by the requester or the pod's service account in name order:
one that admits the pod without changing it wins, and the pod is left alone; otherwise the
first whose defaults make the pod valid wins, and its defaults are applied. The
MutatingAdmissionPolicy reuses the validating selection's CEL (pspc.validation.selection:
`usable_<p>`, and `violations_<p>`, empty exactly when the policy admits the pod
unchanged) and adds, per policy with defaults, whether any of them applies to the pod
(`defaults_<p>`). The pod gets the defaults of the first usable policy, by name, that admits
it or has a default to apply. A CEL expression cannot evaluate a policy's checks on the pod
it is about to produce, so where that policy rejects the pod even after its defaults and a
later one would admit it after its own, PSP picks the later one (W307 names such builds).

A pod that sets the seccompProfile field without the legacy annotation is a quirk of PSP:
every policy "changes" it (the annotation mirrors the field), so no policy admits it
unchanged and the first usable one that admits it wins, even over a later one that would
not touch it; `seccompMirrored` follows that.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.mutation.defaults import Default, Defaults
from pspc.validation import cel
from pspc.validation.expr import Any, Expr, Has, In, Items, Lit, Var, and_, not_, or_, path
from pspc.validation.requirements import SC, SPEC
from pspc.validation.selection import cel_identifiers

if TYPE_CHECKING:
    from pspc.analysis import Analysis

WINNER = "defaulting"
MIRRORED = "seccompMirrored"
_POD_SECCOMP = "object.spec.securityContext.seccompProfile"
# PSP copies the pod's seccomp field into its annotation where that is unset: a change, for
# every policy, so that no policy admits such a pod unchanged (docs/psp-admission.md#seccomp)
_MIRRORED = (
    f"has(object.spec.securityContext) && has({_POD_SECCOMP}) && "
    f"(!has(object.metadata.annotations) || !({json.dumps(voc.SECCOMP_POD)} in "
    f"object.metadata.annotations) || object.metadata.annotations[{json.dumps(voc.SECCOMP_POD)}]"
    f' == "") && (has({_POD_SECCOMP}.type) && {_POD_SECCOMP}.type in ["RuntimeDefault", '
    f'"Unconfined"] || has({_POD_SECCOMP}.type) && {_POD_SECCOMP}.type == "Localhost" && '
    f"has({_POD_SECCOMP}.localhostProfile))")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def applies(default: Default) -> Expr:
    """The default's field is unset, and so is every field that would leave it alone."""
    return and_(not_(Has(default.where)), *(not_(Has(u)) for u in default.unless))


def grows(add: tuple[str, ...], drop: tuple[str, ...]) -> Expr:
    """The container in `c` lacks a capability to add (and does not drop it) or to drop."""
    adds, drops = Items(SC / "capabilities" / "add"), Items(SC / "capabilities" / "drop")
    cap = Var("cap")
    missing = []
    if add:
        missing.append(Any(cap, Lit(list(add)), and_(not_(In(cap, adds)), not_(In(cap, drops)))))
    if drop:
        missing.append(Any(cap, Lit(list(drop)), not_(In(cap, drops))))
    return or_(*missing)


def container_needs(found: Defaults) -> Expr:
    """Whether any of the policy's container defaults applies to the container in `c`."""
    needs = [applies(d) for d in found.container]
    if found.capabilities:
        needs.append(grows(found.capabilities.add, found.capabilities.drop))
    return or_(*needs)


def needing(ident: str, key: str) -> str:
    """The variable listing the containers of list `key` that a policy's defaults change."""
    return f"needs_{ident}_{key}"


def admits(ident: str) -> str:
    """Whether the policy admits the pod unchanged: none of its checks is violated."""
    return f"size(variables.violations_{ident}) == 0"


def cel_variables(analysis: Analysis, defaulting: list[Defaults]) -> list[dict]:
    """The selection's variables; per policy with defaults, the containers of each list
    they change (`needs_<p>_<list>`) and whether any applies to the pod (`defaults_<p>`);
    and `defaulting`: the name of the policy whose defaults the pod gets ("" for none)."""
    selection = analysis.cel_selection(optionals=True)  # MAP: Kubernetes 1.32+
    idents = cel_identifiers(analysis.program.policies)
    variables = list(selection.variables)
    for found in defaulting:
        ident = idents[found.policy]
        terms = [cel.condition(applies(d)) for d in found.pod]
        if found.container or found.capabilities:
            test = cel.condition(container_needs(found))
            for key in CONTAINER_LISTS:
                items = cel.value(Items(path(SPEC, key)))
                variables.append({"name": needing(ident, key),
                                  "expression": f"{items}.filter(c, {test})"})
                terms.append(f"size(variables.{needing(ident, key)}) > 0")
        variables.append({"name": f"defaults_{ident}", "expression": " || ".join(terms)})
    with_defaults = {d.policy for d in defaulting}
    unchanged = " || ".join(f"(variables.usable_{idents[p.name]} && {admits(idents[p.name])})"
                            for p in analysis.program.policies)
    chain = "".join(
        f"variables.usable_{idents[name]} && " + (
            f"({admits(idents[name])} || variables.defaults_{idents[name]})"
            if name in with_defaults else admits(idents[name]))
        + f" ? {json.dumps(name)} : "
        for name in sorted(p.name for p in analysis.program.policies))
    variables.append({"name": MIRRORED, "expression": _MIRRORED})
    variables.append({"name": WINNER, "expression": (
        f'!variables.{MIRRORED} && ({unchanged}) ? "" : {chain}""')})
    return variables
