"""The check library as its ecosystems write it: one Gatekeeper template for any policies,
Rego as a YAML block, helpers named after what they compute, constraints that carry each
check's values and origin, and a conftest module that judges what it can read and denies
what it cannot."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import REPO

from pspc.compiler import compile, compile_texts
from pspc.output.render import render
from pspc.targets import OutputFile
from pspc.targets import gatekeeper as gatekeeper_target
from pspc.targets import rego as rego_target
from pspc.validation import expr as e
from pspc.validation.interpret import holds
from pspc.validation.partial import specialise
from pspc.validation.requirements import PSC, SPEC, requirements

regorus = pytest.importorskip("regorus", reason="regorus runs the Rego")

EXAMPLES = sorted(p for p in (REPO / "examples").glob("seed-*") if p.is_dir())
ROOT_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "web"},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "securityContext": {"runAsUser": 0}}]}}
WEB = "policy web extends restricted {}\nbind web to service accounts in namespace web\n"


def _build(text: str = WEB):
    build = compile_texts({"policies.pspc": text})
    assert not build.diagnostics.has_errors
    return build


def _nodes(node: object):
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _nodes(item)
    elif hasattr(node, "__dataclass_fields__") and not isinstance(node, e.Lit):
        for name in node.__dataclass_fields__:
            yield from _nodes(getattr(node, name))


def test_partial_evaluation_leaves_literal_checks_only():
    """What VAP, Kyverno and the helm values read: no parameter, no named value."""
    count = 0
    for example in EXAMPLES:
        for policy in compile([str(example)]).program.policies:
            for check in requirements(policy):
                assert check.family is not None, check.id
                found = {type(n).__name__ for n in _nodes(check.ok)} & {"Param", "Named"}
                assert not found, (policy.name, check.id, found)
                count += 1
    assert count > 50


def test_partial_evaluation_drops_what_the_values_decide():
    """`!has(p) || X` is X where X holds with p absent; `x in [a]` is `x == a`. A guard X
    does not make redundant stays (an AppArmor profile, when set, must have a type)."""
    options, profile = PSC / "seLinuxOptions", PSC / "appArmorProfile"
    allowed = e.In(e.Val(options / "type", e.Lit("")), e.param("types"))
    selinux = e.or_(e.not_(e.Has(options)), allowed)
    assert specialise(selinux, {"types": ["", "container_t"]}) == e.In(
        e.Val(options / "type", e.Lit("")), e.Lit(["", "container_t"]))
    assert specialise(selinux, {"types": ["container_t"]}) == e.or_(
        e.not_(e.Has(options)), e.eq(e.Val(options / "type", e.Lit("")), "container_t"))
    typed = e.or_(e.not_(e.Has(profile)), e.In(e.Val(profile / "type", e.Lit("")),
                                                 e.Lit(["Localhost", "RuntimeDefault"])))
    assert specialise(typed, {}) == typed
    for pod in ({}, {"securityContext": {}}, {"securityContext": {"seLinuxOptions": {}}},
                {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}):
        env = {"obj": {"spec": pod}, SPEC.name: pod}
        assert holds(specialise(selinux, {"types": ["", "container_t"]}), env) == holds(
            e.or_(e.not_(e.Has(options)), e.In(e.Val(options / "type", e.Lit("")),
                                               e.Lit(["", "container_t"]))), env)


def test_the_template_is_the_same_for_any_policies():
    templates = [gatekeeper_target.template(compile([str(p)]).analysis) for p in EXAMPLES]
    assert all(t == templates[0] for t in templates[1:])
    assert templates[0]["metadata"]["annotations"]["metadata.gatekeeper.sh/title"]
    assert templates[0]["metadata"]["annotations"]["description"]
    schema = templates[0]["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]
    assert "runAsUser" in schema["properties"]["policies"]["items"]["properties"]


def test_rego_is_a_yaml_block_that_reads_back_exactly():
    build = _build()
    document = gatekeeper_target.template(build.analysis)
    text = render(OutputFile("t.yaml", "policies.pspc", (document,))).decode()
    assert "    rego: |\n      package pspc\n" in text
    assert "\\n" not in text.split("rego: |")[1]
    assert yaml.safe_load(text) == document


def test_rego_helpers_are_named_after_what_they_compute():
    rego = _build().analysis.rego_selection("gatekeeper").main
    heads = re.findall(r"^([a-z_][a-z0-9_]*)(?:\(|\s:=|\sif|\scontains)", rego, re.MULTILINE)
    assert "container_seccomp_profile" in heads and "run_as_user_ok" in heads
    assert not [h for h in heads if re.search(r"\d", h)], "a helper named by a counter"
    # each helper defined once, after its first use
    for name in set(heads) - {"reasons", "violation", "deny"}:
        first_use = re.search(rf"[^\n]\b{name}\b", rego)
        definition = re.search(rf"^{name}\b", rego, re.MULTILINE)
        assert first_use and first_use.start() < definition.start(), name
    # every family's rule names its check and intent
    rules = re.findall(r"(^# .*\n)?reasons contains", rego, re.MULTILINE)
    assert rules and all(rules)


def test_every_check_of_the_constraint_carries_its_origin():
    build = _build(WEB + "policy nfs extends restricted {\n  run as user 32767..32768\n}\n"
                   "bind nfs to service account batch/importer\n")
    policies = gatekeeper_target.constraint(build.analysis)["spec"]["parameters"]["policies"]
    for policy in policies:
        standard = policy["podSecurityStandard"]["origin"]
        assert re.match(r"stdlib/restricted\.pspc:\d+ conform to pod security standard", standard)
        for key, values in policy.items():
            if key in ("name", "grants", "podSecurityStandard") or key.startswith("pss"):
                continue
            assert re.match(r"\S+\.pspc:\d+ ", values["origin"]), (key, values)
    nfs = next(p for p in policies if p["name"] == "nfs")
    assert nfs["runAsUser"] == {"ranges": [{"min": 32767, "max": 32768}],
                                "origin": "policies.pspc:4 run as user 32767..32768"}


def test_a_constraint_holds_a_restricted_policy_in_two_kilobytes():
    one = gatekeeper_target.constraint(_build().analysis)
    policy = one["spec"]["parameters"]["policies"][0]
    size = len(yaml.safe_dump(policy, sort_keys=False))
    print(f"\nconstraint parameters of `extends restricted`: {size} bytes")
    assert size <= 2048


def _conftest(build, document: dict) -> list[str]:
    engine = regorus.Engine()
    for file in rego_target.build(build):
        engine.add_policy(file.path, file.text)
    engine.set_input_json(json.dumps(document))
    return json.loads(engine.eval_rule_as_json("data.main.deny"))


def test_conftest_judges_list_items_and_denies_pod_templates_it_cannot_read():
    build = _build()
    assert _conftest(build, ROOT_POD) and _conftest(build, {**ROOT_POD, "spec": {
        "containers": [{"name": "app", "image": "nginx"}]}})  # not restricted either
    good = {"name": "app", "image": "nginx", "securityContext": {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
    fine = {**ROOT_POD, "metadata": {"name": "fine", "namespace": "web"},
            "spec": {"containers": [good]}}
    assert _conftest(build, fine) == []
    listed = _conftest(build, {"apiVersion": "v1", "kind": "List", "items": [fine, ROOT_POD]})
    assert listed and all(m.startswith("items[1] (Pod root): ") for m in listed)
    template = {"metadata": {"labels": {"app": "web"}}, "spec": ROOT_POD["spec"]}
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
               "metadata": {"name": "web", "namespace": "web"}, "spec": {"template": template}}
    pod_template = {"apiVersion": "v1", "kind": "PodTemplate",
                    "metadata": {"name": "web", "namespace": "web"}, "template": template}
    for manifest in (rollout, pod_template):
        denied = _conftest(build, manifest)
        assert denied == [f"{manifest['kind']} web: carries a pod template pspc cannot judge "
                          "(it reads List, Pod, Deployment, ReplicaSet, ReplicationController, "
                          "StatefulSet, DaemonSet, Job, CronJob)"]
    assert _conftest(build, {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "c"}, "data": {}}) == []
