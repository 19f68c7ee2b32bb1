"""`pspc eval` plumbing around the engines: the message when an evaluator is missing, the
CEL runtime chosen, the Rego interpreter where regorus' VM cannot run a module, the Rego
engines in a second process, streamed output identical to the whole document, the fast YAML
reader identical to the reference one, the progress counter."""

from __future__ import annotations

import io
import json
import sys

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, REPO

from pspc.cli import main
from pspc.diagnostics import Diagnostics
from pspc.engines import Verdict
from pspc.engines.validating import ContractOracle
from pspc.evaluation import (
    BATCH,
    ObjectResult,
    Progress,
    _read_with_libyaml,
    iter_results,
    load_objects,
    load_policy_objects,
    read_objects,
    validating_engines,
    write_results,
)
from pspc.manifests import read_manifests

ACK = str(EXAMPLES / "seed-002-ack")
POD = str(REPO / "tests" / "corpus" / "seeds" / "001-pd.yaml")


@pytest.mark.parametrize(("engine", "missing"), [
    ("rego", ("regorus",)), ("gatekeeper", ("regorus",)),
    ("cel", ("cel_expr_python", "celpy")), ("all", ("regorus",))])
def test_a_missing_evaluator_names_the_engines_extra(monkeypatch, engine, missing):
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)  # `import module` raises ImportError
    result = CliRunner().invoke(main, ["eval", ACK, "-f", POD, "--engine", engine])
    assert result.exit_code == 2
    assert "is not installed" in result.output
    assert "pip install 'pspc[engines]'" in result.output
    assert "Traceback" not in result.output


def test_cel_falls_back_to_cel_python(monkeypatch):
    pytest.importorskip("celpy")
    from pspc.engines.validators import cel_runtime

    monkeypatch.setitem(sys.modules, "cel_expr_python", None)
    assert cel_runtime() == "cel-python"


def test_rego_the_vm_cannot_compile_runs_in_the_interpreter():
    pytest.importorskip("regorus")
    from pspc.engines.validators import RegoProgram

    module = 'package m\n\nimport rego.v1\n\nx contains v if v := input.a with input as {"a": 1}\n'
    program = RegoProgram({"m.rego": module}, ["data.m.x"])  # `with`: not compiled yet
    assert program.vm is None
    program.set_input({"a": 2})
    assert program.query("data.m.x") == [1]


def test_rego_the_vm_fails_on_runs_in_the_interpreter_from_then_on():
    pytest.importorskip("regorus")
    from pspc.engines.validators import RegoProgram

    # more instructions than the VM runs for one query
    module = ("package m\n\nimport rego.v1\n\nx contains n if {\n"
              "\tsome n in numbers.range(1, input.n)\n\tn % 50000 == 0\n}\n")
    program = RegoProgram({"m.rego": module}, ["data.m.x"])
    assert program.vm is not None
    program.set_input({"n": 10})
    assert program.query("data.m.x") == []  # within the VM's limit
    program.set_input({"n": 100_000})
    assert program.query("data.m.x") == [50000, 100000]
    assert program.vm is None


def test_the_engines_extra_is_in_the_test_extra():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    names = " ".join(extras["engines"])
    assert "gordon-to-regorus" in names and "cel-expr-python" in names
    assert "pspc[engines]" in extras["test"]


def _result(name: str, allowed: bool, expected: bool | None = None) -> ObjectResult:
    verdict = Verdict(allowed, "p", None if allowed else "no", () if allowed else (("f", "no"),))
    return ObjectResult(f"pods.yaml#{name}", "Pod", name, "default", None, name,
                        {"psp": verdict, "cel": verdict},
                        {} if expected is None else {"cel": expected})


@pytest.mark.parametrize("count", [0, 1, 3])
def test_streamed_json_is_the_whole_document(count):
    results = [_result(str(i), i % 2 == 0, expected=True) for i in range(count)]
    out = io.StringIO()
    found, forbidden = write_results(
        iter(results), "json", lambda text, nl=True: out.write(text + "\n" * nl))
    whole = json.dumps({"objects": [r.to_json() for r in results], "disagreements": found},
                       indent=2) + "\n"
    assert out.getvalue() == whole
    assert forbidden == (count > 1)
    assert [d["source"] for d in found] == (["pods.yaml#1"] if count > 1 else [])


def test_the_libyaml_reader_reads_what_the_reference_reader_reads(tmp_path):
    path = tmp_path / "pods.yaml"
    path.write_text("# a dump\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\n"
                    "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: b}\n"
                    "- kind: Deployment\n  metadata: {name: c}\n  spec: {replicas: 1.5e3}\n"
                    "--- {kind: Pod, metadata: {name: d}}\n--- # note\n\n  kind: Pod\n...\n"
                    "---\nkind: CronJob\nspec: {schedule: 0 3 * * *}\n")  # stars, no alias
    fast = _read_with_libyaml(path, "pods.yaml")
    assert fast is not None
    assert read_objects(path, "pods.yaml", Diagnostics()) == fast
    reference = read_manifests(path, "pods.yaml", Diagnostics())
    assert [(m.source, m.span, m.object, m.item) for m in fast] == [
        (m.source, m.span, m.object, m.item) for m in reference]
    assert all(m.node is None for m in fast)


@pytest.mark.parametrize("text", [
    "a: &x {b: 1}\nc: *x\n",  # an alias: refused
    "kind: Pod\nmetadata: [\n",  # broken YAML
    "- just\n- a list\n",  # not an object
])
def test_the_reference_reader_reports_what_libyaml_would_pass_over(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    fast, reference = Diagnostics(), Diagnostics()
    assert read_objects(path, "bad.yaml", fast) == []
    read_manifests(path, "bad.yaml", reference)
    assert fast.items == reference.items
    assert fast.has_errors


def test_the_rego_engines_in_a_second_process_give_what_they_give_here():
    pytest.importorskip("regorus")
    from pspc.engines.psp import BOOTSTRAP_RBAC, DEFAULT_REQUESTER, PspEngine, PspOptions
    from pspc.engines.worker import can_fork

    if not can_fork():
        pytest.skip("the platform cannot fork: the engines run in one process")
    diags = Diagnostics()
    objects = load_policy_objects([ACK], diags)
    pods = sorted(str(p) for p in (REPO / "tests" / "corpus" / "seeds").glob("*.yaml"))
    manifests = load_objects(pods, diags) * 10  # several batches
    engines = [PspEngine(objects.psps, objects.rbac + list(BOOTSTRAP_RBAC), PspOptions()),
               *validating_engines(objects.analysis, ["rego", "gatekeeper", "cel"],
                                   DEFAULT_REQUESTER)]
    oracle = ContractOracle(objects.policies)

    def results(parallel_from: int) -> tuple[list[ObjectResult], list]:
        found = Diagnostics()
        return list(iter_results(manifests, engines, "default", found, oracle,
                                 parallel_from=parallel_from)), found.items

    assert len(manifests) > BATCH
    assert results(parallel_from=1) == results(parallel_from=len(manifests) + 1)


class _Failing:
    name = "rego"  # a Rego engine: run in the worker

    def evaluate(self, request):
        raise ValueError(f"cannot evaluate {request.namespace}")


class _Admitting:
    name = "psa"  # run here

    def evaluate(self, request):
        return Verdict(True)


def test_an_engine_failing_in_the_worker_fails_here():
    from pspc.engines.worker import can_fork

    if not can_fork():
        pytest.skip("the platform cannot fork: the engines run in one process")
    manifests = load_objects([POD], Diagnostics())
    with pytest.raises(ValueError, match="cannot evaluate default"):
        list(iter_results(manifests, [_Failing(), _Admitting()], "default", Diagnostics(),
                          parallel_from=1))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_on_a_terminal_and_clears_its_line():
    stream = _Terminal()
    progress = Progress(10_000, delay=0, stream=stream)
    progress.update(1234)
    progress.close()
    assert stream.getvalue() == "\rpspc eval: 1,234/10,000 objects\r\033[K"
    quiet = io.StringIO()  # not a terminal
    progress = Progress(10_000, delay=0, stream=quiet)
    progress.update(1)
    progress.close()
    assert quiet.getvalue() == ""


def test_a_pod_with_no_name_yet_is_named_pod_by_every_engine(tmp_path):
    """A workload's pods get their name at creation (generateName): the Rego and the
    Gatekeeper CEL say "pod must ...", as the VAP's CEL does, not "pod  must ..."."""
    pytest.importorskip("regorus")
    (tmp_path / "p.pspc").write_text("policy apps extends restricted {}\n"
                                     "bind apps to service accounts in namespace shop\n")
    (tmp_path / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n    spec:\n      hostNetwork: true\n"
        "      containers: [{name: app, image: nginx}]\n")
    result = CliRunner().invoke(main, [
        "eval", str(tmp_path / "p.pspc"), "-f", str(tmp_path / "web.yaml"), "--engine", "rego",
        "--engine", "gatekeeper", "--engine", "cel", "--format", "json"])
    engines = json.loads(result.stdout)["objects"][0]["engines"]
    for name in ("rego", "gatekeeper", "cel"):
        message = engines[name]["message"]
        assert "pod must not set hostNetwork, hostPID or hostIPC to true" in message, name
        assert "  " not in message, name
