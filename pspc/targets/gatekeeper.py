"""The Gatekeeper target: a ConstraintTemplate carrying both engines, as the Gatekeeper
library does today (CEL as K8sNativeValidation, and Rego), and a Constraint whose match
mirrors the policy's bindings.

Templates and constraints go to separate folders (gatekeeper/templates/,
gatekeeper/constraints/), each its own kustomization: a constraint's kind exists only once
its template is in, so GitOps tools apply templates first (pspc.profiles says how)."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc import vocabulary as voc
from pspc.model import ir
from pspc.targets import MANAGED_BY, OutputFile, Target, namespace_selector
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"


def kind_name(policy: ir.Policy) -> str:
    """The constraint kind: `Pspc` and the policy name in CamelCase (`100-psp` → Pspc100Psp)."""
    return "Pspc" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[-.]", policy.name))


def template(analysis: Analysis, policy: ir.Policy, generate_vap: bool | None = None) -> dict:
    kind = kind_name(policy)
    cel = analysis.cel(policy)
    validations = [{"expression": v.expression, "messageExpression": v.message_expression}
                   for v in cel.validations]
    source: dict = {"variables": list(cel.variables), "validations": validations}
    if generate_vap is not None:
        source["generateVAP"] = generate_vap
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower(), "labels": dict(MANAGED_BY)},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{
                "target": ADMISSION_TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": source}],
                "rego": analysis.rego(policy, "gatekeeper"),
            }],
        },
    }


def constraint(policy: ir.Policy, enforcement_action: str = "deny") -> dict:
    match: dict = {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}
    if (scope := policy.namespaces()) is not None:
        match["namespaceSelector"] = namespace_selector(scope)
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": kind_name(policy),
        "metadata": {"name": policy.name, "labels": dict(MANAGED_BY),
                     "annotations": dict(profiles.CONSTRAINT_ANNOTATIONS)},
        "spec": {"enforcementAction": enforcement_action, "match": match},
    }


def build(build: Build) -> list[OutputFile]:
    generate_vap = profiles.generate_vap(build.profile, build.options.targets)
    action = profiles.enforcement_action(build.profile)
    files = []
    for policy in build.program.policies:
        stem = voc.file_stem(policy.name)
        files.append(OutputFile(f"gatekeeper/templates/{stem}.yaml", policy.source,
                                (template(build.analysis, policy, generate_vap),)))
        files.append(OutputFile(f"gatekeeper/constraints/{stem}.yaml", policy.source,
                                (constraint(policy, action),)))
    return files


TARGET = Target("gatekeeper", build, manifests=True,
                coverage=partial(validating_coverage, target="gatekeeper"))
