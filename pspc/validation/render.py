"""Assemble a policy's checks into Rego modules and CEL validations.

Both renderings come from the same Requirement list; only the way a check is quantified (over
the pod, its containers or its volumes) and worded is decided here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from pspc.model import ir
from pspc.validation import cel
from pspc.validation import expr as e
from pspc.validation.rego import CONTAINERS_FUNCTION, RegoWriter, violation
from pspc.validation.requirements import OBJ, SPEC, C, Requirement, V, requirements

CONTROLLER_TEMPLATES = {
    "Deployment": "input.spec.template",
    "ReplicaSet": "input.spec.template",
    "ReplicationController": "input.spec.template",
    "StatefulSet": "input.spec.template",
    "DaemonSet": "input.spec.template",
    "Job": "input.spec.template",
    "CronJob": "input.spec.jobTemplate.spec.template",
}
_SUBJECT = {"pod": "pod", "container": "container", "volume": "volume"}


def package_name(policy: ir.Policy) -> str:
    """A Rego package segment for the policy name (DNS names may hold '-' and '.')."""
    name = re.sub(r"[^a-z0-9_]", "_", policy.name)
    return name if name[0].isalpha() else f"p_{name}"


def _iteration(check: Requirement) -> tuple[list[str], tuple[str, ...], str]:
    """Rego lines binding the checked element, the scope, and the element's name."""
    if check.scope == "container":
        return (["some c in _pod_containers"], ("obj", "spec", "c"),
                'object.get(c, "name", "")')
    if check.scope == "volume":
        return (['some v in _list(object.get(spec, "volumes", []))'], ("obj", "spec", "v"),
                'object.get(v, "name", "")')
    return [], ("obj", "spec"), 'object.get(object.get(obj, "metadata", {}), "name", "")'


def rego_module(policy: ir.Policy, flavour: str,
                checks: tuple[Requirement, ...] | None = None, package: str | None = None) -> str:
    """The policy as a Rego v1 module: `deny` (conftest) or `violation` (Gatekeeper); or,
    given a `package`, a library of the selection module (pspc.validation.selection) whose
    rule `reasons` holds why the policy rejects the pod.

    `checks` are the policy's requirements when the caller has them (pspc.analysis)."""
    writer = RegoWriter("pspc")
    rules = []
    for index, check in enumerate(requirements(policy) if checks is None else checks, 1):
        lines, scope, name = _iteration(check)
        violated = violation(writer, f"_ok_{index}", check.ok, scope)
        message = (f'concat("", ["{policy.name}: {_SUBJECT[check.scope]} ", {name}, '
                   f'" {check.requirement}"])')
        head = ("reasons contains msg if {" if package is not None
                else "deny contains msg if {" if flavour == "conftest"
                else 'violation contains {"msg": msg} if {')
        body = ["obj := _pod" if flavour == "conftest" else "obj := input.review.object",
                'spec := object.get(obj, "spec", {})', *lines, violated, f"msg := {message}"]
        rules.append(f"# {check.id}\n{head}\n" + "\n".join(f"\t{line}" for line in body)
                     + "\n}")
    if package is None:
        package = (f"{'pspc' if flavour == 'conftest' else 'pspc.gatekeeper'}."
                   f"{package_name(policy)}")
    parts = [f"package {package}", "import rego.v1"]
    if flavour == "conftest":
        parts.append("# The pod of a Pod, or the pod template of a workload.\n"
                     '_pod := input if input.kind == "Pod"\n' + "\n".join(
                         f'_pod := {path} if input.kind == "{kind}"'
                         for kind, path in CONTROLLER_TEMPLATES.items()))
    parts.append(CONTAINERS_FUNCTION)
    pod = "_pod" if flavour == "conftest" else "input.review.object"
    parts.append("# a rule, so evaluated once per query rather than once per check\n"
                 f'_pod_containers := _containers(object.get({pod}, "spec", {{}}))')
    parts.extend(rules)
    parts.extend(writer.helpers)
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class CelValidation:
    id: str
    intent: str
    expression: str
    message_expression: str


def _offenders(index: int) -> str:
    return f"offenders{index}"


def _cel_check(policy: ir.Policy, index: int, check: Requirement,
               offenders: Callable[[int], str] = _offenders) -> CelValidation:
    """The check as (allowed expression, message naming the offending elements). A check
    over containers or volumes reads the variable listing its offenders (cel_variables),
    so its predicate is written once."""
    lead = cel.value(e.Lit(f"{policy.name}: {check.scope} "))
    tail = cel.value(e.Lit(f" {check.requirement}"))
    if check.scope == "pod":
        name = cel.value(e.Val(e.path(OBJ, "metadata", "name"), e.Lit("")))
        return CelValidation(check.id, check.intent, cel.condition(check.ok),
                             f"{lead} + {name} + {tail}")
    offenders = f"variables.{offenders(index)}"
    return CelValidation(check.id, check.intent, f"size({offenders}) == 0",
                         f'{lead} + {offenders}.join(", ") + {tail}')


class CelRendering(NamedTuple):
    """A policy in CEL: the variables its validations read, and the validations."""

    variables: tuple[dict, ...]
    validations: tuple[CelValidation, ...]


def cel_rendering(policy: ir.Policy, checks: tuple[Requirement, ...] | None = None,
                  offenders: Callable[[int], str] = _offenders) -> CelRendering:
    """Both parts of the CEL, made together: VAP, Gatekeeper and Kyverno share them.

    The variables are the containers and, for each check over containers or volumes, the
    names of those that fail it (in evaluation order), named `offenders(index)`."""
    checks = tuple(requirements(policy)) if checks is None else checks
    return CelRendering(tuple(_cel_variables(checks, offenders)),
                        tuple(_cel_check(policy, index, check, offenders)
                              for index, check in enumerate(checks, 1)))


def cel_validations(policy: ir.Policy) -> list[CelValidation]:
    return list(cel_rendering(policy).validations)


def cel_variables(policy: ir.Policy) -> list[dict]:
    return list(cel_rendering(policy).variables)


def _cel_variables(checks: tuple[Requirement, ...],
                   offenders: Callable[[int], str] = _offenders) -> list[dict]:
    variables = [{"name": cel.CONTAINERS_VARIABLE, "expression": cel.containers_expression()}]
    for index, check in enumerate(checks, 1):
        if check.scope == "pod":
            continue
        if check.scope == "container":
            items, var = cel.value(e.Containers(SPEC)), C.name
        else:
            items, var = cel.value(e.Items(e.path(SPEC, "volumes"))), V.name
        variables.append({"name": offenders(index), "expression": (
            f"{items}.filter({var}, !({cel.condition(check.ok)})).map({var}, {var}.name)")})
    return variables
