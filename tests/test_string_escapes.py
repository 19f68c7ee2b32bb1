"""Language additions for lossless import: string escapes, empty descriptions, keyword-like
words and `bind` statements written back from the IR."""

from __future__ import annotations

import pytest

from pspc.diagnostics import Diagnostics
from pspc.formatter import format_source, quote
from pspc.model import ir, unparse
from pspc.model.resolve import compile_files
from pspc.syntax.parser import parse_text
from pspc.targets import psp as psp_target


def compile_one(text: str) -> ir.Policy:
    diags = Diagnostics()
    program = compile_files([parse_text(text, "t.pspc", diags)], diags)
    assert not diags.has_errors, [d.message for d in diags.items]
    return program.policies[0]


@pytest.mark.parametrize(("source", "text"), [
    (r'"a\nb"', "a\nb"),
    (r'"tab\there"', "tab\there"),
    (r'"cr\r"', "cr\r"),
    (r'"\"q\" \\ \x"', '"q" \\ x'),  # any other escaped character stands for itself
    (r'"\\n"', "\\n"),
])
def test_strings_read_escapes(source, text):
    policy = compile_one(f"policy p extends restricted {{\n  description {source}\n}}\n")
    assert policy.description == text


@pytest.mark.parametrize("text", ["a\nb", "x\\ny", 'q"', "\t\r", "\\", "", "ünï # {x}, y"])
def test_quote_round_trips_every_string(text):
    policy = compile_one(f"policy p extends restricted {{\n  description {quote(text)}\n}}\n")
    assert policy.description == text


def test_quote_writes_control_characters_as_escapes():
    assert quote("line one\nline two\ttab\r") == r'"line one\nline two\ttab\r"'


def test_formatting_keeps_escapes():
    text = 'policy p extends restricted {\n  annotation "k" "a\\nb \\"c\\""\n}\n'
    diags = Diagnostics()
    assert format_source(parse_text(text, "t.pspc", diags)) == text
    assert compile_one(text).annotations == (("k", 'a\nb "c"'),)


def test_multi_line_description_reaches_the_psp():
    policy = compile_one('policy p extends restricted {\n  description "one\\ntwo"\n}\n')
    assert psp_target.annotations(policy)["kubernetes.io/description"] == "one\ntwo"


def test_empty_description_is_an_empty_annotation():
    policy = compile_one('policy p extends restricted {\n  description ""\n}\n')
    assert psp_target.annotations(policy)["kubernetes.io/description"] == ""
    plain = compile_one("policy p extends restricted {}\n")
    assert "kubernetes.io/description" not in psp_target.annotations(plain)


@pytest.mark.parametrize(("field", "statement"), [
    ("allowed_capabilities", 'allow capabilities "any", CHOWN'),
    ("allowed_unsafe_sysctls", 'allow unsafe sysctls "none"'),
])
def test_words_named_like_keywords_are_written_quoted(field, statement):
    policy = compile_one(f"policy p extends baseline {{\n  {statement}\n}}\n")
    written = dict(unparse.statements(policy))[field]
    head, items, _ = written
    assert all(item.startswith('"') for item in items if item.strip('"') in ("any", "none"))
    again = compile_one("policy p extends baseline {\n  " + head + " " + ", ".join(items)
                        + "\n}\n")
    assert getattr(again, field) == getattr(policy, field)


def test_host_namespaces_are_grouped_by_verdict():
    assert unparse.host_namespaces({"network": True, "pid": True, "ipc": True}) == [
        ("allow host", ["namespaces"], "")]
    assert unparse.host_namespaces({"network": True, "ipc": False, "pid": False}) == [
        ("allow host", ["network"], ""), ("deny host", ["pid", "ipc"], "")]


def test_bind_statements_give_back_the_bindings():
    sa = ir.Subject("ServiceAccount", "importer", "batch")
    bindings = [
        ir.Binding(ir.Subject("Group", "system:serviceaccounts"), None),
        ir.Binding(sa, None),
        ir.Binding(ir.Subject("Group", "system:serviceaccounts:research"), "research"),
        ir.Binding(ir.Subject("User", "Jane Doe"), "dev"),
        ir.Binding(ir.Subject("User", "Jane Doe"), "staging"),
        ir.Binding(ir.Subject("Group", "system:serviceaccounts"), "default"),
    ]
    lines = [line for block in unparse.binding_lines("p", bindings) for line in block]
    assert lines == [
        "bind p to all service accounts, service account batch/importer",
        "bind p to service accounts in namespace research",
        "bind p to group system:serviceaccounts in namespace default",
        'bind p to user "Jane Doe" in namespaces dev, staging',
    ]
    policy = compile_one("policy p extends restricted {}\n" + "\n".join(lines) + "\n")
    assert set(policy.bindings) == set(bindings)
