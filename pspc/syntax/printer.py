"""`pspc fmt`: print an AST back as canonical source, keeping every comment.

Canonical means: one statement per line, two-space indent, `a, b` lists wrapped at 100
columns with a four-space continuation, one blank line between policies, blank lines kept
(at most one) where the author grouped statements. Comments stay with the statement they
precede or follow on the same line. Formatting is idempotent.
"""

from __future__ import annotations

import re

from pspc.syntax import ast

WIDTH = 100
_BARE = re.compile(r'[^\s,{}"#]+')


def word(w: ast.Word) -> str:
    if w.quoted or not _BARE.fullmatch(w.text):
        return quote(w.text)
    return w.text


_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def quote(text: str) -> str:
    """A double-quoted string that the parser reads back as `text` (escapes: \\ \" \\n \\r \\t)."""
    return '"' + text.translate(_QUOTED) + '"'


def _ranges(ranges) -> list[str]:
    return [r.text for r in ranges]


def _words(value: ast.Words) -> list[str]:
    return [value.mode] if value.mode != "list" else [word(w) for w in value.items]


def _ids(value: ast.Ids) -> list[str]:
    if value.mode == "any":
        return ["any"]
    items = _ranges(value.ranges)
    if value.if_set:
        items[-1] += " if set"
    return items


def _verdict(stmt: ast.Statement) -> str:
    return "allow" if stmt.allow else "deny"


def statement_parts(stmt: ast.Statement) -> tuple[str, list[str], str]:
    """A statement as (head, comma-separated items, tail): the printer wraps the items."""
    k, v = stmt.kind, stmt.value
    simple = {
        "run_as_non_root": "run as non-root",
        "read_only_root_filesystem": "require read-only root filesystem",
        "writable_root_filesystem": "allow writable root filesystem",
        "deny_host_paths": "deny host paths",
        "require_non_root": "require explicit non-root",
    }
    if k in simple:
        return simple[k], [], ""
    if k == "description":
        return "description " + quote(v.text), [], ""
    if k == "annotation":
        return f"annotation {quote(v[0].text)} {quote(v[1].text)}", [], ""
    if k == "privileged":
        return f"{_verdict(stmt)} privileged", [], ""
    if k == "privilege_escalation":
        return f"{_verdict(stmt)} privilege escalation", [], ""
    if k == "default_privilege_escalation":
        return f"default {_verdict(stmt)} privilege escalation", [], ""
    if k == "proc_mount":
        return f"{_verdict(stmt)} unmasked proc mount", [], ""
    if k == "host_namespaces":
        return f"{_verdict(stmt)} host", [w.text for w in v], ""
    if k == "host_ports":
        if not stmt.allow:
            return "deny host ports", [], ""
        return "allow host ports", ["any"] if v == "any" or not v else _ranges(v), ""
    if k == "only_via_pvc":
        return f"allow {word(v)} only via pvc", [], ""
    if k == "allow_host_paths":
        return "allow host paths", [word(p.prefix) + (" read-only" if p.read_only else "")
                                    for p in v], ""
    if k == "selinux":
        if v == "any":
            return "selinux any", [], ""
        return "selinux " + " ".join(f"{key} {word(w)}" for key, w in v), [], ""
    if k == "default_capabilities":
        return "add capabilities", _words(v), " by default"
    heads = {
        "volumes": "volumes", "allow_volumes": "allow volumes", "deny_volumes": "deny volumes",
        "allow_flex_volumes": "allow flex volumes", "allow_csi_drivers": "allow csi drivers",
        "allow_capabilities": "allow capabilities", "drop_capabilities": "drop capabilities",
        "allow_unsafe_sysctls": "allow unsafe sysctls", "deny_sysctls": "deny sysctls",
        "allow_runtime_classes": "allow runtime classes",
        "allow_seccomp": "allow seccomp profiles", "allow_apparmor": "allow apparmor profiles",
        "selinux_types": "allow selinux types",
        "run_as_user": "run as user", "run_as_group": "run as group",
        "supplemental_groups": "supplemental groups", "fs_group": "fs group",
        "default_runtime_class": "default runtime class",
        "default_seccomp": "default seccomp profile",
        "default_apparmor": "default apparmor profile",
    }
    head = heads[k]
    if isinstance(v, ast.Words):
        return head, _words(v), ""
    if isinstance(v, ast.Ids):
        return head, _ids(v), ""
    if isinstance(v, ast.Word):
        return f"{head} {word(v)}", [], ""
    return head, [word(w) for w in v], ""


def wrap(indent: str, head: str, items: list[str], tail: str) -> list[str]:
    """Lay out `head a, b, c tail`, breaking after commas past WIDTH columns."""
    if not items:
        return [indent + head + tail]
    lines = [indent + head + " " + items[0]]
    for item in items[1:]:
        if len(lines[-1]) + len(", ,") + len(item) <= WIDTH:
            lines[-1] += ", " + item
        else:
            lines[-1] += ","
            lines.append(indent + "    " + item)
    if tail and len(lines[-1]) + len(tail) > WIDTH:
        lines.append(indent + "    " + tail.strip())
    else:
        lines[-1] += tail
    return lines


def _subject(s: ast.Subject) -> str:
    if s.kind == "namespace_service_accounts":
        return f"service accounts in namespace {word(s.name)}"
    if s.kind == "all_service_accounts":
        return "all service accounts"
    if s.kind == "service_account":
        return f"service account {word(s.name)}"
    return f"{s.kind} {word(s.name)}"


def namespace_lines(n: ast.NamespaceDecl) -> list[str]:
    parts = [f"{mode} {word(level)}" for mode, level in n.levels]
    parts += [f"version {word(v)}" for v in n.versions]
    if n.force:
        parts.append("force")
    return [f"namespace {word(n.name)} " + " ".join(parts)]


def binding_lines(b: ast.BindingDecl) -> list[str]:
    tail = ""
    if b.namespaces:
        keyword = "namespaces" if len(b.namespaces) > 1 else "namespace"
        tail = f" in {keyword} " + ", ".join(word(n) for n in b.namespaces)
    return wrap("", f"bind {word(b.policy)} to", [_subject(s) for s in b.subjects], tail)


class _Printer:
    def __init__(self, source: ast.SourceFile) -> None:
        self.comments = sorted(source.comments, key=lambda c: (c.span.line, c.span.column))
        self.lines: list[str] = []
        self.last_line = 0

    def _take(self, before_line: int) -> list[ast.Comment]:
        taken = [c for c in self.comments if c.span.line < before_line]
        self.comments = [c for c in self.comments if c.span.line >= before_line]
        return taken

    def _blank_if_gap(self, line: int) -> None:
        if self.last_line and line > self.last_line + 1 and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def _leading(self, line: int, indent: str) -> None:
        for comment in self._take(line):
            self._blank_if_gap(comment.span.line)
            self.lines.append(indent + comment.text.rstrip())
            self.last_line = comment.span.line

    def _emit(self, rendered: list[str], first: int, last: int, indent: str) -> None:
        self._leading(first, indent)
        self._blank_if_gap(first)
        trailing = self._take(last + 1)
        if trailing:
            rendered = rendered[:-1] + [rendered[-1] + "  " + " ".join(
                c.text.rstrip() for c in trailing)]
        self.lines.extend(rendered)
        self.last_line = last

    def policy(self, p: ast.PolicyDecl) -> None:
        header = f"policy {word(p.name)}"
        if p.extends is not None:
            header += f" extends {word(p.extends)}"
        shares_line = bool(p.statements) and p.statements[0].span.line == p.span.line
        self._emit([header + " {"], p.span.line, p.span.line - shares_line, "")
        self.last_line = 0  # never a blank line right after `{`
        for stmt in p.statements:
            head, items, tail = statement_parts(stmt)
            self._emit(wrap("  ", head, items, tail), stmt.span.line, stmt.span.end_line, "  ")
        self._leading(p.span.end_line, "  ")
        self._emit(["}"], p.span.end_line, p.span.end_line, "")

    def file(self, source: ast.SourceFile) -> str:
        previous = None
        for item in source.items:
            if previous is not None and (isinstance(item, ast.PolicyDecl)
                                         or isinstance(previous, ast.PolicyDecl)):
                self.lines.append("")
            if isinstance(item, ast.PolicyDecl):
                self.policy(item)
            else:
                lines = (namespace_lines(item) if isinstance(item, ast.NamespaceDecl)
                         else binding_lines(item))
                self._emit(lines, item.span.line, item.span.end_line, "")
            previous = item
        self._leading(10**9, "")
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n" if self.lines else ""


def format_source(source: ast.SourceFile) -> str:
    return _Printer(source).file(source)
