"""Every scenario of the seeds, reproduced with `pspc eval` (issue: the PSP simulator).

The seeds quote releases older than 1.19, whose rejections read `unable to validate against
any pod security policy`; `--kube-version 1.13` selects that wording, so the messages below
are the seeds' own words. Controller-created pod names carry a pod-template-hash that pspc
computes its own way, so those are matched up to the hash.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES, OUTPUTS, REPO

from pspc.cli import main

SEEDS = REPO / "tests" / "corpus" / "seeds"
OLD = ("--kube-version", "1.13")


@pytest.fixture(autouse=True)
def _in_repo(in_repo):
    return in_repo


def evaluate(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["eval", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def only(report: dict) -> dict:
    (obj,) = report["objects"]
    return obj["engines"]["psp"]


def seed_file(name: str) -> str:
    return str((SEEDS / name).relative_to(REPO))


def psp_yaml(tmp_path, example: str, *names: str, strip_annotations: bool = False) -> str:
    """The example's generated PSPs alone (no RBAC), as a cluster dump would have them."""
    docs = []
    for name in names:
        psp = yaml.safe_load((OUTPUTS / example / "psp" / f"{name}.yaml").read_text())
        if strip_annotations:
            psp["metadata"].pop("annotations", None)
        docs.append(psp)
    path = tmp_path / f"{'-'.join(names)}{'-bare' if strip_annotations else ''}.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


# -- seed 001 ---------------------------------------------------------------------------------


def test_001_s3_no_policy_means_no_provider():
    code, report = evaluate("-f", seed_file("001-pd-privileged.yaml"), *OLD)
    assert code == 1
    assert only(report)["message"] == (
        'pods "pd" is forbidden: no providers available to validate pod request')


def test_001_s3_current_wording():
    _, report = evaluate("-f", seed_file("001-pd-privileged.yaml"))
    assert only(report)["message"] == ('pods "pd" is forbidden: PodSecurityPolicy: no providers '
                                       "available to validate pod request")


def test_001_s5_privileged_pod_is_rejected_by_both_policies(tmp_path):
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp", "200-psp")
    code, report = evaluate(psps, "-f", seed_file("001-pd-privileged.yaml"), *OLD)
    error = ("spec.containers[0].securityContext.privileged: Invalid value: true: "
             "Privileged containers are not allowed")
    assert code == 1
    assert only(report)["message"] == ('pods "pd" is forbidden: unable to validate against any '
                                       f"pod security policy: [{error} {error}]")
    assert only(report)["violations"] == [
        {"field": "spec.containers[0].securityContext.privileged",
         "message": "Invalid value: true: Privileged containers are not allowed"}] * 2


def test_001_s6_first_mutating_policy_by_name_wins(tmp_path):
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp", "200-psp")
    code, report = evaluate(psps, "-f", seed_file("001-pd.yaml"))
    verdict = only(report)
    assert code == 0 and verdict["allowed"] and verdict["policy"] == "100-psp"
    assert {"op": "add", "path": "/spec/containers/0/securityContext/runAsNonRoot",
            "value": True} in verdict["patch"]


def test_001_s6_a_non_mutating_policy_wins_over_the_alphabet(tmp_path):
    restricted = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp")
    bare = psp_yaml(tmp_path, "seed-001-psp-by-example", "200-psp", strip_annotations=True)
    _, report = evaluate(restricted, bare, "-f", seed_file("001-pd.yaml"))
    verdict = only(report)
    assert verdict["allowed"] and verdict["policy"] == "200-psp"
    assert verdict["patch"] == [{"op": "add", "path": "/metadata/annotations",
                                 "value": {"kubernetes.io/psp": "200-psp"}},
                                {"op": "add", "path": "/spec/securityContext", "value": {}}]


def test_001_s7_the_pod_works_but_the_deployment_does_not(tmp_path):
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp", "200-psp")
    code, report = evaluate(psps, "-f", seed_file("001-pd.yaml"), "-f",
                            seed_file("001-dm.yaml"), *OLD)
    pod, deployment = report["objects"]
    assert code == 1
    assert pod["engines"]["psp"]["allowed"]
    assert deployment["kind"] == "Deployment" and deployment["name"] == "dm"
    message = deployment["engines"]["psp"]["message"]
    assert re.fullmatch(r'pods "dm-[bcdfghjklmnpqrstvwxz2456789]+-" is forbidden: unable to '
                        r"validate against any pod security policy: \[\]", message), message


def test_001_s7_binding_the_replicaset_controller_fixes_the_deployment(tmp_path):
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp", "200-psp")
    binding = OUTPUTS / "seed-001-psp-by-example" / "rbac" / "200-psp.yaml"
    code, report = evaluate(psps, "--rbac", str(binding), "-f", seed_file("001-dm.yaml"))
    verdict = only(report)
    assert code == 0 and verdict["allowed"] and verdict["policy"] == "200-psp"


def test_001_s5_cluster_admin_wildcard_grants_every_policy(tmp_path):
    """A `*` rule (cluster-admin) grants `use` of every policy to whoever is bound to it."""
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp")
    tiller = tmp_path / "tiller.yaml"
    tiller.write_text(yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "tiller"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "tiller", "namespace": "kube-system"}]}))
    as_tiller = ("--as", "system:serviceaccount:kube-system:tiller")
    _, without = evaluate(psps, *as_tiller, "-f", seed_file("001-pd.yaml"))
    _, with_binding = evaluate(psps, "--rbac", str(tiller), *as_tiller,
                               "-f", seed_file("001-pd.yaml"))
    assert not only(without)["allowed"]
    assert only(with_binding)["allowed"] and only(with_binding)["policy"] == "100-psp"


# -- seed 000 ---------------------------------------------------------------------------------


def test_000_the_replicaset_cannot_create_pods_without_a_binding(tmp_path):
    psps = psp_yaml(tmp_path, "seed-000-metakube", "psp-restricted")
    _, report = evaluate(psps, "-f", seed_file("000-nginx-hello.yaml"), *OLD)
    message = only(report)["message"]
    assert re.fullmatch(r'pods "nginx-hello-[a-z0-9]+-" is forbidden: unable to validate '
                        r"against any pod security policy: \[\]", message), message


def test_000_the_psp_default_binding_lets_the_pods_in():
    code, report = evaluate(str(EXAMPLES / "seed-000-metakube"),
                            "-f", seed_file("000-nginx-hello.yaml"))
    verdict = only(report)
    assert code == 0 and verdict["allowed"] and verdict["policy"] == "psp-restricted"


# -- seed 002 ---------------------------------------------------------------------------------

ACK = str(EXAMPLES / "seed-002-ack")
AS_DEV = ("--as", "system:serviceaccount:ack-restrictive:ack-dev", "-n", "ack-restrictive")
AS_TESTER = ("--as", "system:serviceaccount:ack-all-restrictive:ack-tester",
             "-n", "ack-all-restrictive")


def test_002_step6_host_network_pod_is_rejected():
    code, report = evaluate(ACK, *AS_DEV, "-f", seed_file("002-privileged.yaml"))
    assert code == 1
    assert only(report)["message"] == (
        'pods "privileged" is forbidden: PodSecurityPolicy: unable to admit pod: '
        "[spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed "
        "to be used]")


def test_002_step7_unprivileged_pod_is_created():
    code, report = evaluate(ACK, *AS_DEV, "-f", seed_file("002-non-privileged.yaml"))
    assert code == 0 and only(report)["policy"] == "privileged-restricted"


def test_002_step8_to_10_root_pod_is_forced_non_root_and_non_root_pod_runs():
    _, root = evaluate(ACK, *AS_TESTER, "-f", seed_file("002-root-pod.yaml"))
    _, non_root = evaluate(ACK, *AS_TESTER, "-f", seed_file("002-non-root-pod.yaml"))
    forced = {"op": "add", "path": "/spec/containers/0/securityContext",
              "value": {"allowPrivilegeEscalation": False, "runAsNonRoot": True}}
    # The kubelet then refuses the image's root user: "container has runAsNonRoot and image
    # will run as root" (CreateContainerConfigError), as the seed shows.
    assert only(root)["policy"] == "privileged-root-volumes-restricted"
    assert forced in only(root)["patch"]
    assert only(non_root)["allowed"]
    assert not any(op["path"].endswith("runAsNonRoot") for op in only(non_root)["patch"])


def test_002_other_users_get_no_policy():
    code, report = evaluate(ACK, "--as", "jane", "-n", "ack-restrictive",
                            "-f", seed_file("002-non-privileged.yaml"))
    assert code == 1
    assert only(report)["message"].endswith("unable to admit pod: []")


# -- seed 004 ---------------------------------------------------------------------------------


def test_004_nfs_only_through_claims_and_no_host_paths():
    # Created by an ordinary user: only the pods' service account (bound) brings a policy.
    code, report = evaluate(str(EXAMPLES / "seed-004-shared-nfs"), "--as", "alice",
                            "-f", seed_file("004-nfs-pods.yaml"))
    verdicts = {o["name"]: o["engines"]["psp"] for o in report["objects"]}
    assert code == 1
    assert verdicts["inline-nfs"]["message"].endswith(
        '[spec.volumes[0]: Invalid value: "nfs": nfs volumes are not allowed to be used]')
    assert verdicts["host-etc"]["message"].endswith(
        '[spec.volumes[0]: Invalid value: "hostPath": hostPath volumes are not allowed to be '
        "used]")
    assert verdicts["via-pvc"]["allowed"] and verdicts["via-pvc"]["policy"] == "shared-nfs"
    assert {"op": "add", "path": "/spec/containers/0/securityContext",
            "value": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                      "runAsUser": 32767}} in verdicts["via-pvc"]["patch"]


# -- the command itself -----------------------------------------------------------------------


def test_json_contract_shape():
    _, report = evaluate("-f", seed_file("001-pd-privileged.yaml"))
    assert report == {"objects": [{
        "source": "tests/corpus/seeds/001-pd-privileged.yaml#0", "kind": "Pod", "name": "pd",
        "namespace": "default", "engines": {"psp": {
            "allowed": False, "policy": None,
            "message": 'pods "pd" is forbidden: PodSecurityPolicy: no providers available to '
                       "validate pod request",
            "violations": [], "patch": []}}}], "disagreements": []}


def test_text_output_reads_like_kubectl(tmp_path):
    psps = psp_yaml(tmp_path, "seed-001-psp-by-example", "100-psp", "200-psp")
    result = CliRunner().invoke(main, ["eval", psps, "-f", seed_file("001-dm.yaml"), *OLD])
    assert result.exit_code == 1
    assert "  psp: forbidden\n    Warning  FailedCreate  replicaset-controller  Error creating: " \
           'pods "dm-' in result.output


def test_bad_input_is_a_diagnostic(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nmetadata: [\n")
    result = CliRunner().invoke(main, ["eval", "-f", str(bad)])
    assert result.exit_code == 2  # invalid input: nothing evaluated
    assert "error[E030] invalid YAML" in result.output
    assert "Traceback" not in result.output


def test_usage_errors(tmp_path):
    runner = CliRunner()
    pod = seed_file("001-pd.yaml")
    assert runner.invoke(main, ["eval", "-f", pod, "--kube-version", "1.25"]).exit_code == 2
    assert runner.invoke(main, ["eval", "-f", pod, "--feature-gates", "Nope=true"]).exit_code == 2
    assert runner.invoke(main, ["eval", "-f", str(tmp_path / "none.yaml")]).exit_code == 2
