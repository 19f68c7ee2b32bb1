"""The ValidatingAdmissionPolicy target (admissionregistration.k8s.io/v1, Kubernetes 1.30+):
the policy's checks in CEL, and a binding that mirrors the policy's namespaces."""

from __future__ import annotations

from pspc.model import ir
from pspc.model.ir import Program
from pspc.targets import MANAGED_BY, OutputFile, namespace_selector
from pspc.validation.render import cel_validations, cel_variables

API = "admissionregistration.k8s.io/v1"


def object_name(policy: ir.Policy) -> str:
    return f"pspc-{policy.name}"


def policy_object(policy: ir.Policy) -> dict:
    return {
        "apiVersion": API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": object_name(policy), "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["pods"]}]},
            "variables": cel_variables(policy),
            "validations": [{"expression": v.expression, "messageExpression": v.message_expression,
                             "reason": "Forbidden"} for v in cel_validations(policy)],
        },
    }


def binding_object(policy: ir.Policy) -> dict:
    spec: dict = {"policyName": object_name(policy), "validationActions": ["Deny"]}
    if (scope := policy.namespaces()) is not None:
        spec["matchResources"] = {"namespaceSelector": namespace_selector(scope)}
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": object_name(policy), "labels": dict(MANAGED_BY)},
            "spec": spec}


def build(program: Program) -> list[OutputFile]:
    return [OutputFile(f"vap/{p.name}.yaml", p.source, (policy_object(p), binding_object(p)))
            for p in program.policies]
