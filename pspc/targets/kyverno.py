"""The Kyverno target: one ClusterPolicy `pspc` whose validate rule holds the same CEL as the
VAP: PodSecurityPolicy's selection rule (pspc.validation.selection), matching Pods, with the
profile's failure action (pspc.profiles.kyverno_action decides where it goes).

Kyverno's auto-generated rules for workload controllers are turned off: they would judge a
Deployment by the user who applies it, where PodSecurityPolicy judges its pods by the
controller that creates them; the pods themselves are checked as they are created. The
rule reads `request.userInfo`, which background scans do not have, so background is off.

The CEL is always in optional syntax: Kyverno compiles validate.cel expressions in the
Kubernetes CEL environment it vendors (k8s.io/apiserver pkg/cel/environment) as *stored*
expressions (pkg/utils/cel: environment.StoredExpressions), which hold every versioned
option of that library, optionals (IntroducedVersion 1.28) among them, whatever the
cluster's version; validate.cel came in Kyverno 1.11, which vendors the 1.28 library.
The annotations are those of the Kyverno policies repository (policies.kyverno.io/*)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.targets import MANAGED_BY, OutputFile, Target, sources
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

PATH = "kyverno/pspc.yaml"
AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"


# Kyverno releases: validate.cel since 1.11, validate.failureAction since 1.13.
_MIN_VERSION = {"rule": "1.13.0", "spec": "1.11.0"}


def annotations(analysis: Analysis, place: str) -> dict[str, str]:
    """The Kyverno policies repository's annotations: what the policy is, for reports and
    for a reviewer."""
    names = ", ".join(p.name for p in analysis.program.policies)
    return {
        AUTOGEN: "none",
        "policies.kyverno.io/title": "PodSecurityPolicy-equivalent pod security (pspc)",
        "policies.kyverno.io/category": "Pod Security",
        "policies.kyverno.io/severity": "medium",  # as the repository's pod security policies
        "policies.kyverno.io/subject": "Pod",
        "policies.kyverno.io/minversion": _MIN_VERSION[place],
        "policies.kyverno.io/description": (
            "Admits a pod when a policy that the requester or the pod's service account may "
            f"use admits it, as PodSecurityPolicy did. Policies: {names}."),
    }


def cluster_policy(analysis: Analysis, action: tuple[str, str] = ("Enforce", "rule")) -> dict:
    """`action`: the failure action, and whether it goes in the rule or in the spec."""
    cel = analysis.cel_selection(optionals=True)
    failure, place = action
    validate: dict = {"cel": {"variables": list(cel.variables), "expressions": [{
        "expression": cel.expression, "messageExpression": cel.message_expression}]}}
    if place == "rule":
        validate = {"failureAction": failure, **validate}
    rules = [{"name": "pod-security", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
              "validate": validate}]
    spec: dict = {"validationFailureAction": failure} if place == "spec" else {}
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "pspc", "labels": dict(MANAGED_BY),
                     "annotations": annotations(analysis, place)},
        "spec": {**spec, "background": False, "rules": rules},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    return [OutputFile(PATH, sources(build),
                       (cluster_policy(build.analysis, profiles.kyverno_action(build.profile)),))]


TARGET = Target("kyverno", build, manifests=True,
                coverage=partial(validating_coverage, target="kyverno"))
