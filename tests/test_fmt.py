"""`pspc fmt`: canonical, idempotent, comment-preserving, meaning-preserving."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import EXAMPLES, REPO

from pspc.diagnostics import Diagnostics
from pspc.formatter import WIDTH, format_source
from pspc.model.lint import lint_policies
from pspc.model.resolve import compile_files
from pspc.syntax.parser import parse_text

SOURCES = sorted([*EXAMPLES.glob("*/policies.pspc"), *(REPO / "stdlib").glob("*.pspc")])

# Every statement form, written untidily, and valid (tests/test_language.py checks that it
# states every kind of pspc.model.language).
EVERYTHING = """\
policy everything extends baseline {   description "All \\"the\\" forms \\\\ here"
  allow privileged    allow privilege escalation
  default allow privilege escalation
  allow host network, pid
  allow host ports 80, 8000..9000
  volumes configMap, secret,
  emptyDir
  allow volumes hostPath   deny volumes gitRepo
  allow nfs only via pvc
  allow host paths /var/log read-only, "/data dir"
  allow flex volumes example/lvm   allow csi drivers csi.example.com
  run as user 1000..2000, 0   run as group 10 if set
  supplemental groups 1..65535 fs group any
  require read-only root filesystem
  allow capabilities NET_ADMIN, SYS_TIME  add capabilities NET_ADMIN by default
  drop capabilities NET_RAW
  selinux user system_u role system_r type container_t level "s0:c1,c2"
  allow selinux types container_t, spc_t   require explicit non-root
  conform to pod security standard restricted v1.30
  allow unmasked proc mount
  allow unsafe sysctls net.core.*   deny sysctls kernel.shm*
  allow runtime classes gvisor, kata default runtime class gvisor
  allow seccomp profiles runtime/default, "localhost/my profile.json"
  default seccomp profile runtime/default
  allow apparmor profiles runtime/default, localhost/k8s-nginx
  default apparmor profile runtime/default
  annotation "example.com/owner" "team # a"
  label "example.com/team" "a"
}
policy quiet extends restricted { deny root  allow writable root filesystem
  deny host namespaces deny host ports deny host paths
  require unmasked proc mount   default deny privilege escalation  no pod security standard }
bind everything to user alice, group "dev ops", service account ci/runner, user bob,
  user carol, all service accounts in namespaces a, b
bind everything to service accounts in namespace research
bind quiet to all service accounts
"""


# -- helpers --------------------------------------------------------------------------------


def parse(text: str, path: str = "t.pspc"):
    diags = Diagnostics()
    source = parse_text(text, path, diags)
    assert source is not None, [f"{d.span} {d.message}" for d in diags.items]
    return source


def fmt(text: str) -> str:
    return format_source(parse(text))


def meaning(text: str):
    """The resolved policies (IR equality ignores spans) and the diagnostics, minus locations."""
    diags = Diagnostics()
    program = compile_files([parse(text)], diags)
    lint_policies(program.policies, diags)
    return program.policies, sorted((d.code, d.message) for d in diags.items)


def comment_texts(text: str) -> list[str]:
    return [c.text.rstrip() for c in parse(text).comments]


# -- the shipped files ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shipped_files_are_already_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert fmt(text) == text


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_formatting_shipped_files_keeps_their_meaning(path):
    text = path.read_text(encoding="utf-8")
    assert meaning(fmt(text)) == meaning(text)


# -- canonical layout -------------------------------------------------------------------------


def test_everything_formats_canonically():
    assert fmt(EVERYTHING) == """\
policy everything extends baseline {
  description "All \\"the\\" forms \\\\ here"
  allow privileged
  allow privilege escalation
  default allow privilege escalation
  allow host network, pid
  allow host ports 80, 8000..9000
  volumes configMap, secret, emptyDir
  allow volumes hostPath
  deny volumes gitRepo
  allow nfs only via pvc
  allow host paths /var/log read-only, "/data dir"
  allow flex volumes example/lvm
  allow csi drivers csi.example.com
  run as user 1000..2000, 0
  run as group 10 if set
  supplemental groups 1..65535
  fs group any
  require read-only root filesystem
  allow capabilities NET_ADMIN, SYS_TIME
  add capabilities NET_ADMIN by default
  drop capabilities NET_RAW
  selinux user system_u role system_r type container_t level "s0:c1,c2"
  allow selinux types container_t, spc_t
  require explicit non-root
  conform to pod security standard restricted v1.30
  allow unmasked proc mount
  allow unsafe sysctls net.core.*
  deny sysctls kernel.shm*
  allow runtime classes gvisor, kata
  default runtime class gvisor
  allow seccomp profiles runtime/default, "localhost/my profile.json"
  default seccomp profile runtime/default
  allow apparmor profiles runtime/default, localhost/k8s-nginx
  default apparmor profile runtime/default
  annotation "example.com/owner" "team # a"
  label "example.com/team" "a"
}

policy quiet extends restricted {
  run as non-root
  allow writable root filesystem
  deny host namespaces
  deny host ports
  deny host paths
  require unmasked proc mount
  default deny privilege escalation
  no pod security standard
}

bind everything to user alice, group "dev ops", service account ci/runner, user bob, user carol,
    all service accounts in namespaces a, b
bind everything to service accounts in namespace research
bind quiet to all service accounts
"""


def test_everything_is_valid_and_keeps_its_meaning():
    policies, diags = meaning(EVERYTHING)
    assert [p.name for p in policies] == ["everything", "quiet"]
    assert [code for code, _ in diags if code.startswith("E")] == []
    assert meaning(fmt(EVERYTHING)) == (policies, diags)


def _shape(node):
    """A parsed node as plain data without its spans: what the author said, not where."""
    if dataclasses.is_dataclass(node):
        return (type(node).__name__, *(_shape(getattr(node, f.name))
                                       for f in dataclasses.fields(node) if f.name != "span"))
    if isinstance(node, tuple):
        return tuple(_shape(n) for n in node)
    return node


def test_printing_then_parsing_gives_back_every_statement():
    source = parse(EVERYTHING)
    assert _shape(parse(format_source(source)).items) == _shape(source.items)


def test_formatting_is_idempotent():
    once = fmt(EVERYTHING)
    assert fmt(once) == once


def test_blank_lines_between_statements_are_kept_but_collapsed():
    text = ("policy p extends baseline {\n  deny privileged\n\n\n\n  fs group any\n"
            "  selinux any\n}\n\n\n\nbind p to user a\n")
    assert fmt(text) == ("policy p extends baseline {\n  deny privileged\n\n  fs group any\n"
                         "  selinux any\n}\n\nbind p to user a\n")


def test_brace_on_its_own_line_adds_no_blank_line():
    assert fmt("policy p extends baseline\n{\n  deny privileged\n}\n") == (
        "policy p extends baseline {\n  deny privileged\n}\n")


def test_empty_file_and_empty_policy():
    assert fmt("") == ""
    assert fmt("  \n\n") == ""
    assert fmt("policy p extends baseline {}") == "policy p extends baseline {\n}\n"


def test_words_that_need_quotes_get_them_and_escapes_round_trip():
    text = ('policy "p" {\n  volumes "a,b", "c d", "e#f", "{g}", "h\\"i", "j\\\\k", plain\n'
            "}\n")
    out = fmt(text)
    assert out == ('policy "p" {\n  volumes "a,b", "c d", "e#f", "{g}", "h\\"i", "j\\\\k", plain\n'
                   "}\n")
    (stmt,) = parse(out).policies[0].statements
    assert [w.text for w in stmt.words.items] == ["a,b", "c d", "e#f", "{g}", 'h"i', "j\\k",
                                                  "plain"]


def test_namespace_keyword_follows_the_count():
    assert fmt("bind p to user a in namespaces x") == "bind p to user a in namespace x\n"
    assert fmt("bind p to user a in namespace x, y") == "bind p to user a in namespaces x, y\n"


def test_crlf_source_formats_like_lf():
    text = "# c\npolicy p extends baseline {  # h\n  deny privileged\n}\nbind p to user a\n"
    assert fmt(text.replace("\n", "\r\n")) == fmt(text) == (
        "# c\npolicy p extends baseline {  # h\n  deny privileged\n}\n\nbind p to user a\n")


# -- comments ---------------------------------------------------------------------------------

COMMENTED = """\
# file header

# about p
policy p extends baseline {  # on the header
  # leading a statement
  deny privileged  # trailing a statement
  fs group any
  # end of the body
}  # after the brace
# about the binding
bind p to user a  # trailing a binding
# end of the file
"""


def test_comments_in_every_position_are_kept_in_place():
    assert fmt(COMMENTED) == """\
# file header

# about p
policy p extends baseline {  # on the header
  # leading a statement
  deny privileged  # trailing a statement
  fs group any
  # end of the body
}  # after the brace

# about the binding
bind p to user a  # trailing a binding
# end of the file
"""


def test_comment_texts_survive_in_order():
    text = ("policy p extends baseline {\n  volumes configMap,  # mid\n    # inside\n    secret\n"
            "}  # end\n# tail\n")
    out = fmt(text)
    assert " ".join(comment_texts(out)) == "# mid # inside # end # tail"
    assert fmt(out) == out


def test_comments_on_a_one_line_policy_stay_on_that_policy():
    out = fmt("policy p extends baseline { deny privileged }  # one-liner\n")
    assert "# one-liner" in out
    assert meaning(out) == meaning("policy p extends baseline { deny privileged }")
    assert fmt(out) == out


# -- wrapping ---------------------------------------------------------------------------------


def _caps(count: int, width: int = 9) -> list[str]:
    return [f"C{i:0{width - 1}d}" for i in range(count)]


def _check_wrapped(out: str, continuation: str) -> list[str]:
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, out
    assert all(line == line.rstrip() for line in lines), out
    for line in lines[1:]:
        if line.startswith(continuation):
            assert line[len(continuation)] != " "
    return lines


def test_long_list_wraps_at_100_columns_with_a_four_space_continuation():
    caps = _caps(30)
    out = fmt("policy p extends baseline {\n  allow capabilities " + ", ".join(caps) + "\n}\n")
    lines = _check_wrapped(out, "      ")
    body = lines[1:-1]
    assert len(body) > 2
    assert body[0].startswith("  allow capabilities C00000000, ")
    assert all(line.startswith("      C") for line in body[1:])
    # every line is filled: the next line's first item would not have fitted
    for line, following in zip(body, body[1:], strict=False):
        assert len(line) + len(" " + following.strip().split(",")[0]) + 1 > WIDTH
    (stmt,) = parse(out).policies[0].statements
    assert [w.text for w in stmt.words.items] == caps
    assert fmt(out) == out


@pytest.mark.parametrize("room", range(96, 104))
def test_wrapping_counts_the_trailing_comma(room):
    # A first line of `room` characters before the comma that the break would add.
    first = "  volumes configMap, " + "x" * (room - len("  volumes configMap, "))
    out = fmt(f"policy p {{\n{first[2:]}, secret\n}}\n")
    _check_wrapped(out, "      ")


def test_binding_subjects_and_namespace_tail_wrap():
    users = ", ".join(f"user person-{i:03d}" for i in range(12))
    text = f"bind p to {users} in namespaces " + ", ".join(f"ns{i}" for i in range(8))
    out = fmt(text)
    lines = _check_wrapped(out, "    ")
    assert len(lines) > 1 and lines[0].startswith("bind p to user person-000, ")
    decl = parse(out).bindings[0]
    assert [s.name.text for s in decl.subjects] == [f"person-{i:03d}" for i in range(12)]
    assert [n.text for n in decl.namespaces] == [f"ns{i}" for i in range(8)]
    assert fmt(out) == out


def test_by_default_tail_wraps():
    caps = _caps(8, 10)
    out = fmt("policy p {\n  add capabilities " + ", ".join(caps) + " by default\n}\n")
    _check_wrapped(out, "      ")
    assert out.splitlines()[-2].strip().endswith("by default")
    (stmt,) = parse(out).policies[0].statements
    assert [w.text for w in stmt.words.items] == caps
    assert fmt(out) == out


@pytest.mark.parametrize("text", [
    "bind " + "p" * 120 + " to user a\n",
    "policy p extends baseline {\n  allow host paths /" + "a" * 110 + " read-only\n}\n",
    "policy p extends baseline {\n  allow host paths /x, /" + "a" * 110 + "\n}\n",
    'policy p extends baseline {\n  description "' + "d" * 120 + '"\n}\n',
])
def test_an_overlong_word_stays_on_one_line_without_blank_continuations(text):
    out = fmt(text)
    assert all(line == line.rstrip() for line in out.splitlines()), repr(out)
    assert fmt(out) == out
    assert meaning(out) == meaning(text)


# -- meaning ----------------------------------------------------------------------------------


def test_formatting_keeps_diagnostics_of_a_policy_with_errors():
    # fmt formats anything that parses; it must not silently repair or hide a mistake.
    text = "policy p extends baseline {\n  fs group 9..1\n}\nbind p to all service accounts\n"
    assert [c for c, _ in meaning(text)[1]] == ["E007"]
    assert meaning(fmt(text)) == meaning(text)


@pytest.mark.parametrize("text", [
    "policy p extends baseline { allow host ports }",
    "policy p extends baseline { selinux type a type b }",
    "policy p extends baseline { run as user 5..1 }",
    "policy p extends baseline { volumes bogus, secret }",
    "policy p extends privileged { deny host pid, pid }",
    "policy p extends baseline { allow host network deny host namespaces }",
])
def test_formatting_keeps_the_meaning_of_odd_input(text):
    assert meaning(fmt(text)) == meaning(text)
