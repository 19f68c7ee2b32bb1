"""The Gatekeeper target: a ConstraintTemplate carrying both engines, as the Gatekeeper
library does today (CEL as K8sNativeValidation, and Rego), and a Constraint whose match
mirrors the policy's bindings."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from pspc.model import ir
from pspc.targets import MANAGED_BY, Target, namespace_selector, per_policy
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"


def kind_name(policy: ir.Policy) -> str:
    """The constraint kind: `Pspc` and the policy name in CamelCase (`100-psp` → Pspc100Psp)."""
    return "Pspc" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[-.]", policy.name))


def template(analysis: Analysis, policy: ir.Policy) -> dict:
    kind = kind_name(policy)
    cel = analysis.cel(policy)
    validations = [{"expression": v.expression, "messageExpression": v.message_expression}
                   for v in cel.validations]
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower(), "labels": dict(MANAGED_BY)},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{
                "target": ADMISSION_TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": {
                    "variables": list(cel.variables), "validations": validations}}],
                "rego": analysis.rego(policy, "gatekeeper"),
            }],
        },
    }


def constraint(policy: ir.Policy) -> dict:
    match: dict = {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}
    if (scope := policy.namespaces()) is not None:
        match["namespaceSelector"] = namespace_selector(scope)
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": kind_name(policy),
        "metadata": {"name": policy.name, "labels": dict(MANAGED_BY)},
        "spec": {"enforcementAction": "deny", "match": match},
    }


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    return template(build.analysis, policy), constraint(policy)


TARGET = Target("gatekeeper", per_policy("gatekeeper", documents), manifests=True,
                coverage=partial(validating_coverage, target="gatekeeper"))
