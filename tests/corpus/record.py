"""Record the PSP engine's verdict on every corpus pod under every single policy.

Run it from anywhere, after a change to the engine, the policies or the corpus, then review
the diff of the files it writes as you would review code:

    python tests/corpus/record.py

Pods (one per YAML document; workloads become the pod their controller would create, as
`pspc eval` does, through `pspc.workloads.pod_request`):

- `tests/corpus/seeds/*.yaml` and `tests/corpus/intents/*.yaml`, named by their path under
  `tests/corpus/`, e.g. `intents/host-paths.yaml#3` (`#i` is the document index, given only
  for files with several documents; items of a `kind: List` add `.n`);
- the PSA fixtures under `../shared/conformance/psa` (`PSPC_SHARED` moves `../shared`),
  named `psa/<level>/<version>/<outcome>/<file>`. When that folder is absent the script says
  so and leaves `verdicts-psa.json` alone.

Documents with the same content (as JSON) are evaluated once, under the first of their names
in sorted path order; the repository's pods come first, so a PSA fixture equal to one of them
is recorded only there.

Policies: every policy of the stdlib (`stdlib/<name>`), of each example compiled on its own,
as names collide across examples (`<example>/<name>`), and of
`tests/corpus/policies/intents.pspc` (`intents/<name>`). Each is compiled by pspc and turned
into its PodSecurityPolicy by the PSP target, and evaluated ALONE: a pipeline holding that
PSP only, an allow-all authorizer (every identity may use it), CREATE, plugin mode.

Output: `tests/corpus/verdicts.json` (the repository's pods) and
`tests/corpus/verdicts-psa.json` (the PSA fixtures), each a JSON object with one entry per
line, sorted by key, `"<pod>::<policy>": "<verdict>"` where the verdict is

- `admit`: allowed, and the policy changed nothing (`AdmissionResult.mutated` is false);
- `mutate`: allowed only after the policy's defaulting changed the pod;
- `reject:<field>`: refused; <field> is the path of the first violation.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from pspc.admission import AllowAll, Identity
from pspc.admission.pipeline import Pipeline
from pspc.compiler import compile
from pspc.diagnostics import Diagnostics
from pspc.manifests import read_manifests
from pspc.targets.psp import manifest
from pspc.workloads import WORKLOADS, PodRequest, pod_request

CORPUS = Path(__file__).resolve().parent
REPO = CORPUS.parents[1]
SHARED = Path(os.environ.get("PSPC_SHARED", REPO.parent / "shared"))
PSA = SHARED / "conformance" / "psa"
VERDICTS = CORPUS / "verdicts.json"
PSA_VERDICTS = CORPUS / "verdicts-psa.json"
POD_GLOBS = ("seeds/*.yaml", "intents/*.yaml")
NAMESPACE = "default"
REQUESTER = Identity("kubernetes-admin", ("system:masters", "system:authenticated"))

Pod = tuple[str, dict]  # (name in the corpus, object as written)
Policy = tuple[str, dict]  # (name in the corpus, PodSecurityPolicy)


def _documents(files: Iterable[tuple[str, Path]]) -> list[Pod]:
    """Every Pod or workload document of the files, named `<name>` or `<name>#<index>`."""
    found: list[Pod] = []
    for name, path in files:
        diags = Diagnostics()
        manifests = read_manifests(path, name, diags)
        if diags.has_errors:
            raise SystemExit(f"{path}: cannot read: {[d.message for d in diags.items]}")
        used: dict[str, int] = {}
        for item in manifests:
            # `file#index`; items of a `kind: List` document share it, so they get `.n` too
            label = item.source if len(manifests) > 1 else item.source.rsplit("#", 1)[0]
            used[label] = used.get(label, -1) + 1
            if used[label]:
                label = f"{label}.{used[label]}"
            if item.kind == "Pod" or item.kind in WORKLOADS:
                found.append((label, item.object))
    return found


def _unique(pods: list[Pod], seen: set[str]) -> list[Pod]:
    """The first pod (in the order given) of each content not in `seen`; updates `seen`."""
    kept = []
    for name, obj in pods:
        content = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        if content not in seen:
            seen.add(content)
            kept.append((name, obj))
    return kept


def repo_pods(seen: set[str] | None = None) -> list[Pod]:
    """The pods of tests/corpus/seeds and tests/corpus/intents, sorted by path."""
    paths = sorted(p.relative_to(CORPUS).as_posix() for g in POD_GLOBS for p in CORPUS.glob(g))
    return _unique(_documents((p, CORPUS / p) for p in paths), set() if seen is None else seen)


def psa_pods(seen: set[str] | None = None) -> list[Pod] | None:
    """The PSA fixtures, sorted by path and deduplicated; None when they are absent."""
    if not PSA.is_dir():
        return None
    paths = sorted(p.relative_to(PSA.parent).as_posix() for p in PSA.rglob("*.yaml"))
    # Most fixtures are byte-identical copies across versions: parse each content once.
    first: dict[bytes, str] = {}
    for path in paths:
        first.setdefault((PSA.parent / path).read_bytes(), path)
    files = sorted((path, PSA.parent / path) for path in first.values())
    return _unique(_documents(files), set() if seen is None else seen)


def all_pods() -> tuple[list[Pod], list[Pod] | None]:
    seen: set[str] = set()
    return repo_pods(seen), psa_pods(seen)


def _compile(label: str, path: Path) -> list[Policy]:
    compiled = compile([str(path)])
    if compiled.program is None or compiled.diagnostics.has_errors:
        messages = [d.message for d in compiled.diagnostics.items]
        raise SystemExit(f"{path}: does not compile: {messages}")
    return [(f"{label}/{p.name}", manifest(p)) for p in compiled.program.policies]


def policies() -> list[Policy]:
    """Every single policy: the stdlib, each example on its own, the intent policies."""
    found = _compile("stdlib", REPO / "stdlib")
    for example in sorted(p for p in (REPO / "examples").iterdir() if p.is_dir()):
        found += _compile(example.name, example)
    found += _compile("intents", CORPUS / "policies")
    return found


def verdict(pipeline: Pipeline, request: PodRequest) -> str:
    """admit, mutate or reject:<first violation's field> for one pod under one pipeline."""
    user = Identity(request.requester, request.requester_groups) if request.requester \
        else REQUESTER
    result = pipeline.review("CREATE", request.pod, user=user, namespace=request.namespace)
    if result.allowed:
        return "mutate" if result.mutated else "admit"
    field = result.violations[0][0] if result.violations else "(no violation: " + \
        (result.message or "") + ")"
    return f"reject:{field}"


def record(pods: list[Pod], policy_list: list[Policy]) -> dict[str, str]:
    """`{"<pod>::<policy>": verdict}` for every pod under every policy, each policy alone."""
    requests = [(name, pod_request(obj, NAMESPACE)) for name, obj in pods]
    out: dict[str, str] = {}
    for policy_name, psp in policy_list:
        pipeline = Pipeline([psp], AllowAll())
        for pod_name, request in requests:
            out[f"{pod_name}::{policy_name}"] = verdict(pipeline, request)
    return dict(sorted(out.items()))


def render(verdicts: dict[str, str]) -> str:
    """Sorted JSON, one entry per line, so that a change shows as a reviewable diff."""
    lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(verdicts.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> int:
    repo, psa = all_pods()
    policy_list = policies()
    VERDICTS.write_text(render(record(repo, policy_list)), encoding="utf-8")
    print(f"{VERDICTS.relative_to(REPO)}: {len(repo)} pods x {len(policy_list)} policies")
    if psa is None:
        print(f"note: {PSA} is absent: PSA fixtures skipped, "
              f"{PSA_VERDICTS.relative_to(REPO)} left as it is")
    else:
        PSA_VERDICTS.write_text(render(record(psa, policy_list)), encoding="utf-8")
        print(f"{PSA_VERDICTS.relative_to(REPO)}: {len(psa)} pods x {len(policy_list)} policies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
