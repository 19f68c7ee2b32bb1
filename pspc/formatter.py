"""`pspc fmt`: print an AST back as canonical source, keeping every comment.

Canonical means: one statement per line, two-space indent, `a, b` lists wrapped at 100
columns with a four-space continuation, one blank line between policies, blank lines kept
(at most one) where the author grouped statements. Comments stay with the statement they
precede or follow on the same line. Formatting is idempotent. The words of each statement
come from its row in pspc.model.language; this module lays them out and places the comments.
"""

from __future__ import annotations

from pspc.model import language
from pspc.syntax import ast
from pspc.syntax.text import WIDTH, binding_lines, namespace_lines, quote, word, wrap

__all__ = ["WIDTH", "format_source", "quote", "word", "wrap"]


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
            self._emit(wrap("  ", *language.parts(stmt)), stmt.span.line, stmt.span.end_line, "  ")
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
