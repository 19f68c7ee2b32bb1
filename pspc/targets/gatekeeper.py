"""The Gatekeeper target: one ConstraintTemplate `pspc`, the same text for every set of
policies, and one Constraint whose parameters are the policies (pspc.validation.parameters).

The template applies PodSecurityPolicy's selection rule (pspc.validation.selection) to the
policies it is given, in both engines, as the Gatekeeper library does today: CEL as
K8sNativeValidation, and Rego. Each check family (pspc.validation.requirements, .standards)
is one rule in each, applying to a policy whose parameters carry the family. So N policies
are one template (one CRD) and one constraint, which a reviewer reads as the policies: who
may use each, and each check's values with the source line that asks for it.

The template and the constraint go to separate folders (gatekeeper/templates/,
gatekeeper/constraints/), each its own kustomization: a constraint's kind exists only once
its template is in, so GitOps tools apply templates first (pspc.profiles says how)."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.targets import MANAGED_BY, OutputFile, Target, sources
from pspc.validation.coverage import validating_coverage
from pspc.validation.standards import families

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
KIND = "Pspc"
TITLE = "Pod security policies (pspc)"
DESCRIPTION = (
    "PodSecurityPolicy's admission rule after PodSecurityPolicy: a pod is admitted when a "
    "policy that the requester or the pod's service account may use admits it. The policies "
    "are the constraint's parameters, compiled by pspc from its policy sources.")


def _indented(rego: str) -> str:
    """Rego indented with two spaces per level, as in the Gatekeeper library: a YAML block
    cannot hold tabs."""
    return re.sub(r"^\t+", lambda m: "  " * len(m[0]), rego, flags=re.MULTILINE)


def parameters_schema() -> dict:
    """The constraint's parameters: the policies, each with its name, its grants and the
    parameters of the check families it requires."""
    strings = {"type": "array", "items": {"type": "string"}}
    checks = {}
    for family in families():
        entry = checks.setdefault(family.key, {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "description": family.text})
        if entry["description"] != family.text:
            entry["description"] = f"{family.intent} checks"
    policy = {
        "type": "object", "required": ["name", "grants"],
        "properties": {
            "name": {"type": "string"},
            "grants": {"type": "array", "description": "who may use the policy (rbac/)",
                       "items": {"type": "object", "properties": {
                           "namespaces": strings, "users": strings, "groups": strings}}},
            "podSecurityStandard": {"type": "object", "properties": {
                "level": {"type": "string"}, "version": {"type": "string"},
                "origin": {"type": "string"}}},
            **dict(sorted(checks.items())),
        },
    }
    return {"type": "object", "properties": {"policies": {"type": "array", "items": policy}}}


def template(analysis: Analysis, generate_vap: bool | None = None) -> dict:
    cel = analysis.cel_library()
    rego = analysis.rego_selection("gatekeeper")
    source: dict = {"variables": list(cel.variables), "validations": [{
        "expression": cel.expression, "messageExpression": cel.message_expression}]}
    if generate_vap is not None:
        source["generateVAP"] = generate_vap
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": KIND.lower(), "labels": dict(MANAGED_BY), "annotations": {
            "metadata.gatekeeper.sh/title": TITLE, "description": DESCRIPTION}},
        "spec": {
            "crd": {"spec": {"names": {"kind": KIND},
                             "validation": {"openAPIV3Schema": parameters_schema()}}},
            "targets": [{
                "target": ADMISSION_TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": source}],
                "rego": _indented(rego.main),
            }],
        },
    }


def constraint(analysis: Analysis, enforcement_action: str = "deny") -> dict:
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": KIND,
        "metadata": {"name": "pspc", "labels": dict(MANAGED_BY),
                     "annotations": dict(profiles.CONSTRAINT_ANNOTATIONS)},
        "spec": {"enforcementAction": enforcement_action,
                 "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]},
                 "parameters": analysis.parameters()},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    generate_vap = profiles.generate_vap(build.profile, build.options.targets)
    action = profiles.enforcement_action(build.profile)
    return [OutputFile("gatekeeper/templates/pspc.yaml", sources(build),
                       (template(build.analysis, generate_vap),)),
            OutputFile("gatekeeper/constraints/pspc.yaml", sources(build),
                       (constraint(build.analysis, action),))]


TARGET = Target("gatekeeper", build, manifests=True,
                coverage=partial(validating_coverage, target="gatekeeper"))
