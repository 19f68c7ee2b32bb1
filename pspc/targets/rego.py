"""The conftest target: a Rego v1 module `pspc` (`deny contains msg if ...`) applying
PodSecurityPolicy's selection rule (pspc.validation.selection) to Pods and the pod templates
of workloads in CI, before anything reaches a cluster, and one library module per policy
(`rego/policies/<policy>.rego`, package `pspc.policies.<policy>`). Run it with
`conftest test --policy rego --namespace pspc MANIFESTS`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.targets import OutputFile, Target, sources
from pspc.validation.coverage import validating_coverage
from pspc.validation.selection import rego_identifiers

if TYPE_CHECKING:
    from pspc.compiler import Build


def build(build: Build) -> list[OutputFile]:
    policies = build.program.policies
    if not policies:
        return []
    selection = build.analysis.rego_selection("conftest")
    idents = rego_identifiers(policies)
    return [OutputFile("rego/pspc.rego", sources(build), (), selection.main)] + [
        OutputFile(f"rego/policies/{voc.file_stem(p.name)}.rego", p.source, (),
                   selection.libraries[f"pspc.policies.{idents[p.name]}"])
        for p in policies]


TARGET = Target("rego", build, coverage=partial(validating_coverage, target="rego"))
