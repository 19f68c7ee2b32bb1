"""Assemble a policy's checks into CEL (VAP, Kyverno), and name the pod templates of the
workloads that conftest reads.

The checks are the policy's requirements: its check families partially evaluated with its
values (pspc.validation.partial); only the way a check is quantified (over the pod, its
containers or its volumes) and worded is decided here. The Rego and the Gatekeeper
template's CEL render the families themselves (pspc.validation.selection, .library_cel).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import NamedTuple

from pspc.diagnostics import Span
from pspc.model import ir
from pspc.validation import cel
from pspc.validation import expr as e
from pspc.validation.partial import specialise
from pspc.validation.requirements import (
    _POD_SECCOMP,
    PSC,
    SPEC,
    C,
    Requirement,
    V,
    _profile_of,
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
# -- CEL --------------------------------------------------------------------------------------

# Pod-level derivations that several checks (of one policy or of several) read: each is
# defined once, as a variable named for what it holds (pspc.validation.cel.CelWriter); a
# derivation comes after those it reads. Keyed by their partially evaluated form, the form
# the checks have here.
HOISTED: dict[e.Expr, str] = {specialise(node, {}): name for node, name in (
    (_profile_of(PSC / "seccompProfile"), "podSeccompFieldProfile"),
    (_POD_SECCOMP, "podSeccompProfile"),
    (_profile_of(PSC / "appArmorProfile"), "podAppArmorFieldProfile"),
    (_windows(), "windowsPod"),
    (_user_namespace(), "userNamespace"),
)}
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
    return _LEVEL_NOTE.sub("", check.requirement)


def rejection_prefix(policy: ir.Policy, checks: tuple[Requirement, ...]) -> str:
    """What leads the policy's messages: its name, and the level it states, if any."""
    for check in checks:
        found = _LEVEL_NOTE.search(check.requirement)
        if found:
            return f"{policy.name} (Pod Security Standards {found.group(1)}): "
    return f"{policy.name}: "


# The variable of a pod check over each item of a list whose items a message names, one by
# one, when they fail it: each sysctl (pspc.validation.requirements, .standards).
_NAMED_ITEMS = ("sysctl",)


def _named_items(check: Requirement) -> e.All | None:
    ok = check.ok
    if check.scope == "pod" and isinstance(ok, e.All) and ok.var.name in _NAMED_ITEMS:
        return ok
    return None


def _offenders(ok: e.All, cel_writer: cel.CelWriter) -> str:
    """The messages naming the items of `ok`'s list that fail it (`pod sysctl a.b ...`)."""
    var = ok.var.name
    name = cel_writer.value(e.Val(e.path(ok.var, "name"), e.Lit("")))
    return (f"{cel_writer.value(ok.items)}.filter({var}, {cel_writer.condition(e.not_(ok.body))})"
            f'.map({var}, "pod {var} " + {name} + " is not allowed")')


def _once(cel_writer: cel.CelWriter, key: tuple, render: Callable[[], str]) -> str:
    """`render()`, or the text it gave for the same key with this writer: a requirement's
    text depends only on its key (family and values) and its wording, which many policies
    share."""
    found = cel_writer.rendered.get(key)
    if found is None:
        found = cel_writer.rendered[key] = render()
    return found


def _cel_message(check: Requirement, cel_writer: cel.CelWriter, subject: str) -> str:
    """The message of `check` for the pod, or for one container or volume, "" when it
    passes (`subject` leads a pod's); a check of each sysctl names those that fail."""
    return _once(cel_writer, ("message", check.key, check.requirement, subject),
                 lambda: _render_message(check, cel_writer, subject))


def _render_message(check: Requirement, cel_writer: cel.CelWriter, subject: str) -> str:
    named = _named_items(check)
    if named is not None:
        return f'{_offenders(named, cel_writer)}.join("; ")'
    return f"{cel_writer.condition(check.ok)} ? \"\" : {json.dumps(subject + _wording(check))}"


def _one_failure(check: Requirement, cel_writer: cel.CelWriter) -> str:
    """The messages of one check (none when the pod passes): one per failing container
    or volume, naming it, or one for the pod."""
    return _once(cel_writer, ("failures", check.key, check.requirement),
                 lambda: _render_failures(check, cel_writer))


def _render_failures(check: Requirement, cel_writer: cel.CelWriter) -> str:
    named = _named_items(check)
    if named is not None:
        return _offenders(named, cel_writer)
    if check.scope == "pod":
        return f"({cel_writer.condition(check.ok)} ? [] : [{json.dumps('pod ' + _wording(check))}])"
    var = C if check.scope == "container" else V
    tail = json.dumps(f" {_wording(check)}")
    return (f"{_scope_items(check.scope, cel_writer)}.filter({var.name}, "
            f"{cel_writer.condition(e.not_(check.ok))})"
            f'.map({var.name}, "{check.scope} " + {var.name}.name + {tail})')


def _scope_items(scope: str, cel_writer: cel.CelWriter) -> str:
    if scope == "container":
        return cel_writer.value(e.Containers(SPEC))
    return cel_writer.value(e.Items(e.path(SPEC, "volumes")))


def _cited(entries: list[tuple[str | None, Requirement]], render) -> list[str]:
    """One line per check (`render(check)`), each group of checks of one statement under
    the comment citing it."""
    lines, cited = [], None
    for comment, check in entries:
        if comment != cited and comment:
            lines.append(comment)
        cited = comment
        lines.append(render(check))
    return lines


def _scope_failures(scope: str, entries: list[tuple[str | None, Requirement]],
                    cel_writer: cel.CelWriter) -> str:
    """The messages of the checks of one scope. One check is a filter (the failing
    containers or volumes) or a ternary; several are a list of messages, "" for a check
    that passes, written once for the pod, or once for each container or volume, whose
    messages name it."""
    if len(entries) == 1:
        ((comment, check),) = entries
        return "\n".join(filter(None, (comment, _one_failure(check, cel_writer))))
    subject = "pod " if scope == "pod" else ""
    lines = _cited(entries, lambda check: _cel_message(check, cel_writer, subject) + ",")
    lines[-1] = lines[-1].removesuffix(",")
    listed = "\n".join(f"  {line}" for line in lines) + '\n].filter(m, m != "")'
    if scope == "pod":
        return f"[\n{listed}"
    var = C.name if scope == "container" else V.name
    return (f"{_scope_items(scope, cel_writer)}.map({var}, [\n{listed}"
            f'.map(m, "{scope} " + {var}.name + " " + m).join("; ")).filter(m, m != "")')


_SCOPES = ("pod", "container", "volume")


def _failure_list(entries: list[tuple[str | None, Requirement]], cel_writer: cel.CelWriter) -> str:
    """The messages of the checks (each with the comment citing it) that the pod fails, a
    list of strings: the pod's, then the containers', then the volumes'. Each scope is one
    term of a sum of at most three lists (a sum per check would nest as deep as the checks
    are many)."""
    terms = [_scope_failures(scope, found, cel_writer) for scope in _SCOPES
             if (found := [(c, check) for c, check in entries if check.scope == scope])]
    return " +\n".join(terms) or "[]"


def _level_label(checks: list[Requirement]) -> str:
    """The level and version the checks of a level name (`restricted v1.30`)."""
    found = _LEVEL_NOTE.search(checks[0].requirement)
    return found.group(1) if found else "level"


def level_variable(checks: list[Requirement]) -> str:
    """The variable that holds a level's failed controls (`pss_restricted_v1_30_violations`)."""
    return "pss_" + re.sub(r"[^a-z0-9]+", "_", _level_label(checks).lower()) + "_violations"


def cel_violations(policy: ir.Policy, checks: tuple[Requirement, ...],
                   cel_writer: cel.CelWriter, sources: dict[str, list[str]],
                   levels: dict[str, str], shared: bool = True) -> str:
    """The policy's checks in CEL: the messages of those the pod fails (empty: the policy
    admits it), one for each failed check of the pod and one for each container or volume
    that fails some (pspc.validation.render._failure_list). Each check is written once, one
    per line, under a `//` comment citing the source line that asks for it (checks of one
    statement share it); the checks of intents left at their defaults come last in their
    scope, under one comment.

    The controls of a Pod Security Standards level are the same for every policy that
    states the level at one version: where several policies read them (`shared`), they go
    to `levels` (variable name -> expression), defined once, and the policy reads that
    variable; else the policy's own variable holds them."""
    level = [c for c in checks if c.intent == INTENT]
    stated = [c for c in checks if c.intent != INTENT and c.intent in policy.origins]
    defaults = [c for c in checks if c.intent != INTENT and c.intent not in policy.origins]
    by_default = {s: [c.intent for c in defaults if c.scope == s] for s in _SCOPES}
    own = _failure_list(
        [(origin_comment(policy, c.intent, sources), c) for c in stated]
        + [(defaults_comment(policy, by_default[c.scope]), c) for c in defaults], cel_writer)
    if not level:
        return own
    def controls_text() -> str:
        return (f"// the controls of Pod Security Standards {_level_label(level)} that the "
                f"pod fails\n{_failure_list([(None, c) for c in level], cel_writer)}")

    if shared:
        name = level_variable(level)
        if name not in levels:
            levels[name] = controls_text()
        controls = f"variables.{name}"
    else:
        controls = controls_text()
    reads = controls + ("" if own == "[]" else f" +\n{own}")
    return f"{origin_comment(policy, INTENT, sources)}\n{reads}"


def cel_definitions(cel_writer: cel.CelWriter) -> list[dict]:
    """The variables every policy's CEL reads: the containers, the annotations if read, and
    the hoisted derivations the writer has used, in HOISTED's order (a derivation after
    those it reads)."""
    variables = [{"name": cel.CONTAINERS_VARIABLE, "expression": cel_writer.containers()}]
    for node, name in reversed(HOISTED.items()):  # a definition marks those it reads used
        if name in cel_writer.used:
            cel_writer.definition(node)
    if cel.ANNOTATIONS_VARIABLE in cel_writer.used:
        plain = cel.CelWriter(cel_writer.optionals)  # the read itself, not the variable
        variables.append({"name": cel.ANNOTATIONS_VARIABLE,
                          "expression": plain.value(cel_writer.used[cel.ANNOTATIONS_VARIABLE])})
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
    violations = cel_violations(policy, checks, cel_writer, source_lines(sources or {}), {},
                                shared=False)
    variables = [*cel_definitions(cel_writer), {"name": "violations", "expression": violations}]
    message = f'{json.dumps(rejection_prefix(policy, checks))} + variables.violations.join("; ")'
    return variables, [CelValidation("size(variables.violations) == 0", message)]
