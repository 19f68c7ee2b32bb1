"""The Kyverno target: a ClusterPolicy whose validate rules are the same CEL as the VAP,
matching Pods (Kyverno's auto-generated rules extend them to workload controllers)."""

from __future__ import annotations

import re

from pspc.model import ir
from pspc.model.resolve import Program
from pspc.targets import MANAGED_BY, OutputFile
from pspc.targets.gatekeeper import namespace_selector, namespaces
from pspc.validation.render import cel_validations, cel_variables


def rule_name(check_id: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", re.sub(r"([a-z])([A-Z])", r"\1-\2", check_id).lower())


def cluster_policy(policy: ir.Policy) -> dict:
    resources: dict = {"kinds": ["Pod"]}
    if (scope := namespaces(policy)) is not None:
        resources["namespaceSelector"] = namespace_selector(scope)
    rules = [{
        "name": rule_name(v.id),
        "match": {"any": [{"resources": resources}]},
        "validate": {"cel": {"variables": cel_variables(), "expressions": [{
            "expression": v.expression, "messageExpression": v.message_expression}]}},
    } for v in cel_validations(policy)]
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": f"pspc-{policy.name}", "labels": dict(MANAGED_BY)},
        "spec": {"validationFailureAction": "Enforce", "background": True, "rules": rules},
    }


def build(program: Program) -> list[OutputFile]:
    return [OutputFile(f"kyverno/{p.name}.yaml", p.source, (cluster_policy(p),))
            for p in program.policies]
