"""RBAC evaluation of `use` on PodSecurityPolicies (docs/psp-admission.md#usable-policies)."""

from __future__ import annotations

import pytest

from pspc.admission import Identity, PodSecurityPolicyPlugin, RBACAuthorizer
from pspc.admission.rbac import service_account_identity

ALICE = Identity("alice", ["system:authenticated"])
SA_NS1 = service_account_identity("ns1", "default")


def cluster_role(name: str, *rules: dict) -> dict:
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def role(namespace: str, name: str, *rules: dict) -> dict:
    return {
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": list(rules),
    }


def use_rule(*names: str, api_group: str = "policy", verb: str = "use") -> dict:
    rule = {"apiGroups": [api_group], "resources": ["podsecuritypolicies"], "verbs": [verb]}
    if names:
        rule["resourceNames"] = list(names)
    return rule


def binding(kind: str, role_kind: str, role_name: str, *subjects: dict, namespace="") -> dict:
    metadata = {"name": f"bind-{role_name}"}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def user(name: str) -> dict:
    return {"kind": "User", "name": name}


def group(name: str) -> dict:
    return {"kind": "Group", "name": name}


def service_account(name: str, namespace: str = "") -> dict:
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


def test_cluster_admin_wildcards_grant_every_psp_everywhere():
    authz = RBACAuthorizer(
        [
            cluster_role(
                "cluster-admin",
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ),
            binding("ClusterRoleBinding", "ClusterRole", "cluster-admin", user("alice")),
        ]
    )
    for psp in ("privileged", "restricted", "anything"):
        for namespace in ("ns1", "kube-system"):
            assert authz.can_use(ALICE, psp, namespace)
    assert not authz.can_use(Identity("bob"), "restricted", "ns1")


def test_role_binding_grants_only_in_its_namespace():
    authz = RBACAuthorizer(
        [
            role("ns1", "psp-user", use_rule("restricted")),
            binding("RoleBinding", "Role", "psp-user", user("alice"), namespace="ns1"),
        ]
    )
    assert authz.can_use(ALICE, "restricted", "ns1")
    assert not authz.can_use(ALICE, "restricted", "ns2")


def test_role_binding_to_cluster_role_is_namespaced():
    authz = RBACAuthorizer(
        [
            cluster_role("psp-user", use_rule()),
            binding("RoleBinding", "ClusterRole", "psp-user", group("devs"), namespace="ns1"),
        ]
    )
    dev = Identity("carol", ["devs"])
    assert authz.can_use(dev, "any-psp", "ns1")
    assert not authz.can_use(dev, "any-psp", "ns2")


def test_role_binding_cannot_use_a_role_of_another_namespace():
    authz = RBACAuthorizer(
        [
            role("ns2", "psp-user", use_rule()),
            binding("RoleBinding", "Role", "psp-user", user("alice"), namespace="ns1"),
        ]
    )
    assert not authz.can_use(ALICE, "restricted", "ns1")


def test_resource_names_restrict_the_psp():
    authz = RBACAuthorizer(
        [
            cluster_role("restricted-user", use_rule("restricted")),
            binding("ClusterRoleBinding", "ClusterRole", "restricted-user", user("alice")),
        ]
    )
    assert authz.can_use(ALICE, "restricted", "ns1")
    assert not authz.can_use(ALICE, "privileged", "ns1")


@pytest.mark.parametrize(
    ("api_group", "verb", "allowed"),
    [
        ("policy", "use", True),
        ("extensions", "use", True),
        ("*", "use", True),
        ("policy", "*", True),
        ("apps", "use", False),
        ("policy", "get", False),
    ],
)
def test_rule_api_group_and_verb(api_group: str, verb: str, allowed: bool):
    authz = RBACAuthorizer(
        [
            cluster_role("r", use_rule(api_group=api_group, verb=verb)),
            binding("ClusterRoleBinding", "ClusterRole", "r", user("alice")),
        ]
    )
    assert authz.can_use(ALICE, "p", "ns1") is allowed


def test_service_account_subject_defaults_to_the_binding_namespace():
    authz = RBACAuthorizer(
        [
            cluster_role("psp-user", use_rule()),
            binding(
                "RoleBinding",
                "ClusterRole",
                "psp-user",
                service_account("default"),
                namespace="ns1",
            ),
        ]
    )
    assert authz.can_use(SA_NS1, "p", "ns1")
    assert not authz.can_use(service_account_identity("ns2", "default"), "p", "ns1")


def test_service_account_subject_in_cluster_binding_needs_a_namespace():
    without_namespace = RBACAuthorizer(
        [
            cluster_role("psp-user", use_rule()),
            binding("ClusterRoleBinding", "ClusterRole", "psp-user", service_account("default")),
        ]
    )
    assert not without_namespace.can_use(SA_NS1, "p", "ns1")
    with_namespace = RBACAuthorizer(
        [
            cluster_role("psp-user", use_rule()),
            binding(
                "ClusterRoleBinding", "ClusterRole", "psp-user", service_account("default", "ns1")
            ),
        ]
    )
    assert with_namespace.can_use(SA_NS1, "p", "ns2")


def test_service_account_identity_lacks_system_authenticated():
    assert SA_NS1.name == "system:serviceaccount:ns1:default"
    assert SA_NS1.groups == ("system:serviceaccounts", "system:serviceaccounts:ns1")
    authz = RBACAuthorizer(
        [
            cluster_role("psp-user", use_rule()),
            binding("ClusterRoleBinding", "ClusterRole", "psp-user", group("system:authenticated")),
        ]
    )
    assert not authz.can_use(SA_NS1, "p", "ns1")
    assert authz.can_use(ALICE, "p", "ns1")


def test_system_masters_bypass_rbac():
    authz = RBACAuthorizer([])
    assert authz.can_use(Identity("admin", ["system:masters"]), "p", "ns1")
    assert not authz.can_use(Identity("admin", ["system:authenticated"]), "p", "ns1")


def test_list_objects_are_flattened():
    authz = RBACAuthorizer(
        [
            {
                "kind": "List",
                "items": [
                    cluster_role("psp-user", use_rule()),
                    binding("ClusterRoleBinding", "ClusterRole", "psp-user", user("alice")),
                ],
            }
        ]
    )
    assert authz.can_use(ALICE, "p", "ns1")


OPEN_PSP = {
    "metadata": {"name": "open"},
    "spec": {
        "runAsUser": {"rule": "RunAsAny"},
        "seLinux": {"rule": "RunAsAny"},
        "supplementalGroups": {"rule": "RunAsAny"},
        "fsGroup": {"rule": "RunAsAny"},
        "volumes": ["*"],
    },
}
POD = {
    "metadata": {"name": "", "generateName": "web-5f7c9-", "namespace": "ns1"},
    "spec": {"serviceAccountName": "default", "containers": [{"name": "app", "image": "img"}]},
}
CONTROLLER = Identity(
    "system:serviceaccount:kube-system:replicaset-controller",
    ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
)


def test_plugin_with_rbac_rejects_controller_pods_until_the_pod_sa_is_bound():
    psp_user = cluster_role("psp-open", use_rule("open"))
    denied = PodSecurityPolicyPlugin([OPEN_PSP], RBACAuthorizer([psp_user])).review(
        "CREATE", POD, user=CONTROLLER
    )
    assert not denied.allowed
    assert denied.message == (
        'pods "web-5f7c9-" is forbidden: PodSecurityPolicy: unable to admit pod: []'
    )

    rbac = RBACAuthorizer(
        [
            psp_user,
            binding(
                "RoleBinding",
                "ClusterRole",
                "psp-open",
                group("system:serviceaccounts"),
                namespace="ns1",
            ),
        ]
    )
    allowed = PodSecurityPolicyPlugin([OPEN_PSP], rbac).review("CREATE", POD, user=CONTROLLER)
    assert allowed.allowed
    assert allowed.policy == "open"
    assert allowed.pod["metadata"]["annotations"] == {"kubernetes.io/psp": "open"}


def test_plugin_accepts_a_plain_callable_authorizer():
    calls = []

    def can_use(identity: Identity, psp_name: str, namespace: str) -> bool:
        calls.append((identity.name, psp_name, namespace))
        return identity.name == "alice"

    result = PodSecurityPolicyPlugin([OPEN_PSP], can_use).review("CREATE", POD, user=ALICE)
    assert result.allowed
    # the service account is asked first, then the user; once in Admit and once in Validate
    per_pass = [("system:serviceaccount:ns1:default", "open", "ns1"), ("alice", "open", "ns1")]
    assert calls == per_pass * 2
