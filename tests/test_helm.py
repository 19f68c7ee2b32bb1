"""Helm values that pspc writes make a real `helm create` chart compliant.

Helm itself (helm-python-sdk, which embeds Helm v4) creates the scaffold chart and renders
it with each policy's helm/<policy>.values.yaml; the rendered Deployment's pod template must
then be admitted unchanged by the policy's PodSecurityPolicy (and its intents beyond PSP),
by its Rego, and by Pod Security Admission at the level the policy fits (pspc's default
version, the one psa/namespaces.yaml writes). The scaffold's own defaults must be rejected
wherever the policy requires something they leave unset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import example_dirs

from pspc.compiler import compile
from pspc.engines.psa import PsaEngine
from pspc.engines.validating import ContractOracle
from pspc.pss import DEFAULT_VERSION
from pspc.pss.analysis import recommend_level
from pspc.resources import resource_dir
from pspc.targets.helm import values
from pspc.validation.requirements import requirements
from pspc.workloads import pod_request

helm = pytest.importorskip("helm_python", reason="helm-python-sdk renders the chart")
regorus = pytest.importorskip("regorus", reason="regorus runs the Rego")

from pspc.engines.validators import RegoEngine  # noqa: E402

POLICIES = [p for path in [resource_dir("stdlib"), *example_dirs()]
            for p in compile([str(path)]).program.policies]
# An intent beyond PSP on a policy that pins no user: the values must still set it.
POLICIES += compile([str(Path(__file__).parent / "fixtures" / "helm")]).program.policies


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    with helm.Chart.create("web", tmp_path_factory.mktemp("charts")) as created:
        yield created


def _deployment(chart, overrides: dict) -> dict:
    rendered = chart.render(overrides, name="demo", namespace="apps")
    return yaml.safe_load(rendered["web/templates/deployment.yaml"])


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_generated_values_make_the_scaffold_compliant(chart, policy):
    request = pod_request(_deployment(chart, values(policy)), "apps")
    assert ContractOracle([policy]).admits_unchanged(policy, request)
    verdict = RegoEngine(policy, "conftest").evaluate(request)
    assert verdict.allowed, verdict.message
    level = recommend_level(policy, DEFAULT_VERSION).level
    psa = PsaEngine(level, DEFAULT_VERSION).evaluate(request)
    assert psa.allowed, psa.message


def test_the_scaffold_meets_restricted_only_with_the_values(chart):
    """The stdlib restricted policy fits restricted: PSA refuses the bare scaffold and admits
    it with helm/restricted.values.yaml."""
    policy = next(p for p in POLICIES if p.name == "restricted" and p.source.startswith("stdlib"))
    assert recommend_level(policy, DEFAULT_VERSION).level == "restricted"
    engine = PsaEngine("restricted", DEFAULT_VERSION)
    assert not engine.evaluate(pod_request(_deployment(chart, {}), "apps")).allowed
    assert engine.evaluate(pod_request(_deployment(chart, values(policy)), "apps")).allowed


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_scaffold_defaults_are_rejected_where_the_policy_requires_more(chart, policy):
    request = pod_request(_deployment(chart, {}), "apps")
    demands = [c for c in requirements(policy)
               if c.default or c.id.startswith(("seccomp", "apparmor"))]
    verdict = RegoEngine(policy, "conftest").evaluate(request)
    assert verdict.allowed == ContractOracle([policy]).admits_unchanged(policy, request)
    if demands:
        assert not verdict.allowed
