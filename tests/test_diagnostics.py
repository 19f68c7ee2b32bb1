"""The diagnostics themselves: every code registered (and README's table is the registry),
notes rendered with their own snippet, no location said twice, YAML lines quoted by every
command."""

from __future__ import annotations

import difflib
import json
import re

import pytest
from click.testing import CliRunner
from conftest import REPO
from test_checks import CASES, diagnose

from pspc.cli import main
from pspc.diagnostic_codes import CODES
from pspc.diagnostics import (
    Diagnostic,
    Diagnostics,
    Note,
    Severity,
    Span,
    UnregisteredCodeError,
    render,
)
from pspc.importing.command import import_command

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  hostNetwork: "yes"
  containers:
  - name: app
    image: nginx
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
PSP = """\
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: p
spec:
  privileged: "yes"
  runAsUser: {rule: RunAsAny}
  seLinux: {rule: RunAsAny}
  supplementalGroups: {rule: RunAsAny}
  fsGroup: {rule: RunAsAny}
"""
POLICY = "policy p extends baseline {}\nbind p to service accounts in namespace ns\n"
HEADER = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<column>\d+): (error|warning)\[(?P<code>"
                    r"[EW]\d{3})\] (?P<message>.*)$")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run in tmp_path, so that messages name files by their short names."""
    monkeypatch.chdir(tmp_path)


def invoke(command, *args: str):
    return CliRunner().invoke(command, list(args))


# -- the registry ----------------------------------------------------------------------------


def _emitted() -> dict[str, set[str]]:
    """Each code written as a string literal in pspc/, with the severities its explicit
    `.error("…")` / `.warning("…")` calls give it."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "pspc").rglob("*.py"):
        if path.name == "diagnostic_codes.py":
            continue
        text = path.read_text(encoding="utf-8")
        for code in re.findall(r'"([EW]\d{3})"', text):
            found.setdefault(code, set())
        for severity, code in re.findall(r'\.(error|warning)\(\s*"([EW]\d{3})"', text):
            found[code].add(severity)
    return found


def test_every_code_pspc_emits_is_registered_with_its_severity():
    emitted = _emitted()
    assert sorted(set(emitted) - set(CODES)) == [], "emitted but not in pspc.diagnostic_codes"
    assert sorted(set(CODES) - set(emitted)) == [], "registered but never emitted"
    for code, severities in emitted.items():
        assert severities <= {CODES[code].severity}, code
        assert CODES[code].severity == ("error" if code.startswith("E") else "warning"), code


def test_every_entry_has_a_title_and_an_explanation():
    for code, entry in CODES.items():
        assert entry.code == code and re.fullmatch(r"[EW]\d{3}", code)
        assert entry.title and "\n" not in entry.title and not entry.title.endswith(".")
        assert len(entry.explanation) > 30 and entry.explanation.endswith("."), code


def test_an_unregistered_code_or_the_wrong_severity_is_refused():
    diags = Diagnostics()
    with pytest.raises(UnregisteredCodeError, match="E999"):
        diags.error("E999", "no such code", None)
    with pytest.raises(UnregisteredCodeError, match="W101 is registered as warning"):
        diags.error("W101", "a warning reported as an error", None)
    with pytest.raises(UnregisteredCodeError, match="E001 is registered as error"):
        diags.warning("E001", "an error reported as a warning", None)
    assert diags.items == []


def _readme_table() -> list[tuple[str, str, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("| code | severity | title |\n")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append(tuple(cells))
    return rows


def test_readme_table_is_the_registry():
    readme = [" | ".join(row) for row in _readme_table()]
    registry = [f"{c.code} | {c.severity} | {c.title}" for c in CODES.values()]
    diff = "\n".join(difflib.unified_diff(registry, readme, "pspc/diagnostic_codes.py",
                                          "README.md", lineterm=""))
    assert readme == registry, "README.md's table of diagnostics differs from the registry " \
        "(regenerate the rows from pspc.diagnostic_codes.CODES):\n" + diff


def test_json_output_gives_each_code_its_title(tmp_path):
    (tmp_path / "p.pspc").write_text("policy p extends baseline {}\n")
    report = json.loads(invoke(main, "check", "p.pspc", "--format", "json").output)
    assert report["diagnostics"]
    for diagnostic in report["diagnostics"]:
        assert diagnostic["title"] == CODES[diagnostic["code"]].title
    assert "W101" in {d["code"] for d in report["diagnostics"]}


# -- notes -----------------------------------------------------------------------------------


def test_a_note_is_rendered_with_its_own_snippet():
    span = Span("b.pspc", 12, 8, 12, 9)
    note = Span("a.pspc", 1, 8, 1, 9)
    diagnostic = Diagnostic(Severity.ERROR, "E003", "policy `p` is defined twice", span,
                            "rename one of them", (Note("first defined here", note),))
    sources = {"a.pspc": "policy p extends baseline {}\n",
               "b.pspc": "\n" * 11 + "policy p extends restricted {}\n"}
    assert render(diagnostic, sources) == "\n".join([
        "b.pspc:12:8: error[E003] policy `p` is defined twice",
        "   |",
        "12 | policy p extends restricted {}",
        "   |        ^",
        "  note: first defined here (a.pspc:1:8)",
        "   |",
        " 1 | policy p extends baseline {}",
        "   |        ^",
        "  help: rename one of them"])
    # Without the note's text, the note is one line.
    assert render(diagnostic, {"b.pspc": sources["b.pspc"]}).splitlines()[4:] == [
        "  note: first defined here (a.pspc:1:8)", "  help: rename one of them"]


def test_check_shows_where_the_other_definition_is(tmp_path):
    (tmp_path / "a.pspc").write_text(POLICY)
    (tmp_path / "b.pspc").write_text("\npolicy p extends restricted {}\n")
    output = invoke(main, "check", ".").output
    assert "b.pspc:2:8: error[E003] policy `p` is defined twice\n" in output
    assert ("  note: first defined here (a.pspc:1:8)\n  |\n1 | policy p extends baseline {}\n"
            "  |        ^\n") in output


def test_an_inherited_problem_shows_the_policy_that_inherits_it(tmp_path):
    (tmp_path / "a.pspc").write_text(
        "policy q extends baseline {\n  allow host paths /var/log\n}\n"
        "policy p extends q {\n  volumes configMap\n}\n"
        "bind p to all service accounts\nbind q to all service accounts\n")
    output = invoke(main, "check", "a.pspc").output
    assert "a.pspc:2:3: warning[W104]" in output
    assert ("  note: `p` inherits it here (a.pspc:4:1)\n  |\n4 | policy p extends q {\n"
            "  | ^^^^^^\n") in output


def test_json_notes_carry_their_location(tmp_path):
    (tmp_path / "a.pspc").write_text(POLICY + "policy p extends restricted {}\n")
    report = json.loads(invoke(main, "check", "a.pspc", "--format", "json").output)
    (error,) = [d for d in report["diagnostics"] if d["code"] == "E003"]
    assert error["notes"] == [{"message": "first defined here", "location": "a.pspc:1:8",
                               "file": "a.pspc", "line": 1, "column": 8, "end_line": 1,
                               "end_column": 9}]


# -- no location said twice ------------------------------------------------------------------


def assert_locations_said_once(output: str) -> int:
    """Every diagnostic header in `output` names its file only in its location."""
    headers = [m for m in map(HEADER.match, output.splitlines()) if m]
    for header in headers:
        assert header["file"] not in header["message"], header.string
    return len(headers)


def assert_no_repeated_location(diagnostic: Diagnostic) -> None:
    spans = [s for s in (diagnostic.span, *(n.span for n in diagnostic.notes)) if s]
    for span in spans:
        assert span.file not in diagnostic.message, (diagnostic.code, diagnostic.message)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_no_front_end_diagnostic_repeats_its_location(case):
    for diagnostic in diagnose(case[1]):
        assert_no_repeated_location(diagnostic)


def test_eval_diagnostics_do_not_repeat_their_location(tmp_path):
    (tmp_path / "p.pspc").write_text(POLICY)
    (tmp_path / "cm.yaml").write_text(CONFIGMAP)
    (tmp_path / "rbac.yaml").write_text(CONFIGMAP)
    (tmp_path / "pod.yaml").write_text(POD + "---\n" + CONFIGMAP + "---\napiVersion: apps/v1\n"
                                       "kind: Deployment\nmetadata:\n  name: d\nspec: {}\n")
    result = invoke(main, "eval", "p.pspc", "cm.yaml", "--rbac", "rbac.yaml", "-f", "pod.yaml")
    output = result.output
    for code in ("W201", "W202", "E043"):
        assert f"[{code}]" in output
    assert "cm.yaml:1:1: warning[W201] ignoring ConfigMap 'settings': not a " in output
    assert "rbac.yaml:1:1: warning[W201] ignoring ConfigMap 'settings'" in output
    assert "pod.yaml:10:1: warning[W202] skipping ConfigMap 'settings': not a Pod" in output
    assert "pod.yaml:6:16: error[E043] document 0 (Pod web): spec.hostNetwork" in output
    assert assert_locations_said_once(output) == 4
    # A workload with no pod template is E031, located once too (the inputs are valid).
    (tmp_path / "pod.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                       "  name: d\nspec: {}\n")
    output = invoke(main, "eval", "p.pspc", "-f", "pod.yaml").output
    assert "pod.yaml:1:1: error[E031] Deployment has no pod template at spec.template" in output
    assert assert_locations_said_once(output) == 1


def test_import_diagnostics_do_not_repeat_their_location(tmp_path):
    good = PSP.replace('  privileged: "yes"\n', "")
    (tmp_path / "a.yaml").write_text(good + "---\n" + CONFIGMAP)
    (tmp_path / "b.yaml").write_text(good)
    output = invoke(import_command, ".", "-o", "out").output
    assert "b.yaml:1:1: error[E045] document 0 (PodSecurityPolicy p): PodSecurityPolicy p is " \
        "defined twice\n" in output
    assert "note: first defined here (a.yaml:1:1)" in output
    assert assert_locations_said_once(output) == 2


# -- YAML lines quoted by every command ------------------------------------------------------


def test_eval_quotes_the_yaml_line(tmp_path):
    (tmp_path / "p.pspc").write_text(POLICY)
    (tmp_path / "pod.yaml").write_text("# a pod\n" + POD)
    (tmp_path / "rbac.yaml").write_text(CONFIGMAP)
    result = invoke(main, "eval", "p.pspc", "--rbac", "rbac.yaml", "-f", "pod.yaml")
    assert result.exit_code == 2  # invalid input: nothing is evaluated
    assert ("pod.yaml:7:16: error[E043] document 0 (Pod web): spec.hostNetwork: must be true "
            "or false, not a string 'yes'\n  |\n7 |   hostNetwork: \"yes\"\n  |"
            "                ^\n") in result.output
    assert ("rbac.yaml:1:1: warning[W201] ignoring ConfigMap 'settings': not a "
            "PodSecurityPolicy or RBAC object\n  |\n1 | apiVersion: v1\n  | ^\n") in result.output


@pytest.mark.parametrize("option", ["--rbac", None])
def test_eval_quotes_invalid_yaml_policy_inputs(tmp_path, option):
    (tmp_path / "psp.yaml").write_text(PSP.replace("  fsGroup", "\tfsGroup"))
    (tmp_path / "pod.yaml").write_text(POD)
    result = invoke(main, "eval", *([option] if option else []), "psp.yaml", "-f", "pod.yaml")
    assert result.exit_code == 2
    assert ("psp.yaml:10:1: error[E030] invalid YAML: found character '\\t' that cannot start "
            "any token\n"
            "   |\n"
            "10 |  fsGroup: {rule: RunAsAny}\n"
            "   | ^\n") in result.output


def test_the_end_of_a_file_is_quoted_as_an_empty_line(tmp_path):
    (tmp_path / "pod.yaml").write_text("kind: [\n")
    (tmp_path / "p.pspc").write_text(POLICY)
    result = invoke(main, "eval", "p.pspc", "-f", "pod.yaml")
    assert result.output.startswith("pod.yaml:2:1: error[E030] invalid YAML: expected the node "
                                    "content, but found '<stream end>'\n  |\n2 | \n  | ^\n")


def test_import_quotes_the_yaml_line(tmp_path):
    (tmp_path / "psp.yaml").write_text(PSP)
    result = invoke(import_command, "psp.yaml", "-o", "out")
    assert result.exit_code == 1
    assert ("psp.yaml:6:15: error[E043] document 0 (PodSecurityPolicy p): spec.privileged: "
            "must be true or false, not a string 'yes'\n"
            "  |\n"
            '6 |   privileged: "yes"\n'
            "  |               ^\n") in result.output


def test_diagnostics_keep_the_texts_they_were_read_from():
    from pspc.manifests import parse_manifests

    diags, other = Diagnostics(), Diagnostics()
    parse_manifests("a: 1\n\tb: 2\n", "x.yaml", other)
    diags.extend(other)
    assert diags.sources == {"x.yaml": "a: 1\n\tb: 2\n"}
    (rendered,) = diags.rendered()
    assert rendered.startswith("x.yaml:2:1: error[E030]")
    assert "\n2 |  b: 2\n" in rendered
