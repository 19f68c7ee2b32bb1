"""The parser's fast paths against Lark's stock ones, with Lark as the oracle.

pspc.syntax.lexer.FastContextualLexer must give the tokens (types, text, positions), comments
and errors of Lark's ContextualLexer, except that a keyword ends where a word does (Lark's
reads a keyword that starts a longer word, and lexes the rest as another token); the AST
built while parsing (keep_all_tokens, no parse tree) must give every node the span Lark's
propagate_positions gives the same rule. Checked on every source of the repository and on
derandomized mutations of them, errors included.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pspc.diagnostics import Diagnostics, Span
from pspc.resources import resource_dir
from pspc.syntax import ast
from pspc.syntax.lexer import FastContextualLexer
from pspc.syntax.parser import parse_text

SOURCES = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8")
           for p in sorted(REPO.glob("**/*.pspc")) if "outputs" not in p.parts}
VOCABULARY = ("policy", "bind", "to", "in", "namespace", "allow", "deny", "any", "none", "if",
              "set", "run", "as", "user", "host", "ports", "read-only", "non-root", "force",
              "1..2", "..", "-3", ",", "{", "}", '"a b"', '"', "#", "\n", "\t", "\r\n", "\f",
              "\v", "\u00a0", "v1.30", "latest", "enforce", "ü", "")
SETTINGS = settings(derandomize=True, deadline=None, database=None, max_examples=1000,
                    suppress_health_check=[HealthCheck.too_slow])


def _lark(**options) -> tuple[Lark, list[Token]]:
    comments: list[Token] = []
    grammar = (resource_dir("grammar") / "pspc.lark").read_text(encoding="utf-8")
    lark = Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False,
                lexer_callbacks={"COMMENT": comments.append}, **options)
    return lark, comments


STOCK = _lark(keep_all_tokens=True)
FAST = _lark(keep_all_tokens=True, _plugins={"ContextualLexer": FastContextualLexer})
POSITIONS = _lark(propagate_positions=True)  # as pspc parsed before it built the AST inline


def _token(token: Token | None) -> tuple | None:
    if token is None:
        return None
    return (token.type, token.value, token.start_pos, token.line, token.column,
            token.end_line, token.end_column, token.end_pos)


def _outcome(parser: tuple[Lark, list[Token]], text: str):
    """Every token (positions included) and comment of a parse, or what its error says (its
    sets as sets: str(exc) lists them in the order of the set, which may differ)."""
    lark, comments = parser
    comments.clear()
    try:
        tree = lark.parse(text)
    except UnexpectedInput as exc:
        found = exc.token if isinstance(exc, UnexpectedToken) else None
        allowed = exc.allowed if isinstance(exc, UnexpectedCharacters) else None
        return (type(exc).__name__, exc.line, exc.column, _token(found),
                getattr(exc, "expected", None), getattr(exc, "accepts", None), allowed,
                [_token(t) for t in exc.token_history or ()], exc.get_context(text))
    tokens = [_token(t) for t in tree.scan_values(lambda v: isinstance(v, Token))]
    return tokens, [_token(t) for t in comments]


@st.composite
def mutated(draw) -> str:
    """A source with a few spans replaced by words, blanks or marks, perhaps cut short."""
    text = draw(st.sampled_from(sorted(SOURCES.values())))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 12))
        text = text[:at] + draw(st.sampled_from(VOCABULARY)) + text[at + cut:]
    return text[:draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


@pytest.mark.parametrize("name", SOURCES)
def test_fast_lexer_gives_lark_tokens_on_every_source(name):
    assert _outcome(FAST, SOURCES[name]) == _outcome(STOCK, SOURCES[name])


KEYWORDS = {t.pattern.value for t in STOCK[0].terminals
            if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z][A-Za-z-]*", t.pattern.value)}
RUN = re.compile(r'[^\s,{}"#]+')  # the text of a WORD: where a keyword must end


def _longer_words(text: str) -> list[str]:
    """The runs of word characters that start with a keyword and go on."""
    return [m.group() for m in RUN.finditer(text)
            if any(m.group().startswith(k) and m.group() != k for k in KEYWORDS)]


def _tokens(outcome) -> list[tuple]:
    if isinstance(outcome[0], str):  # an error: the tokens it names
        return [t for t in (outcome[3], *outcome[7]) if t is not None]
    return outcome[0]


@SETTINGS
@given(mutated())
def test_fast_lexer_gives_lark_tokens_and_errors_on_mutated_sources(text):
    fast = _outcome(FAST, text)
    if not _longer_words(text):
        assert fast == _outcome(STOCK, text)
    for kind, value, start, *_, end in _tokens(fast):
        if value in KEYWORDS and kind != "WORD":  # a keyword is never a word's prefix
            assert not RUN.match(text, end), (value, text[start:end + 5])


@pytest.mark.parametrize(("text", "word", "lark_accepts"), [
    ("policy a extends restricted {}\nbind a to service accounts in namespaces\n",
     "namespaces", True),
    ("policy a extends restricted {}\nbind a to groupdevs\n", "groupdevs", True),
    ("policy a extends restricted {\n  deny privilegedx\n}\n", "privilegedx", False),
    ("policyx a {}\n", "policyx", False),
])
def test_a_keyword_that_starts_a_longer_word_is_that_word(text, word, lark_accepts):
    """Lark's lexer reads `namespaces` as `namespace` and a namespace `s` (a binding in the
    wrong namespace, without an error), `privilegedx` as `privileged` and an unexpected
    `x`; the word is refused where it stands."""
    stock = _outcome(STOCK, text)
    assert isinstance(stock[0], list) == lark_accepts and stock != _outcome(FAST, text)
    kind, line, column, token, *_ = _outcome(FAST, text)
    assert (kind, token[:2]) == ("UnexpectedToken", ("WORD", word))
    diags = Diagnostics()
    assert parse_text(text, "p.pspc", diags) is None
    (error,) = diags.items
    assert error.message == f"syntax error: unexpected `{word}`"
    assert (error.span.line, error.span.column) == (line, column)


def _where(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.end_line, span.end_column)


_NODES = {ast.PolicyDecl: "policy", ast.BindingDecl: "binding",
          ast.NamespaceDecl: "namespace_decl", ast.IdRange: "id_range", ast.Word: "word"}
SUBJECTS = ("user", "group", "service_account", "namespace_service_accounts",
            "all_service_accounts")
WORDS = ("name", "word", "host_namespace")  # the rules that make an ast.Word


def _ast_spans(value, into: list) -> list:
    """(rule, span) of every node of an AST that has a span, in any order."""
    if isinstance(value, tuple):
        for item in value:
            _ast_spans(item, into)
    elif dataclasses.is_dataclass(value):
        if hasattr(value, "span"):
            kind = getattr(value, "kind", None) or _NODES[type(value)]
            into.append((kind, _where(value.span)))
        for field in dataclasses.fields(value):
            if field.name == "force_span" and value.force_span is not None:
                into.append(("psa_force", _where(value.force_span)))
            elif field.name != "span":
                _ast_spans(getattr(value, field.name), into)
    return into


def _tree_spans(tree: Tree, into: list) -> list:
    """(rule, span) of the same nodes in Lark's tree, spans from propagate_positions."""
    for node in tree.iter_subtrees():
        rule, meta = str(node.data), node.meta
        if (rule in WORDS or rule in _NODES.values() or rule in SUBJECTS
                or rule in ast.STATEMENTS or rule == "psa_force"):
            kind = "word" if rule in WORDS else rule
            into.append((kind, (meta.line, meta.column, meta.end_line, meta.end_column)))
        if rule in ast.STATEMENTS:  # quoted strings and versions are words of the statement
            into.extend(("word", (t.line, t.column, t.end_line, t.end_column))
                        for t in node.children
                        if isinstance(t, Token) and t.type in ("STRING", "PSS_VERSION"))
    return into


@pytest.mark.parametrize("name", SOURCES)
def test_ast_spans_are_lark_propagated_positions(name):
    text = SOURCES[name]
    parsed = parse_text(text, name, Diagnostics())
    expected = sorted(_tree_spans(POSITIONS[0].parse(text), []))
    assert sorted(_ast_spans(parsed.items, [])) == expected
    assert expected
