"""Robustness: mutated sources and random bytes never crash pspc; every problem is a located
Diagnostic. Derandomized, so a failure reproduces on every run."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from click.testing import CliRunner
from conftest import EXAMPLES, REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pspc.cli import main
from pspc.diagnostics import Diagnostics, render
from pspc.formatter import format_source
from pspc.model.lint import lint_policies
from pspc.model.resolve import compile_files, stdlib_sources
from pspc.syntax.parser import parse_text, read_source

PATH = "fuzz.pspc"
SEEDS = tuple(p.read_text(encoding="utf-8") for p in sorted(
    [*EXAMPLES.glob("*/policies.pspc"), *(REPO / "stdlib").glob("*.pspc")]))
TOKEN = re.compile(r'\s+|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[,{}]|[^\s,{}"#]+|.', re.S)
VOCABULARY = (
    "policy", "extends", "bind", "to", "user", "group", "service", "account", "accounts", "all",
    "in", "namespace", "namespaces", "allow", "deny", "any", "none", "root", "non-root",
    "read-only", "host", "ports", "paths", "volumes", "only", "via", "pvc", "run", "as", "if",
    "set", "default", "by", "capabilities", "selinux", "level", "type", "role", "description",
    "annotation", "0", "65536", "1..0", "..", ",", "{", "}", '"', '""', '"\\"', "#", "*",
    "hostPath", "ALL", "CAP_X", "runtime/default", "localhost/../x", "kube-system/x", "ünï",
)
SETTINGS = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
HUGE = "9" * 5000


# -- mutations ------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _index(draw, items: list) -> int:
    return draw(st.integers(0, max(0, len(items) - 1)))


def delete_token(draw, text: str) -> str:
    tokens = _tokens(text)
    if tokens:
        del tokens[_index(draw, tokens)]
    return "".join(tokens)


def duplicate_token(draw, text: str) -> str:
    tokens = _tokens(text)
    if tokens:
        i = _index(draw, tokens)
        tokens.insert(i, tokens[i] + " ")
    return "".join(tokens)


def swap_tokens(draw, text: str) -> str:
    tokens = _tokens(text)
    if tokens:
        i, j = _index(draw, tokens), _index(draw, tokens)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def replace_token(draw, text: str) -> str:
    tokens = _tokens(text)
    if tokens:
        tokens[_index(draw, tokens)] = draw(st.sampled_from(VOCABULARY))
    return "".join(tokens)


def delete_line(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines:
        del lines[_index(draw, lines)]
    return "".join(lines)


def duplicate_line(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines:
        i = _index(draw, lines)
        lines.insert(i, lines[i])
    return "".join(lines)


def swap_lines(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines:
        i, j = _index(draw, lines), _index(draw, lines)
        lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def insert_characters(draw, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    alphabet = st.one_of(st.characters(min_codepoint=32, max_codepoint=126),
                         st.characters(blacklist_categories=("Cs",)))
    return text[:at] + draw(st.text(alphabet, min_size=1, max_size=8)) + text[at:]


def huge_number(draw, text: str) -> str:
    digits = draw(st.sampled_from((20, 400, 4300, 4301, 5000)))
    number = "9" * digits
    number = draw(st.sampled_from((number, f"1..{number}", f"{number}..{number}")))
    tokens = _tokens(text)
    numbers = [i for i, t in enumerate(tokens) if re.fullmatch(r"[0-9.]+", t)]
    if numbers:
        tokens[draw(st.sampled_from(numbers))] = number
        return "".join(tokens)
    return text.replace("}", f"  run as user {number}\n}}", 1)


def nest_braces(draw, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    braces = draw(st.sampled_from(("{", "}", "{}"))) * draw(st.integers(1, 2000))
    return text[:at] + braces + text[at:]


def tabs(draw, text: str) -> str:
    return text.replace("  ", "\t")


def crlf(draw, text: str) -> str:
    return text.replace("\n", draw(st.sampled_from(("\r\n", "\r", "\n\n"))))


def truncate(draw, text: str) -> str:
    return text[:draw(st.integers(0, len(text)))]


MUTATIONS = (delete_token, duplicate_token, swap_tokens, replace_token, delete_line,
             duplicate_line, swap_lines, insert_characters, huge_number, nest_braces, tabs, crlf,
             truncate)


@st.composite
def mutants(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        text = draw(st.sampled_from(MUTATIONS))(draw, text)
    return text


# -- the pipeline ----------------------------------------------------------------------------


def run_pipeline(data: bytes) -> Diagnostics:
    """read_source + parse_text + compile_files + lint_policies, then check every diagnostic."""
    diags = Diagnostics()
    text = read_source(PATH, data, diags)
    parsed = parse_text(text, PATH, diags) if text is not None else None
    sources = dict(stdlib_sources())
    if parsed is not None:
        program = compile_files([parsed], diags)
        lint_policies(program.policies, diags)
        sources.update(program.sources)
    if text is not None:
        sources[PATH] = text
    for diag in diags.items:
        assert diag.code[0] in "EW" and diag.message
        for span in (diag.span, *(note for _, note in diag.notes)):
            assert span is not None, diag
            assert span.file == PATH or span.file in sources, diag
            assert span.line >= 1 and span.column >= 1, diag
            assert (span.end_line, span.end_column) >= (span.line, span.column), diag
            if span.file == PATH and text is not None:
                assert span.line <= text.count("\n") + 1, diag
        assert render(diag, sources)
    return diags


@settings(SETTINGS, max_examples=400)
@given(mutants())
@example("policy p extends baseline {\n  run as user " + HUGE + "\n}\n")
@example("policy p extends baseline {\n  allow host ports 1.." + HUGE + "\n}\n")
@example("{" * 5000)
@example("policy p {" + "}" * 5000)
@example("\t\r\n\r\n\tpolicy\tp\textends\tbaseline\t{\r\n}\r\n")
def test_mutated_sources_only_ever_produce_diagnostics(source):
    run_pipeline(source.encode("utf-8", "surrogatepass"))


@settings(SETTINGS, max_examples=200)
@given(st.binary(max_size=600))
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe\x00p\x00o")
@example(b"policy p {}\x00")
@example(b"policy p {\n  description \"\xc3\x28\"\n}\n")
def test_random_bytes_only_ever_produce_diagnostics(data):
    run_pipeline(data)


@settings(SETTINGS, max_examples=200)
@given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=16), st.integers(0, 10**6))
def test_random_bytes_spliced_into_sources_only_ever_produce_diagnostics(seed, junk, at):
    data = seed.encode()
    at %= len(data) + 1
    run_pipeline(data[:at] + junk + data[at:])


def test_huge_number_is_a_diagnostic_not_a_crash():
    diags = run_pipeline(f"policy p extends baseline {{\n  run as user {HUGE}\n}}\n".encode())
    assert [(d.code, d.span.line, d.span.column) for d in diags.items if d.code[0] == "E"] == [
        ("E007", 2, 15)]


@settings(SETTINGS, max_examples=200)
@given(mutants())
def test_formatting_a_parseable_mutant_is_idempotent_and_keeps_its_meaning(source):
    diags = Diagnostics()
    parsed = parse_text(source, PATH, diags)
    if parsed is None:
        return
    formatted = format_source(parsed)
    reparsed = parse_text(formatted, PATH, diags)
    assert reparsed is not None, (source, formatted, diags.items)
    assert format_source(reparsed) == formatted
    before, after = Diagnostics(), Diagnostics()
    old = compile_files([parsed], before).policies
    new = compile_files([reparsed], after).policies
    assert new == old
    assert sorted((d.code, d.message) for d in after.items) == sorted(
        (d.code, d.message) for d in before.items)


# -- the command line -----------------------------------------------------------------------


@settings(SETTINGS, max_examples=40)
@given(mutants(), st.sampled_from(("text", "json")))
@example("policy p extends baseline {\n  run as user " + HUGE + "\n}\n", "text")
@example("\x00", "text")
def test_cli_check_exits_0_1_or_2_without_a_traceback(source, output_format):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.pspc"
        path.write_bytes(source.encode("utf-8", "surrogatepass"))
        result = CliRunner().invoke(main, ["check", "--format", output_format, str(path)])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception)
    assert "Traceback" not in result.output
    if output_format == "json" and result.exit_code in (0, 1):
        report = json.loads(result.stdout)
        assert (report["errors"] > 0) == (result.exit_code == 1)
        assert all(d["line"] >= 1 and d["column"] >= 1 for d in report["diagnostics"])
