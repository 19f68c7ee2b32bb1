"""The pluggable "may this identity use this PSP here?" check, and its simple implementations.

`RBACAuthorizer` (in `rbac`) evaluates real RBAC objects; `AllowAll` and `GrantList` model the
simplified authorizers used by tests and by the golden conformance data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .rbac import Identity


@runtime_checkable
class Authorizer(Protocol):
    def can_use(self, identity: Identity, psp_name: str, namespace: str) -> bool: ...


CanUse = Callable[[Identity, str, str], bool]


def as_can_use(authorizer: Authorizer | CanUse) -> CanUse:
    """Accept an `Authorizer` object or a plain `can_use`-style callable."""
    return authorizer.can_use if isinstance(authorizer, Authorizer) else authorizer


class AllowAll:
    """Every identity may use every PSP in every namespace."""

    def can_use(self, identity: Identity, psp_name: str, namespace: str) -> bool:
        return True


@dataclass(frozen=True)
class Grant:
    """`subject` (a user or group name) may use `psp` (or `*`) in `namespace` ("" = all)."""

    subject: str
    psp: str
    namespace: str = ""


class GrantList:
    """A flat list of grants, as in the golden file's `authorization.useGrants`."""

    def __init__(self, grants: Iterable[Grant | dict]) -> None:
        self.grants = tuple(g if isinstance(g, Grant) else Grant(**g) for g in grants)

    def can_use(self, identity: Identity, psp_name: str, namespace: str) -> bool:
        return any(
            (grant.subject == identity.name or grant.subject in identity.groups)
            and grant.namespace in ("", namespace)
            and grant.psp in ("*", psp_name)
            for grant in self.grants
        )
