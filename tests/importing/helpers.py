"""Shared helpers for the import tests: import objects in memory, build them back."""

from __future__ import annotations

import copy

import yaml
from psp_semantics import normal_spec

from pspc.diagnostics import Diagnostics, Span
from pspc.importing import ImportedPolicy, import_manifests
from pspc.importing.psp import LAST_APPLIED
from pspc.manifests import Manifest, parse_manifests
from pspc.model.resolve import compile_files
from pspc.syntax.parser import parse_text
from pspc.targets import psp as psp_target
from pspc.targets import rbac as rbac_target

FILE = "input.yaml"


def to_yaml(*documents: dict) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False)


def import_text(text: str, include_wildcard: bool = False, path: str = FILE
                ) -> tuple[list[ImportedPolicy], Diagnostics]:
    diags = Diagnostics()
    manifests = parse_manifests(text, path, diags)
    if diags.has_errors:
        return [], diags
    return import_manifests(manifests, diags, include_wildcard), diags


def import_docs(*documents: dict, include_wildcard: bool = False
                ) -> tuple[list[ImportedPolicy], Diagnostics]:
    """Import objects as they would be read from one file (without YAML, so without field
    positions: messages point at the documents)."""
    manifests = [Manifest(f"{FILE}#{i}", Span(FILE, 1, 1, 1, 2), copy.deepcopy(doc))
                 for i, doc in enumerate(documents)]
    diags = Diagnostics()
    return import_manifests(manifests, diags, include_wildcard), diags


def import_ok(*documents: dict, include_wildcard: bool = False) -> dict[str, ImportedPolicy]:
    imported, diags = import_docs(*documents, include_wildcard=include_wildcard)
    assert not diags.has_errors, [f"{d.span} {d.code} {d.message}" for d in diags.items]
    return {item.policy.name: item for item in imported}


def errors(*documents: dict) -> list[tuple[str, str]]:
    """(code, message) of every error importing these documents."""
    imported, diags = import_docs(*documents)
    assert not imported or not diags.has_errors
    return [(d.code, d.message) for d in diags.items if d.code.startswith("E")]


def build(texts: dict[str, str]) -> list[dict]:
    """`pspc build` of sources (file name -> text) in memory: PSP and RBAC objects."""
    diags = Diagnostics()
    files = [parse_text(text, name, diags) for name, text in sorted(texts.items())]
    program = compile_files(files, diags)
    assert not diags.has_errors, [f"{d.span} {d.code} {d.message}" for d in diags.items]
    objects = []
    for policy in program.policies:
        objects.append(psp_target.manifest(policy))
        objects.extend(rbac_target.manifests(policy))
    return objects


def psp(name: str = "p", annotations: dict | None = None, **spec) -> dict:
    """A PodSecurityPolicy: the fields pspc requires (all RunAsAny) plus `spec`."""
    base = {"runAsUser": {"rule": "RunAsAny"}, "seLinux": {"rule": "RunAsAny"},
            "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}}
    metadata: dict = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": metadata,
            "spec": {**base, **spec}}


def _annotations(psp: dict) -> dict:
    notes = dict(psp["metadata"].get("annotations") or {})
    notes.pop(LAST_APPLIED, None)
    return notes


def _labels(psp: dict) -> dict:
    labels = dict(psp["metadata"].get("labels") or {})
    labels.pop("app.kubernetes.io/managed-by", None)
    return labels


def _import_one(psp: dict, via_yaml: bool = False):
    imported, diags = import_text(to_yaml(psp)) if via_yaml else import_docs(psp)
    assert not diags.has_errors, [f"{d.code} {d.message}" for d in diags.items]
    (item,) = [i for i in imported if i.policy.name == psp["metadata"]["name"]]
    return item


def same_psp(out: dict, psp: dict) -> bool:
    """The same policy: name, normalised spec, annotations and labels (pspc's own aside)."""
    return (out["metadata"]["name"] == psp["metadata"]["name"]
            and normal_spec(out["spec"]) == normal_spec(psp["spec"])
            and _annotations(out) == _annotations(psp) and _labels(out) == _labels(psp))


def assert_round_trip(psp: dict, via_yaml: bool = False) -> str:
    """import → build → same PodSecurityPolicy; import again → same source. The source."""
    item = _import_one(psp, via_yaml)
    built = [o for o in build({item.path: item.text}) if o["kind"] == "PodSecurityPolicy"]
    (out,) = built
    assert out["metadata"]["name"] == psp["metadata"]["name"]
    assert normal_spec(out["spec"]) == normal_spec(psp["spec"]), item.text
    assert _annotations(out) == _annotations(psp), item.text
    assert _labels(out) == _labels(psp), item.text
    assert _import_one(out, via_yaml).text == item.text
    return item.text
