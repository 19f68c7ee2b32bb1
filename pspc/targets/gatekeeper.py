"""The Gatekeeper target: one ConstraintTemplate `pspc` that applies PodSecurityPolicy's
selection rule (pspc.validation.selection) in both engines, as the Gatekeeper library does
today (CEL as K8sNativeValidation, and Rego: the selection module, with one library per
policy), and its Constraint, matching every Pod."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc.targets import MANAGED_BY, OutputFile, Target
from pspc.targets.vap import sources
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
KIND = "Pspc"
PATH = "gatekeeper/pspc.yaml"


def template(analysis: Analysis) -> dict:
    cel = analysis.cel_selection()
    rego = analysis.rego_selection("gatekeeper")
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": KIND.lower(), "labels": dict(MANAGED_BY)},
        "spec": {
            "crd": {"spec": {"names": {"kind": KIND}}},
            "targets": [{
                "target": ADMISSION_TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": {
                    "variables": list(cel.variables), "validations": [{
                        "expression": cel.expression,
                        "messageExpression": cel.message_expression}]}}],
                "rego": rego.main,
                "libs": list(rego.libraries.values()),
            }],
        },
    }


def constraint() -> dict:
    match: dict = {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": KIND,
        "metadata": {"name": "pspc", "labels": dict(MANAGED_BY)},
        "spec": {"enforcementAction": "deny", "match": match},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    return [OutputFile(PATH, sources(build), (template(build.analysis), constraint()))]


TARGET = Target("gatekeeper", build, manifests=True,
                coverage=partial(validating_coverage, target="gatekeeper"))
