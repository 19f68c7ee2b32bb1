"""`pspc migrate --cluster DUMP`: the plan from the workloads a cluster runs.

The fixture tests/fixtures/cluster/cluster.yaml is a `kubectl get pods,rs,deploy,sts,ds,
jobs,cronjobs,ns,psp,clusterroles,roles,clusterrolebindings,rolebindings -A -o yaml` List
(managedFields, status, ownerReferences, resourceVersion and all) of a v1.24 cluster:

- web: a Deployment (with an old ReplicaSet) and a bare pod, all restricted;
- legacy: a StatefulSet running as root with no capabilities, and a root bare pod: baseline;
- monitoring: the node-exporter DaemonSet (hostNetwork, hostPID, hostPath, hostPort) and a
  restricted Prometheus: privileged;
- payments: a Deployment and a CronJob (with its running Job) whose pods carry
  `kubernetes.io/psp: restricted-defaults`, a PSP with MustRunAs ranges that filled in
  runAsUser, fsGroup and supplementalGroups their templates omit;
- scratch: a Deployment in a namespace no policy is bound in;
- kube-system: kube-proxy, privileged; default: nothing runs.

The text and JSON plans are golden files, compared byte for byte. Regenerate them after a
reviewed change (from the repository root):

    pspc migrate --cluster tests/fixtures/cluster/cluster.yaml > tests/golden/migrate/cluster.md
    pspc migrate --cluster tests/fixtures/cluster/cluster.yaml --format json \
        > tests/golden/migrate/cluster.json
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO

from pspc.cli import main
from pspc.diagnostics import Diagnostics
from pspc.manifests import parse_manifests
from pspc.migrating.dump import Owners, Ref, controller_reference
from pspc.migrating.plan import FieldToSet, fields_to_set

DUMP = "tests/fixtures/cluster/cluster.yaml"
GOLDEN = REPO / "tests" / "golden" / "migrate"
SCHEMA = REPO / "tests" / "fixtures" / "cluster" / "plan.schema.json"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["migrate", *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture(scope="module")
def plan(request) -> dict:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(REPO)
    try:
        return json.loads(run("--cluster", DUMP, "--format", "json"))
    finally:
        monkeypatch.undo()


def namespace(plan: dict, name: str) -> dict:
    (found,) = [n for n in plan["namespaces"] if n["name"] == name]
    return found


def workload(plan: dict, ns: str, kind: str, name: str) -> dict:
    (found,) = [w for w in namespace(plan, ns)["workloads"]
                if (w["kind"], w["name"]) == (kind, name)]
    return found


# -- golden outputs -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, golden", [("text", "cluster.md"), ("json", "cluster.json")])
def test_the_plans_are_the_golden_files(in_repo, fmt, golden):
    assert run("--cluster", DUMP, "--format", fmt) == (GOLDEN / golden).read_text()


# -- levels, fields, rejections, labels -----------------------------------------------------


def test_each_namespace_gets_the_strictest_level_every_workload_passes(plan):
    assert {n["name"]: n["level"] for n in plan["namespaces"]} == {
        "default": "restricted", "kube-system": "privileged", "legacy": "baseline",
        "monitoring": "privileged", "payments": "baseline", "scratch": "restricted",
        "web": "restricted"}
    assert plan["version"] == "v1.30"


def test_workloads_are_the_tops_of_their_ownership_chains(plan):
    found = {n["name"]: sorted((w["kind"], w["name"], w["pods"]) for w in n["workloads"])
             for n in plan["namespaces"]}
    assert found == {
        "default": [],
        "kube-system": [("DaemonSet", "kube-proxy", 2)],
        "legacy": [("Pod", "debug-shell", 1), ("StatefulSet", "postgres", 1)],
        "monitoring": [("DaemonSet", "node-exporter", 3), ("Deployment", "prometheus", 1)],
        "payments": [("CronJob", "settlement", 1), ("Deployment", "checkout", 2)],
        "scratch": [("Deployment", "notebook", 1)],
        "web": [("Deployment", "frontend", 2), ("Pod", "curl-probe", 1)],
    }


def test_the_fields_psp_defaulting_filled_in_are_listed_per_workload(plan):
    checkout = workload(plan, "payments", "Deployment", "checkout")
    assert checkout["level"] == "restricted"  # PSS cannot see the reliance: the plan does
    assert checkout["defaults"] == [{
        "policy": "restricted-defaults", "pods": 2, "found": True, "admitted": True,
        "fields": [
            {"field": "spec.template.spec.containers[0].securityContext.runAsUser",
             "value": 1000},
            {"field": "spec.template.spec.securityContext.fsGroup", "value": 1000},
            {"field": "spec.template.spec.securityContext.supplementalGroups",
             "value": [1000]}],
        "violations": []}]
    settlement = workload(plan, "payments", "CronJob", "settlement")
    assert [f["field"] for f in settlement["defaults"][0]["fields"]] == [
        "spec.jobTemplate.spec.template.spec.containers[0].securityContext.runAsUser",
        "spec.jobTemplate.spec.template.spec.securityContext.fsGroup",
        "spec.jobTemplate.spec.template.spec.securityContext.supplementalGroups"]
    # pods admitted unchanged rely on nothing
    frontend = workload(plan, "web", "Deployment", "frontend")
    assert frontend["defaults"] == [{"policy": "restricted", "pods": 2, "found": True,
                                     "admitted": True, "fields": [], "violations": []}]
    relying = {(n["name"], w["name"]) for n in plan["namespaces"] for w in n["workloads"]
               for d in w["defaults"] if d["fields"]}
    assert relying == {("payments", "checkout"), ("payments", "settlement")}


def test_each_candidate_level_lists_what_it_rejects_with_psas_reasons(plan):
    monitoring = namespace(plan, "monitoring")
    assert monitoring["rejected"]["baseline"] == [{
        "kind": "DaemonSet", "name": "node-exporter", "reasons": [
            "host namespaces (hostNetwork=true, hostPID=true)",
            'hostPath volumes (volumes "proc", "sys", "root")',
            'hostPort (container "node-exporter" uses hostPort 9100)']}]
    assert [w["name"] for w in monitoring["rejected"]["restricted"]] == ["node-exporter"]
    legacy = namespace(plan, "legacy")
    assert legacy["rejected"]["baseline"] == []
    assert 'runAsUser=0 (container "shell" must not set runAsUser=0)' in \
        workload(plan, "legacy", "Pod", "debug-shell")["reasons"]["restricted"]
    assert namespace(plan, "payments")["rejected"]["restricted"] == [{
        "kind": "CronJob", "name": "settlement", "reasons": [
            'runAsNonRoot != true (pod or container "settle" must set '
            'securityContext.runAsNonRoot=true)']}]


def test_labels_and_commands_come_in_dry_run_order(plan):
    payments = namespace(plan, "payments")
    assert payments["labels"] == {"enforce": "baseline", "audit": "restricted",
                                  "warn": "restricted", "version": "v1.30"}
    prefix = "pod-security.kubernetes.io/"
    assert payments["commands"] == [
        f"kubectl label --overwrite namespace payments {prefix}audit=restricted "
        f"{prefix}audit-version=v1.30 {prefix}warn=restricted {prefix}warn-version=v1.30",
        f"kubectl label --dry-run=server --overwrite namespace payments "
        f"{prefix}enforce=baseline {prefix}enforce-version=v1.30",
        f"kubectl label --overwrite namespace payments {prefix}enforce=baseline "
        f"{prefix}enforce-version=v1.30"]


def test_the_policies_level_is_reported_beside_the_workloads_level(plan):
    assert plan["policies"] == {"source": "dump", "note": None}
    web = namespace(plan, "web")
    # seLinux RunAsAny and a cluster-wide binding of `privileged` to system:nodes: the
    # policies alone would label every namespace privileged
    assert web["policy_level"] == "privileged"
    assert web["policies"] == [
        {"name": "privileged", "level": "privileged", "scope": "cluster",
         "subjects": ["group system:nodes (cluster-wide)"]},
        {"name": "restricted", "level": "privileged", "scope": "namespace",
         "subjects": ["group system:serviceaccounts:web"]}]


def test_namespaces_with_workloads_but_no_binding_are_reported(plan):
    assert [n["name"] for n in plan["namespaces"] if n["unbound"]] == ["scratch"]
    assert not namespace(plan, "default")["unbound"]  # nothing runs there
    notebook = workload(plan, "scratch", "Deployment", "notebook")
    assert notebook["psp_today"]["allowed"] is False
    assert "unable to admit pod" in notebook["psp_today"]["message"]
    assert workload(plan, "web", "Deployment", "frontend")["psp_today"] == {
        "allowed": True, "policy": "restricted", "mutated": False, "message": None}


def test_the_json_follows_its_schema(plan):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(plan, schema)
    assert plan["schema"] == "pspc.migrate.cluster/v1"


def test_the_readme_documents_every_json_field():
    readme = (REPO / "README.md").read_text()
    section = re.split(r"\n#{2,3} ", readme.split("### Migrating a running cluster")[1])[0]
    schema = json.loads(SCHEMA.read_text())

    def names(node: dict) -> set[str]:
        found = set(node.get("properties", {}))
        for inner in [*node.get("properties", {}).values(), node.get("items"),
                      node.get("additionalProperties")]:
            if isinstance(inner, dict) and inner:
                found |= names(inner)
        for key in ("anyOf", "oneOf"):
            for inner in node.get(key, ()):
                found |= names(inner)
        return found | {n for d in node.get("$defs", {}).values() for n in names(d)}

    missing = sorted(n for n in names(schema)
                     if f"`{n}`" not in section and f"`{n}[]`" not in section)
    assert missing == []


# -- options ----------------------------------------------------------------------------------


def test_version_applies_to_levels_labels_and_reasons(in_repo):
    plan = json.loads(run("--cluster", DUMP, "--format", "json", "--version", "v1.22"))
    assert plan["version"] == "v1.22"
    payments = namespace(plan, "payments")
    assert payments["labels"]["version"] == "v1.22"
    assert "enforce-version=v1.22" in payments["commands"][2]
    # runAsUser=0 is a restricted check from v1.23 only
    assert not any("runAsUser=0" in r for r in
                   workload(plan, "legacy", "Pod", "debug-shell")["reasons"]["restricted"])
    assert "not a Pod Security Standards version" in run(
        "--cluster", DUMP, "--version", "v9", code=2)


def test_without_cluster_the_command_is_unchanged(in_repo):
    assert "go with --cluster" in run("examples/seed-000-metakube", "--format", "json", code=2)
    assert "go with --cluster" in run("examples/seed-000-metakube", "--version", "v1.30",
                                      code=2)
    golden = (REPO / "outputs" / "seed-000-metakube" / "migration.md").read_text()
    assert run("examples/seed-000-metakube") == golden.split("\n", 1)[1]


def test_sources_in_paths_give_the_policies(in_repo, tmp_path):
    source = tmp_path / "policies.pspc"
    source.write_text("policy web extends restricted {}\n"
                      "bind web to service accounts in namespace web\n")
    plan = json.loads(run(str(source), "--cluster", DUMP, "--format", "json"))
    assert plan["policies"]["source"] == "sources"
    web = namespace(plan, "web")
    assert web["policy_level"] == "restricted"
    assert web["policies"] == [{"name": "web", "level": "restricted", "scope": "namespace",
                                "subjects": ["group system:serviceaccounts:web"]}]
    assert namespace(plan, "payments")["policies"] == []
    assert namespace(plan, "payments")["policy_level"] is None
    # the pods still name the dump's policies, which the dump still holds
    fields = workload(plan, "payments", "Deployment", "checkout")["defaults"][0]["fields"]
    assert len(fields) == 3
    # PSP today runs the sources' policies: only web's service accounts may create pods
    today = workload(plan, "web", "Deployment", "frontend")["psp_today"]
    assert (today["allowed"], today["policy"]) == (True, "web")
    assert workload(plan, "payments", "Deployment", "checkout")["psp_today"]["allowed"] is False


def test_sources_with_errors_print_no_plan(in_repo, tmp_path):
    bad = tmp_path / "bad.pspc"
    bad.write_text("policy p extends nothing-such {}\n")
    result = CliRunner().invoke(main, ["migrate", str(bad), "--cluster", DUMP])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[E004]" in result.stderr


def test_an_invalid_dump_is_an_input_error(tmp_path):
    dump = tmp_path / "dump.yaml"
    dump.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                    "spec: {hostNetwork: 'yes', containers: [{name: c}]}\n")
    result = CliRunner().invoke(main, ["migrate", "--cluster", str(dump)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "spec.hostNetwork: must be true or false" in result.stderr
    missing = CliRunner().invoke(main, ["migrate", "--cluster", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_a_dump_without_policies_still_plans_from_the_workloads(tmp_path):
    dump = tmp_path / "dump.yaml"
    dump.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "p", "namespace": "ns", "annotations": {"kubernetes.io/psp": "gone"}},
         "spec": {"containers": [{"name": "c", "image": "i"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns"}}]}))
    plan = json.loads(run("--cluster", str(dump), "--format", "json"))
    assert plan["policies"]["source"] == "none"
    assert "no PodSecurityPolicy" in plan["policies"]["note"]
    (ns,) = plan["namespaces"]
    assert (ns["name"], ns["level"], ns["policies"], ns["unbound"]) == ("ns", "baseline",
                                                                        None, False)
    assert ns["workloads"][0]["defaults"] == [{"policy": "gone", "pods": 1, "found": False,
                                               "admitted": False, "fields": [],
                                               "violations": []}]
    assert plan["ignored"] == {"Service": 1}


# -- owner resolution -----------------------------------------------------------------------


def objects(*items: dict):
    diags = Diagnostics()
    found = parse_manifests(yaml.safe_dump_all(items), "t.yaml", diags)
    assert not diags.items
    return found


def obj(kind: str, name: str, uid: str | None = None, owner: tuple | None = None,
        controller: bool | None = True, ns: str = "ns") -> dict:
    metadata: dict = {"name": name, "namespace": ns}
    if uid:
        metadata["uid"] = uid
    if owner:
        reference = {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1]}
        if len(owner) > 2:
            reference["uid"] = owner[2]
        if controller is not None:
            reference["controller"] = controller
        metadata["ownerReferences"] = [reference]
    spec = {"containers": [{"name": "c"}]}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec}
    body = {"template": {"spec": spec}}
    if kind == "CronJob":
        body = {"jobTemplate": {"spec": body}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": body}


def test_a_pod_resolves_through_its_replicaset_to_its_deployment():
    pod, rs, deploy = objects(obj("Pod", "web-abc-x", owner=("ReplicaSet", "web-abc", "u2")),
                              obj("ReplicaSet", "web-abc", "u2", ("Deployment", "web", "u1")),
                              obj("Deployment", "web", "u1"))
    found = Owners([pod, rs, deploy]).resolve(pod)
    assert found.top is deploy and found.missing is None
    assert found.chain == (Ref("Pod", "ns", "web-abc-x"), Ref("ReplicaSet", "ns", "web-abc"),
                           Ref("Deployment", "ns", "web"))


def test_a_job_resolves_to_its_cronjob():
    pod, job, cron = objects(obj("Pod", "nightly-1-x", owner=("Job", "nightly-1")),
                             obj("Job", "nightly-1", owner=("CronJob", "nightly")),
                             obj("CronJob", "nightly"))
    assert Owners([pod, job, cron]).resolve(pod).top is cron


def test_the_uid_wins_over_the_name():
    a, b = objects(obj("ReplicaSet", "r", "u9", ("Deployment", "web", "u8")),
                   obj("Deployment", "other-name", "u8"))
    assert Owners([a, b]).resolve(a).top is b  # the uid finds it under another name
    # a Deployment deleted and re-created under the same name: the old ReplicaSet's
    # reference names the old one, which the dump does not hold
    rs, deploy = objects(obj("ReplicaSet", "web-old", "u2", ("Deployment", "web", "gone")),
                         obj("Deployment", "web", "u1"))
    found = Owners([rs, deploy]).resolve(rs)
    assert found.top is rs and found.missing == Ref("Deployment", "ns", "web")
    # without uids, the name decides
    rs, deploy = objects(obj("ReplicaSet", "web-1", owner=("Deployment", "web")),
                         obj("Deployment", "web", "u1"))
    assert Owners([rs, deploy]).resolve(rs).top is deploy


def test_a_controller_missing_from_the_dump_is_named():
    (pod,) = objects(obj("Pod", "db-0", owner=("PostgresCluster", "db")))
    found = Owners([pod]).resolve(pod)
    assert found.top is pod
    assert found.missing == Ref("PostgresCluster", "ns", "db")
    assert str(found.missing) == "PostgresCluster ns/db"


def test_owners_stay_in_their_namespace_and_loops_stop():
    pod, deploy = objects(obj("Pod", "p", owner=("ReplicaSet", "r")),
                          obj("ReplicaSet", "r", ns="elsewhere"))
    assert Owners([pod, deploy]).resolve(pod).missing == Ref("ReplicaSet", "ns", "r")
    a, b = objects(obj("ReplicaSet", "a", owner=("ReplicaSet", "b")),
                   obj("ReplicaSet", "b", owner=("ReplicaSet", "a")))
    found = Owners([a, b]).resolve(a)
    assert found.top is b and len(found.chain) == 2


def test_only_the_controller_reference_counts():
    (one,) = objects(obj("Pod", "p", owner=("ReplicaSet", "r"), controller=False))
    one.object["metadata"]["ownerReferences"].append(
        {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "x"})
    assert controller_reference(one) is None  # two owners, neither the controller
    (single,) = objects(obj("Pod", "p", owner=("ReplicaSet", "r"), controller=None))
    assert controller_reference(single)["name"] == "r"  # the only one
    one.object["metadata"]["ownerReferences"][1]["controller"] = True
    assert controller_reference(one)["kind"] == "Node"


# -- the fields a patch sets ------------------------------------------------------------------


def test_fields_leave_out_api_defaults_the_psp_annotation_and_seccomp_copies():
    pod = {"metadata": {}, "spec": {"securityContext": {"seccompProfile": {
        "type": "RuntimeDefault"}}, "containers": [{"name": "app"}]}}
    patch = ({"op": "add", "path": "/metadata/annotations", "value": {
        "kubernetes.io/psp": "p", "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}},
        {"op": "add", "path": "/spec/containers/0/env/0/valueFrom/fieldRef/apiVersion",
         "value": "v1"},
        {"op": "add", "path": "/spec/containers/0/securityContext", "value": {
            "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}})
    neutral = ({"op": "add", "path": "/spec/containers/0/env/0/valueFrom/fieldRef/apiVersion",
                "value": "v1"},)
    assert fields_to_set(pod, patch, neutral, ("spec", "template")) == (
        FieldToSet("spec.template.metadata.annotations"
                   "[container.apparmor.security.beta.kubernetes.io/app]", "runtime/default"),
        FieldToSet("spec.template.spec.containers[0].securityContext.runAsUser", 1000),
        FieldToSet("spec.template.spec.containers[0].securityContext.capabilities.drop",
                   ["ALL"]))
    # the annotation without the field is a field to set
    bare = {"metadata": {}, "spec": {"containers": [{"name": "app"}]}}
    assert fields_to_set(bare, patch[:1], (), ()) == (
        FieldToSet("metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
                   "runtime/default"),
        FieldToSet("metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
                   "runtime/default"))
    assert str(FieldToSet("spec.securityContext.fsGroup", 1000)) == \
        "spec.securityContext.fsGroup: 1000"


def test_the_fixture_is_a_realistic_dump():
    dump = yaml.safe_load(Path(REPO / DUMP).read_text())
    assert dump["kind"] == "List" and len(dump["items"]) > 40
    for item in dump["items"]:
        metadata = item["metadata"]
        assert metadata["managedFields"] and metadata["resourceVersion"] and metadata["uid"]
    kinds = {i["kind"] for i in dump["items"]}
    assert kinds >= {"Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job",
                     "CronJob", "Namespace", "PodSecurityPolicy", "ClusterRole",
                     "ClusterRoleBinding", "RoleBinding"}
    assert all("status" in i for i in dump["items"] if i["kind"] in ("Pod", "Deployment"))
