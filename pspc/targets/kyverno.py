"""The Kyverno target: one ClusterPolicy `pspc` whose validate rule holds the same CEL as the
VAP: PodSecurityPolicy's selection rule (pspc.validation.selection), matching Pods.

Kyverno's auto-generated rules for workload controllers are turned off: they would judge a
Deployment by the user who applies it, where PodSecurityPolicy judges its pods by the
controller that creates them; the pods themselves are checked as they are created. The
rule reads `request.userInfo`, which background scans do not have, so background is off."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc.targets import MANAGED_BY, OutputFile, Target
from pspc.targets.vap import sources
from pspc.validation.coverage import validating_coverage

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

PATH = "kyverno/pspc.yaml"
AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"


def cluster_policy(analysis: Analysis) -> dict:
    cel = analysis.cel_selection()
    resources: dict = {"kinds": ["Pod"]}
    rules = [{
        "name": "pod-security",
        "match": {"any": [{"resources": resources}]},
        "validate": {"cel": {"variables": list(cel.variables), "expressions": [{
            "expression": cel.expression, "messageExpression": cel.message_expression}]}},
    }]
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "pspc", "labels": dict(MANAGED_BY),
                     "annotations": {AUTOGEN: "none"}},
        "spec": {"validationFailureAction": "Enforce", "background": False, "rules": rules},
    }


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    return [OutputFile(PATH, sources(build), (cluster_policy(build.analysis),))]


TARGET = Target("kyverno", build, manifests=True,
                coverage=partial(validating_coverage, target="kyverno"))
