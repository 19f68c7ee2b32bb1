"""The ValidatingAdmissionPolicy target (admissionregistration.k8s.io/v1, Kubernetes 1.30+):
one policy `pspc` that applies PodSecurityPolicy's selection rule to every pod — admitted
when a policy usable by the requester or the pod's service account admits it
(pspc.validation.selection) — and its binding."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc.targets import MANAGED_BY, OutputFile, Target
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

API = "admissionregistration.k8s.io/v1"
NAME = "pspc"
PATH = "vap/pspc.yaml"


def policy_object(analysis: Analysis) -> dict:
    selection = analysis.cel_selection()
    return {
        "apiVersion": API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["pods"]}]},
            "variables": list(selection.variables),
            "validations": [{"expression": selection.expression,
                             "messageExpression": selection.message_expression,
                             "reason": "Forbidden"}],
        },
    }


def binding_object() -> dict:
    spec: dict = {"policyName": NAME, "validationActions": ["Deny"]}
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
            "spec": spec}


def sources(build: Build) -> str:
    return ", ".join(sorted({p.source for p in build.program.policies}))


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    return [OutputFile(PATH, sources(build), (policy_object(build.analysis), binding_object()))]


TARGET = Target("vap", build, manifests=True,
                coverage=partial(validating_coverage, target="vap"))
