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

    def to_json(self) -> dict:
        return {
            "allowed": self.allowed,
            "policy": self.policy,
            "message": self.message,
            "violations": [{"field": f, "message": m} for f, m in self.violations],
            "patch": list(self.patch),
        }


class Engine(Protocol):
    name: str

    def evaluate(self, request: PodRequest) -> Verdict: ...
