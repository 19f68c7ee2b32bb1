"""PodSecurityPolicy's selection rule for the validating targets
(docs/equivalence.md#selection): a pod is admitted when at least one policy *usable* for it
admits it.

"Usable" is what the RBAC target grants (pspc/targets/rbac.py): a policy is usable when the
requesting user or the pod's service account may `use` it in the pod's namespace, through
a cluster-wide binding or one in that namespace; members of `system:masters` may use every
policy (the API server's superuser check). The service account is the user
`system:serviceaccount:NS:SA` with the groups `system:serviceaccounts` and
`system:serviceaccounts:NS` only, as the PSP plugin asks it (no `system:authenticated`).
Each binding names one user, group or service account, so asking "may the requester or the
service account use it?" is asking whether a bound name is among the two identities' names
or a bound group among their groups.

"Any of" cannot be split into independent validators, one per policy, so each validating
target gets one cluster-wide object: per policy, named after it, its verdict
(`admitted_by_<policy>`, the policy's checks), its usability (`usable_<policy>`) and why it
rejects; and one validation, "a usable policy admits the pod". Everything is linear in the
number of policies and bindings.

An UPDATE that changes neither the pod's spec nor the annotations the checks read is
admitted: what is checked is what was admitted at creation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.validation import expr as e
from pspc.validation.cel import CelWriter
from pspc.validation.rego import LibraryWriter
from pspc.validation.render import (
    CONTROLLER_TEMPLATES,
    HOISTED,
    cel_definitions,
    cel_violations,
    level_variable,
    rejection_prefix,
    source_lines,
    source_text,
)
from pspc.validation.requirements import Family, Requirement
from pspc.validation.standards import INTENT
from pspc.workloads import CONTROLLER_GROUPS, WORKLOADS

SUPERUSER_GROUP = "system:masters"
SERVICE_ACCOUNT_USER = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
# The annotations the checks read (seccomp and AppArmor): an UPDATE that changes none of
# them and not the spec changes nothing that is checked.
CHECKED_ANNOTATIONS = (voc.SECCOMP_POD,)
CHECKED_ANNOTATION_PREFIXES = (voc.SECCOMP_CONTAINER_PREFIX, voc.APPARMOR_CONTAINER_PREFIX)
NONE_USABLE = "no PodSecurityPolicy-equivalent policy is usable by "
NONE_ADMITS = "no usable policy admits the pod"
# who may use no policy: the requester, and the pod's service account (in the request's
# namespace, where the policies would be used)
CEL_NONE_USABLE = (f'"{NONE_USABLE}" + request.userInfo.username + " or service account " + '
                   'request.namespace + "/" + variables.serviceAccount')


def identifiers(names: Iterable[str], form: Callable[[str], str]) -> dict[str, str]:
    """A distinct identifier per name, `form(name)` unless an earlier name (in sorted
    order) took it; then `form(name)_2`, `_3`... (DNS names map onto identifiers with
    collisions: `a-b` and `a.b`)."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        base = ident = form(name)
        count = 1
        while ident in taken:
            count += 1
            ident = f"{base}_{count}"
        found[name] = ident
        taken.add(ident)
    return found


def cel_identifiers(policies: Iterable[ir.Policy]) -> dict[str, str]:
    """The suffix of each policy's CEL variables (`admitted_by_<suffix>`)."""
    return identifiers((p.name for p in policies), lambda n: re.sub(r"[-.]", "_", n))


@dataclass(frozen=True)
class Grant:
    """Who may use a policy in some namespaces (None: everywhere): user names (service
    accounts as `system:serviceaccount:NS:SA`) and groups."""

    namespaces: tuple[str, ...] | None
    names: tuple[str, ...]
    groups: tuple[str, ...]


def grants(policy: ir.Policy) -> list[Grant]:
    """The policy's bindings as grants: the cluster-wide one first, then one per set of
    namespaces that bind the same subjects (so `in namespaces dev, staging` stays one)."""
    by_scope: dict[str | None, tuple[set[str], set[str]]] = {}
    for binding in policy.bindings:
        names, groups = by_scope.setdefault(binding.namespace, (set(), set()))
        subject = binding.subject
        if subject.kind == "Group":
            groups.add(subject.name)
        elif subject.kind == "ServiceAccount":
            names.add(f"{SERVICE_ACCOUNT_USER}{subject.namespace}:{subject.name}")
        else:
            names.add(subject.name)
    merged: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str | None]] = {}
    for scope in sorted(by_scope, key=lambda ns: (ns is not None, ns or "")):
        names, groups = by_scope[scope]
        merged.setdefault((tuple(sorted(names)), tuple(sorted(groups))), []).append(scope)
    found = []
    for (names, groups), scopes in merged.items():
        if None in scopes:
            found.append(Grant(None, names, groups))
            scopes = [s for s in scopes if s is not None]
        if scopes:
            found.append(Grant(tuple(s for s in scopes if s is not None), names, groups))
    return sorted(found, key=lambda g: (g.namespaces is not None, g.namespaces or ()))


# -- CEL (ValidatingAdmissionPolicy, Gatekeeper's K8sNativeValidation, Kyverno) ------------

def _cel_in(item_list: str, values: tuple[str, ...], var: str) -> str:
    if len(values) == 1:
        return f"{json.dumps(values[0])} in variables.{item_list}"
    return f"variables.{item_list}.exists({var}, {var} in {json.dumps(list(values))})"


def _service_account_groups(grant: Grant) -> set[str]:
    """The groups of a grant that the pod's service account has wherever the grant holds:
    `system:serviceaccounts`, and `system:serviceaccounts:NS` in namespace NS (its
    namespace is the request's)."""
    found = {SERVICE_ACCOUNTS_GROUP}
    if grant.namespaces is not None and len(grant.namespaces) == 1:
        found.add(f"{SERVICE_ACCOUNTS_GROUP}:{grant.namespaces[0]}")
    return found & set(grant.groups)


def cel_usable(policy: ir.Policy) -> str:
    """Whether the requester or the pod's service account may use the policy; a grant to a
    group the service account has where the grant holds needs no test of who asks."""
    terms = [f"variables.{CEL_SUPERUSER}"]
    for grant in grants(policy):
        who = ([_cel_in("names", grant.names, "n")] if grant.names else []) + (
            [_cel_in("groups", grant.groups, "g")] if grant.groups else [])
        either = None if _service_account_groups(grant) else \
            who[0] if len(who) == 1 else "(" + " || ".join(who) + ")"
        if grant.namespaces is None:
            where = None
        elif len(grant.namespaces) == 1:
            where = f"request.namespace == {json.dumps(grant.namespaces[0])}"
        else:
            where = f"request.namespace in {json.dumps(list(grant.namespaces))}"
        if where is None and either is None:
            return "true"
        terms.append(either if where is None else where if either is None else
                     f"({where} && {either})")
    return " || ".join(terms)


CEL_SUPERUSER = "superuser"


def _checked_annotation_cel(key: str) -> str:
    tests = [f"{key} == {json.dumps(k)}" for k in CHECKED_ANNOTATIONS] + [
        f"{key}.startsWith({json.dumps(p)})" for p in CHECKED_ANNOTATION_PREFIXES]
    return " || ".join(tests)


def _identity_variables(cel_writer: CelWriter) -> list[dict]:
    """Who asks (the service account, the names and groups of both identities, a
    superuser) and whether the request is an UPDATE that changes nothing checked. A writer
    that hoists reads the annotations from the variable its caller defines (render
    .cel_definitions); another defines it here."""
    annotations = e.path(e.Var("obj"), "metadata", "annotations")
    defined = [] if cel_writer.hoisted else [
        {"name": "annotations", "expression": cel_writer.value(e.Keys(annotations))}]
    if cel_writer.hoisted:
        cel_writer.annotations()
    old_annotations = e.path(e.Var("oldObject"), "metadata", "annotations")
    # every checked annotation, of either version, is in both with the same value
    same = (f"[variables.annotations, variables.oldAnnotations].all(m, m.all(k,\n"
            f"  !({_checked_annotation_cel('k')}) ||\n"
            "  (k in variables.annotations && k in variables.oldAnnotations &&\n"
            "   variables.annotations[k] == variables.oldAnnotations[k])))")
    service_account = cel_writer.value(e.Val(e.path(e.Var("spec"), "serviceAccountName"),
                                             e.Lit("")))
    return [
        {"name": "serviceAccount", "expression": (
            f'{service_account} != "" ? object.spec.serviceAccountName : "default"')},
        # the user names and groups of the two identities PSP asks: the requester, and
        # the pod's service account (without system:authenticated, as the PSP plugin asks)
        {"name": "names", "expression": (
            '[request.userInfo.username, "system:serviceaccount:" + request.namespace + ":" '
            "+ variables.serviceAccount]")},
        {"name": "groups", "expression": (
            f'{_requester_groups(cel_writer)} + ["system:serviceaccounts", '
            '"system:serviceaccounts:" + request.namespace]')},
        {"name": CEL_SUPERUSER, "expression": (
            f'"{SUPERUSER_GROUP}" in {_requester_groups(cel_writer)}')},
        *defined,
        {"name": "oldAnnotations", "expression": (
            f"oldObject != null ? {cel_writer.value(e.Keys(old_annotations))} : {{}}")},
        {"name": "unchanged", "expression": (
            "// an UPDATE that changes nothing the checks read: admitted as at creation\n"
            'request.operation == "UPDATE" && oldObject != null &&\n'
            f"object.spec == oldObject.spec &&\n{same}")},
    ]


def _requester_groups(cel_writer: CelWriter) -> str:
    return cel_writer.value(e.Items(e.path(e.Var("request.userInfo"), "groups")))


class CelSelection(NamedTuple):
    """The selection in CEL: variables, and one validation (expression, message)."""

    variables: tuple[dict, ...]
    expression: str
    message_expression: str


def _nonempty(items: list[str], var: str) -> str:
    """The non-empty strings among `items` (a list expression)."""
    if not items:
        return "[]"
    return f'[{", ".join(items)}].filter({var}, {var} != "")'


def _usable_comment(policy: ir.Policy, sources: dict[str, list[str]]) -> str:
    """A `//` line per binding statement (its source; a statement naming several namespaces
    binds in each), or one saying none binds the policy."""
    lines = list(dict.fromkeys(
        f"// {b.span.file}:{b.span.line} {source_text(sources, b.span)}".rstrip()
        for b in policy.bindings if b.span is not None))
    return "\n".join(lines) if lines else f"// no binding: {policy.name} is usable by " \
        f"members of {SUPERUSER_GROUP} only"


def cel_selection(policies: list[ir.Policy],
                  checks: Callable[[ir.Policy], tuple[Requirement, ...]],
                  optionals: bool = False, sources: dict[str, str] | None = None
                  ) -> CelSelection:
    """`checks(policy)` are the policy's requirements (pspc.analysis); `optionals` picks the
    CEL syntax (pspc.validation.cel), `sources` the texts the `//` comments quote."""
    lines = source_lines(sources or {})
    idents = cel_identifiers(policies)
    cel_writer = CelWriter(optionals, HOISTED)
    per_policy: list[dict] = []
    levels: dict[str, str] = {}  # the Pod Security Standards levels' controls, once each
    readers = Counter(level_variable(level) for p in policies
                      if (level := [c for c in checks(p) if c.intent == INTENT]))
    admitting, usable_names, rejections = [], [], []
    for policy in policies:
        ident = idents[policy.name]
        usable, violations = f"variables.usable_{ident}", f"variables.violations_{ident}"
        level = [c for c in checks(policy) if c.intent == INTENT]
        per_policy.extend([
            {"name": f"usable_{ident}",
             "expression": f"{_usable_comment(policy, lines)}\n{cel_usable(policy)}"},
            {"name": f"violations_{ident}", "expression": cel_violations(
                policy, checks(policy), cel_writer, lines, levels,
                shared=bool(level) and readers[level_variable(level)] > 1)},
        ])
        admitting.append(f"({usable} && size({violations}) == 0)")
        usable_names.append(f'{usable} ? {json.dumps(policy.name)} : ""')
        rejections.append(f'{usable} ? {json.dumps(rejection_prefix(policy, checks(policy)))} + '
                          f'{violations}.join("; ") : ""')
    identity = _identity_variables(cel_writer)  # before the definitions: it reads some
    # flat lists (filtered), not chains of `+`, which nest as deep as the policies are many
    variables = [*(cel_definitions(cel_writer) if policies else []),
                 *({"name": n, "expression": x} for n, x in levels.items()),
                 *identity, *per_policy,
                 {"name": "usable", "expression": _nonempty(usable_names, "name")}]
    expression = (f"variables.unchanged || [{', '.join(admitting)}].exists(admitted, admitted)"
                  if admitting else "variables.unchanged")
    rejected = (f'"{NONE_ADMITS} (usable: " + variables.usable.join(", ") + "): " + '
                f'{_nonempty(rejections, "m")}.join("; ")')
    message = f"size(variables.usable) == 0 ? {CEL_NONE_USABLE} : {rejected}"
    if len(policies) == 1:  # the same, with the one policy's name and prefix spelt out
        (policy,) = policies
        ident = idents[policy.name]
        expression = (f"variables.unchanged || variables.usable_{ident} && "
                      f"size(variables.violations_{ident}) == 0")
        prefix = (f"{NONE_ADMITS} (usable: {policy.name}): "
                  f"{rejection_prefix(policy, checks(policy))}")
        message = (f"!variables.usable_{ident} ? {CEL_NONE_USABLE} : {json.dumps(prefix)} + "
                   f'variables.violations_{ident}.join("; ")')
    return CelSelection(_read(variables, [expression, message]), expression, message)


_VARIABLE = re.compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


def _read(variables: list[dict], expressions: list[str]) -> tuple[dict, ...]:
    """The variables that the expressions read, directly or through other variables
    (`names` is read only where a binding names a user or a service account)."""
    wanted = {n for text in expressions for n in _VARIABLE.findall(text)}
    for variable in reversed(variables):  # a variable reads only earlier ones
        if variable["name"] in wanted:
            wanted.update(_VARIABLE.findall(variable["expression"]))
    return tuple(v for v in variables if v["name"] in wanted)


# -- Rego (Gatekeeper, conftest) ------------------------------------------------------------

_CHECKED_ANNOTATIONS_REGO = (
    "# the annotations the checks read: seccomp and AppArmor\n"
    "_checked_annotations(obj) := {k: v |\n"
    '\tsome k, v in object.get(obj, ["metadata", "annotations"], {})\n'
    "\t_checked_annotation(k)\n}\n\n" + "\n\n".join(
        [f"_checked_annotation(k) if k == {json.dumps(k)}" for k in CHECKED_ANNOTATIONS]
        + [f"_checked_annotation(k) if startswith(k, {json.dumps(p)})"
           for p in CHECKED_ANNOTATION_PREFIXES]))

_SELECTION = f"""\
# PodSecurityPolicy's selection rule: the pod is admitted when a policy that the requester
# or the pod's service account may use admits it, that is, has no reason to reject it.
admitted if {{
	some policy in _usable_policies
	not policy.name in _rejecting
}}

_rejecting contains name if some [name, _] in reasons

usable contains policy.name if some policy in _usable_policies

_usable_policies contains policy if {{
	some policy in _policies
	_may_use(policy)
}}

# who may use a policy (rbac/<policy>.yaml): members of {SUPERUSER_GROUP} any; else a grant
# (cluster-wide, or in its namespaces) to one of the identities' user names or groups
_may_use(_) if "{SUPERUSER_GROUP}" in object.get(_requester, "groups", [])

_may_use(policy) if {{
	some grant in policy.grants
	_namespace in object.get(grant, "namespaces", [_namespace])
	_grants_identity(grant)
}}

_grants_identity(grant) if {{
	some user in object.get(grant, "users", [])
	user in _names
}}

_grants_identity(grant) if {{
	some group in object.get(grant, "groups", [])
	group in _groups
}}

_service_account := name if {{
	some key in ["serviceAccountName", "serviceAccount"]
	name := object.get(_pod, ["spec", key], "")
	name != ""
}} else := "default"

# the user names and groups of the two identities PSP asks: the requester, and the pod's
# service account (without system:authenticated, as the PSP plugin asks it)
_names := {{object.get(_requester, "username", ""),
	concat("", ["system:serviceaccount:", _namespace, ":", _service_account])}}

_groups := {{g | some g in object.get(_requester, "groups", [])}} | {{
	"system:serviceaccounts", concat("", ["system:serviceaccounts:", _namespace])}}"""

_READING = """\
# why a policy rejects the pod, by policy name: what must change, and where the policy asks
# for it (the statement, else the policy's Pod Security Standards level)
_reason(policy, params, subject, text) := [policy.name, sprintf("%s: %s %s (%s)", [
	policy.name, subject, text,
	object.get(params, "origin", object.get(policy, ["podSecurityStandard", "origin"], "")),
])]

# "pod NAME", or "pod" for one with no name yet (a workload's template, a generateName)
_pod_subject := concat(" ", ["pod", _pod.metadata.name]) if {
	_pod.metadata.name != ""
} else := "pod"

_subject(kind, item) := concat(" ", [kind, item.name]) if {
	item.name != ""
} else := kind

_spec := object.get(_pod, "spec", {})

_volumes := _list(object.get(_spec, "volumes", []))

# init, regular and ephemeral containers, in the order PSP visits them
_containers := array.concat(
	array.concat(_list(object.get(_spec, "initContainers", [])),
		_list(object.get(_spec, "containers", []))),
	_list(object.get(_spec, "ephemeralContainers", [])))

# a list field, or [] when it is absent or null (`ports:` with nothing after it)
_list(value) := value if is_array(value)

_list(value) := [] if not is_array(value)"""

_VERDICT = """\
{head}
	is_object(_pod)
	not _unchanged
	count(usable) == 0
	msg := concat("", ["{none_usable}", object.get(_requester, "username", ""),
		" or service account ", _namespace, "/", _service_account])
}}

{head}
	is_object(_pod)
	not _unchanged
	count(usable) > 0
	not admitted
	msg := concat("", ["{none_admits} (usable: ", concat(", ", sort(usable)), "): ",
		concat("; ", sort([reason | some [_, reason] in reasons]))])
}}"""

_GATEKEEPER_ADAPTER = """\
# Gatekeeper: the pod under review; the policies are the constraint's parameters
_pod := input.review.object

_policies := input.parameters.policies

_namespace := ns if {
	ns := object.get(input.review, "namespace", "")
	ns != ""
} else := object.get(_pod, ["metadata", "namespace"], "")

# the user who sends the request (absent in audit reviews: the service account alone)
_requester := {"username": object.get(input.review, ["userInfo", "username"], ""),
	"groups": object.get(input.review, ["userInfo", "groups"], [])}

# an UPDATE that changes nothing the checks read: admitted, as it was at creation
_unchanged if {
	input.review.operation == "UPDATE"
	input.review.object.spec == input.review.oldObject.spec
	_checked_annotations(input.review.object) == _checked_annotations(input.review.oldObject)
}

""" + _CHECKED_ANNOTATIONS_REGO


def _conftest_adapter() -> str:
    templates = "\n".join(f'_pod := {path} if input.kind == "{kind}"'
                          for kind, path in CONTROLLER_TEMPLATES.items())
    table = ",\n".join(f"\t{json.dumps(k)}: {json.dumps(v)}" for k, v in _controllers().items())
    return f"""\
# conftest: the pod of a Pod, or the pod template of a workload; the policies are data
# (rego/policies.rego)
_pod := input if input.kind == "Pod"

{templates}

_policies := data.pspc.parameters.policies

_namespace := ns if {{
	ns := object.get(input, ["metadata", "namespace"], "")
	ns != ""
}} else := "default"

# the controller (in kube-controller-manager) that creates a workload's pods
_controllers := {{
{table},
}}

# Who creates the pod: a workload's controller; for a Pod, the user given to conftest as
# data (`--data` a file holding `pspc_requester: {{username: jane, groups: [devs]}}`), or
# else nobody (the pod's service account alone).
_requester := {{"username": concat("", ["system:serviceaccount:kube-system:", controller]),
	"groups": {json.dumps(list(CONTROLLER_GROUPS))}}} if {{
	controller := _controllers[input.kind]
}} else := object.get(data, "pspc_requester", {{"username": "", "groups": []}})

_unchanged := false

# a manifest of another kind that carries a pod template: pspc cannot read it, so it is
# denied rather than passed unchecked (fail closed)
deny contains msg if {{
	not _pod
	_carries_pod_template
	msg := sprintf("%s %s: carries a pod template pspc cannot judge (it reads %s)",
		[input.kind, object.get(input, ["metadata", "name"], ""), {json.dumps(_READ_KINDS)}])
}}

_carries_pod_template if object.get(input, "template", null) != null

_carries_pod_template if object.get(input, ["spec", "template"], null) != null

_carries_pod_template if object.get(input, ["spec", "jobTemplate"], null) != null"""


_READ_KINDS = ", ".join(["List", "Pod", *CONTROLLER_TEMPLATES])


def _controllers() -> dict[str, str]:
    return {kind: w.controller for kind, w in WORKLOADS.items() if kind in CONTROLLER_TEMPLATES}


_SCOPES = {"pod": ([], "_pod_subject"),
           "container": (["some c in _containers"], '_subject("container", c)'),
           "volume": (["some v in _volumes"], '_subject("volume", v)')}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.replace(".", "_")).lower()


def family_rule(writer: LibraryWriter, family: Family, name: str) -> str:
    """The family's rule: for each usable policy whose parameters carry it, why it rejects
    the pod (nothing: it admits it); `name` names its check."""
    loop, subject = _SCOPES[family.scope]
    failed = writer.failure(family.check, f"{name}_ok")
    body = ["some policy in _usable_policies", f"params := policy.{family.key}", *loop, failed]
    head = f"reasons contains _reason(policy, params, {subject}, {json.dumps(family.text)}) if"
    return (f"# {family.id} ({family.intent})\n{head} {{\n"
            + "\n".join(f"\t{line}" for line in body) + "\n}")


def check_names(families: list[Family]) -> list[tuple[Family, str]]:
    """Each family with the name of its check: its parameter's, with the scope where
    families share the parameter, with the id where they share both."""
    keys = Counter(f.key for f in families)
    scoped = Counter((f.key, f.scope) for f in families)
    return [(f, _snake(f.key) if keys[f.key] == 1 else f"{_snake(f.key)}_{f.scope}"
             if scoped[f.key, f.scope] == 1 else _snake(f.id)) for f in families]


@dataclass(frozen=True)
class RegoSelection:
    """The selection module (package `pspc`), the same for every set of policies."""

    main: str


def rego_library(families: Iterable[Family]) -> str:
    """Every family's rule and the helpers they read: the part of the module that says what
    the checks are, the same text in Gatekeeper's template and conftest's module."""
    writer = LibraryWriter()
    families = list(families)
    rules = [family_rule(writer, family, name) for family, name in check_names(families)]
    return "\n\n".join([*rules, writer.text()])


def rego_selection(flavour: str, families: Iterable[Family]) -> RegoSelection:
    """The `gatekeeper` (rule `violation`, policies from `input.parameters`) or `conftest`
    (rule `deny`, policies from data.pspc.parameters) module: an input adapter, the
    selection rule, and the check library."""
    head = ('violation contains {"msg": msg} if {' if flavour == "gatekeeper"
            else "deny contains msg if {")
    adapter = _GATEKEEPER_ADAPTER if flavour == "gatekeeper" else _conftest_adapter()
    verdict = _VERDICT.format(head=head, none_usable=NONE_USABLE, none_admits=NONE_ADMITS)
    # each rule after the first that reads it
    parts = ["package pspc", "import rego.v1", verdict, _SELECTION, rego_library(families),
             _READING, adapter]
    return RegoSelection("\n\n".join(parts) + "\n")


# conftest's entry point (its default namespace, `main`): each document, and each item of a
# `kind: List`, through the pspc module
CONFTEST_MAIN = """\
package main

import rego.v1

deny contains msg if {
	input.kind != "List"
	some msg in data.pspc.deny
}

deny contains msg if {
	input.kind == "List"
	some index, item in input.items
	some reason in data.pspc.deny with input as item
	msg := sprintf("items[%d] (%s %s): %s", [index, object.get(item, "kind", ""),
		object.get(item, ["metadata", "name"], ""), reason])
}
"""


def rego_parameters(parameters: dict) -> str:
    """conftest's data: the policies, as the Gatekeeper Constraint carries them."""
    policies = json.dumps(parameters["policies"], indent="\t")
    return f"package pspc.parameters\n\nimport rego.v1\n\npolicies := {policies}\n"
