"""`pspc eval`: run pods and workloads through the engines, as a cluster would.

Policy inputs are pspc sources (compiled with the PSP and RBAC targets, exactly what
`pspc build` writes) and plain Kubernetes YAML (PodSecurityPolicy and RBAC objects, e.g. a
`kubectl get psp,clusterrole,... -o yaml` dump), so a team can simulate its current
cluster before migrating.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import yaml

from pspc.analysis import Analysis
from pspc.compiler import (
    SOURCE_SUFFIX,
    Options,
    UsageError,
    compile_texts,
    discover,
    display_path,
    read_sources,
)
from pspc.diagnostics import Diagnostics, Span
from pspc.engines import Engine, Verdict
from pspc.engines.validating import ContractOracle
from pspc.engines.worker import EngineWorker, can_fork
from pspc.manifests import (
    MAX_MANIFEST_BYTES,
    Manifest,
    list_item_nodes,
    mark_span,
    read_manifests,
    type_problems,
)
from pspc.model import ir
from pspc.targets import psp as psp_target
from pspc.targets import rbac as rbac_target
from pspc.workloads import WORKLOADS, NoPodTemplateError, PodRequest, pod_request

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
PSP_API_VERSIONS = ("policy/v1beta1", "extensions/v1beta1")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class PolicyObjects:
    """The PodSecurityPolicy and RBAC objects an engine evaluates against."""

    psps: list[dict] = field(default_factory=list)
    rbac: list[dict] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    policies: list[ir.Policy] = field(default_factory=list)
    analysis: Analysis | None = None  # of the compiled sources, when PATHS hold any


def load_policy_objects(paths: list[str], diags: Diagnostics) -> PolicyObjects:
    """PSP and RBAC objects from pspc sources and from YAML files among `paths`."""
    objects = PolicyObjects()
    sources = discover(paths, (SOURCE_SUFFIX,))
    if sources:
        # No target's coverage is asked for: eval runs the engines itself.
        build = compile_texts(read_sources(sources, diags), Options(targets=()), diags)
        objects.sources.update(build.sources)
        if build.program is not None and not diags.has_errors:
            objects.analysis = build.analysis
            objects.policies.extend(build.program.policies)
            for policy in build.program.policies:
                objects.psps.append(psp_target.manifest(policy))
                objects.rbac.extend(rbac_target.manifests(policy))
    for path in discover(paths, MANIFEST_SUFFIXES):
        for manifest in read_manifests(path, display_path(path), diags):
            add_policy_object(objects, manifest, diags)
    return objects


def add_policy_object(objects: PolicyObjects, manifest: Manifest, diags: Diagnostics) -> None:
    obj = manifest.object
    if manifest.kind == "PodSecurityPolicy" and obj.get("apiVersion") in PSP_API_VERSIONS:
        objects.psps.append(obj)
    elif manifest.kind in RBAC_KINDS:
        objects.rbac.append(obj)
    else:
        diags.warning("W201", f"ignoring {manifest.kind or 'an object'} "
                      f"{manifest.name!r}: not a PodSecurityPolicy or RBAC object",
                      manifest.span)


@dataclass(frozen=True)
class ObjectResult:
    source: str
    kind: str
    name: str
    namespace: str
    requester: str | None
    pod_name: str
    verdicts: dict[str, Verdict]
    expected: dict[str, bool] = field(default_factory=dict)
    # policies usable in the namespace that admit the pod unchanged, when pspc labels the
    # namespace and the psa engine applies those labels: PSA must then admit the pod too
    psa_admitted_by: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"source": self.source, "kind": self.kind, "name": self.name,
                "namespace": self.namespace,
                "engines": {name: v.to_json() for name, v in self.verdicts.items()}}

    def lines(self) -> list[str]:
        """The result as a person reads it: each engine's verdict, as kubectl shows it."""
        creator = self.requester or "the requesting user"
        out = [f"{self.source}  {self.kind} {self.namespace}/{self.name}  "
               f"(pod {self.pod_name!r} created by {creator})"]
        for name, verdict in self.verdicts.items():
            out.extend(self._verdict_lines(name, verdict))
            out.extend(self._psa_lines(name, verdict))
        return out

    def _verdict_lines(self, name: str, verdict: Verdict) -> list[str]:
        if verdict.allowed:
            how = ", after mutating it:" if verdict.mutated else ""
            policy = f" under {verdict.policy}" if verdict.policy else ""
            return [f"  {name}: admitted{policy}{how}"] + [
                f"    {op['op']} {op['path']}"
                + (f" = {json.dumps(op['value'])}" if "value" in op else "")
                for op in (verdict.patch if verdict.mutated else ())]
        out = [f"  {name}: forbidden" + (f" under {verdict.policy}" if name == "psa" else "")]
        if name not in ("psp", "psa"):
            out.extend(f"    {m}" for m in (verdict.message or "").split("; "))
        elif self.requester is None:
            file = self.source.rsplit("#", 1)[0]
            out.append(f"    Error from server (Forbidden): error when creating "
                       f"\"{file}\": {verdict.message}")
        else:
            controller = self.requester.rsplit(":", 1)[-1]
            out.append(f"    Warning  FailedCreate  {controller}  Error creating: "
                       f"{verdict.message}")
        return out

    @staticmethod
    def _psa_lines(name: str, verdict: Verdict) -> list[str]:
        """What PSA says besides its verdict: an unlabelled namespace, warn-mode warnings."""
        if name != "psa":
            return []
        return [f"    note: {verdict.note}"] * bool(verdict.note) + [
            f"    Warning: {w}" for w in verdict.warnings or ()]


class PsaConsistency:
    """pspc's PSA labels must break nothing: a pod that a policy usable in its namespace
    admits (unchanged, with the intents beyond PSP met: the ContractOracle's question)
    passes the enforce level pspc writes for that namespace."""

    def __init__(self, analysis: Analysis, oracle: ContractOracle) -> None:
        self.oracle = oracle
        self.labelled = {found.name: found for found in analysis.namespace_levels()}

    def admitted_by(self, request) -> tuple[str, ...]:
        found = self.labelled.get(request.namespace)
        if found is None:
            return ()
        return tuple(p.name for p, _ in found.policies
                     if self.oracle.admits_unchanged(p, request))


def psa_labels(analysis: Analysis | None) -> dict[str, tuple[str, str, str]]:
    """namespace -> (enforce, warn, version), as psa/namespaces.yaml labels it."""
    if analysis is None:
        return {}
    return {f.name: (f.enforce, f.levels["warn"], f.version)
            for f in analysis.namespace_levels()}


def load_objects(files: list[str], diags: Diagnostics) -> list[Manifest]:
    """The pods and workloads to evaluate, in file and document order (without their YAML
    nodes: eval locates nothing inside them, and a large dump's nodes take most memory)."""
    found: list[Manifest] = []
    dump: list[Manifest] = []
    for raw in files:
        path = Path(raw)
        if not path.is_file():
            raise UsageError(f"no such file: {raw}")
        for manifest in read_objects(path, raw, diags):
            if manifest.kind == "Pod" or manifest.kind in WORKLOADS:
                found.append(manifest)
            elif manifest.kind in DUMP_KINDS:
                dump.append(manifest)
            else:
                diags.warning("W202", f"skipping {manifest.kind or 'an object'}"
                              f" {manifest.name!r}: not a Pod or a workload", manifest.span)
    if dump:
        counts = Counter(m.kind for m in dump)
        diags.warning("W202", f"skipping {len(dump)} object{'s' * (len(dump) != 1)} of a "
                      "cluster dump that are not Pods or workloads: "
                      + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())),
                      dump[0].span)
    return found


DUMP_KINDS = ("PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
              "Namespace", "ServiceAccount")
"""Kinds of a cluster dump (kubectl get psp,clusterrole,...,namespace,pods -A -o yaml) that
eval skips with one warning counting them, rather than one per object."""


def read_objects(path: Path, display: str, diags: Diagnostics) -> list[Manifest]:
    """read_manifests without the YAML nodes, through libyaml when PyYAML has it and the
    file reads without trouble and is well typed; any problem (or an alias) goes to
    read_manifests, which reports it exactly."""
    fast = _read_with_libyaml(path, display)
    if fast is not None and not any(type_problems(m) for m in fast):
        return fast
    # the reference reader locates every problem, type errors included (E043)
    return [replace(m, node=None) for m in read_manifests(path, display, diags)]


def _read_with_libyaml(path: Path, display: str) -> list[Manifest] | None:
    loader_class = getattr(yaml, "CSafeLoader", None)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if loader_class is None or len(data) > MAX_MANIFEST_BYTES:
        return None
    maybe_aliases = _ALIAS.search(text) is not None
    lines = text.splitlines()
    loader = loader_class(text)
    found: list[Manifest] = []
    index = previous_end = 0
    try:
        while loader.check_node():
            node = loader.get_node()  # (libyaml's peek_event would derail get_node)
            start = _document_start(lines, previous_end, node.start_mark)
            if start is None:
                return None
            previous_end = node.end_mark.line
            span = Span(display, start[0] + 1, start[1] + 1, start[0] + 1, start[1] + 2)
            if maybe_aliases and _shares_nodes(node):
                return None
            document = _construct(loader, node)
            if document is None:
                index += 1
                continue
            if not isinstance(document, dict):
                return None
            if document.get("kind") == "List" or str(document.get("kind", "")).endswith("List"):
                items = document.get("items") or []
                if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                    return None
                nodes = list_item_nodes(node)
                found.extend(Manifest(f"{display}#{index}", mark_span(
                    display, nodes[n].start_mark) if n < len(nodes) else span, item, n)
                    for n, item in enumerate(items))
            else:
                found.append(Manifest(f"{display}#{index}", span, document))
            index += 1
    except Exception:  # whatever it is, the reference reader decides and reports it
        return None
    finally:
        loader.dispose()
    return found


_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _construct(loader, node: yaml.Node):
    """What `loader.construct_document(node)` returns for a node without aliases, in a
    third of the time: maps, sequences and strings are built here, other scalars by the
    loader's own constructor for their tag, anything else (a merge key `<<`, a set...) by
    the loader. A key that cannot be one (a map) raises, and the reference reader reports
    it."""
    if isinstance(node, yaml.ScalarNode) and node.tag in _SCALARS:
        return loader.yaml_constructors[node.tag](loader, node)
    if node.tag == _MAP and not any(key.tag == _MERGE for key, _ in node.value):
        return {_construct(loader, key): _construct(loader, value) for key, value in node.value}
    if node.tag == _SEQ:
        return [_construct(loader, item) for item in node.value]
    return loader.construct_object(node, deep=True)


_MERGE = "tag:yaml.org,2002:merge"
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "timestamp", "binary"))

_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s\[\]{},]", re.MULTILINE)
"""Where an alias may be (`*name` where a node starts); `0 3 * * *` is no alias."""


def _document_start(lines: list[str], after: int, mark) -> tuple[int, int] | None:
    """Where read_manifests locates a document (line, column, from 0): at its `---` when
    it has one, else at its first node; None when directives (`%YAML`) precede it."""
    for number in range(min(mark.line, len(lines) - 1), after - 1, -1):
        line = lines[number]
        if line.startswith("%"):
            return None
        if line.startswith("---") and line[3:4] in ("", " ", "\t"):
            return number, 0
    return mark.line, mark.column


def _shares_nodes(root: yaml.Node) -> bool:
    """Whether a node is reached twice: how an alias composes."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return False


REGO_ENGINES = ("rego", "gatekeeper")
PARALLEL_FROM = 1000  # objects: below that, forking a worker costs more than it saves
BATCH = 100  # requests sent to the worker at a time


def iter_results(manifests: Sequence[Manifest], engines: list[Engine], namespace: str,
                 diags: Diagnostics, oracle: ContractOracle | None = None,
                 psa: PsaConsistency | None = None,
                 progress: Progress | None = None,
                 parallel_from: int = PARALLEL_FROM) -> Iterator[ObjectResult]:
    """Each object's result as soon as it is evaluated (see `evaluate`); from
    `parallel_from` objects on, batch by batch, the Rego engines running in a second
    process beside the others (pspc.engines.worker)."""
    offloaded = [e for e in engines if e.name in REGO_ENGINES]
    if len(manifests) < parallel_from or len(offloaded) == len(engines) or not can_fork():
        offloaded = []
    local = [e for e in engines if e not in offloaded]
    worker = EngineWorker(offloaded) if offloaded else None

    def prepare(batch: list[tuple[int, Manifest]]) -> list[tuple[Manifest, PodRequest]]:
        requests = []
        for done, manifest in batch:
            if progress is not None:
                progress.update(done)
            try:
                requests.append((manifest, pod_request(manifest.object, namespace)))
            except NoPodTemplateError as exc:
                diags.error("E031", str(exc), manifest.span)
        if worker is not None:
            worker.submit([request for _, request in requests])
        return requests

    def finish(requests: list[tuple[Manifest, PodRequest]]) -> Iterator[ObjectResult]:
        mine = [{e.name: e.evaluate(request) for e in local} for _, request in requests]
        theirs = worker.verdicts() if worker is not None else [{}] * len(requests)
        for (manifest, request), here, there in zip(requests, mine, theirs, strict=True):
            verdicts = {e.name: here[e.name] if e.name in here else there[e.name]
                        for e in engines}
            yield _result(manifest, request, verdicts, oracle, psa)

    try:
        ahead = None  # the worker evaluates the next batch while this process finishes one
        for batch in _batches(list(enumerate(manifests, 1)), BATCH if worker else 1):
            requests = prepare(batch)
            if ahead is not None:
                yield from finish(ahead)
            ahead = requests
        if ahead is not None:
            yield from finish(ahead)
    finally:
        if worker is not None:
            worker.close()
        if progress is not None:
            progress.close()


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _result(manifest: Manifest, request, verdicts: dict[str, Verdict],
            oracle: ContractOracle | None, psa: PsaConsistency | None) -> ObjectResult:
    metadata = request.pod["metadata"]
    pod_name = metadata.get("name") or metadata.get("generateName") or "Unknown"
    validating = [name for name in verdicts if name in VALIDATING_ENGINES]
    expected = dict.fromkeys(validating, oracle.expected(request)) \
        if oracle is not None and validating else {}
    admitted_by = psa.admitted_by(request) if psa is not None else ()
    return ObjectResult(manifest.source, manifest.kind, manifest.name, request.namespace,
                        request.requester, pod_name, verdicts, expected, admitted_by)


def evaluate(manifests: list[Manifest], engines: list[Engine], namespace: str,
             diags: Diagnostics, oracle: ContractOracle | None = None,
             psa: PsaConsistency | None = None) -> list[ObjectResult]:
    return list(iter_results(manifests, engines, namespace, diags, oracle, psa))


class Progress:
    """A `\\r` counter on stderr for a long evaluation (shown after `delay` seconds), when
    stderr is a terminal and stdout is not one (results scrolling by show progress)."""

    def __init__(self, total: int, delay: float = 1.0, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = _isatty(self.stream) and (stream is not None or not _isatty(sys.stdout))
        self.start = time.monotonic() + delay
        self.next = self.start
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled or (now := time.monotonic()) < self.next:
            return
        self.next = now + 0.1
        self.stream.write(f"\rpspc eval: {done:,}/{self.total:,} objects")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def write_results(results: Iterable[ObjectResult], fmt: str,
                  echo: Callable[[str], object]) -> tuple[list[dict], bool]:
    """Print each result as it comes (text, or the JSON document `{"objects": [...],
    "disagreements": [...]}`), then the disagreements; hold only those. Returns the
    disagreements and whether any engine forbade anything."""
    contract: list[dict] = []
    psa: list[dict] = []
    forbidden = False
    count = 0
    for result in results:
        found = disagreements([result])
        contract += [d for d in found if d["kind"] == "contract"]
        psa += [d for d in found if d["kind"] == "psa"]
        forbidden = forbidden or any(not v.allowed for v in result.verdicts.values())
        if fmt == "json":
            text = json.dumps(result.to_json(), indent=2).replace("\n", "\n    ")
            echo(('{\n  "objects": [\n    ' if count == 0 else ",\n    ") + text, nl=False)
        else:
            echo("\n".join(result.lines()))
        count += 1
    found = contract + psa
    if fmt == "json":
        head = "\n  ]," if count else '{\n  "objects": [],'
        echo(head + '\n  "disagreements": '
             + json.dumps(found, indent=2).replace("\n", "\n  ") + "\n}")
        return found, forbidden
    for item in found:
        if item["kind"] == "psa":
            echo(f"DISAGREEMENT {item['source']}: psa forbids, at the level pspc labels the "
                 "namespace with, a pod that " + ", ".join(item["policies"])
                 + " admit(s) unchanged")
            continue
        echo(f"DISAGREEMENT {item['source']}: {item['engine']} says "
             f"{'admitted' if item['got'] else 'forbidden'}, the PSP contract says "
             f"{'admitted' if item['expected'] else 'forbidden'}")
    return found, forbidden


def disagreements(results: list[ObjectResult]) -> list[dict]:
    """Where an engine breaks what pspc promises.

    kind `contract`: a validating engine breaks the equivalence contract
    (docs/equivalence.md#checking-the-contract): for
    each policy that applies, it must admit exactly the pods that policy's PSP admits
    without changing them, and reject the ones it rejects or would have to change.
    kind `psa`: PSA, at the level pspc labels the namespace with, rejects a pod that a
    policy usable there admits (PSA has its own semantics, so it is not held to the
    contract, only to breaking nothing).
    """
    found = [{"source": r.source, "engine": name, "kind": "contract", "expected": expected,
              "got": r.verdicts[name].allowed}
             for r in results for name, expected in r.expected.items()
             if r.verdicts[name].allowed != expected]
    found += [{"source": r.source, "engine": "psa", "kind": "psa", "expected": True,
               "got": False, "policies": list(r.psa_admitted_by)}
              for r in results if r.psa_admitted_by and "psa" in r.verdicts
              and not r.verdicts["psa"].allowed]
    return found


VALIDATING_ENGINES = ("rego", "gatekeeper", "cel")


def validating_engines(analysis: Analysis | None, names: list[str], requester,
                       operation: str = "CREATE") -> list:
    """The validating engines asked for, running what pspc writes for the compiled sources
    (the selection over all their policies) with the request's identity: `requester` (an
    Identity) sends the Pods, a controller a workload's pods."""
    from pspc.engines.validators import Requester, SelectionCelEngine, SelectionRegoEngine

    if analysis is None or not analysis.program.policies:
        return []
    who = Requester(requester.name, tuple(requester.groups))
    makers = {
        "rego": lambda: SelectionRegoEngine(analysis, "conftest", who, operation),
        "gatekeeper": lambda: SelectionRegoEngine(analysis, "gatekeeper", who, operation),
        "cel": lambda: SelectionCelEngine(analysis, who, operation),
    }
    return [makers[name]() for name in names if name in makers]
