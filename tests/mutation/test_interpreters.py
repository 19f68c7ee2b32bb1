"""The mutation interpreters of tests/mutation/mutators.py against the documented semantics,
on objects shaped like gatekeeper-library's PSP mutation samples (users: runAsUser with a
MustNotExist pathTest over `spec.containers[name:*]`; capabilities: a ModifySet merge) and
like Kyverno's documentation of anchors (`+()` adds only where absent, `(name)` picks list
entries) and foreach preconditions."""

from __future__ import annotations

import pytest

from .mutators import gatekeeper, kyverno

pytest.importorskip("jmespath", reason="jmespath evaluates Kyverno's variables")

POD = {"metadata": {"name": "p"}, "spec": {
    "containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsUser": 7}}],
    "initContainers": [{"name": "i", "securityContext": {"capabilities": {"add": ["X"]}}}]}}


def _assign(location: str, value: object, **match: object) -> dict:
    spec = {"applyTo": [{"groups": [""], "kinds": ["Pod"], "versions": ["v1"]}],
            "location": location, "parameters": {
                "pathTests": [{"subPath": location, "condition": "MustNotExist"}],
                "assign": {"value": value}}}
    if match:
        spec["match"] = match
    return {"kind": "Assign", "metadata": {"name": "m"}, "spec": spec}


def test_an_assign_sets_each_listed_container_only_where_the_path_does_not_exist():
    pod = gatekeeper([_assign("spec.containers[name:*].securityContext.runAsUser", 1000)],
                     POD, "default")
    assert [c.get("securityContext") for c in pod["spec"]["containers"]] == [
        {"runAsUser": 1000}, {"runAsUser": 7}]
    assert pod["spec"]["initContainers"] == POD["spec"]["initContainers"]
    assert "ephemeralContainers" not in pod["spec"]  # a glob never creates entries


def test_an_assign_matches_namespaces():
    mutator = _assign("spec.runtimeClassName", "gvisor", namespaces=["a"])
    assert "runtimeClassName" not in gatekeeper([mutator], POD, "b")["spec"]
    assert gatekeeper([mutator], POD, "a")["spec"]["runtimeClassName"] == "gvisor"


def test_a_modifyset_merge_adds_what_the_list_lacks():
    mutator = {"kind": "ModifySet", "metadata": {"name": "m"}, "spec": {
        "location": "spec.initContainers[name:*].securityContext.capabilities.add",
        "parameters": {"operation": "merge", "values": {"fromList": ["X", "Y"]}}}}
    pod = gatekeeper([mutator], POD, "default")
    assert pod["spec"]["initContainers"][0]["securityContext"]["capabilities"]["add"] == [
        "X", "Y"]


def test_kyverno_add_anchors_conditional_anchors_and_preconditions():
    policy = {"spec": {"rules": [
        {"name": "pod", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
         "mutate": {"patchStrategicMerge": {"spec": {"securityContext": {
             "+(fsGroup)": 2000}, "+(runtimeClassName)": "gvisor"}}}},
        {"name": "containers", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
         "mutate": {"foreach": [{
             "list": "request.object.spec.containers || `[]`",
             "preconditions": {"all": [{
                 "key": "{{ not_null(request.object.spec.securityContext.runAsUser, '') }}",
                 "operator": "Equals", "value": ""}]},
             "patchStrategicMerge": {"spec": {"containers": [{
                 "(name)": "{{ element.name }}",
                 "securityContext": {"+(runAsUser)": 1000}}]}}}]}},
        {"name": "elsewhere", "match": {"any": [{"resources": {
            "kinds": ["Pod"], "namespaces": ["other"]}}]},
         "mutate": {"patchStrategicMerge": {"spec": {"+(hostname)": "x"}}}}]}}
    pod = kyverno(policy, POD, "default")
    assert pod["spec"]["securityContext"] == {"fsGroup": 2000}
    assert pod["spec"]["runtimeClassName"] == "gvisor"
    assert [c["securityContext"] for c in pod["spec"]["containers"]] == [
        {"runAsUser": 1000}, {"runAsUser": 7}]
    assert "hostname" not in pod["spec"]
    pod_level = {**POD, "spec": {**POD["spec"], "securityContext": {"runAsUser": 5}}}
    assert kyverno(policy, pod_level, "default")["spec"]["containers"][0] == {"name": "a"}


def test_kyverno_variables_resolve_innermost_first_and_keep_their_type():
    policy = {"spec": {"rules": [
        {"name": "c", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
         "mutate": {"foreach": [{
             "list": "request.object.spec.initContainers || `[]`",
             "preconditions": {"all": [{"key": "Y", "operator": "AnyNotIn",
                                        "value": "{{ element.securityContext.capabilities.add "
                                                 "|| `[]` }}"}]},
             "patchStrategicMerge": {"metadata": {"annotations": {
                 "+(k/{{ element.name }})": "v"}}, "spec": {"initContainers": [{
                     "(name)": "{{ element.name }}", "securityContext": {"capabilities": {
                         "add": "{{ [element.securityContext.capabilities.add || `[]`, "
                                "`[\"Y\"]`][] }}"}}}]}}}]}}]}}
    pod = kyverno(policy, POD, "default")
    assert pod["metadata"]["annotations"] == {"k/i": "v"}
    assert pod["spec"]["initContainers"][0]["securityContext"]["capabilities"]["add"] == [
        "X", "Y"]
    assert kyverno(policy, pod, "default") == pod  # Y is there now: the precondition fails
