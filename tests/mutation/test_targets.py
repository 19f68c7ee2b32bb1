"""The mutating targets as objects and in the build: which defaults each writes, how a
profile's Kubernetes version selects them, W301/W307/W308, and the migration plan's
no-edit path."""

from __future__ import annotations

import pytest

from pspc.compiler import Options, compile_texts
from pspc.coverage import EXACT, NOT_EXPRESSIBLE, PARTIAL
from pspc.mutation.coverage import mutating_coverage
from pspc.mutation.defaults import ANNOTATION, defaults
from pspc.mutation.scope import scopes
from pspc.profiles import Profile, caveat, map_api, unsupported
from pspc.targets import DEFAULT_TARGETS, MUTATING, TARGETS
from pspc.targets.gatekeeper_mutation import mutators
from pspc.targets.kyverno_mutation import cluster_policy
from pspc.targets.migration import plan

SOURCE = """
policy app extends restricted {
  run as user 1000..2000
  fs group 3000
  default apparmor profile runtime/default
}
bind app to group system:authenticated in namespace team-a
"""


def _build(text: str = SOURCE, targets: tuple[str, ...] = MUTATING):
    build = compile_texts({"t.pspc": text}, Options(targets))
    assert not build.diagnostics.has_errors, build.diagnostics.items
    return build


def _policy(build, name: str = "app"):
    return {p.name: p for p in build.program.policies}[name]


def _alone(policy):
    """The scope of a policy that is the only one."""
    return scopes((policy,))[policy.name]


def _all_mutators(policies) -> list[dict]:
    within = scopes(policies)
    return [m for p in policies for m in mutators(p, within[p.name])]


def _codes(build) -> list[str]:
    return [d.code for d in build.diagnostics.items]


def test_the_defaults_are_psps_with_their_precedence():
    found = defaults(_policy(_build()))
    pod = {d.field: d.value for d in found.pod}
    container = {d.field: (d.value, len(d.unless)) for d in found.container}
    assert pod[("securityContext", "fsGroup")] == 3000
    # a container's runAsUser only where neither it nor the pod sets one
    assert container[("securityContext", "runAsUser")] == (1000, 1)
    assert container[("securityContext", "allowPrivilegeEscalation")] == (False, 0)
    assert container[("securityContext", "appArmorProfile")] == ({"type": "RuntimeDefault"}, 3)
    assert found.capabilities.drop == ("ALL",)
    # before 1.30 there is no appArmorProfile field: the annotation, as PSP writes it
    assert ANNOTATION in {d.field for d in defaults(_policy(_build()), False).container}


def test_mutating_targets_are_built_only_when_chosen():
    assert set(MUTATING) <= set(TARGETS) and not set(MUTATING) & set(DEFAULT_TARGETS)
    assert Options().targets == DEFAULT_TARGETS
    plain = _build(targets=DEFAULT_TARGETS).outputs()
    assert not [p for p in plain if p.startswith("mutating/")]
    chosen = _build().outputs()
    assert {"mutating/map/pspc-defaults.yaml", "mutating/kyverno/pspc-defaults.yaml",
            "mutating/gatekeeper/app.yaml", "mutating/kustomization.yaml"} <= set(chosen)


def test_profiles_gate_the_mutating_admission_policy_by_version():
    assert unsupported("map", (1, 31)) and not unsupported("map", (1, 32))
    assert "v1alpha1" in caveat("map", (1, 33)) and "v1beta1" in caveat("map", (1, 35))
    assert caveat("map", (1, 36)) is None
    profile = Profile("p", (1, 34), ("map",))
    assert map_api(profile) == "admissionregistration.k8s.io/v1beta1"
    assert map_api(None) == "admissionregistration.k8s.io/v1"
    assert unsupported("kyverno-mutation", (1, 24)) is None


def test_a_profile_builds_the_mutating_targets_it_names():
    build = compile_texts({"t.pspc": SOURCE}, Options())
    view = build.for_profile(Profile("p", (1, 36), ("vap", "map")))
    assert "map" in view.options.targets and "kyverno-mutation" not in view.options.targets


def test_w301_spares_what_the_mutating_targets_fill_in():
    validating_only = _build(targets=("vap",))
    assert "W301" in _codes(validating_only)
    with_map = _build(targets=("vap", "map"))
    assert "W301" not in _codes(with_map)
    # Gatekeeper cannot see the pod's runAsUser: that default stays a W301, and W308 says why
    with_gatekeeper = _build(targets=("vap", "gatekeeper-mutation"))
    messages = {d.code: d.message for d in with_gatekeeper.diagnostics.items}
    assert "runAsUser 1000" in messages["W301"] and "allowPrivilegeEscalation" not in \
        messages["W301"]
    assert "pathTest" in messages["W308"]


def test_w301_spares_several_capabilities_filled_in_at_once():
    """The validating check names all of a policy's required drops in one default, as the
    PSP field lists them; the mutating targets fill them all in."""
    two = SOURCE.replace("  fs group 3000\n", "  fs group 3000\n  drop capabilities NET_RAW, "
                         "SYS_ADMIN\n")
    assert "capabilities.drop NET_RAW, SYS_ADMIN" in {
        d.message for d in _build(two, ("vap",)).diagnostics.items if d.code == "W301"}.pop()
    for mutating in ("map", "kyverno-mutation"):
        assert "W301" not in _codes(_build(two, ("vap", mutating)))


def test_w307_names_builds_where_the_map_can_choose_differently():
    two = SOURCE + "policy other extends restricted { run as user 5000 }\n"
    assert "W307" in _codes(_build(two, ("map",)))
    assert "W307" not in _codes(_build(SOURCE, ("map",)))


def test_coverage_says_what_each_mechanism_cannot_do():
    build = _build()
    policy = _policy(build)
    rows = {t: {c.intent: c.status for c in mutating_coverage(t)(build.analysis, policy)}
            for t in MUTATING}
    assert rows["map"]["run_as_user"] == EXACT and rows["map"]["bindings"] == PARTIAL
    assert rows["kyverno-mutation"]["run_as_user"] == EXACT
    assert rows["gatekeeper-mutation"]["run_as_user"] == PARTIAL
    assert rows["gatekeeper-mutation"]["allow_privilege_escalation"] == EXACT


def test_gatekeeper_mutators_cannot_write_the_apparmor_annotation():
    build = compile_texts({"t.pspc": SOURCE}, Options(MUTATING))
    view = build.for_profile(Profile("p", (1, 29), ("gatekeeper-mutation",)))
    rows = {c.intent: c.status for c in mutating_coverage("gatekeeper-mutation")(
        view.analysis, _policy(build))}
    assert rows["apparmor_default"] == NOT_EXPRESSIBLE
    names = [m["metadata"]["name"] for m in mutators(_policy(build), _alone(_policy(build)), False)]
    assert not [n for n in names if "apparmor" in n.lower()]
    kyverno = cluster_policy((_policy(build),), False)
    assert any("container.apparmor.security.beta.kubernetes.io/" in str(r)
               for r in kyverno["spec"]["rules"])


def test_mutators_match_the_namespaces_where_the_policy_is_bound():
    policy = _policy(_build())
    assert {m["spec"]["match"]["namespaces"] == ["team-a"]
            for m in mutators(policy, _alone(policy))} == {True}
    unbound = _policy(_build("policy app extends restricted { run as user 1 }\n"))
    assert mutators(unbound, _alone(unbound)) == [] and \
        cluster_policy((unbound,))["spec"]["rules"] == []


@pytest.mark.parametrize("target, folder", [("map", "mutating/map/"),
                                            ("kyverno-mutation", "mutating/kyverno/")])
def test_the_migration_plan_offers_the_mutating_output_as_the_no_edit_path(target, folder):
    build = _build(targets=("vap", target))
    profile = Profile("p", (1, 36), ("vap", target))
    text = plan(build.for_profile(profile).analysis, profile)
    assert f"Either apply `{folder}`" in text and "no-edit path" in text
    assert "helm/<policy>.values.yaml" in text
    assert "no-edit" not in plan(build.analysis, Profile("q", (1, 36), ("vap",)))


# The new-user trial: `batch` bound cluster-wide (to jane) and in namespace batch, `web` in
# shop; the mutators matched every pod, and a compliant shop pod got runAsUser 10000.
OVERLAP = """
policy batch extends restricted {
  run as user 10000..20000
  run as group 10000..20000
  fs group 10000..20000
  supplemental groups 10000..20000
}
bind batch to user jane
bind batch to service accounts in namespace batch

policy web extends restricted {
  run as user 1000..2000
}
bind web to service accounts in namespace shop
"""
SHOP_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1500,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "app", "image": "app", "securityContext": {
                         "allowPrivilegeEscalation": False,
                         "capabilities": {"drop": ["ALL"]}}}]}}


def _mutated(build, pod: dict, namespace: str) -> dict[str, dict]:
    from .mutators import gatekeeper, kyverno

    policies = build.program.policies
    return {"gatekeeper": gatekeeper(_all_mutators(policies), pod,
                                     namespace),
            "kyverno": kyverno(cluster_policy(policies), pod, namespace)}


def test_mutators_leave_out_the_namespaces_another_policy_may_be_usable_in():
    pytest.importorskip("jmespath", reason="jmespath evaluates Kyverno's variables")
    build = _build(OVERLAP, ("vap", "gatekeeper-mutation", "kyverno-mutation", "report"))
    policies = build.program.policies
    within = scopes(policies)
    assert mutators(_policy(build, "web"), within["web"]) == []
    matches = [m["spec"]["match"] for m in mutators(_policy(build, "batch"), within["batch"])]
    assert matches and all(m.get("excludedNamespaces") == ["shop"] and "namespaces" not in m
                           for m in matches)
    rules = cluster_policy(policies)["spec"]["rules"]
    assert rules and all(r["name"].startswith("batch") and r["exclude"]["any"][0][
        "resources"]["namespaces"] == ["shop"] for r in rules)
    # the compliant shop pod is left alone; a pod in batch's own namespace gets its defaults
    assert _mutated(build, SHOP_POD, "shop") == {"gatekeeper": SHOP_POD, "kyverno": SHOP_POD}
    bare = {**SHOP_POD, "spec": {"containers": [{"name": "app", "image": "app"}]}}
    for got in _mutated(build, bare, "batch").values():
        assert got["spec"]["securityContext"]["fsGroup"] == 10000
        assert got["spec"]["containers"][0]["securityContext"]["runAsUser"] == 10000
    # said at the point of loss, and W301 names the defaults no longer filled in
    messages = [(d.code, d.message) for d in build.diagnostics.items]
    w309 = [m for c, m in messages if c == "W309"]
    assert len(w309) == 4  # two policies, two targets
    assert any("`batch`: gatekeeper-mutation: bound cluster-wide, and policy `web` is bound "
               "in namespace shop" in m and "not filled in in namespace shop" in m for m in w309)
    assert any("`web`: kyverno-mutation: policy `batch` is bound cluster-wide" in m
               for m in w309)
    w301 = {m.split("`")[1]: m for c, m in messages if c == "W301"}
    assert "runAsUser 1000" in w301["web"] and "fsGroup 10000" in w301["batch"]
    rows = {c.intent: c for c in mutating_coverage("kyverno-mutation")(
        build.analysis, _policy(build, "web"))}
    assert rows["run_as_user"].status == NOT_EXPRESSIBLE and "shop" in rows[
        "run_as_user"].reason
    report = build.outputs()["report.md"].decode()
    assert "policy `batch` is bound cluster-wide" in report


def test_two_policies_bound_cluster_wide_get_no_mutators():
    two = OVERLAP.replace("bind web to service accounts in namespace shop",
                          "bind web to group system:authenticated")
    build = _build(two, ("vap", "gatekeeper-mutation", "kyverno-mutation"))
    policies = build.program.policies
    assert _all_mutators(policies) == []
    assert "mutating/kyverno/pspc-defaults.yaml" not in build.outputs()
    w309 = [d.message for d in build.diagnostics.items if d.code == "W309"]
    assert len(w309) == 4 and all("not filled in in any namespace" in m for m in w309)


def test_scope_reasons_stay_short_when_many_policies_share_a_namespace():
    text = "".join(f"policy p{i} extends restricted {{ run as user 1000 }}\n"
                   f"bind p{i} to service accounts in namespace shared\n" for i in range(10))
    text += "bind p0 to service accounts in namespace own\n"
    build = _build(text, ("vap",))
    within = scopes(build.program.policies)
    assert within["p0"].namespaces == ("own",) and within["p0"].left_out == ("shared",)
    assert within["p0"].reasons == (
        "shares namespace shared with policies `p1`, `p2`, `p3` and 6 more",)
    assert within["p9"].empty and within["p9"].reasons == (
        "shares namespace shared with policies `p0`, `p1`, `p2` and 6 more",)
