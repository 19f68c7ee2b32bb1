"""The abstract syntax tree: what the user wrote, with where they wrote it.

Statements keep their exact words and spans so that diagnostics can point at them and the
formatter can print them back; meaning is assigned later, in pspc.model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc.diagnostics import Span


@dataclass(frozen=True)
class Word:
    """A name, keyword argument or quoted string, unquoted, with its span."""

    text: str
    span: Span
    quoted: bool = False


@dataclass(frozen=True)
class IdRange:
    """`min..max` or a single number. `text` is as written (numbers too long for any
    ID are clamped in min/max, so that the checks can report them by their text)."""

    min: int
    max: int
    span: Span
    text: str


@dataclass(frozen=True)
class Words:
    """A list argument: `any`, `none`, or explicit items."""

    mode: str  # "any" | "none" | "list"
    items: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Ids:
    """A user/group strategy argument: `any`, or ranges (optionally `if set`)."""

    mode: str  # "any" | "ranges"
    ranges: tuple[IdRange, ...] = ()
    if_set: bool = False


@dataclass(frozen=True)
class HostPath:
    prefix: Word
    read_only: bool


@dataclass(frozen=True)
class Statement:
    """One intent inside a policy body.

    `kind` is the grammar rule name; `allow` carries allow/deny for the verdict forms;
    `value` is the argument (Word, Words, Ids, tuples of them) as the rule defines it.
    """

    kind: str
    span: Span
    allow: bool | None = None
    value: object = None


@dataclass(frozen=True)
class PolicyDecl:
    name: Word
    extends: Word | None
    statements: tuple[Statement, ...]
    span: Span


@dataclass(frozen=True)
class Subject:
    kind: str  # user | group | service_account | namespace_service_accounts | all_service_accounts
    name: Word | None
    span: Span


@dataclass(frozen=True)
class BindingDecl:
    policy: Word
    subjects: tuple[Subject, ...]
    namespaces: tuple[Word, ...]
    span: Span
    namespaces_keyword: str = "namespace"


@dataclass(frozen=True)
class NamespaceDecl:
    """`namespace NAME enforce LEVEL ...`: explicit Pod Security Admission labels."""

    name: Word
    levels: tuple[tuple[str, Word], ...]  # (enforce | audit | warn, level), as written
    versions: tuple[Word, ...]  # every `version` clause (more than one is an error)
    force: bool
    span: Span
    force_span: Span | None = None

    @property
    def version(self) -> Word | None:
        return self.versions[0] if self.versions else None


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    items: tuple[PolicyDecl | BindingDecl | NamespaceDecl, ...]
    comments: tuple[Comment, ...]

    @property
    def policies(self) -> tuple[PolicyDecl, ...]:
        return tuple(i for i in self.items if isinstance(i, PolicyDecl))

    @property
    def bindings(self) -> tuple[BindingDecl, ...]:
        return tuple(i for i in self.items if isinstance(i, BindingDecl))

    @property
    def namespaces(self) -> tuple[NamespaceDecl, ...]:
        return tuple(i for i in self.items if isinstance(i, NamespaceDecl))
