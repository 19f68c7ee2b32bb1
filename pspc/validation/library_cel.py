"""The check library in CEL: the Gatekeeper template's K8sNativeValidation, the same text for
every set of policies, reading them from the Constraint's parameters (`variables.params`).

Rendered from the same check families as the Rego (pspc.validation.selection.rego_library):
each family is one variable listing the usable policies whose parameters carry it and that
it rejects, with the offending containers or volumes; the pod is admitted when a usable
policy is in none of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pspc.validation import cel
from pspc.validation import expr as e
from pspc.validation.requirements import Family
from pspc.validation.selection import (
    CEL_NONE_USABLE,
    CEL_SUPERUSER,
    NONE_ADMITS,
    CelSelection,
    _identity_variables,
    check_names,
)

_USABLE_POLICIES = (
    f"variables.params.policies.filter(p, variables.{CEL_SUPERUSER} || p.grants.exists(g, "
    "(!has(g.namespaces) || request.namespace in g.namespaces) && "
    "(has(g.users) && g.users.exists(u, u in variables.names) || "
    "has(g.groups) && g.groups.exists(group, group in variables.groups))))")
# the names a message gives its offenders: none for a pod with no name yet (a workload's
# template, a generateName), so that it reads "pod must ..."
_NAMES = {"pod": '(has(object.metadata.name) && object.metadata.name != "" ? '
                 '[object.metadata.name] : [])',
          "container": 'has(c.name) ? c.name : ""', "volume": 'has(v.name) ? v.name : ""'}
_ITEMS = {"container": f"variables.{cel.CONTAINERS_VARIABLE}",
          "volume": "(has(object.spec.volumes) ? object.spec.volumes : [])"}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


def family_variable(family: Family, name: str) -> dict:
    """The usable policies that `family` rejects: policy, offenders, reason, origin."""
    params = f"p.{family.key}"
    ok = cel.condition(e.rename(family.check, e.PARAMS, e.Var(params)))
    origin = (f'has({params}.origin) ? {params}.origin : has(p.podSecurityStandard) ? '
              'p.podSecurityStandard.origin : ""')
    record = (f'"policy": p.name, "scope": {json.dumps(family.scope)}, '
              f'"reason": {json.dumps(family.text)}, "origin": {origin}')
    if family.scope == "pod":
        expression = (f"variables.usablePolicies.filter(p, has({params}) && !({ok})).map(p, "
                      f"{{{record}, \"offenders\": {_NAMES['pod']}}})")
    else:
        var = "c" if family.scope == "container" else "v"
        offenders = (f"{_ITEMS[family.scope]}.filter({var}, !({ok}))"
                     f".map({var}, {_NAMES[family.scope]})")
        expression = (f"variables.usablePolicies.filter(p, has({params})).map(p, "
                      f"{{{record}, \"offenders\": {offenders}}}).filter(r, size(r.offenders) > 0)")
    return {"name": name, "expression": expression}


def cel_library(families: Iterable[Family]) -> CelSelection:
    """Variables, the validation's expression and its message."""
    named = [(f, _camel(name)) for f, name in check_names(list(families))]
    variables = [{"name": cel.CONTAINERS_VARIABLE, "expression": cel.containers_expression()},
                 *_identity_variables(cel.CelWriter()),
                 {"name": "usablePolicies", "expression": _USABLE_POLICIES},
                 {"name": "usable", "expression": "variables.usablePolicies.map(p, p.name)"},
                 *(family_variable(f, name) for f, name in named),
                 # a list of the families' lists: a sum of 60 lists nests too deep for CEL
                 {"name": "rejections", "expression": "[" + ", ".join(
                     f"variables.{name}" for _, name in named) + "]"}]
    expression = ("variables.unchanged || variables.usablePolicies.exists(p, "
                  "!variables.rejections.exists(found, found.exists(r, r.policy == p.name)))")
    rejected = (f'"{NONE_ADMITS} (usable: " + variables.usable.join(", ") + "): " + '
                'variables.rejections.filter(found, size(found) > 0).map(found, found.map(r, '
                'r.policy + ": " + r.scope + r.offenders.map(o, " " + o).join(",") + " " + '
                'r.reason + '
                '" (" + r.origin + ")").join("; ")).join("; ")')
    return CelSelection(tuple(variables), expression,
                        f"size(variables.usable) == 0 ? {CEL_NONE_USABLE} : {rejected}")

