"""Time per pod of pspc's generated Rego in regorus, against the number of checks (issue 5).

For policies with more and more checks (the stdlib's privileged, baseline and restricted, the
example policies, and synthetic policies that add one intent after another to `privileged`)
it prints the number of checks and the microseconds per pod of

* the policy's conftest library (`rego/policies/<policy>.rego`) and Gatekeeper library (a
  lib of `gatekeeper/pspc.yaml`) in regorus, over a fixed sample of corpus pods, many
  repetitions, best of several runs (`time.perf_counter`);
* for `restricted`, the hand-written module bench/handwritten/restricted.rego beside the
  generated one, and their ratio (the goal: as fast as hand-written Rego);
* the same policies' CEL in cel-python, on fewer pods and runs (it is slow), for information.

Before timing anything it checks that the hand-written and the generated `restricted` give
the same verdict (a deny set empty or not) on every corpus pod and on each pod as
restricted's PodSecurityPolicy defaults it (the corpus alone has no pod that restricted
admits unchanged), and stops, listing the pods, when they do not. The timed pods mix both.
Timings are printed, never asserted; other load on the machine shows as noise, which the
interleaved runs and the best-of spread evenly.

Run from the repository root: `python bench/rego_engine.py [--quick]`. The PSA fixtures are
read from `$PSPC_SHARED/conformance/psa` or `../shared/conformance/psa` beside the checkout
(the seed and intent pods in tests/corpus suffice when they are absent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PSPC_SHARED", REPO.parent / "shared"))
CORPUS = REPO / "tests" / "corpus"
HANDWRITTEN = REPO / "bench" / "handwritten" / "restricted.rego"
HANDWRITTEN_QUERY = "data.bench.handwritten.restricted.deny"

# Added to `privileged` one at a time: synthetic-NN states the first NN of them.
SYNTHETIC_INTENTS = (
    "deny privileged",
    "deny host namespaces",
    "deny host ports",
    "volumes configMap, secret, emptyDir, projected, downwardAPI, persistentVolumeClaim",
    "allow host paths /var/log read-only, /data",
    "allow flex volumes example.com/lvm",
    "allow csi drivers secrets-store.csi.k8s.io",
    "run as non-root",
    "run as group 1000..2000",
    "supplemental groups 1..65535",
    "fs group 1..65535",
    "require read-only root filesystem",
    "deny privilege escalation",
    "allow capabilities NET_BIND_SERVICE",
    "add capabilities NET_BIND_SERVICE by default",
    "drop capabilities ALL",
    'selinux type container_t level "s0:c1,c2"',
    "allow unsafe sysctls net.core.*",
    "deny sysctls kernel.shm_rmid_forced",
    "allow runtime classes gvisor, kata",
    "default runtime class gvisor",
    "allow seccomp profiles runtime/default",
    "allow apparmor profiles runtime/default",
    "default apparmor profile runtime/default",
)
FLOOR_MODULE = "package bench.floor\n\nimport rego.v1\n\ndeny := set()\n"


@dataclass(frozen=True)
class Settings:
    pods: int  # corpus pods timed in Rego
    reps: int  # passes over them per run
    runs: int  # runs; the best counts
    cel_pods: int
    cel_runs: int


FULL = Settings(pods=64, reps=2, runs=15, cel_pods=8, cel_runs=2)
QUICK = Settings(pods=32, reps=1, runs=5, cel_pods=2, cel_runs=1)


def corpus_documents() -> list[tuple[str, dict]]:
    """The seed and per-intent documents, then the distinct PSA fixtures, in a fixed order."""
    found = []
    for folder in ("seeds", "intents"):
        for path in sorted((CORPUS / folder).glob("*.yaml")):
            docs = yaml.safe_load_all(path.read_text(encoding="utf-8"))
            found.extend((f"{path.relative_to(REPO)}#{i}", d) for i, d in enumerate(docs) if d)
    root = SHARED / "conformance" / "psa"
    seen = set()
    for path in sorted(root.rglob("*.yaml")) if root.is_dir() else []:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            found.append((f"psa/{path.relative_to(root)}",
                          yaml.safe_load(path.read_text(encoding="utf-8"))))
    return found


def synthetic_source() -> str:
    return "".join(
        f"policy synthetic-{k:02d} extends privileged {{\n"
        + "".join(f"  {intent}\n" for intent in SYNTHETIC_INTENTS[:k]) + "}\n\n"
        for k in range(1, len(SYNTHETIC_INTENTS) + 1))


def load_policies() -> list[tuple[str, object]]:
    """(label, policy): the stdlib, the examples, the synthetic policies."""
    from pspc.compiler import compile
    from pspc.diagnostics import Diagnostics
    from pspc.model.lint import lint_policies
    from pspc.model.resolve import compile_files
    from pspc.resources import resource_dir
    from pspc.syntax.parser import parse_text

    found = []
    sources = [("stdlib", resource_dir("stdlib"))]
    sources += [(d.name, d) for d in sorted((REPO / "examples").iterdir()) if d.is_dir()]
    for label, folder in sources:
        compilation = compile([str(folder)])
        if compilation.program is None or compilation.diagnostics.has_errors:
            sys.exit(f"{folder} does not compile")
        found.extend((f"{label}/{p.name}", p) for p in compilation.program.policies)
    diags = Diagnostics()
    parsed = parse_text(synthetic_source(), "synthetic.pspc", diags)
    program = compile_files([parsed], diags) if parsed is not None else None
    if program is not None:
        lint_policies(program.policies, diags)
    if program is None or diags.has_errors:
        sys.exit("the synthetic policies do not compile: "
                 + "; ".join(d.message for d in diags.items))
    found.extend((f"synthetic/{p.name[len('synthetic-'):]} intents", p)
                 for p in program.policies)
    return found


def defaulted_by(policy, pods: list[dict]) -> list[dict]:
    """Each pod that the policy's PodSecurityPolicy admits, as it admits it (defaults set)."""
    from pspc.admission import AllowAll, Identity
    from pspc.admission.pipeline import Pipeline
    from pspc.engines.validating import with_apparmor_annotations
    from pspc.targets.psp import manifest

    pipeline = Pipeline([manifest(policy)], AllowAll())
    user = Identity("bench", ("system:authenticated",))
    results = (pipeline.review("CREATE", with_apparmor_annotations(pod), user=user,
                               namespace="default") for pod in pods)
    return [result.pod for result in results if result.allowed]


def deny_set(engine, query: str, document: str) -> list[str] | str:
    """The sorted messages, or the error text when evaluation fails."""
    try:
        engine.set_input_json(document)
        result = json.loads(engine.eval_query_as_json(query))
    except RuntimeError as exc:
        return "error: " + str(exc).strip().splitlines()[0]
    values = result["result"][0]["expressions"][0]["value"] if result.get("result") else []
    return sorted(v if isinstance(v, str) else v["msg"] for v in values)


def verdict(messages: list[str] | str) -> str:
    if isinstance(messages, str):
        return messages
    return "reject" if messages else "admit"


def check_handwritten(restricted, inputs: list[tuple[str, dict]]) -> str:
    """Assert that the hand-written and the generated `restricted` agree on every input."""
    import regorus

    from pspc.engines.validators import RegoEngine

    generated = RegoEngine(restricted, "conftest")
    hand = regorus.Engine()
    hand.add_policy(HANDWRITTEN.name, HANDWRITTEN.read_text(encoding="utf-8"))
    differing, other_messages, rejected = [], 0, 0
    for name, document in inputs:
        text = json.dumps(document)
        ours = deny_set(generated.engine, generated.query, text)
        theirs = deny_set(hand, HANDWRITTEN_QUERY, text)
        if verdict(ours) != verdict(theirs):
            differing.append(f"  {name}: generated {verdict(ours)} {ours}, "
                             f"hand-written {verdict(theirs)} {theirs}")
        other_messages += ours != theirs
        rejected += verdict(ours) == "reject"
    if differing:
        print(f"FINDING: the hand-written and the generated restricted module disagree on "
              f"{len(differing)} of {len(inputs)} inputs:", *differing, sep="\n")
        sys.exit(1)
    return (f"verdicts: hand-written = generated restricted on all {len(inputs)} corpus "
            f"inputs ({rejected} rejected, {len(inputs) - rejected} admitted); deny messages "
            f"{'identical' if other_messages == 0 else f'differ on {other_messages}'}")


def best_us_per_pod(contenders: list[tuple[object, str, list[str]]], settings: Settings
                    ) -> list[float]:
    """µs per pod of each (engine, query, input documents), best of `runs` runs, the
    contenders' runs interleaved so that drift hits all alike."""
    for engine, query, documents in contenders:  # warm up (first evaluation prepares)
        for document in documents:
            engine.set_input_json(document)
            engine.eval_query_as_json(query)
    best = [math.inf] * len(contenders)
    for _ in range(settings.runs):
        for index, (engine, query, documents) in enumerate(contenders):
            set_input, evaluate = engine.set_input_json, engine.eval_query_as_json
            start = time.perf_counter()
            for _ in range(settings.reps):
                for document in documents:
                    set_input(document)
                    evaluate(query)
            elapsed = time.perf_counter() - start
            best[index] = min(best[index], elapsed / (settings.reps * len(documents)) * 1e6)
    return best


def cel_us_per_pod(policy, pods: list[dict], runs: int) -> float:
    from pspc.engines.validators import CelEngine

    engine = CelEngine(policy)
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        for pod in pods:
            engine.messages(pod)
        best = min(best, (time.perf_counter() - start) / len(pods) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer pods, repetitions and runs")
    settings = QUICK if parser.parse_args().quick else FULL

    # Imported here so that the script runs from a checkout without installing pspc.
    sys.path.insert(0, str(REPO))
    import regorus

    from pspc.engines.validators import RegoEngine
    from pspc.validation.requirements import requirements
    from pspc.workloads import NoPodTemplateError, pod_request

    documents = corpus_documents()
    pods, inputs = [], []
    for name, document in documents:
        try:
            pod = pod_request(document, "default").pod
        except NoPodTemplateError:
            continue
        pods.append(pod)
        inputs.append((name, document))
        if document.get("kind") != "Pod":  # a workload: also its pod, as admission sees it
            inputs.append((f"{name} (pod)", pod))
    policies = load_policies()
    restricted = dict(policies)["stdlib/restricted"]
    defaulted = defaulted_by(restricted, pods)
    inputs += [(f"pod {i} as restricted's PSP defaults it", pod)
               for i, pod in enumerate(defaulted)]

    print(check_handwritten(restricted, inputs))

    # three quarters corpus pods, a quarter defaulted ones (most of which restricted admits)
    some = settings.pods // 4
    timed = (pods[::max(1, len(pods) // (settings.pods - some))][:settings.pods - some]
             + defaulted[::max(1, len(defaulted) // some)][:some])
    cel_pods = timed[::max(1, len(timed) // settings.cel_pods)][:settings.cel_pods]
    conftest_inputs = [json.dumps(pod) for pod in timed]
    gatekeeper_inputs = [json.dumps({"review": {"object": pod}}) for pod in timed]

    floor = regorus.Engine()
    floor.add_policy("floor.rego", FLOOR_MODULE)
    (floor_us,) = best_us_per_pod([(floor, "data.bench.floor.deny", conftest_inputs)], settings)
    hand = regorus.Engine()
    hand.add_policy(HANDWRITTEN.name, HANDWRITTEN.read_text(encoding="utf-8"))
    restricted_rejects = sum(verdict(deny_set(hand, HANDWRITTEN_QUERY, d)) == "reject"
                             for d in conftest_inputs)

    print(f"timed: {len(timed) - some} of {len(pods)} corpus pods and {some} of the "
          f"{len(defaulted)} defaulted by restricted's PSP ({len(timed) - restricted_rejects} "
          f"admitted by restricted); {settings.reps} passes per run, best of {settings.runs} "
          f"interleaved runs; CEL: {len(cel_pods)} of them, best of {settings.cel_runs}")
    print(f"floor: {floor_us:.1f} µs/pod (set_input_json + eval_query_as_json of an empty "
          "module)\n")

    header = (f"{'policy':<48} {'checks':>6} {'conftest':>9} {'gatekeeper':>10} "
              f"{'µs/check':>8} {'hand':>8} {'gen/hand':>8} {'cel':>10}")
    print(header)
    print(f"{'':<48} {'':>6} {'µs/pod':>9} {'µs/pod':>10} {'conftest':>8} {'µs/pod':>8} "
          f"{'':>8} {'µs/pod':>10}")
    print("-" * len(header))
    rows = sorted(policies, key=lambda item: (len(requirements(item[1])), item[0]))
    for label, policy in rows:
        count = len(requirements(policy))
        conftest = RegoEngine(policy, "conftest")
        gatekeeper = RegoEngine(policy, "gatekeeper")
        contenders = [(conftest.engine, conftest.query, conftest_inputs),
                      (gatekeeper.engine, gatekeeper.query, gatekeeper_inputs)]
        if policy is restricted:
            contenders.append((hand, HANDWRITTEN_QUERY, conftest_inputs))
        times = best_us_per_pod(contenders, settings)
        per_check = (times[0] - floor_us) / count if count else math.nan
        hand_text = ratio_text = ""
        if policy is restricted:
            hand_text, ratio_text = f"{times[2]:.1f}", f"{times[0] / times[2]:.2f}x"
        cel = cel_us_per_pod(policy, cel_pods, settings.cel_runs)
        print(f"{label:<48} {count:>6} {times[0]:>9.1f} {times[1]:>10.1f} {per_check:>8.1f} "
              f"{hand_text:>8} {ratio_text:>8} {cel:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
