"""Bindings recovered from RBAC: who may `use` each imported policy, and how it is written."""

from __future__ import annotations

import pytest

from pspc.model import ir

from .helpers import import_docs, import_ok, psp

API = "rbac.authorization.k8s.io"
MASTERS = ir.Subject("Group", "system:masters")


def rule(*names: str, verbs=("use",), groups=("policy",), resources=("podsecuritypolicies",)):
    found = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        found["resourceNames"] = list(names)
    return found


def role(name: str, *rules: dict, namespace: str | None = None) -> dict:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{API}/v1", "kind": "Role" if namespace else "ClusterRole",
            "metadata": metadata, "rules": list(rules)}


def binding(name: str, role_name: str, *subjects: dict, namespace: str | None = None,
            role_kind: str = "ClusterRole") -> dict:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{API}/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": metadata,
            "roleRef": {"apiGroup": API, "kind": role_kind, "name": role_name},
            "subjects": list(subjects)}


def user(name: str) -> dict:
    return {"kind": "User", "apiGroup": API, "name": name}


def group(name: str) -> dict:
    return {"kind": "Group", "apiGroup": API, "name": name}


def sa(name: str, namespace: str | None = None) -> dict:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": namespace}
                                                       if namespace else {})}


CLUSTER_ADMIN = (role("cluster-admin", rule(verbs=["*"], groups=["*"], resources=["*"]),
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}),
                 binding("cluster-admin", "cluster-admin", group("system:masters")))


def bindings_of(*documents: dict, policy: str = "p", include_wildcard: bool = False):
    imported = import_ok(*documents, include_wildcard=include_wildcard)
    return set(imported[policy].policy.bindings)


def bind_lines(*documents: dict, policy: str = "p", include_wildcard: bool = False):
    text = import_ok(*documents, include_wildcard=include_wildcard)[policy].text
    return [line for line in text.splitlines() if line.startswith(("bind", "#"))]


def test_cluster_role_binding_is_cluster_wide():
    found = bindings_of(psp(), role("r", rule("p")), binding("b", "r", user("jane"),
                                                             group("devs")))
    assert found == {ir.Binding(ir.Subject("User", "jane"), None),
                     ir.Binding(ir.Subject("Group", "devs"), None)}


def test_role_binding_to_a_role_is_namespaced():
    docs = (psp(), role("r", rule("p"), namespace="dev"),
            binding("b", "r", user("jane"), namespace="dev", role_kind="Role"))
    assert bindings_of(*docs) == {ir.Binding(ir.Subject("User", "jane"), "dev")}
    assert bind_lines(*docs) == ["bind p to user jane in namespace dev"]


def test_role_binding_to_a_cluster_role_is_namespaced():
    docs = (psp(), role("r", rule("p")), binding("b", "r", user("jane"), namespace="dev"))
    assert bindings_of(*docs) == {ir.Binding(ir.Subject("User", "jane"), "dev")}


def test_a_role_of_another_namespace_grants_nothing():
    docs = (psp(), role("r", rule("p"), namespace="other"),
            binding("b", "r", user("jane"), namespace="dev", role_kind="Role"))
    imported, diags = import_docs(*docs)
    assert imported[0].policy.bindings == ()
    assert [d.code for d in diags.items] == ["W204"]
    assert "refers to Role r, which is not in the input" in diags.items[0].message


def test_service_account_without_namespace_in_a_role_binding_is_of_that_namespace():
    docs = (psp(), role("r", rule("p")), binding("b", "r", sa("builder"), namespace="ci"))
    assert bindings_of(*docs) == {ir.Binding(ir.Subject("ServiceAccount", "builder", "ci"),
                                             "ci")}
    assert bind_lines(*docs) == ["bind p to service account ci/builder in namespace ci"]


def test_service_account_of_another_namespace():
    docs = (psp(), role("r", rule("p")), binding("b", "r", sa("x", "tools"), namespace="ci"))
    assert bind_lines(*docs) == ["bind p to service account tools/x in namespace ci"]


def test_service_account_without_namespace_in_a_cluster_role_binding_is_an_error():
    imported, diags = import_docs(psp(), role("r", rule("p")), binding("b", "r", sa("x")))
    assert imported == []
    (error,) = [d for d in diags.items if d.code.startswith("E")]
    assert error.message == ("document 2 (ClusterRoleBinding b): subjects[0].namespace: a "
                             "ServiceAccount subject of a ClusterRoleBinding needs a namespace")


def test_group_of_a_namespaces_service_accounts_in_that_namespace():
    docs = (psp(), role("r", rule("p")),
            binding("b", "r", group("system:serviceaccounts:research"), namespace="research"))
    assert bind_lines(*docs) == ["bind p to service accounts in namespace research"]


def test_group_of_a_namespaces_service_accounts_elsewhere_stays_a_group():
    docs = (psp(), role("r", rule("p")),
            binding("b", "r", group("system:serviceaccounts:research"), namespace="web"),
            binding("c", "r", group("system:serviceaccounts:batch")))
    assert bind_lines(*docs) == [
        "bind p to group system:serviceaccounts:batch",
        "bind p to group system:serviceaccounts:research in namespace web"]


def test_every_service_account():
    docs = (psp(), role("r", rule("p")), binding("b", "r", group("system:serviceaccounts")),
            binding("c", "r", group("system:serviceaccounts"), namespace="default"))
    assert bind_lines(*docs) == ["bind p to all service accounts",
                                 "bind p to group system:serviceaccounts in namespace default"]


def test_namespaces_with_the_same_subjects_share_a_statement():
    docs = [psp(), role("r", rule("p"))]
    docs += [binding("b", "r", user("jane"), sa("ci", "ci"), namespace=ns)
             for ns in ("staging", "dev")]
    assert bind_lines(*docs) == [
        "bind p to service account ci/ci, user jane in namespaces dev, staging"]


@pytest.mark.parametrize(("granting", "grants"), [
    (rule("p"), True),
    (rule("q"), False),
    (rule(), True),  # no resourceNames: every policy
    (rule("p", groups=["extensions"]), True),
    (rule("p", groups=["apps"]), False),
    (rule("p", verbs=["get", "list"]), False),
    (rule("p", resources=["pods"]), False),
    (rule("p", verbs=["use", "get"], resources=["pods", "podsecuritypolicies"]), True),
])
def test_which_rules_grant_use(granting, grants):
    found = bindings_of(psp(), role("r", granting), binding("b", "r", user("jane")))
    assert found == ({ir.Binding(ir.Subject("User", "jane"), None)} if grants else set())


@pytest.mark.parametrize("wildcard", [
    rule(verbs=["*"]), rule(groups=["*"]), rule(resources=["*"]),
    rule("p", verbs=["*"], groups=["*"], resources=["*"]),
])
def test_wildcard_grants_are_reported_and_imported_only_on_request(wildcard):
    docs = (psp(), role("admin", wildcard), binding("admins", "admin", group("ops")))
    imported, diags = import_docs(*docs)
    assert imported[0].policy.bindings == ()
    (warning,) = diags.items
    assert warning.code == "W203"
    assert warning.message == (
        "document 2 (ClusterRoleBinding admins): gives group ops `use` of p only through `*` "
        "rules (ClusterRoleBinding admins -> ClusterRole admin); not imported as policy "
        "bindings (pass --include-wildcard-bindings to import them)")
    assert bindings_of(*docs, include_wildcard=True) == {
        ir.Binding(ir.Subject("Group", "ops"), None)}


def test_cluster_admin_bindings_are_marked_when_imported():
    docs = (psp(), role("r", rule("p")), binding("b", "r", user("jane")), *CLUSTER_ADMIN,
            binding("tiller", "cluster-admin", sa("tiller", "kube-system")))
    assert bind_lines(*docs) == ["bind p to user jane"]
    assert bind_lines(*docs, include_wildcard=True) == [
        "bind p to user jane",
        "# Granted only through `*` rules (imported with --include-wildcard-bindings):",
        "#   ClusterRoleBinding cluster-admin -> ClusterRole cluster-admin",
        "#   ClusterRoleBinding tiller -> ClusterRole cluster-admin",
        "bind p to group system:masters, service account kube-system/tiller",
    ]


def test_a_direct_grant_wins_over_a_wildcard_one():
    docs = (psp(), role("r", rule("p")), binding("b", "r", group("system:masters")),
            *CLUSTER_ADMIN)
    imported = import_ok(*docs, include_wildcard=True)["p"]
    (grant,) = imported.grants
    assert (grant.binding.subject, grant.wildcard) == (MASTERS, False)
    assert "#" not in imported.text


def test_rbac_for_other_policies_is_ignored():
    docs = (psp("a"), psp("b"), role("ra", rule("a")), binding("x", "ra", user("jane")))
    imported = import_ok(*docs)
    assert imported["b"].policy.bindings == ()
    assert len(imported["a"].policy.bindings) == 1


def test_bindings_read_from_a_role_binding_with_subjects_lacking_api_group():
    docs = (psp(), role("use-psp", rule("p"), namespace="mynamespace"),
            binding("rb", "use-psp", {"kind": "User", "name": "user1"},
                    namespace="mynamespace", role_kind="Role"))
    assert bind_lines(*docs) == ["bind p to user user1 in namespace mynamespace"]


@pytest.mark.parametrize(("subject", "message"), [
    ({"kind": "Robot", "name": "r2"}, "subjects[0].kind: unsupported subject kind 'Robot'"),
    ({"kind": "User", "name": " "}, "subjects[0].name: a User name cannot be blank"),
    ({"kind": "User", "name": "x", "apiGroup": "v1"}, "subjects[0].apiGroup: a User subject"),
    ({"kind": "ServiceAccount", "name": "Bad_Name", "namespace": "ns"},
     "subjects[0]: `ns/Bad_Name` is not a valid service account"),
])
def test_bad_subjects_of_a_granting_binding_are_errors(subject, message):
    imported, diags = import_docs(psp(), role("r", rule("p")), binding("b", "r", subject))
    assert imported == []
    assert any(message in d.message for d in diags.items), [d.message for d in diags.items]


def test_role_binding_must_reference_a_role_kind():
    wrong = binding("b", "r", user("x"))
    wrong["roleRef"]["kind"] = "Role"
    imported, diags = import_docs(psp(), role("r", rule("p")), wrong)
    assert imported == []
    assert "roleRef.kind: a ClusterRoleBinding refers to ClusterRole, not 'Role'" in \
        diags.items[0].message


def test_rbac_objects_defined_twice():
    imported, diags = import_docs(psp(), role("r", rule("p")), role("r", rule()))
    assert imported == []
    assert diags.items[0].code == "E045"
    assert diags.items[0].message == "document 2 (ClusterRole r): ClusterRole r is defined twice"
