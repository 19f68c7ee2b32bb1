"""Prove that pspc can say exactly what an imported policy says.

The policy is written out in full (every intent stated, extending nothing), compiled and
checked like any source. Each diagnostic is reported at the PodSecurityPolicy field its
statement came from, and any field that would not come back identical is an error (E044):
import never loses a value silently.
"""

from __future__ import annotations

import re

from pspc.compiler import Options, compile_texts
from pspc.diagnostics import Diagnostics, Severity
from pspc.importing.psp import FIELDS
from pspc.importing.reader import FieldPath, describe, field_path
from pspc.manifests import Manifest, locate
from pspc.model import ir
from pspc.model.unparse import one_line, policy_lines, statements

SOURCE = "<imported policy>"
BINDING_WARNINGS = ("W101", "W102")  # bindings are recovered separately


def compile_text(text: str, diags: Diagnostics) -> dict[str, ir.Policy]:
    """The policies of one source text, checked, by name ({} when it does not parse)."""
    build = compile_texts({SOURCE: text}, Options(targets=()), diags)
    return {} if build.program is None else {p.name: p for p in build.program.policies}


PSP_INTENTS = tuple(f for f in ir.INTENT_FIELDS if f not in ir.BEYOND_PSP)
"""The intents a PodSecurityPolicy states; import compares policies on these. (The others,
ir.BEYOND_PSP, a PodSecurityPolicy cannot say: an imported policy inherits them from the
stdlib policy it extends, and the validating targets enforce them.)"""


def intents(policy: ir.Policy) -> dict[str, object]:
    return {name: getattr(policy, name) for name in PSP_INTENTS}


def _full_source(policy: ir.Policy) -> tuple[str, dict[int, str]]:
    """The policy with every intent stated, and the IR field behind each line."""
    lines, fields = [f"policy {policy.name} {{"], {1: "name"}
    for field, statement_lines in policy_lines(policy):
        for line in statement_lines:
            lines.append(line)
            fields[len(lines)] = field
    lines.append("}")
    return "\n".join(lines) + "\n", fields


def _entry(manifest: Manifest, path: FieldPath, message: str) -> FieldPath:
    """The list entry a message names (`...`), when the field is a list holding it."""
    named = re.search(r"`([^`]*)`", message)
    value = manifest.object
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if named and isinstance(value, list):
        for i, entry in enumerate(value):
            if entry == named[1] or isinstance(entry, dict) and named[1] in entry.values():
                return path + (i,)
    return path


def _at(path: FieldPath) -> str:
    return f"{field_path(path)}: " if path else ""


def _statement_text(policy: ir.Policy, field: str) -> str:
    return "; ".join(one_line(p) for f, p in statements(policy) if f == field) or "nothing"


def verify(policy: ir.Policy, manifest: Manifest, diags: Diagnostics) -> bool:
    """Whether the policy compiles back to itself; each problem is reported at its field."""
    local = Diagnostics()
    text, fields = _full_source(policy)
    compiled = compile_text(text, local).get(policy.name)
    for diagnostic in local.items:
        if diagnostic.code in BINDING_WARNINGS:
            continue
        span = diagnostic.span
        field = fields.get(span.line, "name") if span and span.file == SOURCE else "name"
        path = _entry(manifest, FIELDS.get(field, ()), diagnostic.message)
        report = diags.error if diagnostic.severity is Severity.ERROR else diags.warning
        report(diagnostic.code, f"{describe(manifest)}: {_at(path)}{diagnostic.message}",
               locate(manifest, path), help=diagnostic.help)
    if local.has_errors:
        return False
    if compiled is None:  # pragma: no cover - a policy that compiles without errors exists
        raise AssertionError(f"{policy.name} vanished when compiled")
    same = True
    for field, value in intents(policy).items():
        if getattr(compiled, field) != value:
            same = False
            path = FIELDS.get(field, ())
            diags.error("E044", f"{describe(manifest)}: {_at(path)}pspc cannot represent "
                        "this value exactly (it would read it back as "
                        f"`{_statement_text(compiled, field)}`)", locate(manifest, path))
    return same
