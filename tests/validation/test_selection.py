"""PodSecurityPolicy's selection rule in every validating output, differentially.

Generated cases (seeded): repositories of 2–6 policies drawn from the stdlib, the examples
and the intent policies, bound to users, groups and service accounts, cluster-wide and per
namespace; pods from the corpus, created directly by a user or by a controller. For each
case the PSP simulator (pspc/admission via pspc/engines/psp.py, with the RBAC pspc
generates) gives the verdict; the validating outputs must give the same, for every pod PSP
admits without mutating it and every pod it rejects: the VAP's CEL and Kyverno's CEL in
cel-expr-python, in both syntaxes (optionals, and has() guards; a sample also in cel-python,
a slow interpreter that parses has() only), the Gatekeeper template's Rego and the conftest
Rego in regorus (in its VM where the VM runs them; each repository's first cases also in
its interpreter, which must give the same messages). Where a policy states intents beyond
PSP, the expectation is the contract's: some usable policy admits the pod unchanged and
the pod meets them.

Also the trial cluster of issue 11, end to end.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, example_dirs

from pspc.analysis import Analysis
from pspc.compiler import compile
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.engines.validating import ContractOracle, with_apparmor_annotations
from pspc.model import ir
from pspc.resources import resource_dir
from pspc.targets import kyverno, vap
from pspc.targets.psp import manifest
from pspc.targets.rbac import manifests as rbac_manifests
from pspc.workloads import PodRequest, pod_request

pytest.importorskip("regorus", reason="regorus runs the Rego")
pytest.importorskip("cel_expr_python", reason="cel-expr-python runs the CEL fast")
pytest.importorskip("celpy", reason="cel-python runs a sample of the CEL")

from pspc.admission import Identity  # noqa: E402
from pspc.engines.validators import (  # noqa: E402
    Requester,
    SelectionCelEngine,
    SelectionRegoEngine,
)

CORPUS = REPO / "tests" / "corpus"
TRIAL = REPO / "tests" / "fixtures" / "selection"
SEED = 11
REPOS = 130
CASES_PER_REPO = 95
CEL_PYTHON_REPOS = 10  # one repository in 10 also runs its first cases in cel-python
CEL_PYTHON_CASES = 10
INTERPRETER_CASES = 20  # each repository's first cases also run in regorus' interpreter

NAMESPACES = ("team-a", "team-b", "kube-system")
SUBJECTS = (
    ir.Subject("User", "alice"), ir.Subject("User", "bob"),
    ir.Subject("Group", "devs"), ir.Subject("Group", "system:authenticated"),
    ir.Subject("Group", "system:serviceaccounts"),
    ir.Subject("Group", "system:serviceaccounts:team-a"),
    ir.Subject("ServiceAccount", "app", "team-a"),
    ir.Subject("ServiceAccount", "default", "team-b"),
    ir.Subject("ServiceAccount", "replicaset-controller", "kube-system"),
    ir.Subject("ServiceAccount", "daemon-set-controller", "kube-system"),
    ir.Subject("ServiceAccount", "job-controller", "kube-system"),
)
USERS = (Identity("alice", ("devs", "system:authenticated")),
         Identity("bob", ("system:authenticated",)),
         Identity("carol", ("system:authenticated",)),
         Identity("admin", ("system:masters", "system:authenticated")))
WORKLOAD_KINDS = {"Deployment": ("apps/v1", ("spec", "template")),
                  "DaemonSet": ("apps/v1", ("spec", "template")),
                  "Job": ("batch/v1", ("spec", "template")),
                  "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template"))}


def _policies(path) -> list[ir.Policy]:
    return list(compile([str(path)]).program.policies)


def _pool() -> list[ir.Policy]:
    found = _policies(resource_dir("stdlib")) + _policies(CORPUS / "policies")
    for example in example_dirs():
        found.extend(_policies(example))
    return found


def _pods() -> list[dict]:
    pods = []
    for path in sorted((CORPUS / "seeds").glob("*.yaml")) + sorted(
            (CORPUS / "intents").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                pods.append(pod_request(doc, "default").pod)
    return pods


def _repo(rng: random.Random, pool: list[ir.Policy], index: int) -> list[ir.Policy]:
    chosen = rng.sample(pool, rng.randint(2, 6))
    policies = []
    for n, policy in enumerate(chosen):
        bindings = {ir.Binding(rng.choice(SUBJECTS), rng.choice((None, *NAMESPACES)))
                    for _ in range(rng.randint(0, 3))}
        policies.append(replace(policy, name=f"r{index}-{n}.{policy.name}"[:63],
                                bindings=tuple(sorted(bindings, key=lambda b: (
                                    b.namespace or "", b.subject.sort_key)))))
    return sorted(policies, key=lambda p: p.name)


def _request(rng: random.Random, pods: list[dict]) -> PodRequest:
    pod = json.loads(json.dumps(rng.choice(pods)))
    namespace = rng.choice(NAMESPACES)
    pod["metadata"]["namespace"] = namespace
    pod["spec"]["serviceAccountName"] = rng.choice(("default", "app"))
    pod["metadata"].pop("annotations", None) if rng.random() < 0.05 else None
    pod = with_apparmor_annotations(pod)  # as an API server since 1.30 stores it
    if rng.random() < 0.5:
        user = rng.choice(USERS)
        return PodRequest(pod, namespace, user.name, user.groups)
    kind = rng.choice(sorted(WORKLOAD_KINDS))
    api, path = WORKLOAD_KINDS[kind]
    template = {"metadata": {k: v for k, v in pod["metadata"].items()
                             if k in ("labels", "annotations")}, "spec": pod["spec"]}
    spec: dict = template
    for key in reversed(path[1:]):
        spec = {key: spec}
    workload = {"apiVersion": api, "kind": kind,
                "metadata": {"name": pod["metadata"].get("name", "w"), "namespace": namespace},
                "spec": spec}
    return pod_request(workload, "default")


class Outputs:
    """One repository's outputs, compiled once, evaluated for many requests."""

    def __init__(self, policies: list[ir.Policy]) -> None:
        self.policies = policies
        analysis = Analysis(ir.Program(tuple(policies), {}))
        nobody = Requester("", ())
        self.psp = PspEngine([manifest(p) for p in policies],
                             [d for p in policies for d in rbac_manifests(p)]
                             + list(BOOTSTRAP_RBAC), PspOptions())
        self.oracle = ContractOracle(policies)
        # the CEL the VAP and Kyverno carry is one text: evaluate it once, for both
        vap_cel = vap.policy_object(analysis)["spec"]
        kyverno_cel = kyverno.cluster_policy(analysis)["spec"]["rules"][0]["validate"]["cel"]
        assert vap_cel["variables"] == kyverno_cel["variables"]
        assert vap_cel["validations"][0]["expression"] == kyverno_cel["expressions"][0][
            "expression"]
        self.engines = {
            "cel": SelectionCelEngine(analysis, nobody, runtime="cel-expr-python",
                                      optionals=True),
            "cel (has)": SelectionCelEngine(analysis, nobody, runtime="cel-expr-python",
                                            optionals=False),
            "gatekeeper": SelectionRegoEngine(analysis, "gatekeeper", nobody),
            "gatekeeper-cel": SelectionCelEngine(analysis, nobody, runtime="cel-expr-python",
                                                 gatekeeper=True),
            "conftest": SelectionRegoEngine(analysis, "conftest", nobody),
        }
        # the Rego in regorus' interpreter: the reference for its VM, where the VM runs it
        self.interpreted = {flavour: SelectionRegoEngine(analysis, flavour, nobody, vm=False)
                            for flavour in ("gatekeeper", "conftest")
                            if self.engines[flavour].program.vm is not None}
        self._celpy: SelectionCelEngine | None = None
        self.analysis = analysis

    def celpy(self) -> SelectionCelEngine:
        if self._celpy is None:
            self._celpy = SelectionCelEngine(self.analysis, Requester("", ()),
                                             runtime="cel-python")
        return self._celpy


def test_the_validating_outputs_select_as_psp_does():
    rng = random.Random(SEED)
    pool, pods = _pool(), _pods()
    start = time.monotonic()
    counts = {"cases": 0, "admitted": 0, "rejected": 0, "mutated (skipped)": 0,
              "beyond PSP": 0, "cel-python": 0, "none usable": 0, "interpreted": 0}
    mismatches: list[str] = []
    for index in range(REPOS):
        outputs = Outputs(_repo(rng, pool, index))
        for case in range(CASES_PER_REPO):
            request = _request(rng, pods)
            verdict = outputs.psp.evaluate(request)
            if verdict.allowed and verdict.mutated:
                counts["mutated (skipped)"] += 1
                continue
            usable = outputs.oracle.usable(request)
            psp_only = any(outputs.oracle.admits_unchanged(p, request, beyond=False)
                           for p in usable)
            expected = outputs.oracle.expected(request)
            if not any(p.pod_security_standard for p in usable):
                # the oracle is PSP's rule; a policy stating a Pod Security Standards level
                # admits what PSA admits instead (docs/equivalence.md#levels)
                assert psp_only == verdict.allowed, (request, verdict)
            counts["cases"] += 1
            counts["admitted" if expected else "rejected"] += 1
            counts["beyond PSP"] += verdict.allowed and not expected
            counts["none usable"] += not usable
            engines = dict(outputs.engines)
            if index % CEL_PYTHON_REPOS == 0 and case < CEL_PYTHON_CASES:
                engines["cel-python"] = outputs.celpy()
                counts["cel-python"] += 1
            for name, engine in engines.items():
                got = engine.evaluate(request)
                if got.allowed != expected:
                    mismatches.append(
                        f"{name}: {[p.name for p in outputs.policies]} "
                        f"{request.requester} {request.namespace}/"
                        f"{request.pod['metadata'].get('name')}: got {got.allowed}, "
                        f"expected {expected} ({got.message})")
            for flavour, interpreter in outputs.interpreted.items():
                if case >= INTERPRETER_CASES:
                    break
                counts["interpreted"] += 1
                vm, interpreted = (engine.messages(request) for engine in (
                    outputs.engines[flavour], interpreter))
                if vm != interpreted:
                    mismatches.append(f"{flavour}: regorus VM {vm} != interpreter {interpreted}")
    elapsed = time.monotonic() - start
    print(f"\nselection differential: {counts} in {elapsed:.1f} s; "
          f"{len(mismatches)} mismatches")
    assert mismatches[:10] == []
    assert counts["cases"] >= 10_000
    assert counts["admitted"] > 1_000 and counts["rejected"] > 1_000
    assert counts["none usable"] > 100 and counts["beyond PSP"] > 0
    assert counts["interpreted"] > 1_000


# -- the trial cluster of issue 11 ----------------------------------------------------------

def _trial():
    build = compile([str(TRIAL / "trial")])
    assert not build.diagnostics.has_errors
    workloads = [d for d in yaml.safe_load_all((TRIAL / "workloads.yaml").read_text()) if d]
    return build, [pod_request(w, "default") for w in workloads]


def test_the_trial_cluster_admits_as_psp_does():
    build, requests = _trial()
    policies = list(build.program.policies)
    rbac = [d for p in policies for d in rbac_manifests(p)] + list(BOOTSTRAP_RBAC)
    psp = PspEngine([manifest(p) for p in policies], rbac, PspOptions())
    jane = Requester("jane", ("system:authenticated",))
    engines = [SelectionCelEngine(build.analysis, jane, runtime="cel-expr-python"),
               SelectionCelEngine(build.analysis, jane, runtime="cel-python"),
               SelectionCelEngine(build.analysis, jane, runtime="cel-expr-python",
                                  gatekeeper=True),
               SelectionCelEngine(build.analysis, jane, runtime="cel-python", gatekeeper=True),
               SelectionRegoEngine(build.analysis, "gatekeeper", jane),
               SelectionRegoEngine(build.analysis, "conftest", jane)]
    # the DaemonSets and the Deployment are admitted, each by its own policy
    verdicts = [psp.evaluate(r) for r in requests]
    assert [(v.allowed, v.mutated, v.policy) for v in verdicts] == [
        (True, False, "kube-proxy"), (True, False, "node-exporter"), (True, False, "restricted")]
    for engine in engines:
        assert [engine.evaluate(r).allowed for r in requests] == [True] * 3, engine
    # the same pods, created by jane (system:authenticated): only restricted is usable,
    # besides what the pod's service account may use
    for request in requests:
        pod = PodRequest(request.pod, request.namespace, "jane", ("system:authenticated",))
        expected = psp.evaluate(pod)
        assert not expected.mutated
        for engine in engines:
            assert engine.evaluate(pod).allowed == expected.allowed, (engine, request)
    # kube-proxy's pod under another service account: nothing but restricted is usable
    pod = json.loads(json.dumps(requests[0].pod))
    pod["spec"]["serviceAccountName"] = "default"
    other = PodRequest(pod, "kube-system", "jane", ("system:authenticated",))
    assert not psp.evaluate(other).allowed
    for engine in engines:
        verdict = engine.evaluate(other)
        assert not verdict.allowed
        assert "no usable policy admits the pod (usable: restricted)" in verdict.message
    # with no usable policy at all: a service account's own request
    nobody = PodRequest(pod, "kube-system", "system:serviceaccount:kube-system:default",
                        ("system:serviceaccounts", "system:serviceaccounts:kube-system"))
    assert not psp.evaluate(nobody).allowed
    for engine in engines:
        assert engine.evaluate(nobody).message == (
            "no PodSecurityPolicy-equivalent policy is usable by system:serviceaccount:"
            "kube-system:default or service account kube-system/default")


def test_pspc_eval_on_the_trial_cluster_finds_no_disagreement():
    from pspc.cli import main

    result = CliRunner().invoke(main, ["eval", str(TRIAL / "trial"), "-f",
                                       str(TRIAL / "workloads.yaml"), "--engine", "all",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    document, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{"):])
    assert document["disagreements"] == []
    assert all(v["allowed"] for o in document["objects"] for v in o["engines"].values())


def test_an_update_that_changes_nothing_checked_is_admitted():
    build, requests = _trial()
    web = requests[2].pod
    changed = json.loads(json.dumps(web))
    changed["metadata"]["labels"] = {"app": "web", "tier": "front"}
    changed["metadata"]["annotations"]["example.com/owner"] = "team-a"
    # mallory may use no policy: PSP would reject even a label change; the outputs do not
    mallory = PodRequest(changed, "shop", "mallory", ())
    cel = SelectionCelEngine(build.analysis, Requester("", ()), "UPDATE")
    gatekeeper = SelectionRegoEngine(build.analysis, "gatekeeper", Requester("", ()), "UPDATE")
    for engine in (cel, gatekeeper):
        assert engine.messages(mallory, old=web) == []
        assert engine.messages(mallory) != []  # no old object: checked in full
        worse = json.loads(json.dumps(changed))
        worse["metadata"]["annotations"][
            "container.apparmor.security.beta.kubernetes.io/web"] = "unconfined"
        assert engine.messages(PodRequest(worse, "shop", "mallory", ()), old=web) != []
        image = json.loads(json.dumps(changed))
        image["spec"]["containers"][0]["image"] = "nginx:latest"
        assert engine.messages(PodRequest(image, "shop", "mallory", ()), old=web) != []


def test_the_trial_cluster_with_profile_prod_admits_as_psp_does(tmp_path):
    """Issue 11's check as written: with profile `prod` (Kubernetes 1.33, VAP and PSA), the
    outputs that profile's folder holds admit kube-proxy, node-exporter and the restricted
    web pods exactly as PSP admitted them (a profile's analysis is at its version)."""
    from pspc.compiler import Options

    config = tmp_path / "pspc.toml"
    config.write_text('[profiles.prod]\nkubernetes = "1.33"\nenforce = ["vap", "psa"]\n'
                      'mode = "warn"\n')
    build = compile([str(TRIAL / "trial")], Options(config=str(config)))
    assert not build.diagnostics.has_errors
    (prod,) = build.profiles
    view = build.for_profile(prod)
    assert view.analysis.profile_version == "v1.33"
    workloads = [d for d in yaml.safe_load_all((TRIAL / "workloads.yaml").read_text()) if d]
    requests = [pod_request(w, "default") for w in workloads]
    policies = list(build.program.policies)
    rbac = [d for p in policies for d in rbac_manifests(p)] + list(BOOTSTRAP_RBAC)
    psp = PspEngine([manifest(p) for p in policies], rbac, PspOptions())
    nobody = Requester("", ())
    for engine in (SelectionCelEngine(view.analysis, nobody, runtime="cel-expr-python"),
                   SelectionRegoEngine(view.analysis, "gatekeeper", nobody)):
        for request in requests:
            expected = psp.evaluate(request)
            assert not expected.mutated
            assert engine.evaluate(request).allowed == expected.allowed, (engine, request)
    # the folder holds the VAP at the API version 1.33 serves, in warn mode
    files = {path: text for path, text in view.outputs().items()
             if path.startswith("prod/vap/")}
    policy, binding = yaml.safe_load_all(files["prod/vap/pspc.yaml"])
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["validationActions"] == ["Warn", "Audit"]
