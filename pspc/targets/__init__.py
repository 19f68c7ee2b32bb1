"""Targets: pure functions from the IR to output files. Nothing here touches the disk.

Each target returns OutputFile objects (a relative path, the source it came from, and the
documents to write); pspc.output renders and writes them deterministically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pspc.model.ir import Program


@dataclass(frozen=True)
class OutputFile:
    """A file to write: YAML `documents`, or verbatim `text` (Rego, Markdown, JSON)."""

    path: str
    source: str
    documents: tuple[dict, ...]
    text: str | None = None
    comment: str | None = None  # lines after the header, for what the data cannot say


Target = Callable[["Program"], list[OutputFile]]


def registry() -> dict[str, Target]:
    """Every target by name, in the order their files are listed."""
    from pspc.targets import (
        gatekeeper,
        helm,
        kyverno,
        migration,
        psa,
        psp,
        rbac,
        rego,
        report,
        vap,
    )

    return {"psp": psp.build, "rbac": rbac.build, "gatekeeper": gatekeeper.build,
            "rego": rego.build, "vap": vap.build, "kyverno": kyverno.build, "psa": psa.build,
            "helm": helm.build, "report": report.build, "migration": migration.build}


# Every target, in the order their files are listed (the registry imports them lazily).
TARGET_NAMES = ("psp", "rbac", "gatekeeper", "rego", "vap", "kyverno", "psa", "helm", "report",
                "migration")


MANAGED_BY = {"app.kubernetes.io/managed-by": "pspc"}


def namespace_selector(scope: list[str]) -> dict:
    """A selector for exactly these namespaces; for none, one that matches no namespace
    (every namespace carries the kubernetes.io/metadata.name label)."""
    if not scope:
        return {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                      "operator": "DoesNotExist"}]}
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                  "values": scope}]}
