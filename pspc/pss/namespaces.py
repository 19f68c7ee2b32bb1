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

from collections.abc import Callable
from dataclasses import dataclass

from pspc.diagnostics import Diagnostics
from pspc.model import ir
from pspc.model.ir import Program
from pspc.profiles import capped
from pspc.pss.analysis import LevelReport
from pspc.pss.levels import DEFAULT_VERSION, LEVELS

MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"


def next_stricter(level: str) -> str:
    return LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]


def least_strict(levels: list[str]) -> str:
    return min(levels, key=LEVELS.index)


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


def cluster_wide(program: Program) -> list[ir.Policy]:
    return [p for p in program.policies if any(b.namespace is None for b in p.bindings)]


def labelled_namespaces(program: Program) -> list[str]:
    named = {b.namespace for p in program.policies for b in p.bindings if b.namespace}
    return sorted(named | {n.name for n in program.namespaces})


LevelOf = Callable[[ir.Policy, str], LevelReport]


def _levels(program: Program, level_of: LevelOf, namespace: str, usable_here: list[ir.Policy],
            bound: bool, cap: str | None = None) -> NamespaceLevels:
    declared = next((n for n in program.namespaces if n.name == namespace), None)
    version = capped((declared.version if declared else None) or cap or DEFAULT_VERSION, cap)
    policies = tuple((p, level_of(p, version)) for p in usable_here)
    computed = least_strict([r.level for _, r in policies]) if policies else None
    explicit = declared.levels if declared else {}
    enforce = explicit.get("enforce") or computed or "restricted"
    levels = {"enforce": enforce}
    for mode in ("audit", "warn"):
        levels[mode] = explicit.get(mode) or next_stricter(enforce)
    return NamespaceLevels(namespace, version, levels, computed, policies, declared, bound)


def compute_levels(program: Program, level_of: LevelOf,
                   names: tuple[str, ...] | None = None, cap: str | None = None
                   ) -> dict[str, NamespaceLevels]:
    """The labels of the namespaces pspc labels (or of `names`), by name; with `cap`, no
    version newer than it (a cluster's own version, for a profile).

    `level_of(policy, version)` gives a policy's level report; pspc.analysis passes its
    memoised one, so each policy is analysed once however many namespaces it is usable in.
    """
    bound: dict[str, set[str]] = {}
    for policy in program.policies:
        for binding in policy.bindings:
            if binding.namespace is not None:
                bound.setdefault(binding.namespace, set()).add(policy.name)
    wide = {p.name for p in cluster_wide(program)}
    found = {}
    for name in labelled_namespaces(program) if names is None else names:
        here = bound.get(name, set()) | wide
        found[name] = _levels(program, level_of, name,
                              [p for p in program.policies if p.name in here], name in bound,
                              cap)
    return found


def lint_declarations(program: Program, levels_for: Callable[[str], NamespaceLevels],
                      diags: Diagnostics) -> None:
    """Declared PSA levels against the policies usable in the namespace.

    A declared enforce level stricter than the least strict recommended level of those
    policies rejects pods they admit: an error (E028) unless the declaration says `force`.
    A weaker one is allowed, but PSA then enforces less than it could (W105). `force`
    where nothing needs forcing is a warning (W106).
    """
    for declared in program.namespaces:
        found = levels_for(declared.name)
        level = declared.levels.get("enforce")
        stricter = (level is not None and found.computed is not None
                    and LEVELS.index(level) > LEVELS.index(found.computed))
        if stricter and not declared.force:
            notes = []
            for policy, report in found.policies:
                if LEVELS.index(report.level) >= LEVELS.index(level):
                    continue
                for conflict in (c for c in report.blockers if c.level == level):
                    short = conflict.intent and len(conflict.intent) <= 60
                    what = f" (`{conflict.intent}`)" if short else ""
                    origin = policy.origins.get(conflict.field)
                    notes.append((f"policy `{policy.name}` {conflict.sentence}{what}: "
                                  f"{level} check {conflict.check}",
                                  origin.span if origin else policy.span))
            names = sorted({f"`{p.name}`" for p, r in found.policies
                            if LEVELS.index(r.level) < LEVELS.index(level)})
            diags.error("E028", f"namespace `{declared.name}` enforces {level}, which rejects "
                        f"pods that {', '.join(names)} admit{'s' if len(names) == 1 else ''} "
                        f"there (at {found.version} the policies usable there fit "
                        f"{found.computed})", declared.spans.get("enforce", declared.span),
                        notes=tuple(notes),
                        help=f"enforce {found.computed}, tighten those policies, or add `force` "
                        "to enforce it anyway")
        elif level is not None and found.computed is not None and \
                LEVELS.index(level) < LEVELS.index(found.computed):
            diags.warning("W105", f"namespace `{declared.name}` enforces {level}, but the "
                          f"policies usable there fit {found.computed}: PSA could enforce "
                          f"{found.computed} without rejecting any pod they admit",
                          declared.spans.get("enforce", declared.span),
                          help=f"say `enforce {found.computed}`, or leave the level to pspc "
                          "(drop `enforce`)")
        if declared.force and not stricter:
            diags.warning("W106", f"`force` has no effect on namespace `{declared.name}`: "
                          + ("it declares no enforce level" if level is None else
                             f"{level} rejects no pod the policies usable there admit"),
                          declared.spans.get("force", declared.span), help="remove `force`")
