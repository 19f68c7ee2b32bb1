"""Field errors rendered exactly as Go's apimachinery prints them
(docs/psp-admission.md#field-errors).

PSP rejection messages embed these strings verbatim, so paths and bad values must follow Go's
formatting rules byte for byte: `%q` for strings, `%#v` for slices, `"null"` for nil.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pspc.gostrings import go_quote

INVALID = "Invalid value"
REQUIRED = "Required value"
FORBIDDEN = "Forbidden"
NOT_SUPPORTED = "Unsupported value"
DUPLICATE = "Duplicate value"

_VALUELESS_KINDS = frozenset({REQUIRED, FORBIDDEN})

class IDRange(NamedTuple):
    """A `policy.IDRange` (inclusive), printable in both Go verbs the plugin uses."""

    min: int
    max: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max

    def go_syntax(self) -> str:
        return f"policy.IDRange{{Min:{self.min}, Max:{self.max}}}"


def format_ranges(ranges: tuple[IDRange, ...]) -> str:
    """Go `%v` of a `[]policy.IDRange`, as used in detail text: `[{1 2} {5 6}]`."""
    return "[" + " ".join(f"{{{r.min} {r.max}}}" for r in ranges) + "]"


@dataclass(frozen=True, slots=True)
class GoSlice:
    """A typed Go slice printed with `%#v`; `items=None` is a nil slice."""

    elem_type: str
    items: tuple[Any, ...] | None

    def go_syntax(self) -> str:
        if self.items is None:
            return f"[]{self.elem_type}(nil)"
        return f"[]{self.elem_type}{{{', '.join(_go_syntax(item) for item in self.items)}}}"


def int64_slice(values: list[int] | None) -> GoSlice:
    return GoSlice("int64", None if values is None else tuple(values))


def capability_slice(values: list[str] | None) -> GoSlice:
    return GoSlice("core.Capability", None if values is None else tuple(values))


def id_range_slice(ranges: tuple[IDRange, ...] | None) -> GoSlice:
    return GoSlice("policy.IDRange", ranges)


def string_slice(values: list[str] | None) -> GoSlice:
    return GoSlice("string", None if values is None else tuple(values))


def _go_syntax(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return go_quote(item)
    return item.go_syntax()


def go_value(value: Any) -> str:
    """How `field.Error` prints a bad value: nil as `"null"`, scalars bare, strings quoted."""
    if value is None:
        return '"null"'
    return _go_syntax(value)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One `field.Error`: a kind, a rendered path, the bad value and a detail message."""

    kind: str
    path: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        if self.kind in _VALUELESS_KINDS:
            text = self.kind
        else:
            text = f"{self.kind}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.path}: {self.body()}"


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(INVALID, path, value, detail)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, None, detail)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, None, detail)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(go_quote(v) for v in supported) if supported else ""
    return FieldError(NOT_SUPPORTED, path, value, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, value)


def render_list(errors: list[FieldError]) -> str:
    """Go `%v` of a `field.ErrorList`: the errors joined by one space inside brackets."""
    return "[" + " ".join(str(error) for error in errors) + "]"
