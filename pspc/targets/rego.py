"""The conftest target: a Rego v1 module per policy (`deny contains msg if ...`), which
checks Pods and the pod templates of workloads in CI, before anything reaches a cluster."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.targets import OutputFile, Target
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.compiler import Build


def build(build: Build) -> list[OutputFile]:
    return [OutputFile(f"rego/{voc.file_stem(p.name)}.rego", p.source, (),
                       build.analysis.rego(p, "conftest"))
            for p in build.program.policies]


TARGET = Target("rego", build, coverage=partial(validating_coverage, target="rego"))
