"""The equivalence contract, through the real engines, policy by policy: for a policy and a
pod, the policy's piece of the generated Rego (its conftest and Gatekeeper library modules,
in regorus) and CEL (its checks, in each installed runtime: cel-expr-python, cel-python)
admit the pod exactly when that policy's PodSecurityPolicy admits it without changing it;
the two CEL runtimes give the same messages; and the whole outputs (the selection over all
policies, pspc.validation.selection) of a build with that policy alone, bound to everyone,
admit what it admits. tests/validation/test_selection.py checks the selection among several
policies.

Corpus: the seeds' pods, the per-intent pods (tests/corpus/intents, each against its own
intent policy and the stdlib and example policies), and the distinct Kubernetes PSA
fixtures in ../shared (Rego and cel-expr-python against every stdlib and example policy;
cel-python, a slow pure-Python interpreter, against a fixed sample).

The CEL comes in two syntaxes (pspc.validation.cel): optionals, which cel-python does not
parse, and has() guards. cel-expr-python runs both on the whole corpus and they must give
the same messages; cel-python runs the has() syntax.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from conftest import EXAMPLES, REPO, SHARED, example_dirs

from pspc.compiler import compile
from pspc.engines.validating import ContractOracle
from pspc.resources import resource_dir
from pspc.workloads import pod_request

regorus = pytest.importorskip("regorus", reason="regorus (gordon-to-regorus) runs the Rego")
celpy = pytest.importorskip("celpy", reason="cel-python runs the CEL")

from pspc.engines.validators import CEL_RUNTIMES, CelEngine, RegoEngine  # noqa: E402

CORPUS = REPO / "tests" / "corpus"
CEL_PSA_SAMPLE = 25


def _installed(runtime: str) -> bool:
    try:
        __import__({"cel-expr-python": "cel_expr_python", "cel-python": "celpy"}[runtime])
    except ImportError:
        return False
    return True


CEL = tuple(r for r in CEL_RUNTIMES if _installed(r))  # every installed CEL runtime
FAST_CEL = tuple(r for r in CEL if r == "cel-expr-python")
# cel-expr-python in the has() syntax (CEL_RUNTIMES run their default: optionals where the
# runtime parses them)
HAS_SYNTAX = "cel-expr-python:has"
FAST_CEL_BOTH = (*FAST_CEL, HAS_SYNTAX) if FAST_CEL else ()


def _policies(path) -> list:
    return list(compile([str(path)]).program.policies)


def _shared_policies() -> list:
    found = _policies(resource_dir("stdlib"))
    for example in example_dirs():
        found.extend(_policies(example))
    return found


POLICIES = _shared_policies()
INTENT_POLICIES = {p.name: p for p in _policies(CORPUS / "policies")}


def _documents(path) -> list[tuple[str, dict]]:
    return [(f"{path.relative_to(REPO)}#{i}", d)
            for i, d in enumerate(yaml.safe_load_all(path.read_text())) if d]


def _psa_fixtures() -> list[tuple[str, dict]]:
    root = SHARED / "conformance" / "psa"
    distinct: dict[str, tuple[str, dict]] = {}
    for path in sorted(root.rglob("*.yaml")) if root.is_dir() else []:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in distinct:
            distinct[digest] = (str(path.relative_to(root)), yaml.safe_load(path.read_text()))
    return [distinct[k] for k in sorted(distinct, key=lambda k: distinct[k][0])]


SEED_PODS = [doc for path in sorted((CORPUS / "seeds").glob("*.yaml")) for doc in _documents(path)]
INTENT_PODS = [doc for path in sorted((CORPUS / "intents").glob("*.yaml"))
               for doc in _documents(path)]


class Harness:
    """Engines built once per policy; compares each engine with the PSP contract."""

    def __init__(self) -> None:
        self.oracles: dict[str, ContractOracle] = {}
        self.engines: dict[tuple[str, str], object] = {}
        self.verdicts: dict[tuple[str, str, str], object] = {}  # each evaluation once

    def verdict(self, policy, kind: str, name: str, request):
        key = (policy.source + policy.name, kind, name)
        if key not in self.verdicts:
            self.verdicts[key] = self.engine(policy, kind).evaluate(request)
        return self.verdicts[key]

    def engine(self, policy, kind: str):
        key = (policy.source + policy.name, kind)
        if key not in self.engines:
            self.engines[key] = (
                CelEngine(policy, kind) if kind in CEL_RUNTIMES
                else CelEngine(policy, "cel-expr-python", optionals=False) if kind == HAS_SYNTAX
                else RegoEngine(policy, kind))
        return self.engines[key]

    def mismatches(self, policy, pods, kinds) -> list[str]:
        oracle = self.oracles.setdefault(policy.source + policy.name, ContractOracle([policy]))
        found = []
        for name, pod in pods:
            request = pod_request(pod, "default")
            expected = oracle.admits_unchanged(policy, request)
            for kind in kinds:
                verdict = self.verdict(policy, kind, name, request)
                if verdict.allowed != expected:
                    found.append(f"{policy.name} × {name}: {kind} says "
                                 f"{'admit' if verdict.allowed else 'reject'}, PSP contract "
                                 f"{'admit' if expected else 'reject'} ({verdict.message})")
        return found


HARNESS = Harness()
REGO = ("conftest", "gatekeeper")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_seed_and_intent_pods_against_shared_policies(policy):
    assert HARNESS.mismatches(policy, SEED_PODS + INTENT_PODS, REGO) == []


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_seed_pods_in_cel(policy):
    assert HARNESS.mismatches(policy, SEED_PODS, CEL) == []


@pytest.mark.skipif(not FAST_CEL, reason="cel-expr-python runs the whole corpus in CEL")
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_seed_and_intent_pods_against_shared_policies_in_cel(policy):
    assert HARNESS.mismatches(policy, SEED_PODS + INTENT_PODS, FAST_CEL_BOTH) == []


def _cel_messages(policy, pods, runtime) -> list[str | None]:
    return [HARNESS.verdict(policy, runtime, name, pod_request(pod, "default")).message
            for name, pod in pods]


@pytest.mark.skipif(len(CEL) < 2, reason="needs both cel-expr-python and cel-python")
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_the_cel_runtimes_give_the_same_messages(shared, policy):
    """On the pods both run on (cel-python: the seeds and the sample of PSA fixtures)."""
    fixtures = _psa_fixtures()
    pods = SEED_PODS + fixtures[:: max(1, len(fixtures) // CEL_PSA_SAMPLE)]
    assert _cel_messages(policy, pods, CEL[0]) == _cel_messages(policy, pods, CEL[1])


def _intent_cases() -> list[tuple[str, list]]:
    by_policy: dict[str, list] = {}
    for name, pod in INTENT_PODS:
        target = pod["metadata"]["annotations"]["pspc.test/policy"]
        by_policy.setdefault(target, []).append((name, pod))
    return sorted(by_policy.items())


@pytest.mark.parametrize(("policy_name", "pods"), _intent_cases(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_intent_pods_against_their_policy_in_every_engine(policy_name, pods):
    policy = INTENT_POLICIES[policy_name]
    assert HARNESS.mismatches(policy, pods, (*REGO, *CEL)) == []


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_psa_fixtures_in_rego(shared, policy):
    fixtures = _psa_fixtures()
    assert len(fixtures) > 300
    assert HARNESS.mismatches(policy, fixtures, REGO) == []


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_psa_fixture_sample_in_cel(shared, policy):
    fixtures = _psa_fixtures()
    sample = fixtures[:: max(1, len(fixtures) // CEL_PSA_SAMPLE)]
    assert HARNESS.mismatches(policy, sample, CEL) == []


@pytest.mark.skipif(not FAST_CEL, reason="cel-expr-python runs the whole corpus in CEL")
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_psa_fixtures_in_cel(shared, policy):
    assert HARNESS.mismatches(policy, _psa_fixtures(), FAST_CEL_BOTH) == []


@pytest.mark.skipif(not FAST_CEL, reason="cel-expr-python runs both CEL syntaxes")
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_the_cel_syntaxes_give_the_same_messages_on_the_whole_corpus(shared, policy):
    """Optionals and has() guards, on every pod of the corpus (not a sample)."""
    pods = SEED_PODS + INTENT_PODS + _psa_fixtures()
    assert len(pods) > 400
    assert _cel_messages(policy, pods, FAST_CEL[0]) == _cel_messages(policy, pods, HAS_SYNTAX)


@pytest.mark.skipif(not FAST_CEL, reason="cel-expr-python runs the selection's CEL")
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.source.split('/')[-2]}:{p.name}")
def test_the_selection_of_a_policy_bound_to_everyone_admits_what_it_admits(policy):
    from dataclasses import replace

    from pspc.analysis import Analysis
    from pspc.engines.validators import Requester, SelectionCelEngine, SelectionRegoEngine
    from pspc.model import ir

    bound = replace(policy, bindings=(
        ir.Binding(ir.Subject("Group", "system:authenticated"), None),
        ir.Binding(ir.Subject("Group", "system:serviceaccounts"), None)))
    analysis = Analysis(ir.Program((bound,), {}))
    jane = Requester("jane", ("system:authenticated",))
    engines = [SelectionCelEngine(analysis, jane, runtime=FAST_CEL[0]),
               SelectionRegoEngine(analysis, "gatekeeper", jane),
               SelectionRegoEngine(analysis, "conftest", jane)]
    oracle = ContractOracle([bound])
    found = []
    for name, pod in SEED_PODS + INTENT_PODS:
        request = pod_request(pod, "default")
        expected = oracle.admits_unchanged(bound, request)
        assert oracle.expected(request) == expected
        for engine in engines:
            verdict = engine.evaluate(request)
            if verdict.allowed != expected:
                found.append(f"{engine.name} × {name}: {verdict.message}")
    assert found == []


def test_the_corpus_exercises_both_verdicts():
    """A differential test is only as good as its corpus: each side must occur often."""
    verdicts = json.loads((CORPUS / "verdicts.json").read_text())
    outcomes = [v.split(":")[0] for v in verdicts.values()]
    assert outcomes.count("admit") > 200 and outcomes.count("reject") > 200
    assert outcomes.count("mutate") > 50


def test_workloads_are_checked_through_their_pod_template():
    policy = next(p for p in POLICIES if p.name == "restricted")
    deployment = yaml.safe_load((CORPUS / "seeds" / "001-dm.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    messages = HARNESS.engine(policy, "conftest").messages(deployment)
    assert any(m.startswith("restricted: container pause must not set "
                            "securityContext.privileged=true") for m in messages), messages
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
               "spec": {"jobTemplate": {"spec": {"template": deployment["spec"]["template"]}}}}
    assert HARNESS.engine(policy, "conftest").messages(cronjob) == messages
    assert EXAMPLES.is_dir()
