"""Pod Security Admission: `namespace` declarations, the psa target (psa/namespaces.yaml),
the migration plan (`pspc migrate`, migration.md), the psa rows of the report, and
`pspc eval --engine psa`.

Diagnostics of the declarations (E006, E025-E028, W105, W106), with exact positions, are in
tests/test_checks.py with every other code.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES, OUTPUTS, example_dirs
from k8s_schemas import validate_current

from pspc.cli import main
from pspc.compiler import Options, compile_texts
from pspc.diagnostics import Diagnostics
from pspc.formatter import format_source
from pspc.pss import DEFAULT_VERSION
from pspc.pss.namespaces import next_stricter
from pspc.syntax.parser import parse_text
from pspc.targets import migration, psa, report

PATH = "t.pspc"


def build_of(text: str, errors: bool = False, targets: tuple[str, ...] = ()):
    """The Build of one source (its program and analysis), and its diagnostics."""
    diags = Diagnostics()
    build = compile_texts({PATH: text}, Options(targets, "t"), diags)
    assert diags.has_errors == errors, [(d.code, d.message) for d in diags.items]
    return build, diags


def namespaces_yaml(text: str) -> dict[str, dict]:
    build, _ = build_of(text)
    (out,) = psa.build(build)
    return {d["metadata"]["name"]: d["metadata"]["labels"] for d in out.documents}


def labels(enforce: str, audit: str, warn: str, version: str = DEFAULT_VERSION) -> dict:
    prefix = "pod-security.kubernetes.io/"
    return {prefix + "enforce": enforce, prefix + "enforce-version": version,
            prefix + "audit": audit, prefix + "audit-version": version,
            prefix + "warn": warn, prefix + "warn-version": version}


SHOP = ("policy shop extends restricted {}\n"
        "bind shop to service accounts in namespace shop\n"
        "policy ops extends baseline {}\n"
        "bind ops to group ops in namespaces ops, shared\n"
        "bind shop to service accounts in namespace shared\n")


# -- declarations -----------------------------------------------------------------------------


def test_declarations_resolve_to_namespaces_with_spans():
    build, _ = build_of("namespace web enforce baseline audit restricted version v1.31 force\n"
                            "namespace api warn baseline\n")
    api, web = build.program.namespaces
    assert (web.name, web.levels, web.version, web.force) == (
        "web", {"audit": "restricted", "enforce": "baseline"}, "v1.31", True)
    assert {k: (s.line, s.column, s.end_column) for k, s in web.spans.items()} == {
        "name": (1, 11, 14), "enforce": (1, 23, 31), "audit": (1, 38, 48),
        "version": (1, 57, 62), "force": (1, 63, 68)}
    assert (api.name, api.levels, api.version, api.force) == ("api", {"warn": "baseline"},
                                                              None, False)


def test_formatting_keeps_every_clause():
    parsed = parse_text("namespace  web  version v1.30 version latest\n  enforce baseline force\n",
                        PATH, Diagnostics())
    assert format_source(parsed) == \
        "namespace web enforce baseline version v1.30 version latest force\n"


def test_a_stricter_declaration_names_the_policies_and_what_they_admit():
    _, diags = build_of("policy web extends baseline {}\n"
                          "bind web to service accounts in namespace web\n"
                          "namespace web enforce restricted\n", errors=True)
    (error,) = [d for d in diags.items if d.code == "E028"]
    assert error.message == ("namespace `web` enforces restricted, which rejects pods that "
                             "`web` admits there (at v1.30 the policies usable there fit "
                             "baseline)")
    # stdlib baseline conforms to baseline: its level is the one blocker, and the note
    # points at that statement.
    checks = [note.split(": restricted check ")[1] for note, _ in error.notes]
    assert checks == ["level"]
    assert error.notes[0][0].startswith(
        "policy `web` admits what Pod Security Standards baseline v1.30 admits, pods that "
        "restricted v1.30 rejects included (`conform to pod security standard baseline`)")
    assert error.notes[0][1] == next(s for p in build_of(
        "policy web extends baseline {}\n")[0].program.policies
        for s in [p.origins["pod_security_standard"].span])


def test_force_accepts_a_stricter_level_silently():
    build, diags = build_of("policy web extends baseline {}\n"
                                "bind web to service accounts in namespace web\n"
                                "namespace web enforce restricted force\n")
    assert diags.items == []
    assert build.analysis.levels_for("web").enforce == "restricted"


def test_a_declaration_checks_against_the_version_it_pins():
    # container_engine_t is a baseline SELinux type from v1.31 only.
    text = ("policy p extends baseline {\n  no pod security standard\n"
            "  selinux type container_engine_t\n"
            "  allow selinux types container_engine_t\n}\n"
            "bind p to service accounts in namespace ns\n")
    _, diags = build_of(text + "namespace ns enforce baseline version v1.31\n")
    assert diags.items == []
    _, diags = build_of(text + "namespace ns enforce baseline version v1.30\n", errors=True)
    assert [d.code for d in diags.items] == ["E028"]


# -- the psa target ---------------------------------------------------------------------------


def test_levels_per_namespace_are_the_least_strict_usable_policy():
    found = namespaces_yaml(SHOP)
    # shop: only `shop` (restricted); ops: `ops` (baseline); shared: both, so baseline.
    assert found == {"ops": labels("baseline", "restricted", "restricted"),
                     "shared": labels("baseline", "restricted", "restricted"),
                     "shop": labels("restricted", "restricted", "restricted")}


def test_cluster_wide_bindings_are_usable_in_every_labelled_namespace():
    found = namespaces_yaml(SHOP + "policy wide extends privileged {}\n"
                            "bind wide to all service accounts\n")
    assert set(found) == {"ops", "shared", "shop"}  # a cluster-wide binding names none
    assert {labels_["pod-security.kubernetes.io/enforce"] for labels_ in found.values()} == {
        "privileged"}
    assert found["shop"]["pod-security.kubernetes.io/warn"] == "baseline"


def test_declarations_win_and_add_namespaces():
    found = namespaces_yaml(SHOP + "namespace ops enforce privileged warn restricted\n"
                            "namespace kube-system enforce privileged version v1.29\n"
                            "namespace empty audit baseline\n")
    assert found["ops"] == labels("privileged", "baseline", "restricted")
    assert found["kube-system"] == labels("privileged", "baseline", "baseline", "v1.29")
    # No policy is usable in `empty`: PSP admits no pod there, restricted breaks nothing.
    assert found["empty"] == labels("restricted", "baseline", "restricted")
    assert list(found) == ["empty", "kube-system", "ops", "shared", "shop"]


def test_no_namespace_no_file():
    build, _ = build_of("policy wide extends baseline {}\nbind wide to all service accounts\n")
    assert psa.build(build) == []
    assert build.analysis.namespace_levels() == ()


def test_next_stricter():
    assert [next_stricter(level) for level in ("privileged", "baseline", "restricted")] == [
        "baseline", "restricted", "restricted"]


def test_namespaces_file_says_why_and_validates_against_kubernetes():
    build, _ = build_of(SHOP + "namespace kube-system enforce privileged\n", targets=("psa",))
    files = build.outputs()
    text = files["psa/namespaces.yaml"].decode()
    assert text.splitlines()[:5] == [
        "# generated by pspc from t.pspc; do not edit",
        "# kube-system: enforce privileged v1.30: declared at t.pspc:6:31; audit baseline, "
        "warn baseline",
        "# ops: enforce baseline v1.30: the level of ops; audit restricted, warn restricted",
        "# shared: enforce baseline v1.30: least strict of ops (baseline), shop (restricted); "
        "audit restricted, warn restricted",
        "# shop: enforce restricted v1.30: the level of shop; audit restricted, warn restricted",
    ]
    documents = list(yaml.safe_load_all(text))
    assert all(d["metadata"]["annotations"] == psa.NO_PRUNE for d in documents)
    assert validate_current(documents) == []
    assert "namespaces.yaml" in files["psa/kustomization.yaml"].decode()


def test_golden_namespaces():
    found = {p.parent.parent.name: list(yaml.safe_load_all(p.read_text()))
             for p in OUTPUTS.glob("*/psa/namespaces.yaml")}
    enforce = {example: {d["metadata"]["name"]: d["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] for d in docs} for example, docs in found.items()}
    assert enforce == {
        "seed-000-metakube": {"default": "restricted"},
        # declared (audit restricted, v1.31); both policies cluster-wide and privileged
        "seed-001-psp-by-example": {"default": "privileged"},
        "seed-002-ack": {"ack-all-restrictive": "privileged", "ack-restrictive": "privileged"},
        "seed-003-use-psp": {"mynamespace": "privileged"},
        "seed-004-shared-nfs": {"research": "privileged"},
    }
    (default,) = found["seed-001-psp-by-example"]
    assert default["metadata"]["labels"] == labels("privileged", "restricted", "baseline",
                                                   "v1.31")


# -- the report and the migration plan --------------------------------------------------------


def test_report_lists_gaps_with_the_outputs_that_enforce_them():
    build, _ = build_of(SHOP)
    entries = {e["policy"]: e for e in report.entries(build.analysis)}
    assert entries["ops"]["psa"]["level"] == "baseline"
    # extends baseline: it conforms to baseline, so PSA baseline leaves no gap
    assert entries["ops"]["targets"]["psa"] == []
    build, _ = build_of(SHOP.replace("policy ops extends baseline {}",
                                     "policy ops extends baseline { run as user 1000 }"))
    entries = {e["policy"]: e for e in report.entries(build.analysis)}
    rows = {r["intent"]: r for r in entries["ops"]["targets"]["psa"]}
    assert "enforced by gatekeeper, rego, vap, kyverno" in rows["run_as_user"]["reason"]
    restricted = {r["intent"] for r in entries["shop"]["targets"]["psa"]}
    assert "require_explicit_non_root" not in restricted  # PSA restricted checks it
    markdown = report.markdown(report.entries(build.analysis))
    assert "## ops" in markdown
    assert "Pod Security Admission: fits **baseline** (Pod Security Standards v1.30); " \
        "restricted would reject pods it admits" in markdown


def test_report_md_is_an_intent_by_target_matrix_with_source_lines_and_notes():
    build, _ = build_of("policy web extends restricted {\n  description \"the web tier\"\n"
                        "  run as user 1000..2000\n}\nbind web to group devs\n")
    (item,) = report.entries(build.analysis)
    assert item["origins"]["run_as_user"] == "t.pspc:3"
    assert item["origins"]["bindings"] == "t.pspc:5"
    lines = report.markdown([item]).splitlines()
    columns = ["psp", "rego", "gatekeeper", "vap", "kyverno", "map", "gatekeeper-mutation",
               "kyverno-mutation", "psa"]
    assert "| intent | source | " + " | ".join(columns) + " |" in lines
    rows = {line.split(" | ")[0][2:]: line[2:-2].split(" | ") for line in lines
            if line.startswith("| ") and not line.startswith("| intent")}
    # the policy's own lines first, in order, then what it inherits from the stdlib
    assert list(rows)[:3] == ["description", "run_as_user", "bindings"]
    assert rows["run_as_user"][1] == "line 3"
    assert rows["pod_security_standard"][1].startswith("stdlib/restricted.pspc:")
    notes = {int(n): text for n, _, text in (line.partition(". ") for line in lines
                                             if line[:1].isdigit())}
    declared = {t: {g["intent"]: g for g in gaps} for t, gaps in item["targets"].items()}
    for intent, (_, _, *cells) in rows.items():
        for column, cell in zip(columns, cells, strict=True):
            gap = declared[column].get(intent)
            if gap is None:
                assert cell == "-"
            elif gap["status"] == "exact":
                assert cell == "exact"
            else:  # partial / not expressible, with the note that says why
                status, _, number = cell.rpartition(" (")
                assert (status, notes[int(number[:-1])]) == (gap["status"], gap["reason"])
    assert sorted(notes) == list(range(1, len(notes) + 1))


def test_migration_plan_per_namespace():
    build, _ = build_of(SHOP + "policy old {\n  run as user any\n  selinux any\n"
                            "  supplemental groups any\n  fs group any\n"
                            "  allow seccomp profiles runtime/default\n"
                            "  default seccomp profile runtime/default\n}\n"
                            "bind old to service accounts in namespace legacy\n"
                            "policy spare extends baseline {}\n")
    plan = migration.plan(build.analysis)
    assert plan == migration.plan(build.analysis)
    sections = plan.split("\n## ")
    titles = [s.splitlines()[0] for s in sections[1:]]
    assert titles == ["Namespace `legacy`", "Namespace `ops`", "Namespace `shared`",
                      "Namespace `shop`", "Other namespaces", "Workloads affected",
                      "Policies bound to no one"]
    legacy = sections[1]
    assert "- `old` fits **privileged**; bound to group system:serviceaccounts:legacy in " \
        "legacy" in legacy
    assert "| enforce | privileged | v1.30 | the least strict level of the policies usable " \
        "here |" in legacy
    assert "### What baseline would reject" in legacy
    assert "`old` admits any SELinux options" in legacy
    assert "`old` fills in fields of pods today" in legacy
    affected = sections[6]
    old = affected.split("### `old`\n\nFills in today:\n\n")[1].split("###")[0]
    assert "- seccomp profile runtime/default: the pod must set an allowed seccomp profile " \
        "(runtime/default)\n" in old
    assert "- allowPrivilegeEscalation false: every container must set " \
        "securityContext.allowPrivilegeEscalation=false\n" in old
    assert "-f helm/old.values.yaml" in affected
    shop = sections[4]
    assert "| audit | restricted | v1.30 | restricted (the strictest level) |" in shop
    assert "What restricted would reject" not in shop
    assert "`spare`" in sections[7]


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_migrate_prints_the_golden_plan(in_repo, example):
    profiles = sorted(p.parent.name for p in (OUTPUTS / example.name).glob("*/migration.md"))
    for profile in profiles or [None]:  # with a pspc.toml, each profile has its own plan
        chosen = ["--profile", profile] if profile else []
        result = CliRunner().invoke(main, ["migrate", f"examples/{example.name}", *chosen])
        assert result.exit_code == 0, result.output
        golden = (OUTPUTS / example.name / (profile or "") / "migration.md").read_text()
        assert golden.split("\n", 1)[1] == result.stdout  # the golden file has a header


def test_migrate_with_errors_prints_no_plan(tmp_path):
    bad = tmp_path / "bad.pspc"
    bad.write_text("policy p extends baseline {}\nbind p to all service accounts\n"
                   "namespace ns enforce strict\n")
    result = CliRunner().invoke(main, ["migrate", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[E025]" in result.stderr


# -- pspc eval --engine psa -------------------------------------------------------------------


def pods_file(tmp_path, *pods: dict) -> str:
    path = tmp_path / "pods.yaml"
    path.write_text(yaml.safe_dump_all(pods))
    return str(path)


def pod(name: str, namespace: str, **security) -> dict:
    container = {"name": "app", "image": "registry.k8s.io/pause"}
    if security:
        container["securityContext"] = security
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace}, "spec": {
                "containers": [container]}}


RESTRICTED_POD = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                  "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def eval_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["eval", *args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_eval_psa_uses_the_namespace_labels(tmp_path):
    sources = tmp_path / "p.pspc"
    sources.write_text(SHOP)
    pods = pods_file(tmp_path, pod("good", "shop", **RESTRICTED_POD), pod("plain", "shop"),
                     pod("plain", "ops"), pod("plain", "elsewhere"))
    code, report_ = eval_json(str(sources), "--engine", "psa", "-f", pods)
    assert code == 1
    verdicts = [o["engines"]["psa"] for o in report_["objects"]]
    assert [(v["allowed"], v["policy"]) for v in verdicts] == [
        (True, "restricted:v1.30"), (False, "restricted:v1.30"), (True, "baseline:v1.30"),
        (True, "privileged:latest")]
    assert verdicts[1]["message"].startswith(
        'pods "plain" is forbidden: violates PodSecurity "restricted:v1.30": '
        "allowPrivilegeEscalation != false")
    # ops warns at restricted: an admitted pod that restricted rejects gets a warning.
    assert verdicts[2]["warnings"][0].startswith(
        'would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false')
    assert verdicts[3]["note"] == ("namespace elsewhere is not labelled by pspc: PSA's "
                                   "default applies")
    assert "note" not in verdicts[0] and verdicts[0]["warnings"] == []
    assert report_["disagreements"] == []


def test_eval_psa_text(tmp_path):
    sources = tmp_path / "p.pspc"
    sources.write_text(SHOP)
    pods = pods_file(tmp_path, pod("plain", "ops"), pod("plain", "elsewhere"))
    result = CliRunner().invoke(main, ["eval", str(sources), "--engine", "psa",
                                                       "-f", pods])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:3] == [
        "  psa: admitted under baseline:v1.30",
        '    Warning: would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation '
        '!= false (container "app" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "app" must set securityContext.capabilities.drop='
        '["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.'
        'runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.'
        'seccompProfile.type to "RuntimeDefault" or "Localhost")']
    assert result.stdout.splitlines()[4:] == [
        "  psa: admitted under privileged:latest",
        "    note: namespace elsewhere is not labelled by pspc: PSA's default applies"]


def test_eval_psa_with_an_explicit_level_and_version(tmp_path):
    pods = pods_file(tmp_path, pod("p", "default", **RESTRICTED_POD, seLinuxOptions={
        "type": "container_engine_t"}))
    for version, allowed in (("v1.30", False), ("v1.31", True)):
        code, report_ = eval_json("--engine", "psa", "--level", "baseline", "--version",
                                  version, "-f", pods)
        verdict = report_["objects"][0]["engines"]["psa"]
        assert (code, verdict["allowed"], verdict["policy"]) == (
            0 if allowed else 1, allowed, f"baseline:{version}")
    code, report_ = eval_json("--engine", "psa", "--level", "restricted", "--psa-version",
                              "latest", "-f", pods)
    assert report_["objects"][0]["engines"]["psa"]["policy"] == "restricted:latest"


def test_eval_psa_reports_a_forced_level_that_breaks_pods(tmp_path):
    sources = tmp_path / "p.pspc"
    sources.write_text("policy web extends baseline {}\n"
                       "bind web to service accounts in namespace web\n"
                       "namespace web enforce restricted force\n")
    # Baseline-shaped: the policy's PSP admits it unchanged (profiles set, nothing to fill
    # in); restricted rejects it.
    baseline_pod = pod("plain", "web")
    baseline_pod["spec"]["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"},
                                               "appArmorProfile": {"type": "RuntimeDefault"}}
    pods = pods_file(tmp_path, baseline_pod, pod("good", "web", **RESTRICTED_POD))
    result = CliRunner().invoke(main, ["eval", str(sources), "--engine", "psa",
                                                       "-f", pods, "--format", "json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["disagreements"] == [{
        "source": pods + "#0", "engine": "psa", "kind": "psa", "expected": True, "got": False,
        "policies": ["web"]}]
    text = CliRunner().invoke(main, ["eval", str(sources), "--engine", "psa",
                                                     "-f", pods])
    assert text.exit_code == 3
    assert f"DISAGREEMENT {pods}#0: psa forbids, at the level pspc labels the namespace " \
        "with, a pod that web admit(s) unchanged" in text.stdout
    # With --level, the user asks what a level does: no consistency check.
    code, report_ = eval_json(str(sources), "--engine", "psa", "--level", "restricted",
                              "-f", pods)
    assert code == 1 and report_["disagreements"] == []


def test_eval_all_runs_psa_outside_the_contract(in_repo):
    pods = "tests/corpus/seeds/004-nfs-pods.yaml"
    result = CliRunner().invoke(main, [
        "eval", str(EXAMPLES / "seed-000-metakube"), "--engine", "psp", "--engine", "psa",
        "-f", pods, "-n", "default", "--format", "json"])
    report_ = json.loads(result.stdout)
    assert report_["disagreements"] == []
    assert {o["engines"]["psa"]["policy"] for o in report_["objects"]} == {"privileged:latest"}


def test_eval_psa_usage_errors():
    runner = CliRunner()
    assert runner.invoke(main, ["eval", "-f", "x.yaml", "--engine", "psa", "--version",
                                "1.30"]).exit_code == 2
    assert runner.invoke(main, ["eval", "-f", "x.yaml", "--engine", "psa", "--level",
                                "strict"]).exit_code == 2
    assert runner.invoke(main, ["--version"]).output.startswith("pspc, version")
