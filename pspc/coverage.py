"""What a target does with one intent of one policy: the unit of the build report.

Each target declares, next to the code that renders it, how it carries every intent it is
given: `exact`, `partial` (enforced, differently, with the reason) or `not expressible`
(with what it does instead). report.md/json and the build's W30x diagnostics are read
from these declarations, so a target never drops an intent silently.
"""

from __future__ import annotations

from dataclasses import dataclass

EXACT, PARTIAL, NOT_EXPRESSIBLE = "exact", "partial", "not expressible"
BINDINGS = "bindings"


@dataclass(frozen=True)
class Coverage:
    intent: str
    status: str
    reason: str
    weakens: bool = False  # the target admits pods the policy would not
    defaults: tuple[str, ...] = ()  # fields PSP fills in that the target requires set


def unsupported(intent: str, reason: str, *, weakens: bool = False) -> Coverage:
    """An intent the target cannot express at all (sqlglot's `unsupported()`)."""
    return Coverage(intent, NOT_EXPRESSIBLE, reason, weakens)
