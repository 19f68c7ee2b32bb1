"""The ValidatingAdmissionPolicy target (admissionregistration.k8s.io/v1, Kubernetes 1.30+):
the policy's checks in CEL, and a binding that mirrors the policy's namespaces."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc.model import ir
from pspc.targets import MANAGED_BY, Target, namespace_selector, per_policy
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

API = "admissionregistration.k8s.io/v1"


def object_name(policy: ir.Policy) -> str:
    return f"pspc-{policy.name}"


def policy_object(analysis: Analysis, policy: ir.Policy) -> dict:
    cel = analysis.cel(policy)
    return {
        "apiVersion": API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": object_name(policy), "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["pods"]}]},
            "variables": list(cel.variables),
            "validations": [{"expression": v.expression, "messageExpression": v.message_expression,
                             "reason": "Forbidden"} for v in cel.validations],
        },
    }


def binding_object(policy: ir.Policy) -> dict:
    spec: dict = {"policyName": object_name(policy), "validationActions": ["Deny"]}
    if (scope := policy.namespaces()) is not None:
        spec["matchResources"] = {"namespaceSelector": namespace_selector(scope)}
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": object_name(policy), "labels": dict(MANAGED_BY)},
            "spec": spec}


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    return policy_object(build.analysis, policy), binding_object(policy)


TARGET = Target("vap", per_policy("vap", documents), manifests=True,
                coverage=partial(validating_coverage, target="vap"))
