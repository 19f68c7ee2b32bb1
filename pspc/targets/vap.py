"""The ValidatingAdmissionPolicy target (admissionregistration.k8s.io/v1, Kubernetes 1.30+;
v1beta1 for a 1.28-1.29 profile): the policy's checks in CEL, and a binding that mirrors the
policy's namespaces, with the profile's validationActions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.model import ir
from pspc.targets import MANAGED_BY, Target, namespace_selector, per_policy
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

API = "admissionregistration.k8s.io/v1"


def object_name(policy: ir.Policy) -> str:
    return f"pspc-{policy.name}"


def policy_object(analysis: Analysis, policy: ir.Policy, api: str = API) -> dict:
    cel = analysis.cel(policy)
    return {
        "apiVersion": api,
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


def binding_object(policy: ir.Policy, api: str = API,
                   actions: tuple[str, ...] = ("Deny",)) -> dict:
    spec: dict = {"policyName": object_name(policy), "validationActions": list(actions)}
    if (scope := policy.namespaces()) is not None:
        spec["matchResources"] = {"namespaceSelector": namespace_selector(scope)}
    return {"apiVersion": api, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": object_name(policy), "labels": dict(MANAGED_BY)},
            "spec": spec}


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    api = profiles.vap_api(build.profile)
    return (policy_object(build.analysis, policy, api),
            binding_object(policy, api, tuple(profiles.validation_actions(build.profile))))


TARGET = Target("vap", per_policy("vap", documents), manifests=True,
                coverage=partial(validating_coverage, target="vap"))
