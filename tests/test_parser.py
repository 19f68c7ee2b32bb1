"""The front end: every statement form of grammar/pspc.lark parsed into the AST, with spans,
plus syntax errors (E001) and unreadable sources (E002)."""

from __future__ import annotations

import dataclasses

import pytest

from pspc.diagnostics import Diagnostic, Diagnostics, Severity
from pspc.syntax import ast
from pspc.syntax.parser import MAX_SOURCE_BYTES, parse_text, read_source

PATH = "t.pspc"


# -- helpers --------------------------------------------------------------------------------


def parse(text: str, path: str = PATH) -> ast.SourceFile:
    diags = Diagnostics()
    source = parse_text(text, path, diags)
    assert diags.items == [], [f"{d.span} {d.code} {d.message}" for d in diags.items]
    assert source is not None
    return source


def statement(body: str) -> ast.Statement:
    """Parse `body` as the only statement of a policy, written on line 2 from column 3."""
    (stmt,) = parse(f"policy p {{\n  {body}\n}}\n").policies[0].statements
    return stmt


def where(span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.end_line, span.end_column)


def argument(stmt: ast.Statement):
    """A statement's argument fields (all but its span and verdict) as plain data: None for
    none, the value of one, a list of several."""
    values = [plain(getattr(stmt, f.name)) for f in dataclasses.fields(stmt)
              if f.name not in ("span", "allow")]
    return None if not values else values[0] if len(values) == 1 else values


def plain(value):
    """An AST value as plain Python data, so that expectations read like the source."""
    if isinstance(value, ast.Word):
        return value.text
    if isinstance(value, ast.Words):
        return value.mode if value.mode != "list" else [w.text for w in value.items]
    if isinstance(value, ast.Ids):
        if value.mode == "any":
            return "any"
        return ([(r.min, r.max) for r in value.ranges], value.if_set)
    if isinstance(value, ast.IdRange):
        return (value.min, value.max)
    if isinstance(value, ast.HostPath):
        return (value.prefix.text, value.read_only)
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def syntax_error(text: str) -> Diagnostic:
    diags = Diagnostics()
    assert parse_text(text, PATH, diags) is None
    (diag,) = diags.items
    assert diag.code == "E001"
    assert diag.severity is Severity.ERROR
    assert diag.span.file == PATH
    return diag


def unreadable(data: bytes) -> Diagnostic:
    diags = Diagnostics()
    assert read_source(PATH, data, diags) is None
    (diag,) = diags.items
    assert diag.code == "E002"
    assert diag.severity is Severity.ERROR
    return diag


# -- every statement form ---------------------------------------------------------------------

STATEMENTS = [
    # (source, kind, allow, value as plain data)
    ('description "Restricted: no root"', "description", None, "Restricted: no root"),
    ("allow privileged", "privileged", True, None),
    ("deny privileged", "privileged", False, None),
    ("allow host network", "host_namespaces", True, ["network"]),
    ("deny host pid, ipc", "host_namespaces", False, ["pid", "ipc"]),
    ("allow host network, pid, ipc", "host_namespaces", True, ["network", "pid", "ipc"]),
    ("allow host namespaces", "host_namespaces", True, ["namespaces"]),
    ("deny host namespaces", "host_namespaces", False, ["namespaces"]),
    ("allow host ports any", "host_ports", True, []),
    ("allow host ports 80, 8000..9000", "host_ports", True, [(80, 80), (8000, 9000)]),
    ("allow host ports", "host_ports", True, []),
    ("deny host ports", "host_ports", False, []),
    ("volumes any", "volumes", None, "any"),
    ("volumes none", "volumes", None, "none"),
    ("volumes configMap, secret, emptyDir", "volumes", None, ["configMap", "secret", "emptyDir"]),
    ("allow volumes nfs, hostPath", "allow_volumes", None, ["nfs", "hostPath"]),
    ("deny volumes secret", "deny_volumes", None, ["secret"]),
    ("allow nfs only via pvc", "only_via_pvc", None, "nfs"),
    ("allow host paths /var/log read-only, /data", "allow_host_paths", None,
     [("/var/log", True), ("/data", False)]),
    ('allow host paths "/with space" read-only', "allow_host_paths", None,
     [("/with space", True)]),
    ("deny host paths", "deny_host_paths", None, None),
    ("allow flex volumes example/lvm, other/cifs", "allow_flex_volumes", None,
     ["example/lvm", "other/cifs"]),
    ("allow csi drivers csi.example.com", "allow_csi_drivers", None, ["csi.example.com"]),
    ("run as user any", "run_as_user", None, "any"),
    ("run as user 1000..2000, 3000", "run_as_user", None, ([(1000, 2000), (3000, 3000)], False)),
    ("run as non-root", "run_as_non_root", None, []),
    ("deny root", "run_as_non_root", None, []),
    ("run as non-root 1..5", "run_as_non_root", None, [(1, 5)]),
    ("run as user none", "run_as_user", None, ([], False)),
    ("fs group none if set", "fs_group", None, ([], True)),
    ("run as user any 1..2, 3", "run_as_user", None, "any"),
    ("allow host ports -5..80, 9..2", "host_ports", True, [(-5, 80), (9, 2)]),
    ("require unmasked proc mount", "require_unmasked_proc_mount", None, None),
    ('label "example.com/team" "a"', "label", None, ["example.com/team", "a"]),
    ("run as group any", "run_as_group", None, "any"),
    ("run as group 0..10, 20 if set", "run_as_group", None, ([(0, 10), (20, 20)], True)),
    ("supplemental groups any", "supplemental_groups", None, "any"),
    ("supplemental groups 1..65535", "supplemental_groups", None, ([(1, 65535)], False)),
    ("supplemental groups 5 if set", "supplemental_groups", None, ([(5, 5)], True)),
    ("fs group any", "fs_group", None, "any"),
    ("fs group 2000, 3000..3999 if set", "fs_group", None, ([(2000, 2000), (3000, 3999)], True)),
    ("require read-only root filesystem", "read_only_root_filesystem", None, None),
    ("allow writable root filesystem", "writable_root_filesystem", None, None),
    ("allow privilege escalation", "privilege_escalation", True, None),
    ("deny privilege escalation", "privilege_escalation", False, None),
    ("default allow privilege escalation", "default_privilege_escalation", True, None),
    ("default deny privilege escalation", "default_privilege_escalation", False, None),
    ("allow capabilities any", "allow_capabilities", None, "any"),
    ("allow capabilities none", "allow_capabilities", None, "none"),
    ("allow capabilities NET_ADMIN, SYS_TIME", "allow_capabilities", None,
     ["NET_ADMIN", "SYS_TIME"]),
    ("add capabilities NET_BIND_SERVICE by default", "default_capabilities", None,
     ["NET_BIND_SERVICE"]),
    ("add capabilities none by default", "default_capabilities", None, "none"),
    ("add capabilities any by default", "default_capabilities", None, "any"),
    ("drop capabilities ALL", "drop_capabilities", None, ["ALL"]),
    ("drop capabilities none", "drop_capabilities", None, "none"),
    ("drop capabilities any", "drop_capabilities", None, "any"),
    ("selinux any", "selinux", None, [[], "any"]),
    ("selinux any type t", "selinux", None, [[["type", "t"]], "any"]),
    ("selinux none", "selinux", None, [[], "none"]),
    ("selinux unset", "selinux", None, [[], "unset"]),
    ("allow selinux types container_t, container_init_t", "selinux_types", None,
     ["container_t", "container_init_t"]),
    ("allow selinux types any", "selinux_types", None, "any"),
    ("require explicit non-root", "require_non_root", None, None),
    ('selinux user system_u role system_r type container_t level "s0:c1,c2"', "selinux", None,
     [[["user", "system_u"], ["role", "system_r"], ["type", "container_t"],
       ["level", "s0:c1,c2"]], "options"]),
    ("selinux type spc_t", "selinux", None, [[["type", "spc_t"]], "options"]),
    ("allow unmasked proc mount", "proc_mount", True, None),
    ("deny unmasked proc mount", "proc_mount", False, None),
    ("allow unsafe sysctls net.core.*, kernel.msg*", "allow_unsafe_sysctls", None,
     ["net.core.*", "kernel.msg*"]),
    ("allow unsafe sysctls any", "allow_unsafe_sysctls", None, "any"),
    ("allow unsafe sysctls none", "allow_unsafe_sysctls", None, "none"),
    ("deny sysctls *", "deny_sysctls", None, ["*"]),
    ("deny sysctls kernel.shm*, net.ipv4.tcp_syncookies", "deny_sysctls", None,
     ["kernel.shm*", "net.ipv4.tcp_syncookies"]),
    ("deny sysctls any", "deny_sysctls", None, "any"),
    ("allow runtime classes gvisor, kata", "allow_runtime_classes", None, ["gvisor", "kata"]),
    ("allow runtime classes any", "allow_runtime_classes", None, "any"),
    ("default runtime class gvisor", "default_runtime_class", None, "gvisor"),
    ("allow seccomp profiles runtime/default, localhost/profiles/audit.json", "allow_seccomp",
     None, ["runtime/default", "localhost/profiles/audit.json"]),
    ("allow seccomp profiles any", "allow_seccomp", None, "any"),
    ("allow seccomp profiles none", "allow_seccomp", None, "none"),
    ("default seccomp profile runtime/default", "default_seccomp", None, "runtime/default"),
    ("allow apparmor profiles runtime/default, localhost/k8s-nginx", "allow_apparmor", None,
     ["runtime/default", "localhost/k8s-nginx"]),
    ("allow apparmor profiles any", "allow_apparmor", None, "any"),
    ("conform to pod security standard restricted v1.25", "pod_security_standard", None,
     ["restricted", "v1.25"]),
    ("conform to pod security standard baseline", "pod_security_standard", None,
     ["baseline", None]),
    ("no pod security standard", "no_pod_security_standard", None, None),
    ("default apparmor profile runtime/default", "default_apparmor", None, "runtime/default"),
    ('annotation "example.com/owner" "team-a"', "annotation", None,
     ["example.com/owner", "team-a"]),
]


@pytest.mark.parametrize(("source", "kind", "allow", "value"), STATEMENTS,
                         ids=[s[0] for s in STATEMENTS])
def test_statement_kind_allow_value_and_span(source, kind, allow, value):
    stmt = statement(source)
    assert type(stmt) is ast.STATEMENTS[kind] and stmt.kind == kind
    assert getattr(stmt, "allow", None) is allow
    assert argument(stmt) == value
    assert stmt.span.file == PATH
    assert where(stmt.span) == (2, 3, 2, 3 + len(source))


def test_every_grammar_statement_rule_is_covered():
    assert {kind for _, kind, _, _ in STATEMENTS} == set(ast.STATEMENTS)


def test_argument_spans_point_at_each_word_and_range():
    paths = statement("allow host paths /var/log read-only, /data").paths
    assert [where(p.prefix.span) for p in paths] == [(2, 20, 2, 28), (2, 40, 2, 45)]
    ports = statement("allow host ports 80, 8000..9000").ranges
    assert [where(r.span) for r in ports] == [(2, 20, 2, 22), (2, 24, 2, 34)]
    words = statement("volumes configMap, secret").words
    assert [where(w.span) for w in words.items] == [(2, 11, 2, 20), (2, 22, 2, 28)]
    ids = statement("run as user 1000..2000, 3000").ids
    assert [where(r.span) for r in ids.ranges] == [(2, 15, 2, 25), (2, 27, 2, 31)]
    stmt = statement('annotation "a.io/k" "v"')
    key, value = stmt.key, stmt.value
    assert (where(key.span), where(value.span)) == ((2, 14, 2, 22), (2, 23, 2, 26))
    assert key.quoted and value.quoted


def test_statement_span_covers_a_list_wrapped_over_lines():
    source = parse("policy p {\n  volumes configMap,\n    secret,\n    emptyDir\n}\n")
    (stmt,) = source.policies[0].statements
    assert where(stmt.span) == (2, 3, 4, 13)
    assert plain(stmt.words) == ["configMap", "secret", "emptyDir"]
    assert where(stmt.words.items[2].span) == (4, 5, 4, 13)


def test_statements_are_free_form_across_lines_and_on_one_line():
    one_line = parse("policy p { deny privileged run as user any fs group any }").policies[0]
    assert [s.kind for s in one_line.statements] == ["privileged", "run_as_user", "fs_group"]
    assert where(one_line.statements[1].span) == (1, 28, 1, 43)
    split = parse("policy p {\n  run\n  as\n  user\n  any\n}").policies[0]
    assert where(split.statements[0].span) == (2, 3, 5, 6)


# -- policies ---------------------------------------------------------------------------------


def test_policy_name_extends_and_span():
    (policy,) = parse("policy web extends restricted {\n  deny privileged\n}\n").policies
    assert policy.name.text == "web" and not policy.name.quoted
    assert where(policy.name.span) == (1, 8, 1, 11)
    assert policy.extends.text == "restricted"
    assert where(policy.extends.span) == (1, 20, 1, 30)
    assert where(policy.span) == (1, 1, 3, 2)
    assert [s.kind for s in policy.statements] == ["privileged"]


def test_policy_without_extends_and_empty_body():
    (policy,) = parse("policy empty {}").policies
    assert policy.extends is None
    assert policy.statements == ()
    assert where(policy.span) == (1, 1, 1, 16)


def test_quoted_names_unquote_with_escapes():
    source = parse('policy "p" extends "base" {\n'
                   '  description "say \\"hi\\" \\\\ there"\n'
                   '  volumes "configMap", secret\n}\n')
    (policy,) = source.policies
    assert (policy.name.text, policy.name.quoted) == ("p", True)
    assert where(policy.name.span) == (1, 8, 1, 11)
    assert (policy.extends.text, policy.extends.quoted) == ("base", True)
    description, volumes = policy.statements
    assert description.word.text == 'say "hi" \\ there'
    assert where(description.word.span) == (2, 15, 2, 36)
    assert [(w.text, w.quoted) for w in volumes.words.items] == [("configMap", True),
                                                                 ("secret", False)]


def test_quoted_words_may_hold_separators_comment_marks_and_unicode():
    stmt = statement('volumes "a, b", "c # d", "{e}", "ünï €"')
    assert plain(stmt.words) == ["a, b", "c # d", "{e}", "ünï €"]
    assert where(stmt.words.items[3].span) == (2, 35, 2, 42)


def test_keywords_are_plain_words_where_a_name_is_expected():
    source = parse("policy policy extends default {}\n"
                   "bind default to user default, group any, user policy "
                   "in namespaces allow, namespace\n")
    (policy,) = source.policies
    assert (policy.name.text, policy.extends.text) == ("policy", "default")
    (binding,) = source.bindings
    assert binding.policy.text == "default"
    assert [(s.kind, s.name.text) for s in binding.subjects] == [
        ("user", "default"), ("group", "any"), ("user", "policy")]
    assert [n.text for n in binding.namespaces] == ["allow", "namespace"]


def test_words_that_start_with_a_keyword_stay_whole():
    assert plain(statement("volumes anyone, nonexistent, any2").words) == [
        "anyone", "nonexistent", "any2"]
    assert plain(statement("allow volumes any").items) == ["any"]


# -- bindings ---------------------------------------------------------------------------------


def binding(text: str) -> ast.BindingDecl:
    (decl,) = parse(text).bindings
    return decl


def subjects(decl: ast.BindingDecl) -> list[tuple[str, str | None]]:
    return [(s.kind, s.name.text if s.name else None) for s in decl.subjects]


@pytest.mark.parametrize(("text", "expected"), [
    ("user alice", ("user", "alice")),
    ("group system:authenticated", ("group", "system:authenticated")),
    ("service account kube-system/replicaset-controller",
     ("service_account", "kube-system/replicaset-controller")),
    ("service accounts in namespace research", ("namespace_service_accounts", "research")),
    ("all service accounts", ("all_service_accounts", None)),
    ('user "jane doe"', ("user", "jane doe")),
])
def test_every_subject_form(text, expected):
    decl = binding(f"bind p to {text}")
    assert decl.policy.text == "p"
    assert subjects(decl) == [expected]
    assert decl.namespaces == ()
    assert where(decl.subjects[0].span) == (1, 11, 1, 11 + len(text))
    assert where(decl.span) == (1, 1, 1, 11 + len(text))


def test_binding_subject_list_and_namespace_scope():
    decl = binding("bind web to user alice, group devs,\n    all service accounts "
                   "in namespace prod")
    assert subjects(decl) == [("user", "alice"), ("group", "devs"),
                              ("all_service_accounts", None)]
    assert [n.text for n in decl.namespaces] == ["prod"]
    assert decl.namespaces_keyword == "namespace"
    assert where(decl.namespaces[0].span) == (2, 39, 2, 43)
    assert where(decl.subjects[2].span) == (2, 5, 2, 25)
    assert where(decl.span) == (1, 1, 2, 43)


def test_binding_in_several_namespaces():
    decl = binding("bind web to group devs in namespaces a, b, c")
    assert [n.text for n in decl.namespaces] == ["a", "b", "c"]
    assert decl.namespaces_keyword == "namespaces"
    assert [where(n.span) for n in decl.namespaces] == [(1, 38, 1, 39), (1, 41, 1, 42),
                                                        (1, 44, 1, 45)]


def test_service_accounts_in_namespace_then_a_scope_parses():
    decl = binding("bind p to service accounts in namespace x in namespace y")
    assert subjects(decl) == [("namespace_service_accounts", "x")]
    assert [n.text for n in decl.namespaces] == ["y"]


# -- files: several items, comments, line endings, BOM ------------------------------------------

FILE = """\
# leading comment
policy a extends baseline {  # header comment
  deny privileged  # trailing comment
  # end of body
}

bind a to user alice
policy b extends a {}
bind b to group devs  # after binding
bind a to all service accounts
# end of file
"""


def test_several_policies_and_bindings_keep_file_order():
    source = parse(FILE)
    assert [type(i).__name__ for i in source.items] == [
        "PolicyDecl", "BindingDecl", "PolicyDecl", "BindingDecl", "BindingDecl"]
    assert [p.name.text for p in source.policies] == ["a", "b"]
    assert [b.policy.text for b in source.bindings] == ["a", "b", "a"]
    assert source.path == PATH and source.text == FILE


def test_comments_are_collected_with_spans():
    source = parse(FILE)
    assert [(c.text, where(c.span)) for c in source.comments] == [
        ("# leading comment", (1, 1, 1, 18)),
        ("# header comment", (2, 30, 2, 46)),
        ("# trailing comment", (3, 20, 3, 38)),
        ("# end of body", (4, 3, 4, 16)),
        ("# after binding", (9, 23, 9, 38)),
        ("# end of file", (11, 1, 11, 14)),
    ]


def test_comments_do_not_leak_between_parses():
    parse(FILE)
    assert parse("policy p {}").comments == ()


def test_comment_mark_inside_a_string_is_not_a_comment():
    source = parse('policy p {\n  description "not # a comment"\n}\n')
    assert source.comments == ()
    assert source.policies[0].statements[0].word.text == "not # a comment"


def test_empty_and_comment_only_files():
    assert parse("").items == ()
    only = parse("# nothing here\n\n   \n")
    assert only.items == ()
    assert [c.text for c in only.comments] == ["# nothing here"]


def _shape(source: ast.SourceFile):
    return [(p.name.text, [(s.kind, getattr(s, "allow", None), argument(s), where(s.span))
                           for s in p.statements], where(p.span)) for p in source.policies]


def test_crlf_line_endings_parse_like_lf():
    lf = parse(FILE)
    crlf = parse(FILE.replace("\n", "\r\n"))
    assert _shape(crlf) == _shape(lf)
    assert [subjects(b) for b in crlf.bindings] == [subjects(b) for b in lf.bindings]
    assert [where(c.span)[:2] for c in crlf.comments] == [where(c.span)[:2] for c in lf.comments]


def test_tabs_and_form_feeds_are_whitespace():
    source = parse("policy p {\n\tallow\tprivileged\f\n}\n")
    (stmt,) = source.policies[0].statements
    assert stmt == ast.Privileged(stmt.span, allow=True)
    assert where(stmt.span) == (2, 2, 2, 18)


def test_read_source_strips_a_utf8_bom():
    text = read_source(PATH, b"\xef\xbb\xbfpolicy p {\n  deny privileged\n}\n", Diagnostics())
    assert text == "policy p {\n  deny privileged\n}\n"
    (policy,) = parse(text).policies
    assert where(policy.name.span) == (1, 8, 1, 9)


def test_read_source_decodes_utf8_and_keeps_crlf():
    data = 'policy p {\r\n  description "héllo ✓"\r\n}\r\n'.encode()
    diags = Diagnostics()
    assert read_source(PATH, data, diags) == data.decode()
    assert diags.items == []


# -- E001: syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "column", "found", "expected"), [
    ("policy p {\n  volumes a,, b\n}\n", 2, 13, "unexpected `,`", "a name or a quoted string"),
    ("policy p {\n  run as user x\n}\n", 2, 15, "unexpected `x`", "`any`, `none` or a number"),
    ("policy p {\n  run as user 1..\n}\n", 3, 1, "unexpected `}`", "a number"),
    ("policy p { deny privileged } }", 1, 30, "unexpected `}`",
     "`bind`, `namespace`, `policy` or end of file"),
    ("policy p {\n  frobnicate\n}\n", 2, 3, "unexpected `frobnicate`", "`allow`"),
    ("policy p {\n  allow nfs only\n}\n", 3, 1, "unexpected `}`", "`via`"),
    ("policy p {\n  allow foo\n}\n", 3, 1, "unexpected `}`", "only via pvc"),
    ("policy p {\n  volumes { }\n}\n", 2, 11, "unexpected `{`", "a name"),
    ("{{{{{{{{", 1, 1, "unexpected `{`", "`bind`, `namespace`, `policy` or end of file"),
    ("policy p {\n  allow host ports 1..2..3\n}\n", 2, 24, "unexpected `..3`", None),
    ("policy p {\n  deny host ports 80\n}\n", 2, 19, "unexpected `80`", "`allow`"),
    ("bind p to user a in place", 1, 21, "unexpected `place`", "`namespace` or `namespaces`"),
    ("polciy p {}", 1, 1, "unexpected `polciy`", "`bind`, `namespace`, `policy` or end of file"),
])
def test_syntax_error_location_and_message(text, line, column, found, expected):
    diag = syntax_error(text)
    assert (diag.span.line, diag.span.column) == (line, column)
    assert found in diag.message
    if expected is not None:
        assert expected in diag.help


def test_syntax_error_span_covers_the_unexpected_token():
    diag = syntax_error("policy p {\n  frobnicate\n}\n")
    assert where(diag.span) == (2, 3, 2, 13)


def test_unterminated_string():
    diag = syntax_error('policy p {\n  description "abc\n}\n')
    assert (diag.span.line, diag.span.column) == (2, 15)
    assert diag.message == "syntax error: unterminated string"
    assert diag.help.startswith('close it with `"` on the same line')


def test_an_invisible_character_is_named_by_its_code_point():
    diag = syntax_error("policy p {\n  deny\u00a0privileged\n}\n")
    assert (diag.span.line, diag.span.column) == (2, 7)
    assert diag.message == "syntax error: unexpected character U+00A0 (no-break space)"


def test_unterminated_string_at_end_of_file():
    diag = syntax_error('policy p { description "abc')
    assert (diag.span.line, diag.span.column) == (1, 24)
    assert diag.message == "syntax error: unterminated string"


def test_mistyped_intent_after_allow_hints_at_the_typo():
    # `allow hostt network`: `allow <word>` can only continue with `only via pvc`.
    diag = syntax_error("policy p {\n  allow hostt network\n}\n")
    assert (diag.span.line, diag.span.column) == (2, 15)
    assert "only via pvc" in diag.help
    assert "`,`" not in diag.help


@pytest.mark.parametrize(("text", "line", "column"), [
    ("policy p {\n  deny privileged", 2, 18),
    ("policy p extends", 1, 17),
    ("policy", 1, 7),
    ("bind p to", 1, 10),
    ("bind p to user a in", 1, 20),
])
def test_unexpected_end_of_file_points_at_the_end(text, line, column):
    diag = syntax_error(text)
    assert diag.message == "syntax error: unexpected end of file"
    assert (diag.span.line, diag.span.column) == (line, column)


def test_syntax_error_stops_at_the_first_error_and_returns_no_file():
    diags = Diagnostics()
    assert parse_text("policy a { x }\npolicy b { y }\n", PATH, diags) is None
    assert [(d.code, d.span.line) for d in diags.items] == [("E001", 1)]


def test_a_bom_left_in_the_text_is_a_syntax_error_at_1_1():
    diag = syntax_error("\ufeffpolicy p {}")
    assert (diag.span.line, diag.span.column) == (1, 1)


# -- E002: unreadable sources -------------------------------------------------------------------


def test_invalid_utf8_is_e002_at_the_bad_byte():
    diag = unreadable(b'policy p {\n  description "\xff"\n}\n')
    assert (diag.span.file, diag.span.line, diag.span.column) == (PATH, 2, 16)
    assert "not valid UTF-8" in diag.message
    assert "UTF-8" in diag.help


def test_truncated_utf8_sequence_at_end_of_file_is_e002():
    diag = unreadable("policy é".encode()[:-1])
    assert (diag.span.line, diag.span.column) == (1, 8)


def test_nul_character_is_e002():
    diag = unreadable(b"policy p {\n  deny privileged\n\x00}\n")
    assert diag.span.line == 3
    assert "NUL" in diag.message


def test_oversized_source_is_e002():
    diag = unreadable(b" " * (MAX_SOURCE_BYTES + 1))
    assert (diag.span.line, diag.span.column) == (1, 1)
    assert str(MAX_SOURCE_BYTES) in diag.message
    assert "split" in diag.help


def test_source_of_exactly_the_limit_is_accepted():
    diags = Diagnostics()
    assert read_source(PATH, b" " * MAX_SOURCE_BYTES, diags) == " " * MAX_SOURCE_BYTES
    assert diags.items == []


def test_namespace_declarations():
    source = parse("namespace web enforce baseline audit restricted version v1.30 force\n"
                   "namespace ops warn restricted\n")
    web, ops = source.namespaces
    assert web.name.text == "web" and web.force and web.version.text == "v1.30"
    assert [(mode, level.text) for mode, level in web.levels] == [("enforce", "baseline"),
                                                                   ("audit", "restricted")]
    assert (ops.version, ops.force, ops.levels[0][0]) == (None, False, "warn")
    assert where(web.span) == (1, 1, 1, 68)
