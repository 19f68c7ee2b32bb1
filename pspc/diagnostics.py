"""Diagnostics: what went wrong, where, and how to fix it.

Rendered like rustc/ruff: `file:line:col: error[E012] message`, the source line, a caret
under the span and a `help:` line. Every user-facing problem goes through here, so no
traceback ever reaches a user for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache


@dataclass(frozen=True, order=True)
class Span:
    """A region of one source file; lines and columns count from 1, end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    span: Span | None
    help: str | None = None
    notes: tuple[tuple[str, Span], ...] = ()

    def sort_key(self) -> tuple:
        span = self.span or Span("", 0, 0, 0, 0)
        return (span.file, span.line, span.column, self.code, self.message)

    def to_json(self) -> dict:
        data: dict = {"severity": self.severity.value, "code": self.code, "message": self.message}
        if self.span is not None:
            data.update(
                file=self.span.file,
                line=self.span.line,
                column=self.span.column,
                end_line=self.span.end_line,
                end_column=self.span.end_column,
            )
        if self.help:
            data["help"] = self.help
        if self.notes:
            data["notes"] = [{"message": m, "location": str(s)} for m, s in self.notes]
        return data


@dataclass
class Diagnostics:
    """An append-only collection that every stage of the pipeline reports into."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None, help: str | None = None,
              notes: tuple[tuple[str, Span], ...] = ()) -> None:
        self.items.append(Diagnostic(Severity.ERROR, code, message, span, help, notes))

    def warning(self, code: str, message: str, span: Span | None, help: str | None = None,
                notes: tuple[tuple[str, Span], ...] = ()) -> None:
        self.items.append(Diagnostic(Severity.WARNING, code, message, span, help, notes))

    def extend(self, other: Diagnostics) -> None:
        self.items.extend(other.items)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.severity, d.help): d for d in self.items}
        return [unique[k] for k in sorted(unique, key=lambda k: (k[0], k[1].value))]

    def counts(self) -> tuple[int, int]:
        errors = sum(d.severity is Severity.ERROR for d in self.items)
        return errors, len(self.items) - errors


_COLOURS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m"}
_BOLD, _BLUE, _RESET = "\x1b[1m", "\x1b[1;34m", "\x1b[0m"


@lru_cache(maxsize=64)
def _lines(text: str) -> list[str]:
    return text.splitlines()


def render(diagnostic: Diagnostic, sources: dict[str, str], colour: bool = False) -> str:
    """Render one diagnostic with its source line and a caret under the span."""

    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if colour else text

    sev = paint(f"{diagnostic.severity.value}[{diagnostic.code}]", _COLOURS[diagnostic.severity])
    where = f"{diagnostic.span}: " if diagnostic.span else ""
    lines = [f"{where}{sev} {paint(diagnostic.message, _BOLD) if colour else diagnostic.message}"]
    span = diagnostic.span
    text = sources.get(span.file) if span else None
    if span and text is not None:
        source_lines = _lines(text)
        if 0 < span.line <= len(source_lines):
            line = source_lines[span.line - 1].replace("\t", " ")
            gutter = str(span.line)
            width = (span.end_column - span.column) if span.end_line == span.line else len(line)
            width = max(1, min(width, len(line) - span.column + 1))
            pad = " " * len(gutter)
            lines.append(f"{pad} {paint('|', _BLUE)}")
            lines.append(f"{paint(gutter, _BLUE)} {paint('|', _BLUE)} {line}")
            caret = paint("^" * width, _COLOURS[diagnostic.severity])
            lines.append(f"{pad} {paint('|', _BLUE)} {' ' * (span.column - 1)}{caret}")
    for message, note_span in diagnostic.notes:
        lines.append(f"  note: {message} ({note_span})")
    if diagnostic.help:
        lines.append(f"  {paint('help', _BOLD) if colour else 'help'}: {diagnostic.help}")
    return "\n".join(lines)


def summary(diags: Diagnostics) -> str:
    errors, warnings = diags.counts()

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
