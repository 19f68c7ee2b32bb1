"""The Kyverno target: a ClusterPolicy with one validate rule holding the same CEL as the
VAP (one expression per check), matching Pods; Kyverno's auto-generated rules extend it to
workload controllers."""

from __future__ import annotations

from pspc.model import ir
from pspc.model.ir import Program
from pspc.targets import MANAGED_BY, OutputFile, namespace_selector
from pspc.validation.render import cel_validations, cel_variables


def cluster_policy(policy: ir.Policy) -> dict:
    resources: dict = {"kinds": ["Pod"]}
    if (scope := policy.namespaces()) is not None:
        resources["namespaceSelector"] = namespace_selector(scope)
    rules = [{
        "name": "pod-security",
        "match": {"any": [{"resources": resources}]},
        "validate": {"cel": {"variables": cel_variables(policy), "expressions": [{
            "expression": v.expression, "messageExpression": v.message_expression}
            for v in cel_validations(policy)]}},
    }]
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": f"pspc-{policy.name}", "labels": dict(MANAGED_BY)},
        "spec": {"validationFailureAction": "Enforce", "background": True, "rules": rules},
    }


def build(program: Program) -> list[OutputFile]:
    return [OutputFile(f"kyverno/{p.name}.yaml", p.source, (cluster_policy(p),))
            for p in program.policies]
