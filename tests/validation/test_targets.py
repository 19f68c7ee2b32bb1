"""The validating targets as objects: shapes, scoping, wording, the report, and that every
Rego module and CEL expression pspc writes compiles in the real engines."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from conftest import OUTPUTS, REPO

from pspc.analysis import Analysis
from pspc.cli import main
from pspc.compiler import Options, compile_texts
from pspc.coverage import NOT_EXPRESSIBLE, PARTIAL
from pspc.model import ir
from pspc.targets import gatekeeper, kyverno, rego, report, vap
from pspc.validation import cel, requirements
from pspc.validation import expr as e
from pspc.validation.coverage import validating_coverage

regorus = pytest.importorskip("regorus", reason="regorus runs the Rego")
celpy = pytest.importorskip("celpy", reason="cel-python compiles the CEL")


def build_of(text: str, targets: tuple[str, ...] = ()):
    """The Build of one source for these targets (their diagnostics included)."""
    return compile_texts({"t.pspc": text}, Options(targets))


def compile_one(text: str, name: str = "p"):
    build = build_of(text)
    assert not build.diagnostics.has_errors, build.diagnostics.items
    return {p.name: p for p in build.program.policies}[name]


def analysis_of(*policies) -> Analysis:
    return Analysis(ir.Program(policies, {}))


def validating_gaps(policy, target: str):
    return validating_coverage(analysis_of(policy), policy, target)


def ids(policy) -> list[str]:
    return [c.id for c in requirements.requirements(policy)]


def test_each_intent_becomes_checks_only_where_it_restricts():
    open_policy = compile_one("policy p extends privileged {}\nbind p to all service accounts")
    assert ids(open_policy) == ["procMount", "sysctls"]
    closed = compile_one("policy p extends restricted {\n  no pod security standard\n"
                         "  run as user 1000..2000\n"
                         "  add capabilities NET_BIND_SERVICE by default\n"
                         "  allow capabilities NET_BIND_SERVICE\n}\nbind p to all service accounts")
    assert ids(closed)[:8] == ["privileged", "hostNetwork", "hostPID", "hostIPC", "hostPorts",
                               "volumes", "runAsUser", "fsGroup"]
    run_as = next(c for c in requirements.requirements(closed) if c.id == "runAsUser")
    assert run_as.default == "runAsUser 1000"
    assert "defaultAddCapabilities" in ids(closed)


def test_selinux_levels_match_in_any_category_order():
    policy = compile_one('policy p extends privileged {\n  selinux level "s0:c2,c1"\n}\n'
                         "bind p to all service accounts")
    pod_check = next(c for c in requirements.requirements(policy) if c.id == "seLinux")
    assert 'in ["s0:c1,c2", "s0:c2,c1"]' in cel.condition(pod_check.ok)


def test_cel_guards_every_field_read():
    value = e.Val(e.path(e.Var("obj"), "metadata", "annotations", "a/b"), e.Lit(""))
    assert cel.value(value) == ('(has(object.metadata) && has(object.metadata.annotations) && '
                                '"a/b" in object.metadata.annotations ? '
                                'object.metadata.annotations["a/b"] : "")')


def test_gatekeeper_is_one_template_and_a_constraint_carrying_the_policies():
    policy = compile_one("policy 100-psp.v2 extends restricted {}\n"
                         "bind 100-psp.v2 to service accounts in namespace web", "100-psp.v2")
    template = gatekeeper.template(analysis_of(policy))
    constraint = gatekeeper.constraint(analysis_of(policy))
    assert template["spec"]["crd"]["spec"]["names"]["kind"] == "Pspc" == constraint["kind"]
    assert template["metadata"]["name"] == "pspc"
    target = template["spec"]["targets"][0]
    assert [c["engine"] for c in target["code"]] == ["K8sNativeValidation"]
    assert "violation contains" in target["rego"] and "libs" not in target
    (entry,) = constraint["spec"]["parameters"]["policies"]
    assert entry["name"] == "100-psp.v2"
    assert entry["grants"] == [{"namespaces": ["web"], "groups": ["system:serviceaccounts:web"]}]
    assert constraint["spec"]["match"] == {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}


def test_usability_follows_the_bindings():
    unbound = compile_one("policy p extends restricted {}")
    everywhere = compile_one("policy p extends restricted {}\nbind p to group devs")
    some = compile_one("policy p extends restricted {}\n"
                       "bind p to user jane, service account a/b in namespaces dev, staging")
    usable = [next(v["expression"] for v in vap.policy_object(analysis_of(p))["spec"][
        "variables"] if v["name"] == "usable_p") for p in (unbound, everywhere, some)]
    assert [u.splitlines()[0] for u in usable] == [
        "// no binding: p is usable by members of system:masters only", "// t.pspc:2",
        "// t.pspc:2"]
    assert [u.splitlines()[-1] for u in usable] == [
        "variables.superuser", 'variables.superuser || "devs" in variables.groups',
        'variables.superuser || (request.namespace in ["dev", "staging"] && '
        'variables.names.exists(n, n in ["jane", "system:serviceaccount:a:b"]))']
    assert "matchResources" not in vap.binding_object()["spec"]
    policy = kyverno.cluster_policy(analysis_of(everywhere))
    assert policy["spec"]["rules"][0]["match"] == {"any": [{"resources": {"kinds": ["Pod"]}}]}
    annotations = policy["metadata"]["annotations"]
    assert annotations["pod-policies.kyverno.io/autogen-controllers"] == "none"
    assert {"title", "category", "severity", "subject", "description"} <= {
        k.removeprefix("policies.kyverno.io/") for k in annotations}
    assert policy["spec"]["rules"][0]["validate"]["failureAction"] == "Enforce"
    assert "validationFailureAction" not in policy["spec"]


def test_kyverno_has_one_rule_with_one_expression_over_all_policies():
    one = compile_one("policy p extends restricted {}\nbind p to group devs")
    other = compile_one("policy q-1 extends baseline {}\nbind q-1 to group devs", "q-1")
    (rule,) = kyverno.cluster_policy(analysis_of(one, other))["spec"]["rules"]
    assert rule["name"] == "pod-security"
    (expression,) = rule["validate"]["cel"]["expressions"]
    assert "(variables.usable_q_1 && size(variables.violations_q_1) == 0)" in expression[
        "expression"]
    names = [v["name"] for v in rule["validate"]["cel"]["variables"]]
    assert names[0] == "containers" and names[-1] == "usable"
    assert {"usable_p", "violations_p", "usable_q_1", "violations_q_1"} <= set(names)


def test_report_marks_defaults_partial_and_bindings():
    policy = compile_one("policy p extends restricted {\n  fs group 1000..65535\n}\n"
                         "bind p to user jane")
    by_intent = {g.intent: g for g in validating_gaps(policy, "gatekeeper")}
    assert by_intent["fs_group"].status == PARTIAL and "fsGroup 1000" in \
        by_intent["fs_group"].reason
    # the level's allowPrivilegeEscalation=false is filled in by the PSP: partial, said
    level = by_intent["pod_security_standard"]
    assert level.status == PARTIAL and "allowPrivilegeEscalation false" in level.reason
    assert by_intent["bindings"].status == "exact"
    assert {g.intent: g for g in validating_gaps(policy, "rego")}["bindings"].status == PARTIAL
    entries = report.entries(analysis_of(policy))
    assert set(entries[0]["targets"]) == {"psp", "rego", "gatekeeper", "vap", "kyverno", "psa",
                                          "map", "gatekeeper-mutation", "kyverno-mutation"}
    assert entries[0]["psa"]["level"] == "restricted"
    psa_rows = {row["intent"]: row for row in entries[0]["targets"]["psa"]}
    assert psa_rows["fs_group"]["status"] == NOT_EXPRESSIBLE
    assert psa_rows["fs_group"]["reason"] == (
        "the fsGroup must be in 1000..65535: the Pod Security Standards have no control for "
        "group IDs; enforced by gatekeeper, rego, vap, kyverno (pods must set it themselves: "
        "PodSecurityPolicy filled in fsGroup 1000)")
    assert "privileged" not in psa_rows  # restricted enforces it
    assert not any(g.weakens for t in ("rego", "gatekeeper") for g in validating_gaps(policy, t))


def test_report_has_a_row_for_every_stated_intent():
    """Intents enforced inside another intent's check, and metadata, are not left out."""
    policy = compile_one('policy p extends restricted {\n  description "d"\n'
                         "  deny sysctls kernel.msgmax\n  default seccomp profile runtime/default"
                         "\n}\nbind p to all service accounts")
    by_intent = {g.intent: g for g in validating_gaps(policy, "vap")}
    assert by_intent["forbidden_sysctls"].status == "exact"
    assert by_intent["seccomp_default"].status == PARTIAL
    assert by_intent["description"].status == NOT_EXPRESSIBLE


def test_build_warns_about_gaps():
    text = ("policy p extends restricted {\n  run as user 1000\n}\n"
            "bind p to service account kube-system/replicaset-controller")
    diags = build_of(text, ("psp", "gatekeeper")).diagnostics
    assert [d.code for d in diags.items] == ["W303", "W301"]
    assert "`conform to pod security standard`; gatekeeper does" in diags.items[0].message
    assert "gatekeeper cannot fill in" in diags.items[1].message
    # The stdlib restricted policy conforms to a level: PSP alone approximates it (W304).
    alone = build_of(text, ("psp", "rbac")).diagnostics
    assert [d.code for d in alone.items] == ["W304"]
    # An explicit intent beyond PSP still fails closed.
    beyond = build_of("policy p extends restricted {\n  no pod security standard\n"
                      "  require explicit non-root\n}\nbind p to all service accounts",
                      ("psp", "rbac")).diagnostics
    assert [d.code for d in beyond.items] == ["E303"]
    quiet = build_of("policy p extends privileged {}\nbind p to all service accounts",
                     ("psp", "rbac")).diagnostics
    assert quiet.items == []


def test_psa_enforces_intents_beyond_psp_where_it_labels_the_namespace():
    build = build_of(
        "policy p extends restricted {}\nbind p to service accounts in namespace shop\n"
        "policy wide extends restricted {}\nbind wide to all service accounts\n"
        "policy q extends restricted {}\nbind q to service accounts in namespace dev\n"
        "namespace dev enforce baseline\n", ("psp", "psa"))
    policies = {p.name: p for p in build.program.policies}
    found = [d for d in build.diagnostics.items if d.code in ("W303", "W304", "E303")]
    by_policy = {d.message.split("`")[1]: d.code for d in found}
    # shop is labelled restricted, which enforces the level; `wide` is usable in namespaces
    # pspc does not label; dev enforces baseline, less than the level. A level the build
    # does not enforce is W304, not E303: its PSP is the documented closest one.
    assert by_policy == {"p": "W303", "wide": "W304", "q": "W304"}
    assert found[0].message.endswith("; psa does")
    assert policies["p"].pod_security_standard == ir.Standard("restricted")


def _golden(kind: str) -> list[dict]:
    """The golden objects of a validating target (not those of mutating/<kind>/)."""
    return [d for p in sorted(OUTPUTS.rglob(f"{kind}/*.yaml")) if p.name != "kustomization.yaml"
            and "mutating" not in p.relative_to(OUTPUTS).parts
            for d in yaml.safe_load_all(p.read_text())]


def test_every_generated_rego_module_compiles_in_regorus():
    for output in sorted(OUTPUTS.iterdir()):
        modules = sorted(output.rglob("*.rego"))  # rego/, or PROFILE/rego/ with profiles
        assert modules
        engine = regorus.Engine()
        for path in modules:
            engine.add_policy(str(path), path.read_text())
    for template in (d for d in _golden("gatekeeper") if d["kind"] == "ConstraintTemplate"):
        engine = regorus.Engine()
        engine.add_policy("t.rego", template["spec"]["targets"][0]["rego"])


def _golden_cel() -> list[str]:
    expressions = []
    for doc in _golden("vap"):
        spec = doc["spec"]
        expressions += [v["expression"] for v in spec.get("variables", [])]
        expressions += [x for v in spec.get("validations", []) for x in
                        (v["expression"], v["messageExpression"])]
    for doc in _golden("kyverno"):
        cel_rule = [r["validate"]["cel"] for r in doc["spec"]["rules"]]
        expressions += [v["expression"] for c in cel_rule for v in c["variables"]]
        expressions += [x for c in cel_rule for v in c["expressions"]
                        for x in (v["expression"], v["messageExpression"])]
    for doc in (d for d in _golden("gatekeeper") if d["kind"] == "ConstraintTemplate"):
        (code,) = doc["spec"]["targets"][0]["code"]
        expressions += [v["expression"] for v in code["source"]["variables"]]
        expressions += [x for v in code["source"]["validations"]
                        for x in (v["expression"], v["messageExpression"])]
    assert len(expressions) > 100
    return expressions


def test_every_generated_cel_expression_compiles_in_cel_expr_python():
    """The goldens are in optional syntax (no profile, or a profile of Kubernetes 1.29+)."""
    from cel_expr_python import cel as cel_expr
    from cel_expr_python.ext import ext_optional, ext_strings

    env = cel_expr.NewEnv(variables={name: cel_expr.Type.DYN for name in (
        "object", "oldObject", "request", "variables")},
        extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])
    expressions = _golden_cel()
    assert sum(".orValue(" in x for x in expressions) > 50
    for text in expressions:
        env.compile(text)


def test_the_has_syntax_compiles_in_cel_python():
    """What a cluster older than 1.29 gets, and cel-python runs: no optionals."""
    from pspc.compiler import compile

    env = celpy.Environment()
    texts = []
    for example in sorted(p for p in (REPO / "examples").iterdir() if p.is_dir()):
        selection = compile([str(example)]).analysis.cel_selection(optionals=False)
        texts += [v["expression"] for v in selection.variables]
        texts += [selection.expression, selection.message_expression]
    assert not any(".?" in t or "orValue" in t for t in texts)
    for text in texts:
        env.compile(text)


def _conftest(policy, document: dict) -> list[str]:
    """What `conftest test --policy rego` says of `document`."""
    engine = regorus.Engine()
    for file in rego.build(build_of(policy)):
        engine.add_policy(file.path, file.text)
    engine.set_input_json(json.dumps(document))
    return json.loads(engine.eval_rule_as_json("data.main.deny"))


def test_conftest_module_runs_on_a_manifest_in_regorus():
    policy = "policy p extends restricted {}\nbind p to all service accounts"
    pod = {"kind": "Pod", "metadata": {"name": "x"}, "spec": {
        "hostNetwork": True, "containers": [{"name": "a", "image": "i"}]}}
    messages = _conftest(policy, pod)[0].split("; ")
    assert any(m.startswith("p: pod x must not set hostNetwork, hostPID or hostIPC to true (Pod "
                            "Security Standards: hostNamespaces) (stdlib/restricted.pspc:")
               for m in messages), messages


def test_eval_runs_every_engine_and_reports_no_disagreement(in_repo):
    pods = "tests/corpus/seeds/004-nfs-pods.yaml"
    result = CliRunner().invoke(main, ["eval", "examples/seed-004-shared-nfs", "--engine", "all",
                                       "--as", "alice", "-f", pods, "--format", "json"])
    report_json = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert report_json["disagreements"] == []
    engines = report_json["objects"][2]["engines"]
    assert set(engines) == {"psp", "rego", "gatekeeper", "cel", "psa"}
    assert engines["psa"]["policy"] == "privileged:v1.30"  # research, as pspc labels it
    assert engines["psp"]["allowed"] and not engines["gatekeeper"]["allowed"]


def test_conftest_reads_null_lists_as_empty():
    """`ports:` or `volumes:` with nothing after them is null in YAML; Kubernetes reads
    null as unset, and so must a module that checks manifests before they are applied."""
    policy = "policy p extends restricted {}\nbind p to all service accounts"
    pod = {"kind": "Pod", "metadata": {"name": "x", "annotations": {
        "container.apparmor.security.beta.kubernetes.io/a": "runtime/default"}},
        "spec": {"volumes": None, "initContainers": None, "securityContext": {
            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 1,
            "supplementalGroups": [1], "sysctls": None},
            "containers": [{"name": "a", "ports": None, "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": None}}}]}}
    assert _conftest(policy, pod) == []


def test_policies_whose_names_map_to_one_identifier_stay_apart():
    """`a-b` and `a.b` are distinct policy names but the same CEL/Rego identifier."""
    from pspc.engines.validators import Requester, SelectionCelEngine, SelectionRegoEngine
    from pspc.workloads import PodRequest

    build = build_of("policy a-b extends privileged {}\nbind a-b to user jane\n"
                     "policy a.b extends restricted {}\nbind a.b to user joe\n")
    names = [v["name"] for v in build.analysis.cel_selection().variables]
    assert {"usable_a_b", "usable_a_b_2"} <= set(names)
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {
        "serviceAccountName": "default",
        "containers": [{"name": "c", "securityContext": {"privileged": True}}]}}
    engines = [SelectionCelEngine(build.analysis, Requester("", ())),
               SelectionCelEngine(build.analysis, Requester("", ()), gatekeeper=True),
               SelectionRegoEngine(build.analysis, "gatekeeper", Requester("", ())),
               SelectionRegoEngine(build.analysis, "conftest", Requester("", ()))]
    for engine in engines:
        assert engine.evaluate(PodRequest(privileged, "ns", "jane", ())).allowed
        verdict = engine.evaluate(PodRequest(privileged, "ns", "joe", ()))
        assert not verdict.allowed and "(usable: a.b)" in verdict.message


@pytest.mark.parametrize("path", ["tests/corpus/policies", *(
    str(p.relative_to(REPO)) for p in sorted((REPO / "examples").iterdir()))])
def test_every_stated_intent_has_a_row_for_every_target(path, in_repo):
    """Nothing is dropped silently: an intent that yields no check (`selinux any`), or that
    only shapes the PSP of a policy stating a level, still has its row, with the reason."""
    from pspc.compiler import compile

    build = compile([path], Options(targets=()))
    for entry, policy in zip(report.entries(build.analysis), build.program.policies,
                             strict=True):
        stated = [f for f in ir.INTENT_FIELDS if f in policy.origins]
        for target in ("psp", "rego", "gatekeeper", "vap", "kyverno"):
            rows = {row["intent"] for row in entry["targets"][target]}
            assert [f for f in stated if f not in rows] == [], (policy.name, target)
