"""The conftest target: the same check library as the Gatekeeper template, judging Pods and
the pod templates of workloads in CI, before anything reaches a cluster.

* `rego/main.rego` (package `main`, conftest's default): each document, and each item of a
  `kind: List`, through `pspc`;
* `rego/pspc.rego` (package `pspc`): PodSecurityPolicy's selection rule and every check
  family (pspc.validation.selection), reading a manifest; a manifest of another kind that
  carries a pod template (an Argo Rollout, a PodTemplate) is denied, not passed unchecked;
* `rego/policies.rego` (package `pspc.parameters`): the policies, as data.

Run it with `conftest test --policy rego MANIFESTS`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pspc.targets import OutputFile, Target, sources
from pspc.validation.coverage import validating_coverage
from pspc.validation.selection import CONFTEST_MAIN, rego_parameters

if TYPE_CHECKING:
    from pspc.compiler import Build


def build(build: Build) -> list[OutputFile]:
    if not build.program.policies:
        return []
    analysis = build.analysis
    return [OutputFile("rego/main.rego", sources(build), (), CONFTEST_MAIN),
            OutputFile("rego/pspc.rego", sources(build), (),
                       analysis.rego_selection("conftest").main),
            OutputFile("rego/policies.rego", sources(build), (),
                       rego_parameters(analysis.parameters()))]


TARGET = Target("rego", build, coverage=partial(validating_coverage, target="rego"))
