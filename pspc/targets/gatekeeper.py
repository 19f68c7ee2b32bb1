"""The Gatekeeper target: one ConstraintTemplate `pspc` that applies PodSecurityPolicy's
selection rule (pspc.validation.selection) in both engines, as the Gatekeeper library does
today (CEL as K8sNativeValidation, and Rego: the selection module, with one library per
policy), and its Constraint, matching every Pod.

The template and the constraint go to separate folders (gatekeeper/templates/,
gatekeeper/constraints/), each its own kustomization: a constraint's kind exists only once
its template is in, so GitOps tools apply templates first (pspc.profiles says how)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.targets import MANAGED_BY, OutputFile, Target, sources
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
KIND = "Pspc"


def template(analysis: Analysis, generate_vap: bool | None = None) -> dict:
    cel = analysis.cel_selection()
    rego = analysis.rego_selection("gatekeeper")
    source: dict = {"variables": list(cel.variables), "validations": [{
        "expression": cel.expression, "messageExpression": cel.message_expression}]}
    if generate_vap is not None:
        source["generateVAP"] = generate_vap
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": KIND.lower(), "labels": dict(MANAGED_BY)},
        "spec": {
            "crd": {"spec": {"names": {"kind": KIND}}},
            "targets": [{
                "target": ADMISSION_TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": source}],
                "rego": rego.main,
                "libs": list(rego.libraries.values()),
            }],
        },
    }


def constraint(enforcement_action: str = "deny") -> dict:
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": KIND,
        "metadata": {"name": "pspc", "labels": dict(MANAGED_BY),
                     "annotations": dict(profiles.CONSTRAINT_ANNOTATIONS)},
        "spec": {"enforcementAction": enforcement_action,
                 "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    generate_vap = profiles.generate_vap(build.profile, build.options.targets)
    action = profiles.enforcement_action(build.profile)
    return [OutputFile("gatekeeper/templates/pspc.yaml", sources(build),
                       (template(build.analysis, generate_vap),)),
            OutputFile("gatekeeper/constraints/pspc.yaml", sources(build),
                       (constraint(action),))]


TARGET = Target("gatekeeper", build, manifests=True,
                coverage=partial(validating_coverage, target="gatekeeper"))
