"""The Kyverno target: a ClusterPolicy with one validate rule holding the same CEL as the
VAP (one expression per check), matching Pods; Kyverno's auto-generated rules extend it to
workload controllers."""

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


def cluster_policy(analysis: Analysis, policy: ir.Policy,
                   action: tuple[str, str] = ("Enforce", "spec")) -> dict:
    """`action`: the failure action, and whether it goes in the spec or in the rule."""
    cel = analysis.cel(policy)
    failure, place = action
    resources: dict = {"kinds": ["Pod"]}
    if (scope := policy.namespaces()) is not None:
        resources["namespaceSelector"] = namespace_selector(scope)
    rules = [{
        "name": "pod-security",
        "match": {"any": [{"resources": resources}]},
        "validate": {"cel": {"variables": list(cel.variables), "expressions": [{
            "expression": v.expression, "messageExpression": v.message_expression}
            for v in cel.validations]}},
    }]
    spec: dict = {"validationFailureAction": failure} if place == "spec" else {}
    if place == "rule":
        rules[0]["validate"] = {"failureAction": failure, **rules[0]["validate"]}
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": f"pspc-{policy.name}", "labels": dict(MANAGED_BY)},
        "spec": {**spec, "background": True, "rules": rules},
    }


def documents(build: Build, policy: ir.Policy) -> tuple[dict, ...]:
    return (cluster_policy(build.analysis, policy, profiles.kyverno_action(build.profile)),)


TARGET = Target("kyverno", per_policy("kyverno", documents), manifests=True,
                coverage=partial(validating_coverage, target="kyverno"))
