"""Assemble a policy's checks into CEL validations (VAP, Kyverno), and name the pod
templates of the workloads that conftest reads.

The checks are the policy's requirements: its check families partially evaluated with its
values (pspc.validation.partial); only the way a check is quantified (over the pod, its
containers or its volumes) and worded is decided here. The Rego and the Gatekeeper
template's CEL render the families themselves (pspc.validation.selection, .library_cel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from pspc.model import ir
from pspc.validation import cel
from pspc.validation import expr as e
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
