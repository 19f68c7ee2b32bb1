"""The conftest target: a Rego v1 module per policy (`deny contains msg if ...`), which
checks Pods and the pod templates of workloads in CI, before anything reaches a cluster."""

from __future__ import annotations

from pspc.model.ir import Program
from pspc.targets import OutputFile
from pspc.validation.render import rego_module


def build(program: Program) -> list[OutputFile]:
    return [OutputFile(f"rego/{p.name}.rego", p.source, (), rego_module(p, "conftest"))
            for p in program.policies]
