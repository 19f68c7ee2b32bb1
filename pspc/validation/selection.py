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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.validation import expr as e
from pspc.validation.cel import CelWriter
from pspc.validation.render import (
    CONTROLLER_TEMPLATES,
    HOISTED,
    cel_definitions,
    cel_violations,
    rego_module,
    rejection_prefix,
    source_lines,
    source_text,
)
from pspc.validation.requirements import Requirement
from pspc.workloads import CONTROLLER_GROUPS, WORKLOADS

SUPERUSER_GROUP = "system:masters"
SERVICE_ACCOUNT_USER = "system:serviceaccount:"
# The annotations the checks read (seccomp and AppArmor): an UPDATE that changes none of
# them and not the spec changes nothing that is checked.
CHECKED_ANNOTATIONS = (voc.SECCOMP_POD,)
CHECKED_ANNOTATION_PREFIXES = (voc.SECCOMP_CONTAINER_PREFIX, voc.APPARMOR_CONTAINER_PREFIX)
NONE_USABLE = "no PodSecurityPolicy-equivalent policy is usable by "
NONE_ADMITS = "no usable policy admits the pod"


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


def rego_identifiers(policies: Iterable[ir.Policy]) -> dict[str, str]:
    """Each policy's Rego package segment (a letter first)."""
    def form(name: str) -> str:
        ident = re.sub(r"[-.]", "_", name)
        return ident if ident[0].isalpha() else f"p_{ident}"
    return identifiers((p.name for p in policies), form)


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


def cel_usable(policy: ir.Policy) -> str:
    """Whether the requester or the pod's service account may use the policy."""
    terms = [f"variables.{CEL_SUPERUSER}"]
    for grant in grants(policy):
        who = ([_cel_in("names", grant.names, "n")] if grant.names else []) + (
            [_cel_in("groups", grant.groups, "g")] if grant.groups else [])
        either = who[0] if len(who) == 1 else "(" + " || ".join(who) + ")"
        if grant.namespaces is None:
            terms.append(either)
        elif len(grant.namespaces) == 1:
            terms.append(f"(request.namespace == {json.dumps(grant.namespaces[0])} && {either})")
        else:
            terms.append(f"(request.namespace in {json.dumps(list(grant.namespaces))} && "
                         f"{either})")
    return " || ".join(terms)


CEL_SUPERUSER = "superuser"


def _checked_annotation_cel(key: str) -> str:
    tests = [f"{key} == {json.dumps(k)}" for k in CHECKED_ANNOTATIONS] + [
        f"{key}.startsWith({json.dumps(p)})" for p in CHECKED_ANNOTATION_PREFIXES]
    return " || ".join(tests)


def _identity_variables(cel_writer: CelWriter) -> list[dict]:
    annotations = e.path(e.Var("obj"), "metadata", "annotations")
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
        {"name": "annotations", "expression": cel_writer.value(e.Keys(annotations))},
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
    """A `//` line per binding (its source), or one saying none binds the policy."""
    lines = [f"// {b.span.file}:{b.span.line} {source_text(sources, b.span)}".rstrip()
             for b in policy.bindings if b.span is not None]
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
    admitting, usable_names, rejections = [], [], []
    for policy in policies:
        ident = idents[policy.name]
        usable, violations = f"variables.usable_{ident}", f"variables.violations_{ident}"
        per_policy.extend([
            {"name": f"usable_{ident}",
             "expression": f"{_usable_comment(policy, lines)}\n{cel_usable(policy)}"},
            {"name": f"violations_{ident}", "expression": cel_violations(
                policy, checks(policy), cel_writer, lines, levels)},
        ])
        admitting.append(f"({usable} && size({violations}) == 0)")
        usable_names.append(f'{usable} ? {json.dumps(policy.name)} : ""')
        rejections.append(f'{usable} ? {json.dumps(rejection_prefix(policy, checks(policy)))} + '
                          f'{violations}.join("; ") : ""')
    # flat lists (filtered), not chains of `+`, which nest as deep as the policies are many
    variables = [*(cel_definitions(cel_writer) if policies else []),
                 *({"name": n, "expression": x} for n, x in levels.items()),
                 *_identity_variables(cel_writer), *per_policy,
                 {"name": "usable", "expression": _nonempty(usable_names, "name")}]
    expression = (f"variables.unchanged || [{', '.join(admitting)}].exists(admitted, admitted)"
                  if admitting else "variables.unchanged")
    none_usable = (f'"{NONE_USABLE}" + request.userInfo.username + " or service account " + '
                   'request.namespace + "/" + variables.serviceAccount + " in namespace " + '
                   "request.namespace")
    rejected = (f'"{NONE_ADMITS} (usable: " + variables.usable.join(", ") + "): " + '
                f'{_nonempty(rejections, "m")}.join("; ")')
    message = f"size(variables.usable) == 0 ? {none_usable} : {rejected}"
    return CelSelection(tuple(variables), expression, message)


# -- Rego (Gatekeeper, conftest) ------------------------------------------------------------

@dataclass(frozen=True)
class RegoSelection:
    """The selection module and one library module per policy (package -> source)."""

    main: str
    libraries: dict[str, str]


def _rego_set(values: Iterable[str]) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def _rego_usable(policy: ir.Policy) -> list[str]:
    name = json.dumps(policy.name)
    rules = []
    for grant in grants(policy):
        where = [] if grant.namespaces is None else (
            [f"_namespace == {json.dumps(grant.namespaces[0])}"] if len(grant.namespaces) == 1
            else [f"_namespace in {_rego_set(grant.namespaces)}"])
        for values, of in ((grant.names, "_names"), (grant.groups, "_groups")):
            if not values:
                continue
            test = (f"{json.dumps(values[0])} in {of}" if len(values) == 1
                    else f"count({_rego_set(values)} & {of}) > 0")
            if where:
                body = "\n".join(f"\t{line}" for line in (*where, test))
                rules.append(f"usable contains {name} if {{\n{body}\n}}")
            else:
                rules.append(f"usable contains {name} if {test}")
    return rules


_CHECKED_ANNOTATIONS_REGO = (
    "# the annotations the checks read: seccomp and AppArmor\n"
    "_checked_annotations(obj) := {k: v |\n"
    '\tsome k, v in object.get(obj, ["metadata", "annotations"], {})\n'
    "\t_checked_annotation(k)\n}\n\n" + "\n\n".join(
        [f"_checked_annotation(k) if k == {json.dumps(k)}" for k in CHECKED_ANNOTATIONS]
        + [f"_checked_annotation(k) if startswith(k, {json.dumps(p)})"
           for p in CHECKED_ANNOTATION_PREFIXES]))

_GATEKEEPER_IDENTITIES = """\
_pod := input.review.object

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


def _conftest_identities() -> str:
    templates = "\n".join(f'_pod := {path} if input.kind == "{kind}"'
                          for kind, path in CONTROLLER_TEMPLATES.items())
    table = ",\n".join(f"\t{json.dumps(k)}: {json.dumps(v)}" for k, v in _controllers().items())

    return f"""\
# The pod of a Pod, or the pod template of a workload.
_pod := input if input.kind == "Pod"

{templates}

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

_unchanged := false"""


def _controllers() -> dict[str, str]:
    return {kind: w.controller for kind, w in WORKLOADS.items() if kind in CONTROLLER_TEMPLATES}


_SHARED_IDENTITIES = """\
_service_account := name if {
	some key in ["serviceAccountName", "serviceAccount"]
	name := object.get(_pod, ["spec", key], "")
	name != ""
} else := "default"

# the user names and groups of the two identities PSP asks: the requester, and the pod's
# service account (without system:authenticated, as the PSP plugin asks it)
_names := {object.get(_requester, "username", ""),
	concat("", ["system:serviceaccount:", _namespace, ":", _service_account])}

_groups := {g | some g in object.get(_requester, "groups", [])} | {
	"system:serviceaccounts", concat("", ["system:serviceaccounts:", _namespace])}"""


def _name(policy: ir.Policy) -> str:
    return policy.name


def rego_selection(policies: list[ir.Policy], flavour: str,
                   checks: Callable[[ir.Policy], tuple[Requirement, ...]]) -> RegoSelection:
    """The `gatekeeper` (rule `violation`, package `pspc`, libraries `lib.pspc.<policy>`) or
    `conftest` (rule `deny`, package `pspc`, libraries `pspc.policies.<policy>`) flavour."""
    idents = rego_identifiers(policies)
    prefix = "lib.pspc" if flavour == "gatekeeper" else "pspc.policies"
    libraries = {f"{prefix}.{idents[p.name]}": rego_module(
        p, flavour, checks(p), package=f"{prefix}.{idents[p.name]}") for p in policies}
    head = ('violation contains {"msg": msg} if {' if flavour == "gatekeeper"
            else "deny contains msg if {")
    parts = ["package pspc", "\n".join(["import rego.v1", *(
        f"import data.{prefix}.{idents[p.name]}" for p in policies)])]
    parts.append("# PodSecurityPolicy's selection rule: the pod is admitted when a policy that "
                 "the requester\n# or the pod's service account may use admits it.")
    parts.append(_GATEKEEPER_IDENTITIES if flavour == "gatekeeper" else _conftest_identities())
    parts.append(_SHARED_IDENTITIES)
    parts.append(f"# every policy: members of {SUPERUSER_GROUP} may use them all\n"
                 f"_policies := {_rego_set(p.name for p in policies)}\n\n"
                 f'usable contains name if {{\n\t"{SUPERUSER_GROUP}" in object.get(_requester, '
                 '"groups", [])\n\tsome name in _policies\n}')
    for policy in policies:
        ident = idents[policy.name]
        name = json.dumps(policy.name)
        parts.append(f"# {policy.name}: who may use it (rbac/{policy.name}.yaml), and its "
                     "verdict\n" + "\n\n".join(_rego_usable(policy)))
        parts.append(f"rejections contains msg if {{\n\t{name} in usable\n"
                     f"\tsome msg in {ident}.reasons\n}}")
    # `else` stops at the first usable policy that admits the pod: the others' checks are
    # not evaluated (a set of admitting policies would evaluate every one)
    chain = "} else := ".join(
        f"{json.dumps(p.name)} if {{\n\t{json.dumps(p.name)} in usable\n"
        f"\tcount({idents[p.name]}.reasons) == 0\n" for p in sorted(policies, key=_name))
    parts.append("# the first usable policy, by name, that admits the pod\n"
                 f"admitted := {chain}}}")
    parts.append(
        f"{head}\n\tis_object(_pod)\n\tnot _unchanged\n\tcount(usable) == 0\n"
        f'\tmsg := concat("", ["{NONE_USABLE}", object.get(_requester, "username", ""),\n'
        '\t\t" or service account ", _namespace, "/", _service_account, " in namespace ", '
        "_namespace])\n}\n\n"
        f"{head}\n\tis_object(_pod)\n\tnot _unchanged\n\tcount(usable) > 0\n"
        "\tnot admitted\n"
        f'\tmsg := concat("", ["{NONE_ADMITS} (usable: ", concat(", ", sort(usable)), "): ",\n'
        '\t\tconcat("; ", sort(rejections))])\n}')
    return RegoSelection("\n\n".join(parts) + "\n", libraries)
