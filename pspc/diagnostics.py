"""Diagnostics: what went wrong, where, and how to fix it.

Rendered like rustc/ruff: `file:line:col: error[E012] message`, the source line, a caret
under the span, a `note:` with its own line and caret for each secondary location, and a
`help:` line. Every user-facing problem goes through here, so no traceback ever reaches a
user for bad input. Every code is registered in pspc.diagnostic_codes (with its severity,
title and explanation); reporting an unregistered one is a bug and raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import NamedTuple


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


class Note(NamedTuple):
    """A secondary location of a diagnostic ("first defined here"), shown with its snippet."""

    message: str
    span: Span


class UnregisteredCodeError(ValueError):
    """A diagnostic code missing from pspc.diagnostic_codes, or used with another severity."""


def _registered(code: str, severity: Severity) -> str:
    from pspc.diagnostic_codes import CODES

    entry = CODES.get(code)
    if entry is None:
        raise UnregisteredCodeError(f"{code} is not in pspc.diagnostic_codes.CODES")
    if entry.severity != severity.value:
        raise UnregisteredCodeError(f"{code} is registered as {entry.severity}, "
                                    f"reported as {severity.value}")
    return entry.title


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    span: Span | None
    help: str | None = None
    notes: tuple[Note, ...] = ()

    def sort_key(self) -> tuple:
        span = self.span or Span("", 0, 0, 0, 0)
        return (span.file, span.line, span.column, self.code, self.message)

    def to_json(self) -> dict:
        data: dict = {"severity": self.severity.value, "code": self.code,
                      "title": _registered(self.code, self.severity), "message": self.message}
        if self.span is not None:
            data.update(_span_json(self.span))
        if self.help:
            data["help"] = self.help
        if self.notes:
            data["notes"] = [{"message": m, "location": str(s), **_span_json(s)}
                             for m, s in self.notes]
        return data


def _span_json(span: Span) -> dict:
    return {"file": span.file, "line": span.line, "column": span.column,
            "end_line": span.end_line, "end_column": span.end_column}


@dataclass
class Diagnostics:
    """An append-only collection that every stage of the pipeline reports into.

    `sources` maps each file read to its text: readers register what they read (pspc
    sources, YAML inputs), so that rendering can quote the line of any diagnostic.
    """

    items: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def error(self, code: str, message: str, span: Span | None, help: str | None = None,
              notes: tuple[tuple[str, Span], ...] = ()) -> None:
        self._add(Severity.ERROR, code, message, span, help, notes)

    def warning(self, code: str, message: str, span: Span | None, help: str | None = None,
                notes: tuple[tuple[str, Span], ...] = ()) -> None:
        self._add(Severity.WARNING, code, message, span, help, notes)

    def _add(self, severity: Severity, code: str, message: str, span: Span | None,
             help: str | None, notes: tuple[tuple[str, Span], ...]) -> None:
        _registered(code, severity)
        self.items.append(Diagnostic(severity, code, message, span, help,
                                     tuple(Note(m, s) for m, s in notes)))

    def extend(self, other: Diagnostics) -> None:
        self.items.extend(other.items)
        self.sources.update(other.sources)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.severity, d.help): d for d in self.items}
        return [unique[k] for k in sorted(unique, key=lambda k: (k[0], k[1].value))]

    def counts(self) -> tuple[int, int]:
        errors = sum(d.severity is Severity.ERROR for d in self.items)
        return errors, len(self.items) - errors

    def rendered(self, sources: dict[str, str] | None = None,
                 colour: bool = False) -> list[str]:
        """Each diagnostic rendered (sorted), quoting lines from the files registered in
        `self.sources` and from `sources`."""
        texts = {**self.sources, **(sources or {})}
        return [render(d, texts, colour) for d in self.sorted()]


_COLOURS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m"}
_BOLD, _BLUE, _RESET = "\x1b[1m", "\x1b[1;34m", "\x1b[0m"


@lru_cache(maxsize=64)
def _lines(text: str) -> list[str]:
    return text.splitlines()


def _source_line(span: Span, sources: dict[str, str]) -> str | None:
    text = sources.get(span.file)
    if text is None:
        return None
    source_lines = _lines(text)
    if 0 < span.line <= len(source_lines):
        return source_lines[span.line - 1].replace("\t", " ")
    if span.line == len(source_lines) + 1 and (not text or text.endswith("\n")):
        return ""  # the end of the file, e.g. an unclosed bracket
    return None


def render(diagnostic: Diagnostic, sources: dict[str, str], colour: bool = False) -> str:
    """Render one diagnostic with its source line and a caret under the span, then each
    note with its own line and caret, then the help."""

    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if colour else text

    snippets = {s: _source_line(s, sources)
                for s in (diagnostic.span, *(n.span for n in diagnostic.notes)) if s}
    width = max((len(str(s.line)) for s, line in snippets.items() if line is not None),
                default=1)
    bar = paint("|", _BLUE)

    def snippet(span: Span | None, style: str) -> list[str]:
        line = snippets.get(span) if span else None
        if span is None or line is None:
            return []
        length = (span.end_column - span.column) if span.end_line == span.line else len(line)
        length = max(1, min(length, len(line) - span.column + 1))
        pad = " " * width
        return [f"{pad} {bar}",
                f"{paint(str(span.line).rjust(width), _BLUE)} {bar} {line}",
                f"{pad} {bar} {' ' * (span.column - 1)}{paint('^' * length, style)}"]

    style = _COLOURS[diagnostic.severity]
    sev = paint(f"{diagnostic.severity.value}[{diagnostic.code}]", style)
    where = f"{diagnostic.span}: " if diagnostic.span else ""
    lines = [f"{where}{sev} {paint(diagnostic.message, _BOLD)}"]
    lines += snippet(diagnostic.span, style)
    for message, note_span in diagnostic.notes:
        lines.append(f"  {paint('note', _BOLD)}: {message} ({note_span})")
        lines += snippet(note_span, _BLUE)
    if diagnostic.help:
        lines.append(f"  {paint('help', _BOLD)}: {diagnostic.help}")
    return "\n".join(lines)


def summary(diags: Diagnostics) -> str:
    errors, warnings = diags.counts()

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
