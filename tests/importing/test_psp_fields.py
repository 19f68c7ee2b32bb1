"""PodSecurityPolicy → IR, field by field: API defaults, canonical order, and the odd but
valid values the API accepts (imported exactly, with a warning at their field)."""

from __future__ import annotations

import pytest

from pspc.model import ir
from pspc.model.ir import HostPath, IdPolicy, IdRange, Rule, RuntimeClass, SELinux

from .helpers import assert_round_trip, errors, import_docs, import_ok, psp

ANY = IdPolicy(Rule.RUN_AS_ANY)
SECCOMP = "seccomp.security.alpha.kubernetes.io/allowedProfileNames"
APPARMOR = "apparmor.security.beta.kubernetes.io/allowedProfileNames"


def imported(document: dict) -> ir.Policy:
    return import_ok(document)[document["metadata"]["name"]].policy


def field(spec: dict, name: str):
    return getattr(imported(psp(**spec)), name)


def test_an_empty_policy_takes_the_api_defaults():
    policy = imported(psp())
    assert (policy.privileged, policy.host_network, policy.host_pid, policy.host_ipc) == (
        False, False, False, False)
    assert policy.allow_privilege_escalation is True  # defaulted by the API
    assert policy.default_allow_privilege_escalation is None
    assert policy.run_as_group is None and policy.runtime_class is None
    assert policy.volumes == policy.host_ports == policy.allowed_proc_mount_types == ()
    assert policy.seccomp_allowed is None and policy.apparmor_allowed is None
    assert policy.description is None and policy.annotations == ()


@pytest.mark.parametrize(("spec", "name", "value"), [
    ({"privileged": True}, "privileged", True),
    ({"hostNetwork": True, "hostIPC": True}, "host_ipc", True),
    ({"hostPID": True}, "host_pid", True),
    ({"readOnlyRootFilesystem": True}, "read_only_root_filesystem", True),
    ({"allowPrivilegeEscalation": False}, "allow_privilege_escalation", False),
    ({"allowPrivilegeEscalation": None}, "allow_privilege_escalation", True),
    ({"defaultAllowPrivilegeEscalation": False}, "default_allow_privilege_escalation", False),
    ({"hostPorts": [{"min": 8000, "max": 8100}, {"min": 80, "max": 80}]}, "host_ports",
     (IdRange(8000, 8100), IdRange(80, 80))),  # order kept: admission messages show it
    ({"volumes": ["secret", "configMap", "hostPath"]}, "volumes",
     ("configMap", "hostPath", "secret")),
    ({"volumes": ["*"]}, "volumes", ("*",)),
    ({"volumes": [], "allowedCapabilities": []}, "volumes", ()),
    ({"volumes": ["hostPath"], "allowedHostPaths": [
        {"pathPrefix": "/var/log", "readOnly": True}, {"pathPrefix": "/data"}]},
     "allowed_host_paths", (HostPath("/data", False), HostPath("/var/log", True))),
    ({"volumes": ["flexVolume"], "allowedFlexVolumes": [{"driver": "b/x"}, {"driver": "a"}]},
     "allowed_flex_volumes", ("a", "b/x")),
    ({"volumes": ["*"], "allowedCSIDrivers": [{"name": "z.csi"}, {"name": "a.csi"}]},
     "allowed_csi_drivers", ("a.csi", "z.csi")),
    ({"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 5, "max": 9}, {"min": 1,
                                                                           "max": 1}]}},
     "run_as_user", IdPolicy(Rule.MUST_RUN_AS, (IdRange(5, 9), IdRange(1, 1)))),
    ({"runAsUser": {"rule": "MustRunAsNonRoot"}}, "run_as_user",
     IdPolicy(Rule.MUST_RUN_AS_NON_ROOT)),
    ({"runAsGroup": {"rule": "RunAsAny"}}, "run_as_group", ANY),
    ({"runAsGroup": {"rule": "MayRunAs", "ranges": [{"min": 1, "max": 2}]}}, "run_as_group",
     IdPolicy(Rule.MAY_RUN_AS, (IdRange(1, 2),))),
    ({"supplementalGroups": {"rule": "MayRunAs", "ranges": [{"min": 3, "max": 4}]}},
     "supplemental_groups", IdPolicy(Rule.MAY_RUN_AS, (IdRange(3, 4),))),
    ({"fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 0, "max": 2147483647}]}},
     "fs_group", IdPolicy(Rule.MUST_RUN_AS, (IdRange(0, 2147483647),))),
    ({"seLinux": {"rule": "MustRunAs", "seLinuxOptions": {"type": "t", "level": "s0"}}},
     "selinux", SELinux(Rule.MUST_RUN_AS, level="s0", type="t")),
    ({"seLinux": {"rule": "RunAsAny", "seLinuxOptions": {}}}, "selinux",
     SELinux(Rule.RUN_AS_ANY)),
    ({"allowedCapabilities": ["SYS_TIME", "CHOWN"]}, "allowed_capabilities",
     ("CHOWN", "SYS_TIME")),
    ({"allowedCapabilities": ["*"]}, "allowed_capabilities", ("*",)),
    ({"defaultAddCapabilities": ["NET_ADMIN"]}, "default_add_capabilities", ("NET_ADMIN",)),
    ({"requiredDropCapabilities": ["NET_RAW", "ALL"]}, "required_drop_capabilities",
     ("ALL", "NET_RAW")),
    ({"allowedProcMountTypes": ["Default"]}, "allowed_proc_mount_types", ()),
    ({"allowedProcMountTypes": ["Unmasked", "Default"]}, "allowed_proc_mount_types",
     ("Default", "Unmasked")),
    ({"allowedUnsafeSysctls": ["net.core.*", "kernel.msgmax"]}, "allowed_unsafe_sysctls",
     ("kernel.msgmax", "net.core.*")),
    ({"forbiddenSysctls": ["*"]}, "forbidden_sysctls", ("*",)),
    ({"runtimeClass": {"allowedRuntimeClassNames": ["kata", "gvisor"],
                       "defaultRuntimeClassName": "kata"}},
     "runtime_class", RuntimeClass(("gvisor", "kata"), "kata")),
    ({"runtimeClass": {"allowedRuntimeClassNames": []}}, "runtime_class", RuntimeClass(())),
])
def test_spec_fields(spec, name, value):
    assert field(spec, name) == value


def test_extensions_v1beta1_is_read_like_policy_v1beta1():
    document = psp(privileged=True, volumes=["*"])
    old = {**document, "apiVersion": "extensions/v1beta1"}
    assert imported(old) == imported(document)


@pytest.mark.parametrize(("key", "name", "text", "value"), [
    (SECCOMP, "seccomp_allowed", "runtime/default,docker/default",
     ("runtime/default", "docker/default")),
    (SECCOMP, "seccomp_allowed", "*", ("*",)),
    ("seccomp.security.alpha.kubernetes.io/defaultProfileName", "seccomp_default",
     "runtime/default", "runtime/default"),
    (APPARMOR, "apparmor_allowed", "unconfined,runtime/default",
     ("unconfined", "runtime/default")),
    ("kubernetes.io/description", "description", "two\nlines", "two\nlines"),
    ("kubernetes.io/description", "description", "", ""),
])
def test_annotations_with_a_meaning(key, name, text, value):
    notes = {key: text}
    if name == "seccomp_allowed" or "default" in key:
        notes.setdefault(SECCOMP, "runtime/default")
    assert getattr(imported(psp(annotations=notes)), name) == value


def test_unknown_annotations_are_kept_and_kubectl_bookkeeping_is_not():
    document = psp(annotations={"zeta.example.com/owner": "team a", "alpha": "1",
                                "kubectl.kubernetes.io/last-applied-configuration": "{}\n"})
    document["metadata"].update(uid="0c5d", resourceVersion="42", generation=1,
                                creationTimestamp="2020-01-01T00:00:00Z", managedFields=[],
                                labels={"app.kubernetes.io/managed-by": "pspc"})
    policy = imported(document)
    assert policy.annotations == (("alpha", "1"), ("zeta.example.com/owner", "team a"))


@pytest.mark.parametrize(("spec", "annotations", "code", "path"), [
    ({"runAsUser": {"rule": "RunAsAny", "ranges": [{"min": 1, "max": 2}]}}, {}, "W108",
     "spec.runAsUser"),
    ({"runAsUser": {"rule": "MustRunAsNonRoot", "ranges": [{"min": 1, "max": 2}]}}, {},
     "W108", "spec.runAsUser"),
    ({"runAsUser": {"rule": "MustRunAs"}}, {}, "W108", "spec.runAsUser"),
    ({"fsGroup": {"rule": "MayRunAs", "ranges": []}}, {}, "W108", "spec.fsGroup"),
    ({"supplementalGroups": {"rule": "RunAsAny", "ranges": [{"min": 1, "max": 1}]}}, {},
     "W108", "spec.supplementalGroups"),
    ({"seLinux": {"rule": "RunAsAny", "seLinuxOptions": {"type": "t"}}}, {}, "W108",
     "spec.seLinux"),
    ({"seLinux": {"rule": "MustRunAs"}}, {}, "W108", "spec.seLinux"),
    ({"seLinux": {"rule": "MustRunAs", "seLinuxOptions": {}}}, {}, None, None),
    ({"seLinux": {"rule": "RunAsAny", "seLinuxOptions": {}}}, {}, "W205", "spec.seLinux"),
    ({"allowedProcMountTypes": ["Unmasked"]}, {}, "W108", "spec.allowedProcMountTypes"),
    ({"allowedProcMountTypes": ["Default", "Default"]}, {}, "W205",
     "spec.allowedProcMountTypes"),
    ({"volumes": ["*", "secret"]}, {}, "W205", "spec.volumes"),
    ({"volumes": ["secret", "nfs", "secret"]}, {}, "W205", "spec.volumes"),
    ({"allowedCapabilities": ["CHOWN", "CHOWN"]}, {}, "W205", "spec.allowedCapabilities"),
    ({"allowedCapabilities": ["NET ADMIN", "*"], "defaultAddCapabilities": ["*"]}, {},
     "W110", "spec.defaultAddCapabilities"),
    ({"allowedCapabilities": ["NET ADMIN"], "defaultAddCapabilities": ["*"],
      "requiredDropCapabilities": ["x-y"]}, {}, "W110", "spec.defaultAddCapabilities"),
    ({"volumes": ["secret"], "allowedHostPaths": [{"pathPrefix": "/x"}]}, {}, "W104",
     "spec.allowedHostPaths"),
    ({"allowedFlexVolumes": [{"driver": "x"}]}, {}, "W104", "spec.allowedFlexVolumes"),
    ({"volumes": ["secret"], "allowedCSIDrivers": [{"name": "x"}]}, {}, "W104",
     "spec.allowedCSIDrivers"),
    ({"volumes": ["*"], "allowedHostPaths": [{"pathPrefix": "/x"}, {"pathPrefix": "/x",
                                                                   "readOnly": True}]},
     {}, "W205", "spec.allowedHostPaths"),
    ({"volumes": ["hostPath"], "allowedHostPaths": [{"pathPrefix": "relative"}]}, {}, "W110",
     "spec.allowedHostPaths"),
    ({"privileged": True, "allowPrivilegeEscalation": False}, {}, "W107", "spec.privileged"),
    ({"hostPorts": [{"min": 9, "max": 1}, {"min": -3, "max": 70000}]}, {}, "W110",
     "spec.hostPorts"),
    ({"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 2**63 - 1}]}}, {},
     "W110", "spec.runAsUser"),
    ({}, {SECCOMP: ""}, "W110", f"metadata.annotations[{SECCOMP}]"),
    ({}, {APPARMOR: ""}, "W110", f"metadata.annotations[{APPARMOR}]"),
    ({}, {APPARMOR: "runtime/default,,localhost/"}, "W110", f"metadata.annotations[{APPARMOR}]"),
    ({}, {SECCOMP: "runtime/default,runtime/default,localhost/"}, "W110",
     f"metadata.annotations[{SECCOMP}]"),
    ({}, {"seccomp.security.alpha.kubernetes.io/defaultProfileName": "runtime/default"},
     "W109", "metadata.annotations[seccomp.security.alpha.kubernetes.io/defaultProfileName]"),
    ({}, {"seccomp.security.alpha.kubernetes.io/defaultProfileName": "", SECCOMP: "*",
          APPARMOR: "runtime/default",
          "apparmor.security.beta.kubernetes.io/defaultProfileName": "unconfined"}, "W109",
     "metadata.annotations[apparmor.security.beta.kubernetes.io/defaultProfileName]"),
    ({}, {"Example.COM/Owner": "\u2028\x85\x0b\x0c\x1c\x00\x7f"}, None, None),
])
def test_what_the_api_accepts_imports_exactly_with_a_warning_at_the_field(
        spec, annotations, code, path):
    document = psp(annotations=annotations, **spec)
    imported, diags = import_docs(document)
    assert not diags.has_errors, [d.message for d in diags.items]
    if code is not None:
        assert any(d.code == code and d.message.startswith(
            f"document 0 (PodSecurityPolicy p): {path}") for d in diags.items), [
                f"{d.code} {d.message}" for d in diags.items]
    assert_round_trip(document)
    assert_round_trip(document, via_yaml=True)


def test_labels_are_stated_and_pspc_own_is_left_out():
    document = psp()
    document["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm",
                                      "eks.amazonaws.com/component": "pod-security-policy",
                                      "helm.sh/chart": "x-1.2.3", "empty": ""}
    imported, diags = import_docs(document)
    (item,) = imported
    assert 'label "eks.amazonaws.com/component" "pod-security-policy"' in item.text
    assert item.policy.labels == (("eks.amazonaws.com/component", "pod-security-policy"),
                                  ("empty", ""), ("helm.sh/chart", "x-1.2.3"))
    assert [d.code for d in diags.items] == ["W205"]
    assert "app.kubernetes.io/managed-by" in diags.items[0].message
    assert_round_trip(document)


@pytest.mark.parametrize(("spec", "annotations", "code", "path"), [
    ({"volumes": ["nfss"]}, {}, "E008", "spec.volumes[0]"),
    ({"forbiddenSysctls": ["Not A Sysctl"]}, {}, "E016", "spec.forbiddenSysctls[0]"),
    ({"volumes": ["hostPath"], "allowedHostPaths": [{"pathPrefix": "a/../b"}]}, {}, "E018",
     "spec.allowedHostPaths[0]"),
    ({}, {SECCOMP: "runtime/default,,unconfined"}, "E019", f"metadata.annotations[{SECCOMP}]"),
    ({}, {"Not Valid/key": "x"}, "E006", "metadata.annotations"),
])
def test_language_rules_are_reported_at_the_field(spec, annotations, code, path):
    found = errors(psp(annotations=annotations, **spec))
    assert (code, f"document 0 (PodSecurityPolicy p): {path}") in [
        (c, m.split(": ", 2)[0] + ": " + m.split(": ", 2)[1]) for c, m in found]


def test_a_value_that_would_not_come_back_is_an_error(monkeypatch):
    # A safety net under every rule above: the policy is compiled back and compared, so a
    # statement that loses a value (here: simulated) is reported at its field.
    from pspc.importing import verify

    original = verify.policy_lines

    def lossy(policy):
        return [(f, lines) for f, lines in original(policy) if f != "host_ports"] + [
            ("host_ports", ["  deny host ports"])]

    monkeypatch.setattr(verify, "policy_lines", lossy)
    found = errors(psp(hostPorts=[{"min": 80, "max": 80}]))
    assert found == [("E044", "document 0 (PodSecurityPolicy p): spec.hostPorts: pspc cannot "
                      "represent this value exactly (it would read it back as `deny host "
                      "ports`)")]
