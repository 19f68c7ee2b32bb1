"""Engines: evaluate a pod creation request against one kind of generated output.

Every engine answers with the same Verdict, so `pspc eval --engine all` can put the
PodSecurityPolicy simulator and the validating targets side by side and flag where they
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pspc.workloads import PodRequest


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    policy: str | None = None
    message: str | None = None
    violations: tuple[tuple[str, str], ...] = ()
    patch: tuple[dict, ...] = ()
    mutated: bool = False  # admitted only after changing the pod (PSP defaults)
    warnings: tuple[str, ...] | None = None  # PSA's warn mode; None for other engines
    note: str | None = None  # how the engine chose what to apply (PSA: unlabelled namespace)

    def to_json(self) -> dict:
        data = {
            "allowed": self.allowed,
            "policy": self.policy,
            "message": self.message,
            "violations": [{"field": f, "message": m} for f, m in self.violations],
            "patch": list(self.patch),
        }
        if self.warnings is not None:
            data["warnings"] = list(self.warnings)
        if self.note is not None:
            data["note"] = self.note
        return data


class Engine(Protocol):
    name: str

    def evaluate(self, request: PodRequest) -> Verdict: ...
