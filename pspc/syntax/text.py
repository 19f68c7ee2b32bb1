"""Source text of words and statements, shared by the formatter and by unparsing from the IR.

A statement is laid out as `Parts`: (head, comma-separated items, tail), so that one `wrap`
breaks long lists the same way wherever a statement is printed.
"""

from __future__ import annotations

import re

from pspc.syntax import ast

WIDTH = 100
_BARE = re.compile(r'[^\s,{}"#]+')
_KEYWORDS = ("any", "none")  # `allow capabilities any` is not a capability named "any"
_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})

Parts = tuple[str, list[str], str]


def quote(text: str) -> str:
    """A double-quoted string that the parser reads back as `text` (escapes: \\ \" \\n \\r \\t)."""
    return '"' + text.translate(_QUOTED) + '"'


def word(w: ast.Word) -> str:
    """A parsed word as written: quoted if it was, or if it could not stand bare."""
    if w.quoted or not _BARE.fullmatch(w.text):
        return quote(w.text)
    return w.text


def name(text: str) -> str:
    """A value from the IR as a word that reads back as that value (never a keyword)."""
    return text if _BARE.fullmatch(text) and text not in _KEYWORDS else quote(text)


def words(value: ast.Words) -> list[str]:
    return [value.mode] if value.mode != "list" else [word(w) for w in value.items]


def ids(value: ast.Ids) -> list[str]:
    if value.mode == "any":
        return ["any"]
    items = [r.text for r in value.ranges]
    if value.if_set:
        items[-1] += " if set"
    return items


def one_line(parts: Parts) -> str:
    """A statement on one line, unwrapped (for messages)."""
    head, items, tail = parts
    return head + (" " + ", ".join(items) if items else "") + tail


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
