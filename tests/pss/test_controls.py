"""The PSS checks, one rule change at a time, with pods written here.

These cover what the upstream fixtures do not exercise (README: container_engine_t, the
user-namespace exemptions of runAsNonRoot/runAsUser, AppArmor fields, ephemeral
containers, csi/ephemeral/image volumes, docker/default, the v1.25-v1.28 windows
exemptions) and pin each versioned rule at the version where it changes.
"""

from __future__ import annotations

import copy

import pytest

from pspc.engines.psa import PsaEngine
from pspc.pss import evaluate_pod, known_versions, parse_version
from pspc.pss.levels import CHECKS, checks_for
from pspc.workloads import PodRequest


def pod(**spec) -> dict:
    """A pod that baseline admits at every version, with `spec` merged in."""
    base = {"containers": [{"name": "app", "image": "registry.k8s.io/pause"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {**base, **spec}}


def restricted_pod(**spec) -> dict:
    """A pod that restricted admits at every version."""
    container = {"name": "app", "image": "registry.k8s.io/pause", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    return pod(**{"containers": [container], "securityContext": {
        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}, **spec})


def with_context(p: dict, **context) -> dict:
    p = copy.deepcopy(p)
    p["spec"]["containers"][0].setdefault("securityContext", {}).update(context)
    return p


def with_pod_context(p: dict, **context) -> dict:
    p = copy.deepcopy(p)
    p["spec"].setdefault("securityContext", {}).update(context)
    return p


def verdicts(p: dict, level: str, *versions: str) -> list[bool]:
    """Allowed (True) or denied at each version."""
    return [not evaluate_pod(p, level, v) for v in versions]


# -- versions -------------------------------------------------------------------------------


def test_known_versions_run_from_v1_0_to_v1_37_then_latest() -> None:
    versions = known_versions()
    assert versions[:3] == ("v1.0", "v1.1", "v1.2")
    assert versions[-2:] == ("v1.37", "latest")
    assert len(versions) == 39


@pytest.mark.parametrize(("text", "parsed"), [
    ("v1.0", (1, 0)), ("v1.30", (1, 30)), ("latest", (1, 37)), ("v1.99", (1, 37)),
])
def test_versions_parse_and_newer_ones_use_the_newest_rules(text, parsed) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("text", ["1.30", "v2.0", "v1.030", "v1", "Latest", ""])
def test_malformed_versions_are_refused(text) -> None:
    with pytest.raises(ValueError, match="not a Pod Security Standards version"):
        parse_version(text)


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Pod Security Standards level"):
        evaluate_pod(pod(), "strict", "latest")


def test_privileged_admits_anything() -> None:
    p = with_context(pod(hostPID=True), privileged=True)
    assert evaluate_pod(p, "privileged", "v1.0") == []


def test_check_order_is_baseline_ids_then_restricted_ids() -> None:
    ids = [c.id for c in checks_for("restricted", (1, 37))]
    assert ids == [
        "appArmorProfile", "hostNamespaces", "hostPorts", "hostProbesAndHostLifecycle",
        "privileged", "seLinuxOptions", "sysctls", "windowsHostProcess",
        "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted",
        "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted",
    ]
    assert len(checks_for("baseline", (1, 37))) == 12
    assert len(CHECKS) == 19


def test_overrides_apply_from_the_version_of_the_restricted_check() -> None:
    def ids(version):
        return {c.id for c in checks_for("restricted", version)}
    assert "capabilities_baseline" in ids((1, 21)) and "capabilities_baseline" not in ids((1, 22))
    assert "seccompProfile_baseline" in ids((1, 18))
    assert "seccompProfile_baseline" not in ids((1, 19))
    assert "procMount" in ids((1, 34)) and "procMount" not in ids((1, 35))
    assert "hostPathVolumes" not in ids((1, 0))


# -- baseline rule changes ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "since"), [
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29), ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29), ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32), ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37), ("net.ipv4.tcp_notsent_lowat", 37),
])
def test_the_sysctl_allowlist_grows_by_version(name, since) -> None:
    p = pod(securityContext={"sysctls": [{"name": name, "value": "1"}]})
    for minor in (since - 1, since, 37):
        if minor >= 0:
            assert verdicts(p, "baseline", f"v1.{minor}") == [minor >= since], minor
    assert verdicts(p, "baseline", "latest") == [True]


def test_sysctls_match_exact_names_only() -> None:
    p = pod(securityContext={"sysctls": [{"name": "kernel/shm_rmid_forced", "value": "1"},
                                         {"name": "net.core.somaxconn", "value": "1"}]})
    assert evaluate_pod(p, "baseline", "latest") == [
        "forbidden sysctls (kernel/shm_rmid_forced, net.core.somaxconn)"]


def test_seccomp_moves_from_annotations_to_fields_at_v1_19() -> None:
    annotated = pod()
    annotated["metadata"]["annotations"] = {
        "seccomp.security.alpha.kubernetes.io/pod": "unconfined"}
    field = with_pod_context(pod(), seccompProfile={"type": "Unconfined"})
    assert verdicts(annotated, "baseline", "v1.18", "v1.19") == [False, True]
    assert verdicts(field, "baseline", "v1.18", "v1.19") == [True, False]
    assert evaluate_pod(annotated, "baseline", "v1.18") == [
        'seccompProfile (forbidden annotation '
        'seccomp.security.alpha.kubernetes.io/pod="unconfined")']
    assert evaluate_pod(field, "baseline", "v1.19") == [
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")']


@pytest.mark.parametrize(("value", "allowed"), [
    ("runtime/default", True), ("docker/default", True), ("localhost/profile.json", True),
    ("", False), ("unconfined", False), ("Runtime/Default", False),
])
def test_seccomp_annotation_values_before_v1_19(value, allowed) -> None:
    p = pod()
    p["metadata"]["annotations"] = {"container.seccomp.security.alpha.kubernetes.io/app": value}
    assert verdicts(p, "baseline", "v1.18") == [allowed]


def test_seccomp_annotations_of_unknown_containers_are_ignored() -> None:
    p = pod()
    p["metadata"]["annotations"] = {
        "container.seccomp.security.alpha.kubernetes.io/ghost": "unconfined"}
    assert evaluate_pod(p, "baseline", "v1.18") == []


def test_container_engine_t_is_allowed_from_v1_31() -> None:
    for where in (with_pod_context, with_context):
        p = where(pod(), seLinuxOptions={"type": "container_engine_t"})
        assert verdicts(p, "baseline", "v1.30", "v1.31", "latest") == [False, True, True]
    assert evaluate_pod(with_context(pod(), seLinuxOptions={"type": "container_engine_t"}),
                        "baseline", "v1.30") == [
        'seLinuxOptions (container "app" set forbidden securityContext.seLinuxOptions: '
        'type "container_engine_t")']


def test_selinux_reports_types_users_and_roles_together() -> None:
    p = with_pod_context(pod(), seLinuxOptions={"type": "spc_t", "user": "u", "role": "r",
                                                "level": "s0:c1"})
    p = with_context(p, seLinuxOptions={"type": "unconfined_t"})
    assert evaluate_pod(p, "baseline", "latest") == [
        'seLinuxOptions (pod and container "app" set forbidden securityContext.seLinuxOptions: '
        'types "spc_t", "unconfined_t"; user may not be set; role may not be set)']


def test_proc_mount_user_namespace_exemption_starts_at_v1_35_in_baseline_only() -> None:
    p = with_context(pod(hostUsers=False), procMount="Unmasked")
    assert verdicts(p, "baseline", "v1.34", "v1.35", "latest") == [False, True, True]
    host_users = with_context(pod(), procMount="Unmasked")
    assert verdicts(host_users, "baseline", "v1.35") == [False]
    strict = with_context(restricted_pod(hostUsers=False), procMount="Unmasked")
    assert evaluate_pod(strict, "restricted", "v1.34") == evaluate_pod(
        strict, "restricted", "v1.35") == [
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")']


def test_probe_and_lifecycle_hosts_are_denied_from_v1_34() -> None:
    p = pod()
    p["spec"]["containers"][0].update(
        livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}},
        readinessProbe={"tcpSocket": {"host": "", "port": 80}},
        lifecycle={"preStop": {"tcpSocket": {"host": "node.local", "port": 1}}})
    assert verdicts(p, "baseline", "v1.33", "v1.34", "latest") == [True, False, False]
    assert evaluate_pod(p, "baseline", "v1.34") == [
        'probe or lifecycle host (container "app" uses probe or lifecycle hosts '
        '"10.0.0.1", "node.local")']


def test_ephemeral_containers_are_checked_like_the_others() -> None:
    p = pod(ephemeralContainers=[{"name": "debug", "image": "busybox", "securityContext": {
        "privileged": True, "capabilities": {"add": ["SYS_PTRACE"]}}}])
    assert evaluate_pod(p, "baseline", "latest") == [
        'non-default capabilities (container "debug" must not include "SYS_PTRACE" in '
        'securityContext.capabilities.add)',
        'privileged (container "debug" must not set securityContext.privileged=true)']
    verdict = PsaEngine("baseline", "latest").evaluate(PodRequest(p, "default", None))
    assert [field for field, _ in verdict.violations] == [
        "spec.ephemeralContainers[0].securityContext.capabilities.add",
        "spec.ephemeralContainers[0].securityContext.privileged"]


def test_app_armor_fields_and_annotations() -> None:
    p = with_pod_context(pod(), appArmorProfile={"type": "Unconfined"})
    p = with_context(p, appArmorProfile={"type": "Localhost", "localhostProfile": "k8s"})
    assert evaluate_pod(p, "baseline", "v1.0") == [
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")']
    p["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/ghost": "localhost/x"}
    assert evaluate_pod(p, "baseline", "latest") == [
        'forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to '
        '"Unconfined", "container.apparmor.security.beta.kubernetes.io/app="unconfined"")']
    ok = with_context(pod(), appArmorProfile={"type": "RuntimeDefault"})
    assert evaluate_pod(ok, "baseline", "latest") == []


def test_host_ports_list_sorted_ports_and_ignore_zero() -> None:
    p = pod(initContainers=[{"name": "init", "ports": [{"containerPort": 80, "hostPort": 0}]}])
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 1, "hostPort": 8080},
                                           {"containerPort": 2, "hostPort": 443}]
    assert evaluate_pod(p, "baseline", "latest") == [
        'hostPort (container "app" uses hostPorts 443, 8080)']


def test_windows_host_process_on_pod_and_containers() -> None:
    p = with_pod_context(pod(), windowsOptions={"hostProcess": True})
    p = with_context(p, windowsOptions={"hostProcess": True})
    assert evaluate_pod(p, "baseline", "latest") == [
        'hostProcess (pod and container "app" must not set '
        'securityContext.windowsOptions.hostProcess=true)']


# -- restricted rule changes ----------------------------------------------------------------


def test_run_as_user_zero_is_denied_from_v1_23() -> None:
    p = with_pod_context(restricted_pod(), runAsUser=0)
    assert verdicts(p, "restricted", "v1.22", "v1.23") == [True, False]
    assert evaluate_pod(p, "restricted", "v1.23") == ["runAsUser=0 (pod must not set runAsUser=0)"]


def test_user_namespace_pods_are_exempt_from_run_as_checks_from_v1_35() -> None:
    p = restricted_pod(hostUsers=False)
    p["spec"]["securityContext"] = {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}}
    assert evaluate_pod(p, "restricted", "v1.34") == [
        'runAsNonRoot != true (pod or container "app" must set '
        'securityContext.runAsNonRoot=true)',
        "runAsUser=0 (pod must not set runAsUser=0)"]
    assert evaluate_pod(p, "restricted", "v1.35") == []


def test_run_as_non_root_reports_explicit_false_before_missing_values() -> None:
    p = restricted_pod(initContainers=[{"name": "init", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": False}}])
    p["spec"]["securityContext"]["runAsNonRoot"] = False
    assert evaluate_pod(p, "restricted", "latest") == [
        'runAsNonRoot != true (pod and container "init" must not set '
        'securityContext.runAsNonRoot=false)']


@pytest.mark.parametrize("version", ["v1.25", "v1.26", "v1.27", "v1.28", "latest"])
def test_windows_pods_are_exempt_from_three_checks_from_v1_25(version) -> None:
    p = pod(os={"name": "windows"}, securityContext={"runAsNonRoot": True})
    assert evaluate_pod(p, "restricted", version) == []
    assert [r.split(" (")[0] for r in evaluate_pod(p, "restricted", "v1.24")] == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "seccompProfile"]


def test_restricted_requirements_start_at_their_versions() -> None:
    p = pod(securityContext={"runAsNonRoot": True})
    reasons = {v: [r.split(" (")[0] for r in evaluate_pod(p, "restricted", v)]
               for v in ("v1.7", "v1.8", "v1.19", "v1.22")}
    assert reasons == {
        "v1.7": [],
        "v1.8": ["allowPrivilegeEscalation != false"],
        "v1.19": ["allowPrivilegeEscalation != false", "seccompProfile"],
        "v1.22": ["allowPrivilegeEscalation != false", "unrestricted capabilities",
                  "seccompProfile"],
    }


def test_capabilities_switch_from_baseline_to_restricted_rule_at_v1_22() -> None:
    p = with_context(restricted_pod(), capabilities={"add": ["CHOWN"], "drop": ["ALL"]})
    assert evaluate_pod(p, "restricted", "v1.21") == []
    assert evaluate_pod(p, "restricted", "v1.22") == [
        'unrestricted capabilities (container "app" must not include "CHOWN" in '
        'securityContext.capabilities.add)']
    bind = with_context(restricted_pod(), capabilities={"add": ["NET_BIND_SERVICE"],
                                                        "drop": ["ALL"]})
    assert evaluate_pod(bind, "restricted", "latest") == []


def test_a_container_profile_needs_no_pod_profile() -> None:
    p = with_context(restricted_pod(), seccompProfile={"type": "Localhost",
                                                       "localhostProfile": "p.json"})
    del p["spec"]["securityContext"]["seccompProfile"]
    assert evaluate_pod(p, "restricted", "latest") == []


@pytest.mark.parametrize("source", [
    {"csi": {"driver": "inline.example.com"}},
    {"ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
    {"image": {"reference": "registry.k8s.io/pause"}},
    {},  # no source: the API server defaults it to emptyDir
])
def test_restricted_admits_csi_ephemeral_image_and_sourceless_volumes(source) -> None:
    assert evaluate_pod(restricted_pod(volumes=[{"name": "v", **source}]), "restricted",
                        "v1.0") == []


def test_restricted_volume_types_name_every_bad_volume() -> None:
    p = restricted_pod(volumes=[{"name": "a", "nfs": {"server": "s", "path": "/"}},
                                {"name": "b", "hostPath": {"path": "/etc"}},
                                {"name": "c", "someFutureSource": {}}])
    assert evaluate_pod(p, "restricted", "latest") == [
        'restricted volume types (volumes "a", "b", "c" use restricted volume types '
        '"hostPath", "nfs", "unknown")']


# -- the engine ------------------------------------------------------------------------------


def test_the_engine_answers_like_the_api_server() -> None:
    p = with_context(pod(hostNetwork=True), privileged=True)
    p["metadata"] = {"generateName": "web-7d9c-"}
    verdict = PsaEngine("baseline", "v1.30").evaluate(PodRequest(p, "default", "rs"))
    assert not verdict.allowed
    assert verdict.policy == "baseline:v1.30"
    assert verdict.message == (
        'pods "web-7d9c-" is forbidden: violates PodSecurity "baseline:v1.30": '
        "host namespaces (hostNetwork=true), privileged (container \"app\" must not set "
        "securityContext.privileged=true)")
    assert verdict.violations == (
        ("spec.hostNetwork", "host namespaces (hostNetwork=true)"),
        ("spec.containers[0].securityContext.privileged",
         'privileged (container "app" must not set securityContext.privileged=true)'))


def test_the_engine_admits_with_its_policy_named() -> None:
    verdict = PsaEngine("restricted").evaluate(PodRequest(restricted_pod(), "default", None))
    assert verdict.allowed and verdict.policy == "restricted:latest" and verdict.message is None


def test_the_engine_refuses_a_bad_label_up_front() -> None:
    with pytest.raises(ValueError):
        PsaEngine("baseline", "v1.x")
