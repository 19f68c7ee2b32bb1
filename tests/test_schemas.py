"""Every manifest pspc writes is valid (kubernetes-validate --strict, or a schema).

PodSecurityPolicy exists only up to Kubernetes 1.24, so PSP and RBAC are checked against
1.24 schemas; RBAC, ValidatingAdmissionPolicy (1.30+) and the PSA target's Namespaces
against the newest schemas the current release has. Gatekeeper and Kyverno objects are
custom resources, absent from those schemas: they are checked against the schemas in
tests/fixtures/schemas, written from the projects' documentation.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from conftest import OUTPUTS, REPO, example_dirs
from k8s_schemas import validate_current, validate_v124

from pspc.compiler import Options, compile
from pspc.resources import resource_dir


def _documents(files: dict[str, bytes]) -> list[dict]:
    return [doc for name, data in sorted(files.items())
            if name.endswith(".yaml") and not name.endswith("kustomization.yaml")
            and "helm/" not in name
            for doc in yaml.safe_load_all(data)]


def _golden_documents() -> list[dict]:
    return _documents({p.as_posix(): p.read_bytes() for p in OUTPUTS.rglob("*.yaml")})


def _stdlib_documents() -> list[dict]:
    return _documents(compile([str(resource_dir("stdlib"))], Options(label="stdlib")).outputs())


def test_golden_manifests_validate_against_kubernetes_1_24():
    documents = [d for d in _golden_documents() + _stdlib_documents()
                 if d["apiVersion"].startswith(("policy/", "rbac."))]
    kinds = {d["kind"] for d in documents}
    assert {"PodSecurityPolicy", "ClusterRole", "ClusterRoleBinding", "RoleBinding"} <= kinds
    assert validate_v124(documents) == []


def test_rbac_admission_policies_and_namespaces_validate_against_current_kubernetes():
    documents = [d for d in _golden_documents() + _stdlib_documents()
                 if d["apiVersion"].startswith(("rbac.", "admissionregistration."))
                 or d["kind"] == "Namespace"]
    kinds = {d["kind"] for d in documents}
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Namespace"} <= kinds
    assert validate_current(documents) == []


SCHEMAS = {
    "ConstraintTemplate": "constrainttemplate-v1.json",
    "ClusterPolicy": "kyverno-clusterpolicy-v1.json",
    "Assign": "gatekeeper-mutation-v1.json",
    "ModifySet": "gatekeeper-mutation-v1.json",
}


def _schema_for(document: dict) -> dict:
    if document["apiVersion"].startswith("constraints.gatekeeper.sh/"):
        name = "constraint-v1beta1.json"
    else:
        name = SCHEMAS[document["kind"]]
    return json.loads((REPO / "tests" / "fixtures" / "schemas" / name).read_text())


def test_gatekeeper_and_kyverno_objects_have_the_documented_shape():
    documents = [d for d in _golden_documents() + _stdlib_documents()
                 if d["apiVersion"].startswith(("templates.gatekeeper", "constraints.gatekeeper",
                                                "mutations.gatekeeper", "kyverno.io"))]
    assert {d["kind"] for d in documents} >= {"ConstraintTemplate", "ClusterPolicy"}
    for document in documents:
        jsonschema.validate(document, _schema_for(document))


def test_scoped_mutators_have_the_documented_shape():
    """Mutators left out of some namespaces (pspc.mutation.scope): Gatekeeper's
    excludedNamespaces, Kyverno's exclude by namespace and by system:masters."""
    from mutation.test_targets import OVERLAP

    from pspc.compiler import compile_texts

    build = compile_texts({"t.pspc": OVERLAP}, Options(("gatekeeper-mutation",
                                                        "kyverno-mutation")))
    documents = _documents(build.outputs())
    assert {d["kind"] for d in documents} >= {"Assign", "ClusterPolicy"}
    assert "excludedNamespaces" in str(documents) and "system:masters" in str(documents)
    for document in documents:
        jsonschema.validate(document, _schema_for(document))


def _mutating_documents(version: tuple[int, int]) -> list[dict]:
    """Every example built with the mutating targets for a cluster of `version`."""
    from pspc.profiles import Profile, unsupported
    from pspc.targets import MUTATING

    served = tuple(t for t in MUTATING if not unsupported(t, version))
    documents = []
    for example in example_dirs():
        build = compile([str(example)], Options(targets=served, discover=False))
        view = build.for_profile(Profile("p", version, served))
        documents += _documents(view._rendered("", whole=False))
    return documents


@pytest.mark.parametrize("version", [(1, 29), (1, 32), (1, 34), (1, 36)])
def test_mutating_objects_validate_at_the_profile_version(version):
    """MutatingAdmissionPolicy against the Kubernetes schemas of the version (v1alpha1 on
    1.32-1.33, v1beta1 on 1.34-1.35, v1 from 1.36); Gatekeeper and Kyverno mutation objects
    against the shape schemas (the AppArmor annotation before 1.30, the field after)."""
    import kubernetes_validate as kv

    documents = _mutating_documents(version)
    kinds = {d["kind"] for d in documents}
    assert {"Assign", "ModifySet", "ClusterPolicy"} <= kinds
    for document in documents:
        if document["apiVersion"].startswith("admissionregistration."):
            kv.validate(document, f"{version[0]}.{version[1]}.0", strict=True)
        else:
            jsonschema.validate(document, _schema_for(document))
    assert ("MutatingAdmissionPolicy" in kinds) == (version >= (1, 32))


def test_the_shape_schemas_catch_mistakes():
    template = next(d for d in _golden_documents() if d["kind"] == "ConstraintTemplate")
    broken = {**template, "spec": {**template["spec"], "targets": [{"target": "x"}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _schema_for(template))


def test_validation_catches_a_broken_manifest():
    psp = next(d for d in _golden_documents() if d["kind"] == "PodSecurityPolicy")
    misspelt = {**psp, "spec": {**psp["spec"], "hostPorts": [{"from": 1, "to": 2}]}}
    assert validate_v124([misspelt]) != []
