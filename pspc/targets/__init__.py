"""Targets: small modules that read a Build and return output files. Nothing here touches
the disk.

Each target module defines `TARGET`, a `Target`: its name, whether its YAML files are
cluster manifests (they go into the kustomization), the function that builds its files,
and, for targets that render a policy's intents, the function that declares how it carries
each of them (pspc.coverage). `TARGETS` is the one list of target names; modules are
imported when first used, so that `pspc --version` starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pspc import vocabulary as voc

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build
    from pspc.coverage import Coverage
    from pspc.model import ir


@dataclass(frozen=True)
class OutputFile:
    """A file to write: YAML `documents`, or verbatim `text` (Rego, Markdown, JSON)."""

    path: str
    source: str
    documents: tuple[dict, ...]
    text: str | None = None
    comment: str | None = None  # lines after the header, for what the data cannot say


@dataclass(frozen=True)
class Target:
    name: str
    build: Callable[[Build], list[OutputFile]]
    manifests: bool = False  # its .yaml files are objects to apply to a cluster
    # How the target carries each intent of a policy; None for targets that render no
    # policy's intents (RBAC, PSA labels, Helm values, the report, the migration plan).
    coverage: Callable[[Analysis, ir.Policy], list[Coverage]] | None = None


def per_policy(folder: str, documents: Callable[[Build, ir.Policy], tuple[dict, ...]]
               ) -> Callable[[Build], list[OutputFile]]:
    """A target's `build` for one YAML file per policy, `FOLDER/NAME.yaml`, holding
    `documents(build, policy)`."""
    def build(build: Build) -> list[OutputFile]:
        return [OutputFile(f"{folder}/{voc.file_stem(p.name)}.yaml", p.source, documents(build, p))
                for p in build.program.policies]

    return build


def sources(build: Build) -> str:
    """The source files of every policy: the header of a file made from all of them (the
    cluster-wide validating outputs)."""
    return ", ".join(sorted({p.source for p in build.program.policies}))


# Every target, in the order their files are listed.
TARGETS = ("psp", "rbac", "rego", "gatekeeper", "vap", "kyverno", "map", "gatekeeper-mutation",
           "kyverno-mutation", "psa", "helm", "report", "migration")
# The targets that change pods (PodSecurityPolicy's defaults) are built only when chosen: by
# `--target`, or by a profile's enforce (pspc.profiles), never by default.
MUTATING = ("map", "gatekeeper-mutation", "kyverno-mutation")
DEFAULT_TARGETS = tuple(t for t in TARGETS if t not in MUTATING)


def target(name: str) -> Target:
    return importlib.import_module(f"pspc.targets.{name.replace('-', '_')}").TARGET


MANAGED_BY = {"app.kubernetes.io/managed-by": "pspc"}


def pod_admission_rules(*operations: str) -> dict:
    """The matchConstraints of an admission policy (validating or mutating) for pods."""
    return {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                               "operations": list(operations), "resources": ["pods"]}]}


def namespace_selector(scope: list[str]) -> dict:
    """A selector for exactly these namespaces; for none, one that matches no namespace
    (every namespace carries the kubernetes.io/metadata.name label)."""
    if not scope:
        return {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                      "operator": "DoesNotExist"}]}
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                  "values": scope}]}
