"""The pod corpus of tests/corpus: the PSP engine's recorded verdicts, and the intent pods.

`tests/corpus/record.py` evaluates every corpus pod under every single policy (stdlib,
examples, tests/corpus/policies/intents.pspc) and writes verdicts.json (the repository's
pods) and verdicts-psa.json (the PSA fixtures of ../shared). Here the recording is re-run in
process and must reproduce both files exactly, so any change in engine behaviour shows up as
a diff to review; the PSA half skips when ../shared is absent. The intent pods carry their
expected verdict (`pspc.test/expect`) under their policy (`pspc.test/policy`), checked
against the engine, and every intent of the language has a policy with pods either side.
Intents no PodSecurityPolicy can express (ir.BEYOND_PSP) are judged by the equivalence
contract, as pspc.engines.validating.ContractOracle does: the PSP's verdict, then a pod the
PSP admits must also pass the intent's checks (pspc.validation.interpret).
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from functools import cache

import pytest
from conftest import REPO

from pspc.compiler import compile
from pspc.diagnostics import Diagnostics
from pspc.model import ir
from pspc.syntax.ast import STATEMENTS
from pspc.syntax.parser import parse_text
from pspc.validation.interpret import passes
from pspc.validation.requirements import requirements
from pspc.workloads import pod_request

CORPUS = REPO / "tests" / "corpus"
INTENT_SOURCE = CORPUS / "policies" / "intents.pspc"
EXPECTATIONS = ("admit", "mutate", "reject")
RERUN = ("run `python tests/corpus/record.py` and review the diff of {file} (git diff) before "
         "committing it: every changed line is a changed verdict of the PSP engine")


def _load_record():
    spec = importlib.util.spec_from_file_location("corpus_record", CORPUS / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


record = _load_record()

# Which intent policies exercise each statement kind of the language (pspc/language.py).
# `description` and `annotation` change no verdict; they are stated by intent-privileged.
INTENT_COVERAGE = {
    "description": ("intent-privileged",),
    "privileged": ("intent-privileged",),
    "host_namespaces": ("intent-host-network", "intent-host-pid", "intent-host-ipc"),
    "host_ports": ("intent-host-ports", "intent-no-host-ports"),
    "volumes": ("intent-volumes", "intent-allow-volumes"),
    "allow_volumes": ("intent-allow-volumes",),
    "deny_volumes": ("intent-deny-volumes",),
    "only_via_pvc": ("intent-nfs-via-pvc",),
    "allow_host_paths": ("intent-host-paths",),
    "deny_host_paths": ("intent-no-host-paths",),
    "allow_flex_volumes": ("intent-flex-volumes",),
    "allow_csi_drivers": ("intent-csi-drivers",),
    "run_as_user": ("intent-run-as-user",),
    "run_as_non_root": ("intent-run-as-non-root",),
    "run_as_group": ("intent-run-as-group", "intent-run-as-group-if-set"),
    "supplemental_groups": ("intent-supplemental-groups", "intent-supplemental-groups-if-set"),
    "fs_group": ("intent-fs-group", "intent-fs-group-if-set"),
    "read_only_root_filesystem": ("intent-read-only-root-filesystem",),
    "writable_root_filesystem": ("intent-writable-root-filesystem",),
    "privilege_escalation": ("intent-no-privilege-escalation",),
    "default_privilege_escalation": ("intent-default-privilege-escalation",),
    "allow_capabilities": ("intent-allowed-capabilities", "intent-default-capabilities",
                           "intent-required-drop-capabilities"),
    "default_capabilities": ("intent-default-capabilities",),
    "drop_capabilities": ("intent-required-drop-capabilities",),
    "selinux": ("intent-selinux",),
    "proc_mount": ("intent-unmasked-proc-mount", "intent-masked-proc-mount"),
    "allow_unsafe_sysctls": ("intent-unsafe-sysctls",),
    "deny_sysctls": ("intent-forbidden-sysctls", "intent-no-sysctls"),
    "allow_runtime_classes": ("intent-runtime-classes", "intent-default-runtime-class"),
    "default_runtime_class": ("intent-default-runtime-class",),
    "allow_seccomp": ("intent-seccomp", "intent-default-seccomp", "intent-no-seccomp"),
    "default_seccomp": ("intent-default-seccomp",),
    "allow_apparmor": ("intent-apparmor", "intent-default-apparmor"),
    "default_apparmor": ("intent-default-apparmor",),
    "annotation": ("intent-privileged",),
    "label": ("intent-privileged",),
    "require_unmasked_proc_mount": ("intent-only-unmasked-proc-mount",),
    "selinux_types": ("intent-selinux-types",),
    "require_non_root": ("intent-explicit-non-root",),
    # A level is not a PodSecurityPolicy: its pods are the PSA fixtures, at every version,
    # in tests/validation/test_standards.py, and the stdlib and seed-000 policies state it.
    "pod_security_standard": (),
    "no_pod_security_standard": (),
}

# Intent policies that cannot refuse any pod, and what they are checked for instead: a pod
# they admit that the policy they loosen (recorded under that name) refuses, or, for a
# default, a pod they admit only after mutating it.
NO_REJECT = {
    "intent-default-privilege-escalation": "mutate",  # escalation stays allowed
    "intent-unmasked-proc-mount": "stdlib/privileged",  # both proc mount types allowed
    "intent-writable-root-filesystem": "intents/intent-read-only-root-filesystem",
}


@pytest.fixture(scope="module")
def corpus():
    """(repository pods, PSA pods or None, policies), read once for the module."""
    repo, psa = record.all_pods()
    return repo, psa, record.policies()


@pytest.fixture(scope="module")
def verdicts(corpus) -> dict[str, str]:
    repo, _, policies = corpus
    return record.record(repo, policies)


@pytest.fixture(scope="module")
def intent_pods(corpus) -> dict[str, list[tuple[str, dict]]]:
    """Intent policy name -> [(pod name in the corpus, pod annotations)]."""
    by_policy: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for name, obj in corpus[0]:
        if name.startswith("intents/"):
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            by_policy[annotations.get("pspc.test/policy", "")].append((name, annotations))
    return by_policy


def _intent_policies() -> dict[str, set[str]]:
    """Each policy of intents.pspc and the statement kinds it states."""
    diags = Diagnostics()
    parsed = parse_text(INTENT_SOURCE.read_text(encoding="utf-8"), str(INTENT_SOURCE), diags)
    assert parsed is not None and not diags.has_errors
    return {p.name.text: {s.kind for s in p.statements} for p in parsed.policies}


@cache
def _beyond_psp() -> dict[str, list]:
    """Each intent policy's checks for intents beyond PSP (empty for most)."""
    program = compile([str(INTENT_SOURCE.parent)]).program
    return {p.name: [c for c in requirements(p) if c.intent in ir.BEYOND_PSP]
            for p in program.policies}


def contract(psp_verdict: str, obj: dict, beyond: list) -> str:
    """The contract's verdict: the PSP's, unless the pod fails an intent beyond PSP."""
    if psp_verdict.startswith("reject"):
        return psp_verdict
    pod = pod_request(obj, record.NAMESPACE).pod
    failed = [c.id for c in beyond if not passes(c, pod)]
    return f"reject:{failed[0]}" if failed else psp_verdict


def _compare(recorded_file, fresh: dict[str, str]) -> None:
    assert recorded_file.is_file(), RERUN.format(file=recorded_file.relative_to(REPO))
    text = recorded_file.read_text(encoding="utf-8")
    if text == record.render(fresh):
        return
    import json

    old = json.loads(text)
    changed = sorted(k for k in old.keys() & fresh.keys() if old[k] != fresh[k])
    lines = [f"  {k}: {old[k]} -> {fresh[k]}" for k in changed[:15]]
    lines += [f"  {k}: new, {fresh[k]}" for k in sorted(fresh.keys() - old.keys())[:5]]
    lines += [f"  {k}: gone (was {old[k]})" for k in sorted(old.keys() - fresh.keys())[:5]]
    pytest.fail(f"{recorded_file.relative_to(REPO)} is stale ({len(changed)} changed, "
                f"{len(fresh.keys() - old.keys())} new, {len(old.keys() - fresh.keys())} gone):\n"
                + "\n".join(lines) + "\n" + RERUN.format(file=recorded_file.relative_to(REPO)),
                pytrace=False)


def test_recorded_verdicts_are_current(verdicts):
    _compare(record.VERDICTS, verdicts)


def test_recorded_psa_verdicts_are_current(shared, corpus):
    _, psa, policies = corpus
    if psa is None:
        pytest.skip(f"{record.PSA} is absent")
    _compare(record.PSA_VERDICTS, record.record(psa, policies))


def test_corpus_covers_every_policy(corpus, verdicts):
    repo, _, policies = corpus
    names = [name for name, _ in policies]
    assert len(names) == len(set(names)), "policy names must be unique in the corpus"
    assert {"stdlib/privileged", "stdlib/baseline", "stdlib/restricted"} <= set(names)
    assert {f"intents/{p}" for p in _intent_policies()} <= set(names)
    assert len(verdicts) == len(repo) * len(policies)


@pytest.mark.parametrize("path", sorted(p.name for p in (CORPUS / "intents").glob("*.yaml")))
def test_intent_pods_meet_their_expectation(path, corpus, verdicts):
    policy = "intent-" + path.removesuffix(".yaml")
    assert policy in _intent_policies(), f"{path} has no policy {policy} in intents.pspc"
    wrong = []
    beyond = _beyond_psp()[policy]
    pods = [(n, o) for n, o in corpus[0] if n.split("#")[0] == f"intents/{path}"]
    assert pods, f"{path} holds no pod"
    for name, obj in pods:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        assert annotations.get("pspc.test/policy") == policy, f"{name}: pspc.test/policy"
        expect = annotations.get("pspc.test/expect")
        assert expect in EXPECTATIONS, f"{name}: pspc.test/expect must be one of {EXPECTATIONS}"
        got = contract(verdicts[f"{name}::intents/{policy}"], obj, beyond)
        if got.split(":", 1)[0] != expect:
            wrong.append(f"  {obj['metadata']['name']}: expected {expect}, the contract (PSP "
                         f"engine, then intents beyond PSP) says {got} "
                         f"({annotations.get('pspc.test/why')})")
    assert not wrong, f"under {policy}:\n" + "\n".join(wrong)


def test_every_intent_policy_has_pods_either_side(intent_pods, verdicts):
    problems = []
    for policy in _intent_policies():
        expectations = {a["pspc.test/expect"] for _, a in intent_pods.get(policy, [])}
        if "admit" not in expectations:
            problems.append(f"{policy}: no pod it admits unchanged")
        if policy not in NO_REJECT:
            if "reject" not in expectations:
                problems.append(f"{policy}: no pod it rejects")
        elif NO_REJECT[policy] == "mutate":
            if "mutate" not in expectations:
                problems.append(f"{policy}: no pod it admits only after mutating it")
        elif not any(verdicts[f"{name}::{NO_REJECT[policy]}"].startswith("reject")
                     for name, a in intent_pods[policy] if a["pspc.test/expect"] == "admit"):
            problems.append(f"{policy}: no pod it admits that {NO_REJECT[policy]} rejects")
    assert not problems, "\n".join(problems)


def test_every_intent_has_a_policy():
    assert set(INTENT_COVERAGE) == set(STATEMENTS), (
        "INTENT_COVERAGE must list every statement kind of pspc/syntax/ast.py STATEMENTS: "
        f"missing {sorted(set(STATEMENTS) - set(INTENT_COVERAGE))}, "
        f"unknown {sorted(set(INTENT_COVERAGE) - set(STATEMENTS))}")
    policies = _intent_policies()
    missing = [f"{kind}: {policy}" for kind, names in INTENT_COVERAGE.items()
               for policy in names if kind not in policies.get(policy, set())]
    assert not missing, "these intent policies do not state the intent they cover:\n" + \
        "\n".join(missing)
    pod_files = {"intent-" + p.stem for p in (CORPUS / "intents").glob("*.yaml")}
    assert pod_files == set(policies), "every intent policy needs tests/corpus/intents/<name>.yaml"
