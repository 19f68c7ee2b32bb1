"""The analysis stage: what each policy of a program means for the targets, computed once.

Every target, the build diagnostics, `pspc eval` and the migration plan ask the same
questions of a policy (its requirements on pods, the Pod Security Standards level it fits),
of all policies (the Rego and CEL of PodSecurityPolicy's selection rule over them) and of a
namespace (which PSA labels pspc gives it). An `Analysis` answers each question the first
time it is asked and keeps the answer for the life of the build that owns it: nothing is
global, nothing is keyed by object identity, and a policy is known by its name, which is
unique in a program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pspc.model import ir
from pspc.pss.analysis import Gap, LevelReport, gaps, recommend_level
from pspc.pss.levels import DEFAULT_VERSION
from pspc.pss.namespaces import NamespaceLevels, compute_levels
from pspc.validation.library_cel import cel_library
from pspc.validation.parameters import parameters
from pspc.validation.requirements import Requirement, requirements
from pspc.validation.selection import CelSelection, RegoSelection, cel_selection, rego_selection
from pspc.validation.standards import families

T = TypeVar("T")


class Analysis:
    """Facts about the policies of one program, each computed on first use."""

    def __init__(self, program: ir.Program, profile_version: str | None = None) -> None:
        self.program = program
        # a cluster profile's Kubernetes version (`v1.N`): the version of a Pod Security
        # Standards level that a policy states without one
        self.profile_version = profile_version
        self._requirements: dict[str, tuple[Requirement, ...]] = {}
        self._levels: dict[tuple[str, str], LevelReport] = {}
        self._gaps: dict[tuple[str, str, str], tuple[Gap, ...]] = {}
        self._namespaces: dict[str | None, dict[str, NamespaceLevels]] = {}
        self._once: dict[tuple, object] = {}

    def once(self, key: tuple, compute: Callable[[], T]) -> T:
        """`compute()`, the first time `key` is asked for; for facts owned by the modules
        that compute them (e.g. a target's coverage), kept as long as this analysis."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]

    def requirements(self, policy: ir.Policy) -> tuple[Requirement, ...]:
        """What a validating engine requires of a pod (pspc.validation.requirements)."""
        found = self._requirements.get(policy.name)
        if found is None:
            found = self._requirements[policy.name] = tuple(
                requirements(policy, self.profile_version))
        return found

    def level(self, policy: ir.Policy, version: str = DEFAULT_VERSION) -> LevelReport:
        """The strictest Pod Security Standards level that admits what the policy admits."""
        key = (policy.name, version)
        found = self._levels.get(key)
        if found is None:
            found = self._levels[key] = recommend_level(policy, version, self.profile_version)
        return found

    def gaps(self, policy: ir.Policy, level: str, version: str) -> tuple[Gap, ...]:
        """The policy's intents that PSA `level` at `version` does not enforce."""
        key = (policy.name, level, version)
        found = self._gaps.get(key)
        if found is None:
            report = self.level(policy, version)
            found = report.gaps if report.level == level else gaps(
                policy, level, version, self.profile_version)
            self._gaps[key] = found
        return found

    def cel_selection(self, optionals: bool = False) -> CelSelection:
        """PSP's selection rule over every policy, in CEL (VAP, Gatekeeper and Kyverno), in
        optional syntax or with has() guards (pspc.validation.cel)."""
        return self.once(("cel selection", optionals), lambda: cel_selection(
            list(self.program.policies), self.requirements, optionals, self.program.sources))

    def rego_selection(self, flavour: str) -> RegoSelection:
        """PSP's selection rule in Rego (`gatekeeper` or `conftest`): the same module for
        every program; the policies are its parameters."""
        return self.once(("rego selection", flavour),
                         lambda: rego_selection(flavour, families()))

    def cel_library(self) -> CelSelection:
        """The Gatekeeper template's CEL: every check family, reading the policies from
        the Constraint's parameters; the same for every program."""
        return self.once(("cel library",), lambda: cel_library(families()))

    def parameters(self) -> dict:
        """Every policy as the parameters of the check library (pspc.validation.parameters):
        the Gatekeeper Constraint's, conftest's data."""
        return self.once(("parameters",), lambda: parameters(
            list(self.program.policies), self.requirements, self.program.sources,
            self.profile_version))

    def namespace_levels(self, cap: str | None = None) -> tuple[NamespaceLevels, ...]:
        """Every namespace pspc labels, sorted by name; with `cap` (a cluster's version,
        `v1.N`), no label pins a newer Pod Security Standards version."""
        return tuple(self._labelled(cap).values())

    def levels_for(self, namespace: str) -> NamespaceLevels:
        """The labels of `namespace`, as pspc would give them were it labelled."""
        found = self._labelled().get(namespace)
        if found is None:
            found = compute_levels(self.program, self.level, (namespace,))[namespace]
        return found

    def _labelled(self, cap: str | None = None) -> dict[str, NamespaceLevels]:
        if cap not in self._namespaces:
            self._namespaces[cap] = compute_levels(self.program, self.level, cap=cap)
        return self._namespaces[cap]
