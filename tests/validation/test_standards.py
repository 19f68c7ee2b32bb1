"""The stdlib levels are the Pod Security Standards in every validating engine, at every
version (docs/equivalence.md#levels).

For each level and each version v1.0 ... v1.37, the stdlib policy pinned to that version
(`policy p extends restricted { conform to pod security standard restricted v1.N }`) is
rendered once and run over every Kubernetes PSA fixture of that level and version: the
conftest and Gatekeeper Rego (regorus) and the CEL that VAP, Gatekeeper and Kyverno share
(cel-expr-python in both syntaxes, optionals and has(); cel-python, has() only, on a sample)
must each give the fixture's verdict, with no
miss. A property test then generates pods and compares each output of `extends
restricted` / `extends baseline` with pspc's PSA model (`pspc.pss.evaluate_pod`).
"""

from __future__ import annotations

import copy
from functools import cache

import pytest
import yaml
from conftest import SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pspc.compiler import Options, compile_texts
from pspc.diagnostics import Diagnostics
from pspc.pss import evaluate_pod, known_versions
from pspc.pss.levels import DEFAULT_VERSION
from pspc.validation.interpret import passes

regorus = pytest.importorskip("regorus", reason="regorus runs the Rego")
pytest.importorskip("cel_expr_python", reason="cel-expr-python runs the CEL of every fixture")

from pspc.engines.validators import CelEngine, RegoEngine  # noqa: E402

ROOT = SHARED / "conformance" / "psa"
LEVELS = ("baseline", "restricted")
VERSIONS = tuple(v for v in known_versions() if v != "latest")
# cel-python, a slow pure-Python interpreter (about 0.25 s a pod), runs a sample: a few
# fixtures of these versions (annotations, the Windows exemption, user namespaces, newest)
CEL_PYTHON_VERSIONS = ("v1.0", "v1.25", "v1.35", "v1.37")
CEL_PYTHON_SAMPLE = 4


def _policy(source: str, name: str):
    diags = Diagnostics()
    build = compile_texts({"levels.pspc": source}, Options(targets=()), diags)
    assert not diags.has_errors, [d.message for d in diags.items]
    return {p.name: p for p in build.program.policies}[name]


@cache
def pinned(level: str, version: str):
    """The stdlib level, its version pinned."""
    return _policy(f"policy p extends {level} {{\n"
                   f"  conform to pod security standard {level} {version}\n}}\n", "p")


@cache
def stdlib(level: str):
    """`extends LEVEL` as a user writes it: the build's version (pspc's default)."""
    return _policy(f"policy p extends {level} {{}}\n", "p")


def _fixtures(level: str, version: str) -> list[tuple[str, dict, bool]]:
    found = []
    for verdict in ("pass", "fail"):
        for path in sorted((ROOT / level / version / verdict).glob("*.yaml")):
            found.append((f"{level}/{version}/{verdict}/{path.name}",
                          yaml.safe_load(path.read_text()), verdict == "pass"))
    return found


class Outputs:
    """The generated outputs of one policy, each built once."""

    def __init__(self, policy) -> None:
        self.policy = policy
        self.engines = {"conftest": RegoEngine(policy, "conftest"),
                        "gatekeeper": RegoEngine(policy, "gatekeeper"),
                        "cel": CelEngine(policy, "cel-expr-python", optionals=True),
                        "cel (has)": CelEngine(policy, "cel-expr-python", optionals=False),
                        "gatekeeper-cel": CelEngine(policy, "cel-expr-python", gatekeeper=True)}

    def verdicts(self, pod: dict) -> dict[str, bool]:
        return {name: not engine.messages(pod) for name, engine in self.engines.items()}


def _misses(policy, fixtures, runtimes: Outputs) -> list[str]:
    found = []
    for name, pod, expected in fixtures:
        for engine, admitted in runtimes.verdicts(pod).items():
            if admitted != expected:
                found.append(f"{name}: {engine} {'admits' if admitted else 'rejects'}")
    return found


@pytest.fixture
def fixtures_present(shared):
    if not ROOT.is_dir():
        pytest.skip(f"no PSA fixtures in {ROOT}")


@pytest.mark.parametrize("level", LEVELS)
def test_every_output_gives_every_fixture_its_verdict_at_every_version(fixtures_present,
                                                                       level):
    misses, count = [], 0
    for version in VERSIONS:
        fixtures = _fixtures(level, version)
        assert fixtures, f"no fixtures for {level} {version}"
        count += len(fixtures)
        policy = pinned(level, version)
        misses += _misses(policy, fixtures, Outputs(policy))
        if version not in CEL_PYTHON_VERSIONS:
            continue
        sample = fixtures[:: max(1, len(fixtures) // CEL_PYTHON_SAMPLE)]
        slow = CelEngine(policy, "cel-python")
        misses += [f"{name}: cel-python {'admits' if not m else 'rejects'}" for name, pod, ok
                   in sample if (not (m := slow.messages(pod))) != ok]
    assert misses == []
    assert count > 1000


def test_the_requirements_alone_give_every_fixture_its_verdict(fixtures_present):
    """The model the outputs are rendered from, evaluated directly."""
    from pspc.validation.standards import standard_requirements

    misses = []
    for level in LEVELS:
        for version in VERSIONS:
            checks = standard_requirements(level, version)
            misses += [name for name, pod, ok in _fixtures(level, version)
                       if all(passes(c, pod) for c in checks) != ok]
    assert misses == []


def test_extending_a_level_requires_only_the_level():
    """The stdlib's PodSecurityPolicy fields shape only the PSP output."""
    for level in LEVELS:
        policy = stdlib(level)
        assert {c.intent for c in _requirements(policy)} == {"pod_security_standard"}


def _requirements(policy):
    from pspc.validation.requirements import requirements

    return requirements(policy)


def test_stated_intents_beyond_the_stdlib_are_required_too():
    policy = _policy("policy p extends restricted {\n  run as user 1000\n}\n", "p")
    intents = {c.intent for c in _requirements(policy)}
    assert intents == {"pod_security_standard", "run_as_user"}
    reset = _policy("policy p extends restricted {\n  no pod security standard\n}\n", "p")
    assert "pod_security_standard" not in {c.intent for c in _requirements(reset)}


def test_a_profile_version_is_used_where_the_statement_names_none():
    from pspc.pss.levels import standard_version
    from pspc.validation.requirements import stated_requirements
    from pspc.validation.standards import policy_requirements

    policy = stdlib("baseline")
    assert standard_version(policy) == DEFAULT_VERSION
    assert standard_version(policy, "v1.35") == "v1.35"
    assert standard_version(pinned("baseline", "v1.2"), "v1.35") == "v1.2"
    old = policy_requirements(policy, stated_requirements(policy), "v1.18")
    assert any("v1.18" in c.requirement for c in old)


# -- generated pods -----------------------------------------------------------------------

_CONTEXT_CHANGES = st.sampled_from([
    {"runAsUser": 0}, {"runAsUser": 1000}, {"runAsNonRoot": True}, {"runAsNonRoot": False},
    {"privileged": True}, {"allowPrivilegeEscalation": False},
    {"allowPrivilegeEscalation": True}, {"procMount": "Unmasked"}, {"procMount": "Default"},
    {"capabilities": {"drop": ["ALL"]}},
    {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
    {"capabilities": {"add": ["CHOWN"]}}, {"capabilities": {"add": ["NET_RAW"]}},
    {"seccompProfile": {"type": "RuntimeDefault"}}, {"seccompProfile": {"type": "Unconfined"}},
    {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
    {"appArmorProfile": {"type": "Localhost", "localhostProfile": "k"}},
    {"appArmorProfile": {"type": "Unconfined"}},
    {"seLinuxOptions": {"type": "container_t"}}, {"seLinuxOptions": {"type": "spc_t"}},
    {"seLinuxOptions": {"user": "system_u"}}, {"windowsOptions": {"hostProcess": True}},
])
_POD_CONTEXT_CHANGES = st.sampled_from([
    {"runAsUser": 0}, {"runAsNonRoot": True}, {"runAsNonRoot": False},
    {"seccompProfile": {"type": "RuntimeDefault"}}, {"seccompProfile": {"type": "Unconfined"}},
    {"appArmorProfile": {"type": "RuntimeDefault"}}, {"seLinuxOptions": {"role": "r"}},
    {"seLinuxOptions": {"type": "container_engine_t"}},
    {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]},
    {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]},
    {"sysctls": [{"name": "net.core.somaxconn", "value": "1"}]},
    {"windowsOptions": {"hostProcess": True}},
])
_SPEC_CHANGES = st.sampled_from([
    {"hostNetwork": True}, {"hostPID": True}, {"hostUsers": False}, {"os": {"name": "windows"}},
    {"volumes": [{"name": "v", "hostPath": {"path": "/"}}]},
    {"volumes": [{"name": "v", "nfs": {"server": "s", "path": "/"}}]},
    {"volumes": [{"name": "v"}, {"name": "w", "configMap": {"name": "c"}}]},
])
_CONTAINER_CHANGES = st.sampled_from([
    {"ports": [{"containerPort": 80, "hostPort": 8080}]}, {"ports": [{"containerPort": 80}]},
    {"livenessProbe": {"httpGet": {"port": 80, "host": "example.com"}}},
    {"lifecycle": {"preStop": {"tcpSocket": {"port": 80, "host": "h"}}}},
])
_ANNOTATIONS = st.sampled_from([
    {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
    {"container.apparmor.security.beta.kubernetes.io/app": "localhost/k"},
    {"container.apparmor.security.beta.kubernetes.io/gone": "unconfined"},
    {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"},
    {"seccomp.security.alpha.kubernetes.io/pod": "docker/default"},
    {"container.seccomp.security.alpha.kubernetes.io/init": "localhost/p"},
])
_RESTRICTED = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
               "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


@st.composite
def pods(draw) -> dict:
    """A pod near the restricted boundary: init and app containers, each a few fields away
    from a restricted pod, or from an empty security context."""
    def context() -> dict:
        found = copy.deepcopy(_RESTRICTED) if draw(st.booleans()) else {}
        for change in draw(st.lists(_CONTEXT_CHANGES, max_size=3)):
            found.update(copy.deepcopy(change))
        return found

    containers = {}
    for name in ("init", "app"):
        containers[name] = {"name": name, "image": "i", "securityContext": context()}
        for change in draw(st.lists(_CONTAINER_CHANGES, max_size=1)):
            containers[name].update(copy.deepcopy(change))
    spec = {"initContainers": [containers["init"]], "containers": [containers["app"]],
            "securityContext": {}}
    for change in draw(st.lists(_POD_CONTEXT_CHANGES, max_size=3)):
        spec["securityContext"].update(copy.deepcopy(change))
    for change in draw(st.lists(_SPEC_CHANGES, max_size=2)):
        spec.update(copy.deepcopy(change))
    annotations = {}
    for change in draw(st.lists(_ANNOTATIONS, max_size=2)):
        annotations.update(change)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "annotations": annotations}, "spec": spec}


@cache
def outputs(level: str, version: str | None) -> Outputs:
    return Outputs(stdlib(level) if version is None else pinned(level, version))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), st.sampled_from(LEVELS),
       st.sampled_from((None, "v1.0", "v1.18", "v1.24", "v1.25", "v1.34", "v1.35", "v1.37")))
def test_generated_pods_get_the_psa_verdict_from_every_output(pod, level, version):
    """`extends LEVEL` (the build's version) or the level pinned to another version."""
    expected = not evaluate_pod(pod, level, version or DEFAULT_VERSION)
    assert outputs(level, version).verdicts(pod) == dict.fromkeys(
        ("conftest", "gatekeeper", "cel", "cel (has)", "gatekeeper-cel"), expected)
