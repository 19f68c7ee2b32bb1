"""Assemble a policy's checks into Rego modules and CEL validations.

Both renderings come from the same Requirement list; only the way a check is quantified (over
the pod, its containers or its volumes) and worded is decided here.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from pspc.diagnostics import Span
from pspc.model import ir
from pspc.validation import cel
from pspc.validation import expr as e
from pspc.validation.rego import CONTAINERS_FUNCTION, RegoWriter, violation
from pspc.validation.requirements import (
    PSC,
    SPEC,
    C,
    Requirement,
    V,
    _profile_of,
    _seccomp_profiles,
    requirements,
)
from pspc.validation.standards import INTENT, _user_namespace, _windows

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


# -- CEL --------------------------------------------------------------------------------------

_POD_SECCOMP, _ = _seccomp_profiles()
# Pod-level derivations that several checks (of one policy or of several) read: each is
# defined once, as a variable named for what it holds (pspc.validation.cel.CelWriter); a
# derivation comes after those it reads.
HOISTED: dict[e.Expr, str] = {
    _profile_of(PSC / "seccompProfile"): "podSeccompFieldProfile",
    _POD_SECCOMP: "podSeccompProfile",
    _profile_of(PSC / "appArmorProfile"): "podAppArmorFieldProfile",
    _windows(): "windowsPod",
    _user_namespace(): "userNamespace",
}
_HOISTED_NOTES = {
    "windowsPod": "a Windows pod (spec.os.name), exempt from some Pod Security Standards "
                  "controls",
    "userNamespace": "the pod runs in its own user namespace (hostUsers: false), which "
                     "relaxes some Pod Security Standards controls",
    "podSeccompFieldProfile": "the pod's seccompProfile field, as its annotation value",
    "podSeccompProfile": "the pod's seccomp profile: its annotation, else its field "
                         "(docs/psp-admission.md#seccomp)",
    "podAppArmorFieldProfile": "the pod's appArmorProfile field, as its annotation value",
}


_COMMENT = re.compile(r"\s*#[^\"]*$")


def source_lines(sources: dict[str, str]) -> dict[str, list[str]]:
    """Each source text as its lines, split once for all the citations of a build."""
    return {name: text.splitlines() for name, text in sources.items()}


def source_text(sources: dict[str, list[str]], span: Span) -> str:
    """The source lines of a statement (`sources`: pspc.validation.render.source_lines),
    on one line: whitespace collapsed, a trailing `#` comment dropped."""
    lines = sources.get(span.file, [])[span.line - 1:span.end_line]
    return " ".join(" ".join(_COMMENT.sub("", line) for line in lines).split())


def origin_comment(policy: ir.Policy, intent: str, sources: dict[str, list[str]]) -> str:
    """`// FILE:LINE STATEMENT`: the statement that asks for `intent` (stated by the policy
    or a policy it extends), else the policy's own line (defaults_comment)."""
    origin = policy.origins.get(intent)
    if origin is None:
        return defaults_comment(policy, [intent])
    text = source_text(sources, origin.span) or intent
    return f"// {origin.span.file}:{origin.span.line} {text}"


def defaults_comment(policy: ir.Policy, intents: list[str]) -> str:
    """`// FILE:LINE policy NAME, by default: ...`: intents no statement sets, whose closed
    default (PodSecurityPolicy's) the policy keeps, cited at the policy's own line."""
    return (f"// {policy.span.file}:{policy.span.line} policy {policy.name}, by default: "
            + ", ".join(dict.fromkeys(intents)))


# How pspc.validation.standards ends the wording of a level's requirement.
_LEVEL_NOTE = re.compile(r" \(Pod Security Standards ([^:()]+): ([^()]+)\)$")


def _wording(check: Requirement) -> str:
    """What a check requires, for a CEL message: a level's requirement names its control
    only, the level and version being said once (rejection_prefix)."""
    return _LEVEL_NOTE.sub(r" (\2)", check.requirement)


def rejection_prefix(policy: ir.Policy, checks: tuple[Requirement, ...]) -> str:
    """What leads the policy's messages: its name, and the level it states, if any."""
    for check in checks:
        found = _LEVEL_NOTE.search(check.requirement)
        if found:
            return f"{policy.name} (Pod Security Standards {found.group(1)}): "
    return f"{policy.name}: "


def _cel_failures(check: Requirement, cel_writer: cel.CelWriter) -> str:
    """The messages of `check` for a pod (none when it passes): one per failing container
    or volume, naming it, or one for the pod."""
    violated = cel_writer.condition(e.not_(check.ok))
    tail = json.dumps(f" {_wording(check)}")
    if check.scope == "container":
        return (f"{cel_writer.value(e.Containers(SPEC))}.filter({C.name}, {violated})"
                f'.map({C.name}, "container " + {C.name}.name + {tail})')
    if check.scope == "volume":
        return (f"{cel_writer.value(e.Items(e.path(SPEC, 'volumes')))}"
                f'.filter({V.name}, {violated}).map({V.name}, "volume " + {V.name}.name + {tail})')
    return f"({cel_writer.condition(check.ok)} ? [] : [{json.dumps('pod ' + _wording(check))}])"


def _failure_list(lines: list[str]) -> str:
    """Items (each a list of messages) and their comment lines as one flat list of the
    failed checks' messages; flat, as a chain of `+` would nest as deep as the checks are
    many."""
    if not lines:
        return "[]"
    lines[-1] = lines[-1].removesuffix(",")
    return "[\n" + "\n".join(lines) + '\n].map(check, check.join("; ")).filter(m, m != "")'


def _level_label(checks: list[Requirement]) -> str:
    """The level and version the checks of a level name (`restricted v1.30`)."""
    found = _LEVEL_NOTE.search(checks[0].requirement)
    return found.group(1) if found else "level"


def level_variable(checks: list[Requirement]) -> str:
    """The variable that holds a level's failed controls (`pss_restricted_v1_30_violations`)."""
    return "pss_" + re.sub(r"[^a-z0-9]+", "_", _level_label(checks).lower()) + "_violations"


def cel_violations(policy: ir.Policy, checks: tuple[Requirement, ...],
                   cel_writer: cel.CelWriter, sources: dict[str, list[str]],
                   shared: dict[str, str]) -> str:
    """The policy's checks in CEL: the messages of those the pod fails (empty: the policy
    admits it), one per failed check. Each check is written once, one per line, under a `//`
    comment citing the source line that asks for it (checks of one statement share it);
    the checks of intents left at their defaults come last, under one comment.

    The controls of a Pod Security Standards level are the same for every policy that
    states the level at one version: they go to `shared` (variable name -> expression),
    defined once, and the policy reads that variable."""
    level = [c for c in checks if c.intent == INTENT]
    stated = [c for c in checks if c.intent != INTENT and c.intent in policy.origins]
    defaults = [c for c in checks if c.intent != INTENT and c.intent not in policy.origins]
    lines, cited = [], None
    for check in stated:
        comment = origin_comment(policy, check.intent, sources)
        if comment != cited:
            lines.append(f"  {comment}")
            cited = comment
        lines.append(f"  {_cel_failures(check, cel_writer)},")
    if defaults:
        lines.append(f"  {defaults_comment(policy, [c.intent for c in defaults])}")
        lines.extend(f"  {_cel_failures(c, cel_writer)}," for c in defaults)
    own = _failure_list(lines)
    if not level:
        return own
    name = level_variable(level)
    if name not in shared:
        controls = [f"  {_cel_failures(c, cel_writer)}," for c in level]
        shared[name] = (f"// the controls of Pod Security Standards {_level_label(level)} "
                        f"that the pod fails\n{_failure_list(controls)}")
    reads = f"variables.{name}" + ("" if own == "[]" else f" + {own}")
    return f"{origin_comment(policy, INTENT, sources)}\n{reads}"


def cel_definitions(cel_writer: cel.CelWriter) -> list[dict]:
    """The variables every policy's CEL reads: the containers, and the hoisted derivations
    the writer has used, in HOISTED's order (a derivation after those it reads)."""
    variables = [{"name": cel.CONTAINERS_VARIABLE, "expression": cel_writer.containers()}]
    for node, name in reversed(HOISTED.items()):  # a definition marks those it reads used
        if name in cel_writer.used:
            cel_writer.definition(node)
    for node, name in HOISTED.items():
        if name in cel_writer.used:
            variables.append({"name": name, "expression": (
                f"// {_HOISTED_NOTES[name]}\n{cel_writer.definition(node)}")})
    return variables


class CelValidation(NamedTuple):
    """A validation: when the pod passes, and the message when it does not."""

    expression: str
    message_expression: str


def cel_program(policy: ir.Policy, optionals: bool = False,
                checks: tuple[Requirement, ...] | None = None,
                sources: dict[str, str] | None = None
                ) -> tuple[list[dict], list[CelValidation]]:
    """One policy's CEL alone (for its engine, pspc.engines.validators.CelEngine): the
    variables, the last of them `violations`, and the validation that it is empty."""
    cel_writer = cel.CelWriter(optionals, HOISTED)
    checks = tuple(requirements(policy)) if checks is None else checks
    shared: dict[str, str] = {}
    violations = cel_violations(policy, checks, cel_writer, source_lines(sources or {}), shared)
    variables = [*cel_definitions(cel_writer),
                 *({"name": n, "expression": x} for n, x in shared.items()),
                 {"name": "violations", "expression": violations}]
    message = f'{json.dumps(rejection_prefix(policy, checks))} + variables.violations.join("; ")'
    return variables, [CelValidation("size(variables.violations) == 0", message)]
