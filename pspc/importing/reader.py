"""Strict, located reading of Kubernetes objects for `pspc import`.

Types are checked once, for every reader of YAML, when the objects are read
(pspc.manifests against pspc.apitypes): what reaches this reader is well typed, and it adds
what `import` needs on top (required fields, unknown fields, values pspc can keep), in the
same words. Every problem names the object (`document 2 (PodSecurityPolicy restricted)`, or
`document 0, item 4 (...)` inside a List), the field (`spec.hostPorts[0].max`) and the line
and column where it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc import apitypes
from pspc.apitypes import BOOL, INT64, LIST, MAPPING, STR, FieldPath, field_path
from pspc.diagnostics import Diagnostics, Span
from pspc.manifests import Manifest, describe, duplicate_keys, locate

__all__ = ["FieldPath", "InvalidFieldError", "Reader", "describe", "field_path", "where"]

def where(manifest: Manifest) -> Span:
    """Where an object starts: its first key (the document marker when unknown)."""
    return locate(manifest, ())


class InvalidFieldError(Exception):
    """A field cannot be read; the diagnostic has been reported."""


@dataclass
class Reader:
    """Strict typed access to one object's fields; every problem names document and field."""

    manifest: Manifest
    diags: Diagnostics
    failed: bool = False

    def error(self, path: FieldPath, message: str, code: str = "E043", help: str | None = None,
              key: bool = False, span: Span | None = None) -> None:
        self.failed = True
        where = f"{field_path(path)}: " if path else ""
        self.diags.error(code, f"{describe(self.manifest)}: {where}{message}",
                         span or locate(self.manifest, path, key), help=help)

    def fail(self, path: FieldPath, message: str, code: str = "E043", help: str | None = None):
        self.error(path, message, code, help)
        raise InvalidFieldError

    def repeated_keys(self) -> None:
        """Report keys written twice in one mapping (YAML keeps the last silently)."""
        for path, span in duplicate_keys(self.manifest):
            self.error(path, "key written twice", help="YAML keeps only the last one; "
                       "Kubernetes refuses both", span=span)

    def get(self, path: FieldPath):
        """The value at `path`, or None where the path leads nowhere."""
        value = self.manifest.object
        for step in path:
            if isinstance(step, int):
                value = value[step] if isinstance(value, list) and step < len(value) else None
            else:
                value = value.get(step) if isinstance(value, dict) else None
        return value

    def typed(self, path: FieldPath, expected: object, required: bool = False):
        """The value at `path`, of the outer type `expected` (an apitypes type)."""
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, "is required", help=f"set it to {apitypes.name(expected)}")
            return None
        wrong = apitypes.mismatch(value, expected)
        if wrong:
            self.fail(path, wrong)
        return value

    def boolean(self, path: FieldPath, default: bool | None = False) -> bool | None:
        value = self.typed(path, BOOL)
        return default if value is None else value

    def string(self, path: FieldPath, required: bool = False) -> str | None:
        return self.typed(path, STR, required=required)

    def integer(self, path: FieldPath) -> int:
        value = self.typed(path, INT64, required=True)
        if value < 0:
            self.fail(path, f"{value} cannot be negative")
        return value

    def mapping(self, path: FieldPath, keys: tuple[str, ...], required: bool = False) -> dict:
        value = self.typed(path, MAPPING, required) or {}
        for key in value:
            if key not in keys:
                self.error(path + (str(key),), f"unknown field `{key}`",
                           help="known fields: " + ", ".join(keys), key=True)
        return value

    def attempt(self, read, *args):
        """read(self, *args), or None when it reported a problem: the other fields of the
        object are still read, so that one run reports every problem."""
        try:
            return read(self, *args)
        except InvalidFieldError:
            return None

    def items(self, path: FieldPath) -> list:
        return self.typed(path, LIST) or []

    def strings(self, path: FieldPath) -> list[str]:
        return [self.string(path + (i,), required=True) for i in range(len(self.items(path)))]

    def unique(self, path: FieldPath, values: list, label=str, indexed: bool = True) -> None:
        """pspc keeps these lists as sets: a repeated entry would be lost."""
        seen: set = set()
        for i, value in enumerate(values):
            if value in seen:
                self.fail(path + (i,) * indexed, f"{label(value)} is listed twice", "E044",
                          help="remove the repetition: pspc keeps each entry once")
            seen.add(value)

