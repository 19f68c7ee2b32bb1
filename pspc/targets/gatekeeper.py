"""The Gatekeeper target: a ConstraintTemplate carrying both engines, as the Gatekeeper
library does today (CEL as K8sNativeValidation, and Rego), and a Constraint whose match
mirrors the policy's bindings."""

from __future__ import annotations

import re

from pspc.model import ir
from pspc.model.ir import Program
from pspc.targets import MANAGED_BY, OutputFile, namespace_selector
from pspc.validation.render import cel_validations, cel_variables, rego_module

TARGET = "admission.k8s.gatekeeper.sh"


def kind_name(policy: ir.Policy) -> str:
    """The constraint kind: `Pspc` and the policy name in CamelCase (`100-psp` → Pspc100Psp)."""
    return "Pspc" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[-.]", policy.name))


def template(policy: ir.Policy) -> dict:
    kind = kind_name(policy)
    validations = [{"expression": v.expression, "messageExpression": v.message_expression}
                   for v in cel_validations(policy)]
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower(), "labels": dict(MANAGED_BY)},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{
                "target": TARGET,
                "code": [{"engine": "K8sNativeValidation", "source": {
                    "variables": cel_variables(policy), "validations": validations}}],
                "rego": rego_module(policy, "gatekeeper"),
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


def build(program: Program) -> list[OutputFile]:
    return [OutputFile(f"gatekeeper/{p.name}.yaml", p.source, (template(p), constraint(p)))
            for p in program.policies]
