"""The abstract syntax tree: what the user wrote, with where they wrote it.

Statements are typed nodes, one class per kind, that keep their exact words and spans so that
diagnostics can point at them and the formatter can print them back; meaning, surface words
and printing are assigned per class in pspc.model.language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

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
    """A user/group strategy argument: `any` (ranges after it are kept but have no effect),
    `none` (MustRunAs with no range: admits no pod), or ranges; `none` and ranges take
    `if set`."""

    mode: str  # "any" | "none" | "ranges"
    ranges: tuple[IdRange, ...] = ()
    if_set: bool = False


@dataclass(frozen=True)
class HostPath:
    prefix: Word
    read_only: bool


# -- statements -------------------------------------------------------------------------------
#
# One frozen class per statement kind, built by the parser's Transformer. A kind's grammar rule
# is its class name in snake_case (`HostPorts` is `host_ports`), so the parser needs no list of
# them. The few shapes (`shape=True`) carry the arguments; a new intent of an existing shape is a
# two-line subclass here, a grammar rule, and a row in pspc.model.language.

STATEMENTS: dict[str, type[Statement]] = {}
"""Every statement class by its grammar rule name."""


@dataclass(frozen=True)
class Statement:
    """One intent inside a policy body; `span` covers all of its words."""

    kind: ClassVar[str] = ""
    span: Span

    def __init_subclass__(cls, shape: bool = False, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not shape:
            cls.kind = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
            STATEMENTS[cls.kind] = cls


@dataclass(frozen=True)
class Bare(Statement, shape=True):
    """Fixed words only, e.g. `deny host paths`."""


@dataclass(frozen=True)
class Verdict(Statement, shape=True):
    """`allow ...` or `deny ...`."""

    allow: bool


@dataclass(frozen=True)
class OneWord(Statement, shape=True):
    """One name or quoted string, e.g. `default runtime class gvisor`."""

    word: Word


@dataclass(frozen=True)
class Names(Statement, shape=True):
    """Explicit names only, e.g. `allow volumes nfs, hostPath`."""

    items: tuple[Word, ...]


@dataclass(frozen=True)
class Listing(Statement, shape=True):
    """`any`, `none` or names, e.g. `drop capabilities ALL`."""

    words: Words


@dataclass(frozen=True)
class IdStrategy(Statement, shape=True):
    """`any` or ID ranges, e.g. `fs group 1..65535 if set`."""

    ids: Ids


@dataclass(frozen=True)
class Description(OneWord):
    pass


@dataclass(frozen=True)
class Annotation(Statement):
    key: Word
    value: Word


@dataclass(frozen=True)
class Label(Statement):
    key: Word
    value: Word


@dataclass(frozen=True)
class Privileged(Verdict):
    pass


@dataclass(frozen=True)
class HostNamespaces(Verdict):
    names: tuple[Word, ...]  # network | pid | ipc | namespaces (all three)


@dataclass(frozen=True)
class HostPorts(Verdict):
    ranges: tuple[IdRange, ...] = ()  # none written, or `any`: every port


@dataclass(frozen=True)
class Volumes(Listing):
    pass


@dataclass(frozen=True)
class AllowVolumes(Names):
    pass


@dataclass(frozen=True)
class DenyVolumes(Names):
    pass


@dataclass(frozen=True)
class OnlyViaPvc(OneWord):
    pass


@dataclass(frozen=True)
class AllowHostPaths(Statement):
    paths: tuple[HostPath, ...]


@dataclass(frozen=True)
class DenyHostPaths(Bare):
    pass


@dataclass(frozen=True)
class AllowFlexVolumes(Names):
    pass


@dataclass(frozen=True)
class AllowCsiDrivers(Names):
    pass


@dataclass(frozen=True)
class RunAsUser(IdStrategy):
    pass


@dataclass(frozen=True)
class RunAsNonRoot(Statement):
    """`run as non-root` (ranges after it are kept but have no effect), or `deny root`."""

    ranges: tuple[IdRange, ...] = ()


@dataclass(frozen=True)
class RunAsGroup(IdStrategy):
    pass


@dataclass(frozen=True)
class SupplementalGroups(IdStrategy):
    pass


@dataclass(frozen=True)
class FsGroup(IdStrategy):
    pass


@dataclass(frozen=True)
class ReadOnlyRootFilesystem(Bare):
    pass


@dataclass(frozen=True)
class WritableRootFilesystem(Bare):
    pass


@dataclass(frozen=True)
class PrivilegeEscalation(Verdict):
    pass


@dataclass(frozen=True)
class DefaultPrivilegeEscalation(Verdict):
    pass


@dataclass(frozen=True)
class AllowCapabilities(Listing):
    pass


@dataclass(frozen=True)
class DefaultCapabilities(Listing):
    pass


@dataclass(frozen=True)
class DropCapabilities(Listing):
    pass


@dataclass(frozen=True)
class Selinux(Statement):
    options: tuple[tuple[str, Word], ...] = ()  # (level | role | type | user, value)
    mode: str = "options"  # "any" (options, if any, have no effect) | "none" | "unset"


@dataclass(frozen=True)
class SelinuxTypes(Listing):
    pass


@dataclass(frozen=True)
class RequireNonRoot(Bare):
    pass


@dataclass(frozen=True)
class PodSecurityStandard(Statement):
    """`conform to pod security standard LEVEL [VERSION]`."""

    level: Word
    version: Word | None = None


@dataclass(frozen=True)
class NoPodSecurityStandard(Bare):
    pass


@dataclass(frozen=True)
class ProcMount(Verdict):
    pass


@dataclass(frozen=True)
class RequireUnmaskedProcMount(Bare):
    """allowedProcMountTypes: [Unmasked], without Default."""


@dataclass(frozen=True)
class AllowUnsafeSysctls(Listing):
    pass


@dataclass(frozen=True)
class DenySysctls(Listing):
    pass


@dataclass(frozen=True)
class AllowRuntimeClasses(Listing):
    pass


@dataclass(frozen=True)
class DefaultRuntimeClass(OneWord):
    pass


@dataclass(frozen=True)
class AllowSeccomp(Listing):
    pass


@dataclass(frozen=True)
class DefaultSeccomp(OneWord):
    pass


@dataclass(frozen=True)
class AllowApparmor(Listing):
    pass


@dataclass(frozen=True)
class DefaultApparmor(OneWord):
    pass


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
