"""Every manifest pspc writes is valid for Kubernetes (kubernetes-validate --strict).

PodSecurityPolicy exists only up to Kubernetes 1.24, so PSP and RBAC are checked against
1.24 schemas; RBAC is also checked against the newest schemas the current release has.
"""

from __future__ import annotations

import yaml
from conftest import OUTPUTS
from k8s_schemas import validate_current, validate_v124

from pspc.compiler import build_outputs, compile_paths
from pspc.resources import resource_dir


def _documents(files: dict[str, bytes]) -> list[dict]:
    return [doc for name, data in sorted(files.items())
            if not name.endswith("kustomization.yaml")
            for doc in yaml.safe_load_all(data)]


def _golden_documents() -> list[dict]:
    return _documents({p.as_posix(): p.read_bytes() for p in OUTPUTS.rglob("*.yaml")})


def _stdlib_documents() -> list[dict]:
    compiled = compile_paths([str(resource_dir("stdlib"))])
    return _documents(build_outputs(compiled.program, ["psp", "rbac"], "stdlib"))


def test_golden_manifests_validate_against_kubernetes_1_24():
    documents = _golden_documents() + _stdlib_documents()
    kinds = {d["kind"] for d in documents}
    assert {"PodSecurityPolicy", "ClusterRole", "ClusterRoleBinding", "RoleBinding"} <= kinds
    assert validate_v124(documents) == []


def test_rbac_validates_against_current_kubernetes():
    rbac = [d for d in _golden_documents() if d["apiVersion"].startswith("rbac.")]
    assert rbac and validate_current(rbac) == []


def test_validation_catches_a_broken_manifest():
    psp = next(d for d in _golden_documents() if d["kind"] == "PodSecurityPolicy")
    misspelt = {**psp, "spec": {**psp["spec"], "hostPorts": [{"from": 1, "to": 2}]}}
    assert validate_v124([misspelt]) != []
