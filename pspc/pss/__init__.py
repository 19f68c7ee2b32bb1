"""A versioned model of the Kubernetes Pod Security Standards (what PSA enforces).

`evaluate_pod(pod, level, version)` answers like the pod-security-admission library: the
reasons a pod fails `level` at policy `version` (e.g. "v1.30" or "latest"), in upstream's
order and wording; an empty list means the pod is allowed. controls.py holds one function per
upstream check, levels.py the levels, versions and rule changes, and analysis.py decides
statically which level a pspc policy fits.
"""

from __future__ import annotations

from pspc.pss.levels import (
    DEFAULT_VERSION,
    LATEST,
    LEVELS,
    evaluate,
    known_versions,
    parse_version,
)

__all__ = ["DEFAULT_VERSION", "LATEST", "LEVELS", "evaluate", "evaluate_pod", "known_versions",
           "parse_version"]


def evaluate_pod(pod: dict, level: str, version: str) -> list[str]:
    """Why `pod` fails `level:version`, one PSA reason per failed check; empty if allowed."""
    return [str(found) for found in evaluate(pod, level, version)]
