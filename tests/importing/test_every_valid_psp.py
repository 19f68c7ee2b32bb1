"""Every PodSecurityPolicy the API server accepts imports, rebuilds to the same meaning and
re-imports to the same text: a seeded corpus (tests/importing/generator.py) over every
field, odd but valid values included, and an EKS-style cluster dump."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from pspc.importing.command import import_command

from .generator import corpus
from .helpers import build, import_docs, import_text, same_psp, to_yaml

COUNT = 2000
BATCH = 100


def test_generated_api_valid_policies_import_exactly(capsys):
    policies = corpus(COUNT)
    refused, differ = [], []
    for start in range(0, COUNT, BATCH):
        batch = policies[start:start + BATCH]
        imported, diags = import_docs(*batch)
        if diags.has_errors:
            refused += [f"{d.code} {d.message}" for d in diags.items if d.code[0] == "E"]
            continue
        built = build({item.path: item.text for item in imported})
        psps = {o["metadata"]["name"]: o for o in built if o["kind"] == "PodSecurityPolicy"}
        differ += [p["metadata"]["name"] for p in batch
                   if not same_psp(psps[p["metadata"]["name"]], p)]
        again, diags = import_docs(*psps.values())
        assert not diags.has_errors
        texts = {item.policy.name: item.text for item in again}
        differ += [item.policy.name for item in imported if texts[item.policy.name] != item.text]
    assert refused == [] and differ == []
    with capsys.disabled():
        print(f"\n{COUNT} generated API-valid PodSecurityPolicies: {COUNT - len(refused)} "
              "imported, rebuilt the same and re-imported to the same text")


def test_the_generated_corpus_reaches_the_odd_classes():
    policies = corpus(COUNT)
    specs = [p["spec"] for p in policies]

    def share(test) -> float:
        return sum(bool(test(s)) for s in specs) / COUNT

    assert share(lambda s: s["runAsUser"]["rule"] != "MustRunAs"
                 and s["runAsUser"].get("ranges")) > 0.05
    assert share(lambda s: s["fsGroup"]["rule"] != "RunAsAny"
                 and not s["fsGroup"].get("ranges")) > 0.05
    assert share(lambda s: s["seLinux"]["rule"] == "MustRunAs"
                 and not s["seLinux"].get("seLinuxOptions")) > 0.05
    assert share(lambda s: s.get("allowedProcMountTypes") == ["Unmasked"]) > 0.02
    assert share(lambda s: any(r["min"] > r["max"] or r["max"] > 65535
                               for r in s.get("hostPorts", ()))) > 0.05
    assert share(lambda s: "*" in s.get("volumes", ()) and len(s["volumes"]) > 1) > 0.01
    assert share(lambda s: len(set(s.get("volumes", ()))) < len(s.get("volumes", ()))) > 0.02
    assert share(lambda s: s.get("privileged") and s.get("allowPrivilegeEscalation") is False
                 ) > 0.02
    assert share(lambda s: s.get("allowedHostPaths") and not {"hostPath", "*"} & set(
        s.get("volumes", ()))) > 0.05
    names = [p["metadata"]["name"] for p in policies]
    assert sum(len(n) > 243 for n in names) > 5 and "con" in names
    text = json.dumps(policies)
    assert "\\u2028" in text and "\\u0085" in text and "\\u0000" in text


def _served(obj: dict, number: int) -> dict:
    metadata = obj["metadata"]
    metadata.update(uid=f"00000000-0000-0000-0000-{number:012d}", resourceVersion=str(number),
                    creationTimestamp="2020-01-01T00:00:00Z",
                    managedFields=[{"apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1",
                                    "manager": "eks", "operation": "Update"}])
    return obj


EKS_PSP = {
    "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
    "metadata": {"name": "eks.privileged", "annotations": {
        "kubernetes.io/description": "privileged allows full unrestricted access to pod "
                                     "features, as if the PodSecurityPolicy controller was "
                                     "not enabled.",
        "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "*"},
        "labels": {"kubernetes.io/cluster-service": "true",
                   "eks.amazonaws.com/component": "pod-security-policy"}},
    "spec": {"privileged": True, "allowPrivilegeEscalation": True,
             "allowedCapabilities": ["*"], "volumes": ["*"], "hostNetwork": True,
             "hostPorts": [{"min": 0, "max": 65535}], "hostIPC": True, "hostPID": True,
             "runAsUser": {"rule": "RunAsAny"}, "seLinux": {"rule": "RunAsAny"},
             "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"},
             "readOnlyRootFilesystem": False},
}
EKS_RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "eks:podsecuritypolicy:privileged", "labels": {
         "kubernetes.io/cluster-service": "true",
         "eks.amazonaws.com/component": "pod-security-policy"}},
     "rules": [{"apiGroups": ["policy"], "resourceNames": ["eks.privileged"],
                "resources": ["podsecuritypolicies"], "verbs": ["use"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "eks:podsecuritypolicy:authenticated", "annotations": {
         "kubernetes.io/description": "Allow all authenticated users to create privileged "
                                      "pods."},
         "labels": {"kubernetes.io/cluster-service": "true",
                    "eks.amazonaws.com/component": "pod-security-policy"}},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "eks:podsecuritypolicy:privileged"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                   "name": "system:authenticated"}]},
]
HELM_PSP = {
    "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
    "metadata": {"name": "ingress-nginx", "labels": {
        "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "ingress-nginx-4.0.1",
        "app.kubernetes.io/name": "ingress-nginx"}, "annotations": {
        "meta.helm.sh/release-name": "ingress", "meta.helm.sh/release-namespace": "ingress"},
        "finalizers": ["example.com/keep"], "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "1"}]},
    "spec": {"allowedCapabilities": ["NET_BIND_SERVICE"], "privileged": False,
             "allowPrivilegeEscalation": True, "volumes": ["configMap", "secret",
                                                          "emptyDir", "projected"],
             "hostNetwork": False, "hostIPC": False, "hostPID": False,
             "runAsUser": {"rule": "MustRunAsNonRoot"}, "supplementalGroups": {
                 "rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
             "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
             "seLinux": {"rule": "RunAsAny"}},
}
EXTRAS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress"},
     "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "ingress"},
     "spec": {"containers": [{"name": "c", "image": "nginx"}]},
     "status": {"phase": "Running"}},
]


def eks_dump() -> str:
    objects = [json.loads(json.dumps(o)) for o in (EKS_PSP, HELM_PSP, *EKS_RBAC, *EXTRAS)]
    items = [_served(o, i) for i, o in enumerate(objects)]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items,
                           "metadata": {"resourceVersion": ""}}, sort_keys=False)


def test_an_eks_dump_imports_and_rebuilds_the_same_policies(tmp_path):
    dump = eks_dump()
    imported, diags = import_text(dump)
    assert not diags.has_errors, [d.message for d in diags.items]
    assert not [d for d in diags.items if d.code == "W201"]  # a namespace and a pod: counted
    by_name = {item.policy.name: item for item in imported}
    eks = by_name["eks.privileged"]
    assert "bind eks.privileged to group system:authenticated" in eks.text
    assert 'label "eks.amazonaws.com/component" "pod-security-policy"' in eks.text
    built = build({item.path: item.text for item in imported})
    psps = {o["metadata"]["name"]: o for o in built if o["kind"] == "PodSecurityPolicy"}
    for original in (EKS_PSP, HELM_PSP):
        assert same_psp(psps[original["metadata"]["name"]], original)
    assert psps["ingress-nginx"]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pspc"
    again, diags = import_docs(*built)
    assert not diags.has_errors
    assert [i.text for i in again] == [i.text for i in imported]
    (tmp_path / "cluster.yaml").write_text(dump)
    result = CliRunner().invoke(import_command, [str(tmp_path / "cluster.yaml"), "-o",
                                                 str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "skipped 2 other objects: 1 Namespace, 1 Pod" in result.output
    assert "Traceback" not in result.output


def test_long_and_reserved_names_get_short_file_names(tmp_path):
    long_name = ".".join(["a" * 63] * 4)[:253]
    documents = [EKS_PSP, HELM_PSP]
    renamed = [json.loads(json.dumps(d)) for d in documents]
    renamed[0]["metadata"]["name"], renamed[1]["metadata"]["name"] = long_name, "nul.example.com"
    (tmp_path / "in.yaml").write_text(to_yaml(*renamed))
    result = CliRunner().invoke(import_command, [str(tmp_path / "in.yaml"), "-o",
                                                 str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").glob("*.pspc"))
    assert all(len(f.encode()) <= 255 for f in files) and len(files) == 2
    assert not any(f.split(".")[0] == "nul" for f in files)
    texts = [(tmp_path / "out" / f).read_text() for f in files]
    assert any(f"policy {long_name} " in t for t in texts)
    from pspc.cli import main

    result = CliRunner().invoke(main, ["build", str(tmp_path / "out"), "-o",
                                       str(tmp_path / "built")])
    assert result.exit_code == 0, result.output
    assert all(len(p.name.encode()) <= 255 for p in (tmp_path / "built").rglob("*"))


def test_eval_reads_the_same_dump_cleanly(tmp_path):
    from pspc.cli import main

    (tmp_path / "cluster.yaml").write_text(eks_dump())
    (tmp_path / "p.pspc").write_text("policy p extends baseline {}\n"
                                     "bind p to all service accounts\n")
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "p.pspc"), "-f",
                                       str(tmp_path / "cluster.yaml")])
    assert "error" not in result.output.replace("0 errors", ""), result.output
    assert result.output.count("warning[W202]") == 1
    assert ("skipping 5 objects of a cluster dump that are not Pods or workloads: "
            "1 ClusterRole, 1 ClusterRoleBinding, 1 Namespace, 2 PodSecurityPolicy"
            ) in result.output
    assert "Pod ingress/web" in result.output
