"""One strict reader of Kubernetes input (pspc.apitypes, applied by pspc.manifests).

A field of the wrong type is refused as the API server refuses it: `pspc eval` reports it
at its line and column and exits 2 without evaluating anything (a PodSecurityPolicy with
`privileged: "false"` must never admit a privileged pod), and `pspc import` reports the
very same diagnostic. The type tables are checked against Kubernetes 1.24's own schemas.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from click.testing import CliRunner
from k8s_schemas import KV124

from pspc import apitypes
from pspc.cli import main

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: pd}
spec:
  containers:
  - name: c
    image: nginx
    securityContext: {privileged: true}
"""
PSP = {
    "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
    "metadata": {"name": "p", "annotations": {"kubernetes.io/description": "d"}},
    "spec": {
        "privileged": False, "hostNetwork": False, "hostPID": False, "hostIPC": False,
        "hostPorts": [{"min": 80, "max": 80}], "volumes": ["hostPath", "flexVolume", "csi"],
        "allowedHostPaths": [{"pathPrefix": "/x", "readOnly": True}],
        "allowedFlexVolumes": [{"driver": "d"}], "allowedCSIDrivers": [{"name": "c"}],
        "runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 2}]},
        "runAsGroup": {"rule": "RunAsAny"},
        "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"},
        "seLinux": {"rule": "MustRunAs", "seLinuxOptions": {"level": "s0"}},
        "readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False,
        "defaultAllowPrivilegeEscalation": False,
        "allowedCapabilities": ["NET_BIND_SERVICE"], "defaultAddCapabilities": ["CHOWN"],
        "requiredDropCapabilities": ["ALL"], "allowedProcMountTypes": ["Default"],
        "allowedUnsafeSysctls": ["kernel.msg*"], "forbiddenSysctls": ["kernel.shm_rmid_forced"],
        "runtimeClass": {"allowedRuntimeClassNames": ["gvisor"],
                         "defaultRuntimeClassName": "gvisor"},
    },
}
WRONG = [  # (path, a value of the wrong type, the field the diagnostic names)
    (("spec", "privileged"), "false", "spec.privileged"),
    (("spec", "hostNetwork"), "true", "spec.hostNetwork"),
    (("spec", "hostPID"), 1, "spec.hostPID"),
    (("spec", "hostIPC"), "yes", "spec.hostIPC"),
    (("spec", "hostPorts", 0, "min"), "80", "spec.hostPorts[0].min"),
    (("spec", "hostPorts", 0, "max"), 2 ** 31, "spec.hostPorts[0].max"),
    (("spec", "volumes"), "hostPath", "spec.volumes"),
    (("spec", "allowedHostPaths", 0, "readOnly"), "yes", "spec.allowedHostPaths[0].readOnly"),
    (("spec", "allowedHostPaths", 0, "pathPrefix"), 5, "spec.allowedHostPaths[0].pathPrefix"),
    (("spec", "allowedFlexVolumes", 0, "driver"), 5, "spec.allowedFlexVolumes[0].driver"),
    (("spec", "allowedCSIDrivers", 0), "c", "spec.allowedCSIDrivers[0]"),
    (("spec", "runAsUser", "ranges", 0, "max"), "2", "spec.runAsUser.ranges[0].max"),
    (("spec", "runAsUser", "ranges", 0, "min"), 1.5, "spec.runAsUser.ranges[0].min"),
    (("spec", "runAsGroup", "rule"), 5, "spec.runAsGroup.rule"),
    (("spec", "supplementalGroups"), "RunAsAny", "spec.supplementalGroups"),
    (("spec", "fsGroup", "ranges"), {"min": 1, "max": 2}, "spec.fsGroup.ranges"),
    (("spec", "seLinux", "seLinuxOptions", "level"), 0, "spec.seLinux.seLinuxOptions.level"),
    (("spec", "readOnlyRootFilesystem"), "true", "spec.readOnlyRootFilesystem"),
    (("spec", "allowPrivilegeEscalation"), "false", "spec.allowPrivilegeEscalation"),
    (("spec", "defaultAllowPrivilegeEscalation"), "no",
     "spec.defaultAllowPrivilegeEscalation"),
    (("spec", "allowedCapabilities"), "SYS_ADMIN", "spec.allowedCapabilities"),
    (("spec", "defaultAddCapabilities", 0), 5, "spec.defaultAddCapabilities[0]"),
    (("spec", "requiredDropCapabilities"), {"ALL": True}, "spec.requiredDropCapabilities"),
    (("spec", "allowedProcMountTypes"), "Default", "spec.allowedProcMountTypes"),
    (("spec", "allowedUnsafeSysctls", 0), ["a"], "spec.allowedUnsafeSysctls[0]"),
    (("spec", "forbiddenSysctls"), "*", "spec.forbiddenSysctls"),
    (("spec", "runtimeClass", "allowedRuntimeClassNames"), "gvisor",
     "spec.runtimeClass.allowedRuntimeClassNames"),
    (("spec", "runtimeClass", "defaultRuntimeClassName"), True,
     "spec.runtimeClass.defaultRuntimeClassName"),
    (("metadata", "annotations"), "d", "metadata.annotations"),
    (("metadata", "annotations", "kubernetes.io/description"), 1,
     "metadata.annotations[kubernetes.io/description]"),
    (("metadata", "name"), 5, "metadata.name"),
]
ERROR = re.compile(r"^\S+:\d+:\d+: error\[E043\] .*$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run in tmp_path, so that messages name files as `psp.yaml`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pod.yaml").write_text(POD)


def _with(obj: dict, path: tuple, value) -> dict:
    obj = copy.deepcopy(obj)
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return obj


def _eval(*args: str):
    return CliRunner().invoke(main, ["eval", *args, "-f", "pod.yaml"])


def _refused(text: str) -> list[str]:
    """`pspc eval` and `pspc import` on the same file: both refuse it with the same located
    E043 errors; eval exits 2 and evaluates nothing."""
    with open("policy.yaml", "w") as file:
        file.write(text)
    evaluated = _eval("policy.yaml")
    assert evaluated.exit_code == 2, evaluated.output
    assert "psp: " not in evaluated.output  # no verdict
    imported = CliRunner().invoke(main, ["import", "policy.yaml", "-o", "out"])
    assert imported.exit_code == 1, imported.output
    errors = ERROR.findall(evaluated.output)
    assert errors and errors == ERROR.findall(imported.output)
    return errors


def test_a_valid_policy_is_evaluated():
    with open("policy.yaml", "w") as file:
        yaml.safe_dump(PSP, file)
    result = _eval("policy.yaml")
    assert result.exit_code == 1, result.output  # the pod is privileged
    assert "psp: forbidden" in result.output


def test_privileged_as_a_string_is_refused_where_it_is_written():
    text = ("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: p\n"
            "spec:\n  privileged: \"false\"\n  runAsUser: {rule: RunAsAny}\n"
            "  seLinux: {rule: RunAsAny}\n  supplementalGroups: {rule: RunAsAny}\n"
            "  fsGroup: {rule: RunAsAny}\n  volumes: ['*']\n")
    errors = _refused(text)
    assert errors == ["policy.yaml:6:15: error[E043] document 0 (PodSecurityPolicy p): "
                      "spec.privileged: must be true or false, not a string 'false'"]


@pytest.mark.parametrize(("path", "value", "field"), WRONG, ids=[w[2] for w in WRONG])
def test_every_field_of_a_policy_is_typed(path, value, field):
    errors = _refused(yaml.safe_dump(_with(PSP, path, value)))
    assert len(errors) == 1 and f"): {field}: " in errors[0]


def test_the_fields_above_are_every_field_of_the_spec():
    tested = {path[1] for path, _, _ in WRONG if path[0] == "spec"}
    assert tested == set(PSP["spec"]) == set(apitypes.PSP_SPEC)


RBAC = [
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
     "rules:\n- verbs: use\n  apiGroups: [policy]\n  resources: [podsecuritypolicies]\n",
     "policy.yaml:5:10: error[E043] document 0 (ClusterRole r): rules[0].verbs: must be a "
     "list, not a string 'use'"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, "
     "namespace: a}\nrules:\n- verbs: [use]\n  resourceNames: [[p]]\n",
     "policy.yaml:6:19: error[E043] document 0 (Role r): rules[0].resourceNames[0]: must be "
     "a string, not a list"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}"
     "\nroleRef: {kind: ClusterRole, name: r, apiGroup: rbac.authorization.k8s.io}\n"
     "subjects: {kind: Group, name: g}\n",
     "policy.yaml:5:11: error[E043] document 0 (ClusterRoleBinding b): subjects: must be a "
     "list, not a mapping"),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, "
     "namespace: a}\nroleRef: {kind: Role, name: 5, apiGroup: rbac.authorization.k8s.io}\n",
     "policy.yaml:4:29: error[E043] document 0 (RoleBinding b): roleRef.name: must be a "
     "string, not an integer 5"),
]


@pytest.mark.parametrize(("text", "error"), RBAC, ids=["verbs", "resourceNames", "subjects",
                                                       "roleRef"])
def test_rbac_objects_are_typed(text, error):
    assert _refused(text) == [error]


def test_namespace_labels_are_strings():
    with open("ns.yaml", "w") as file:
        file.write("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
                   "  labels: {pod-security.kubernetes.io/enforce: 1}\n")
    result = _eval("--rbac", "ns.yaml")
    assert result.exit_code == 2, result.output
    assert ("ns.yaml:5:48: error[E043] document 0 (Namespace a): "
            "metadata.labels[pod-security.kubernetes.io/enforce]: must be a string, not an "
            "integer 1") in result.output


def test_a_workload_is_typed_where_it_is_written(tmp_path):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
        "    spec:\n      hostNetwork: 'true'\n      containers: [{name: c, image: i}]\n")
    result = _eval()
    assert result.exit_code == 2, result.output
    assert ("pod.yaml:7:20: error[E043] document 0 (Deployment d): spec.template.spec."
            "hostNetwork: must be true or false, not a string 'true'") in result.output


# -- the tables are the API's types --------------------------------------------------------

_SCHEMAS = KV124 / "kubernetes_validate" / "kubernetes-json-schema" / "v1.24.0-local"
_FORMATS = {"int32": apitypes.INT32, "int64": apitypes.INT64}
_NEWER = ("hostUsers", "appArmorProfile", "restartPolicy")
"""Pod fields newer than 1.24 (1.25, 1.30, 1.28 for containers) that the PSA engine reads."""


def _conforms(table, schema: dict, definitions: dict, path: str, exact: bool) -> list[str]:
    """Where `table` differs from the OpenAPI `schema`: a field the API has not, a type it
    does not give it, and (`exact`) a field of the API the table misses."""
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type")
    if isinstance(table, apitypes.Scalar):
        wanted = {"boolean": apitypes.BOOL, "string": apitypes.STR}.get(kind) or _FORMATS.get(
            schema.get("format"))
        return [] if wanted == table else [f"{path}: {table.what}, the API says {schema}"]
    if isinstance(table, apitypes.ListOf):
        if kind != "array":
            return [f"{path}: a list, the API says {kind}"]
        return _conforms(table.item, schema["items"], definitions, path + "[]", exact)
    if isinstance(table, apitypes.MapOf):
        if "additionalProperties" not in schema:
            return [f"{path}: a map, the API says {kind}"]
        return _conforms(table.value, schema["additionalProperties"], definitions,
                         path + "{}", exact)
    fields = schema.get("properties", {})
    found = [f"{path}.{key}: not a field of the API" for key in table
             if key not in fields and key not in _NEWER]
    found += [f"{path}.{key}: missing" for key in fields if exact and key not in table]
    return found + [p for key, inner in table.items() if key in fields
                    for p in _conforms(inner, fields[key], definitions, f"{path}.{key}", exact)]


@pytest.mark.parametrize(("kind", "definition", "exact"), [
    ("PodSecurityPolicy", "io.k8s.api.policy.v1beta1.PodSecurityPolicy", False),
    ("Role", "io.k8s.api.rbac.v1.Role", False),
    ("ClusterRole", "io.k8s.api.rbac.v1.ClusterRole", False),
    ("RoleBinding", "io.k8s.api.rbac.v1.RoleBinding", False),
    ("ClusterRoleBinding", "io.k8s.api.rbac.v1.ClusterRoleBinding", False),
    ("Namespace", "io.k8s.api.core.v1.Namespace", False),
    ("Pod", "io.k8s.api.core.v1.Pod", False),
    ("Deployment", "io.k8s.api.apps.v1.Deployment", False),
    ("CronJob", "io.k8s.api.batch.v1.CronJob", False),
])
def test_tables_match_kubernetes_schemas(kind, definition, exact):
    if not (_SCHEMAS / "_definitions.json").is_file():
        pytest.skip(f"the Kubernetes 1.24 schemas (kubernetes-validate) are not in {KV124}")
    definitions = json.loads((_SCHEMAS / "_definitions.json").read_text())["definitions"]
    schema = definitions[definition]
    assert _conforms(apitypes.shape(kind), schema, definitions, kind, exact) == []


@pytest.mark.parametrize(("table", "definition"), [
    (apitypes.PSP_SPEC, "io.k8s.api.policy.v1beta1.PodSecurityPolicySpec"),
    (apitypes.KINDS["ClusterRole"]["rules"].item, "io.k8s.api.rbac.v1.PolicyRule"),
    (apitypes.KINDS["ClusterRole"]["aggregationRule"], "io.k8s.api.rbac.v1.AggregationRule"),
    (apitypes.KINDS["RoleBinding"]["subjects"].item, "io.k8s.api.rbac.v1.Subject"),
    (apitypes.KINDS["RoleBinding"]["roleRef"], "io.k8s.api.rbac.v1.RoleRef"),
])
def test_policy_and_rbac_tables_hold_every_field(table, definition):
    if not (_SCHEMAS / "_definitions.json").is_file():
        pytest.skip(f"the Kubernetes 1.24 schemas (kubernetes-validate) are not in {KV124}")
    definitions = json.loads((_SCHEMAS / "_definitions.json").read_text())["definitions"]
    assert _conforms(table, definitions[definition], definitions, definition, True) == []
