"""Source text of words and statements, shared by the formatter and by unparsing from the IR.

A statement is laid out as `Parts`: (head, comma-separated items, tail), so that one `wrap`
breaks long lists the same way wherever a statement is printed.
"""

from __future__ import annotations

import re

from pspc.syntax import ast

WIDTH = 100
_BARE = re.compile(r'[^\s,{}"#]+')
_KEYWORDS = ("any", "none", "unset")  # `allow capabilities any` is not a capability named "any"
_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters written as `\\u{HEX}`: controls, and what str.splitlines() or YAML would read
as a line break (U+0085, U+2028, U+2029, \\v, \\f, \\x1c-\\x1e)."""

Parts = tuple[str, list[str], str]


def quote(text: str) -> str:
    """A double-quoted string that the parser reads back as `text` (escapes: \\ \" \\n \\r \\t)."""
    escaped = _RAW.sub(lambda m: f"\\u{{{ord(m[0]):x}}}", text.translate(_QUOTED))
    return '"' + escaped + '"'


def word(w: ast.Word) -> str:
    """A parsed word as written: quoted if it was, or if it could not stand bare."""
    if w.quoted or not _BARE.fullmatch(w.text) or _RAW.search(w.text):
        return quote(w.text)
    return w.text


def name(text: str) -> str:
    """A value from the IR as a word that reads back as that value (never a keyword)."""
    bare = _BARE.fullmatch(text) and text not in _KEYWORDS and not _RAW.search(text)
    return text if bare else quote(text)


def words(value: ast.Words) -> list[str]:
    return [value.mode] if value.mode != "list" else [word(w) for w in value.items]


def ids(value: ast.Ids) -> list[str]:
    items = [r.text for r in value.ranges]
    if value.mode != "ranges":
        items = [f"{value.mode} {items[0]}", *items[1:]] if items else [value.mode]
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
