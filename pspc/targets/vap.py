"""The ValidatingAdmissionPolicy target (admissionregistration.k8s.io/v1, Kubernetes 1.30+;
v1beta1 for a 1.28-1.29 profile): one policy `pspc` that applies PodSecurityPolicy's
selection rule to every pod — admitted when a policy usable by the requester or the pod's
service account admits it (pspc.validation.selection) — and its binding, with the
profile's validationActions. Its CEL uses optionals where the profile's Kubernetes accepts
them (pspc.profiles.cel_optionals: 1.29+, and builds without a profile), else has()."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.targets import MANAGED_BY, OutputFile, Target, pod_admission_rules, sources
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

API = "admissionregistration.k8s.io/v1"
NAME = "pspc"
PATH = "vap/pspc.yaml"


def policy_object(analysis: Analysis, api: str = API, optionals: bool = True) -> dict:
    selection = analysis.cel_selection(optionals)
    return {
        "apiVersion": api,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": pod_admission_rules("CREATE", "UPDATE"),
            "variables": list(selection.variables),
            "validations": [{"expression": selection.expression,
                             "messageExpression": selection.message_expression,
                             "reason": "Forbidden"}],
        },
    }


def binding_object(api: str = API, actions: tuple[str, ...] = ("Deny",)) -> dict:
    return {"apiVersion": api, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
            "spec": {"policyName": NAME, "validationActions": list(actions)}}


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    api = profiles.vap_api(build.profile)
    actions = tuple(profiles.validation_actions(build.profile))
    policy = policy_object(build.analysis, api, profiles.cel_optionals(build.profile))
    return [OutputFile(PATH, sources(build), (policy, binding_object(api, actions)))]


TARGET = Target("vap", build, manifests=True,
                coverage=partial(validating_coverage, target="vap"))
