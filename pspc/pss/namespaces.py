"""Which Pod Security Admission labels each namespace gets (the PSA target's decision).

The namespaces are those named in bindings (`in namespace`, `service accounts in
namespace`) and those declared with `namespace NAME ...`. In each, the policies usable there
are the ones bound in that namespace and every cluster-wide one. PodSecurityPolicy admits a
pod that *any* usable policy allows, so the level PSA may enforce without rejecting any pod
the policies admit is the least strict of their recommended levels (pspc.pss.analysis).
Where no policy is usable, PodSecurityPolicy admits no pod at all, and `restricted` rejects
nothing that was admitted.

audit and warn get the next stricter level, so that the audit log and `kubectl` warnings
show what tightening would break (restricted, the strictest, stays restricted). A
declaration's levels and version win over the computed ones; whether they fit the policies
is checked in pspc.model.lint (E028, W105, W106).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cache

from pspc.model import ir
from pspc.model.ir import Program
from pspc.pss.analysis import LevelReport, recommend_level
from pspc.pss.levels import DEFAULT_VERSION, LEVELS

MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"


def next_stricter(level: str) -> str:
    return LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]


def least_strict(levels: list[str]) -> str:
    return min(levels, key=LEVELS.index)


@cache
def level_report(policy: ir.Policy, version: str) -> LevelReport:
    return recommend_level(policy, version)


@dataclass(frozen=True)
class NamespaceLevels:
    """The PSA settings of one namespace, and why."""

    name: str
    version: str
    levels: dict[str, str]  # enforce / audit / warn -> level, in MODES order
    computed: str | None  # least strict recommended level of the usable policies (None: none)
    policies: tuple[tuple[ir.Policy, LevelReport], ...]  # usable here, by name
    declared: ir.Namespace | None
    bound: bool  # named in a binding

    @property
    def enforce(self) -> str:
        return self.levels["enforce"]

    def origin(self, mode: str) -> str:
        """`declared`, `computed` (enforce from the policies) or `next stricter`."""
        if self.declared is not None and mode in self.declared.levels:
            return "declared"
        return "computed" if mode == "enforce" else "next stricter"

    def labels(self) -> dict[str, str]:
        out = {}
        for mode in MODES:
            out[LABEL_PREFIX + mode] = self.levels[mode]
            out[LABEL_PREFIX + mode + "-version"] = self.version
        return out

    def sources(self) -> set[str]:
        found = {p.source for p, _ in self.policies}
        if self.declared is not None:
            found.add(self.declared.span.file)
        return found


def usable(program: Program, namespace: str) -> list[ir.Policy]:
    """The policies a pod in `namespace` may be admitted under: bound there or cluster-wide."""
    return [p for p in program.policies
            if any(b.namespace in (None, namespace) for b in p.bindings)]


def cluster_wide(program: Program) -> list[ir.Policy]:
    return [p for p in program.policies if any(b.namespace is None for b in p.bindings)]


def labelled_namespaces(program: Program) -> list[str]:
    named = {b.namespace for p in program.policies for b in p.bindings if b.namespace}
    return sorted(named | {n.name for n in program.namespaces})


def _levels(program: Program, namespace: str, usable_here: list[ir.Policy],
            bound: bool) -> NamespaceLevels:
    declared = next((n for n in program.namespaces if n.name == namespace), None)
    version = (declared.version if declared else None) or DEFAULT_VERSION
    policies = tuple((p, level_report(p, version)) for p in usable_here)
    computed = least_strict([r.level for _, r in policies]) if policies else None
    explicit = declared.levels if declared else {}
    enforce = explicit.get("enforce") or computed or "restricted"
    levels = {"enforce": enforce}
    for mode in ("audit", "warn"):
        levels[mode] = explicit.get(mode) or next_stricter(enforce)
    return NamespaceLevels(namespace, version, levels, computed, policies, declared, bound)


# The labels of each program, computed once: the PSA target, the migration plan, the build's
# W303 check and eval all ask, namespace by namespace. Keyed by the program object itself
# (a weak reference, so a program's entry goes with it).
_COMPUTED: dict[int, tuple[weakref.ref, dict[str, NamespaceLevels]]] = {}


def _all_levels(program: Program) -> dict[str, NamespaceLevels]:
    hit = _COMPUTED.get(id(program))
    if hit is not None and hit[0]() is program:
        return hit[1]
    bound: dict[str, set[str]] = {}
    for policy in program.policies:
        for binding in policy.bindings:
            if binding.namespace is not None:
                bound.setdefault(binding.namespace, set()).add(policy.name)
    wide = {p.name for p in cluster_wide(program)}
    found = {}
    for name in labelled_namespaces(program):
        here = bound.get(name, set()) | wide
        found[name] = _levels(program, name, [p for p in program.policies if p.name in here],
                              name in bound)
    for key in [k for k, (ref, _) in _COMPUTED.items() if ref() is None]:
        del _COMPUTED[key]
    _COMPUTED[id(program)] = (weakref.ref(program), found)
    return found


def levels_for(program: Program, namespace: str) -> NamespaceLevels:
    """The labels of `namespace` (as pspc would give them, were it labelled)."""
    found = _all_levels(program).get(namespace)
    if found is not None:
        return found
    return _levels(program, namespace, usable(program, namespace), False)


def namespace_levels(program: Program) -> tuple[NamespaceLevels, ...]:
    """Every namespace pspc labels, sorted by name."""
    return tuple(_all_levels(program).values())
