"""The Kyverno target: one ClusterPolicy `pspc` whose validate rule holds the same CEL as the
VAP: PodSecurityPolicy's selection rule (pspc.validation.selection), matching Pods, with the
profile's failure action (pspc.profiles.kyverno_action decides where it goes).

Kyverno's auto-generated rules for workload controllers are turned off: they would judge a
Deployment by the user who applies it, where PodSecurityPolicy judges its pods by the
controller that creates them; the pods themselves are checked as they are created. The
rule reads `request.userInfo`, which background scans do not have, so background is off."""

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


def cluster_policy(analysis: Analysis, action: tuple[str, str] = ("Enforce", "spec")) -> dict:
    """`action`: the failure action, and whether it goes in the spec or in the rule."""
    cel = analysis.cel_selection()
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
                     "annotations": {AUTOGEN: "none"}},
        "spec": {**spec, "background": False, "rules": rules},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    return [OutputFile(PATH, sources(build),
                       (cluster_policy(build.analysis, profiles.kyverno_action(build.profile)),))]


TARGET = Target("kyverno", build, manifests=True,
                coverage=partial(validating_coverage, target="kyverno"))
