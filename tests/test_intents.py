"""The IR: what each intent means once resolved, extends and phases, bindings and origins."""

from __future__ import annotations

import pytest

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics, Span
from pspc.model import ir
from pspc.model.ir import HostPath, IdPolicy, IdRange, Origin, Rule, RuntimeClass, SELinux
from pspc.model.resolve import compile_files, stdlib_sources
from pspc.syntax.parser import parse_text

ALL_VOLUMES = tuple(sorted(voc.VOLUME_TYPES))


# -- helpers --------------------------------------------------------------------------------


def compile_texts(*texts: str) -> tuple[dict[str, ir.Policy], Diagnostics]:
    """Compile sources named f0.pspc, f1.pspc...; the policies by name and the diagnostics."""
    diags = Diagnostics()
    files = [parse_text(text, f"f{i}.pspc", diags) for i, text in enumerate(texts)]
    assert not diags.has_errors, [f"{d.span} {d.message}" for d in diags.items]
    program = compile_files(files, diags)
    return {p.name: p for p in program.policies}, diags


def compile_ok(*texts: str) -> dict[str, ir.Policy]:
    policies, diags = compile_texts(*texts)
    assert not diags.has_errors, [f"{d.span} {d.code} {d.message}" for d in diags.items]
    return policies


def policy(body: str, extends: str | None = "baseline") -> ir.Policy:
    """One policy `p` with `body` (statements on lines 2...), extending `extends`."""
    head = f"policy p extends {extends} {{" if extends else "policy p {"
    return compile_ok(f"{head}\n{body}\n}}\n")["p"]


def errors(text: str) -> list[tuple[str, int, int]]:
    _, diags = compile_texts(text)
    return [(d.code, d.span.line, d.span.column) for d in diags.items if d.code.startswith("E")]


def locate(text: str, needle: str, file: str) -> Span:
    """The span of the line in `text` that starts with `needle` (after indentation)."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(needle):
            column = len(line) - len(stripped) + 1
            return Span(file, number, column, number, len(line) + 1)
    raise AssertionError(f"{needle!r} not in {file}")


def stdlib_span(name: str, needle: str) -> Span:
    path = f"stdlib/{name}.pspc"
    return locate(stdlib_sources()[path], needle, path)


# -- each intent's IR field --------------------------------------------------------------------


def test_description():
    assert policy('description "Only for CI runners"').description == "Only for CI runners"


def test_privileged_allow_and_deny():
    assert policy("allow privileged").privileged is True
    assert policy("deny privileged", extends="privileged").privileged is False


def test_host_namespaces_one_by_one_and_all():
    p = policy("allow host network, ipc")
    assert (p.host_network, p.host_pid, p.host_ipc) == (True, False, True)
    p = policy("allow host namespaces")
    assert (p.host_network, p.host_pid, p.host_ipc) == (True, True, True)
    p = policy("deny host pid", extends="privileged")
    assert (p.host_network, p.host_pid, p.host_ipc) == (True, False, True)
    p = policy("deny host namespaces", extends="privileged")
    assert (p.host_network, p.host_pid, p.host_ipc) == (False, False, False)


@pytest.mark.parametrize(("statement", "ports"), [
    ("allow host ports any", (IdRange(0, 65535),)),
    ("allow host ports", (IdRange(0, 65535),)),
    ("allow host ports 8080, 80..90, 0", (IdRange(8080, 8080), IdRange(80, 90), IdRange(0, 0))),
    ("deny host ports", ()),
])
def test_host_ports_keep_the_written_order(statement, ports):
    assert policy(statement, extends="privileged").host_ports == ports


def test_baseline_allows_no_host_ports():
    assert policy("").host_ports == ()


@pytest.mark.parametrize(("statement", "volumes"), [
    ("volumes any", ("*",)),
    ("volumes none", ()),
    ("volumes secret, configMap, secret", ("configMap", "secret")),
])
def test_volumes_whole_list(statement, volumes):
    assert policy(statement, extends="restricted").volumes == volumes


def test_allow_and_deny_volumes_change_the_inherited_list():
    p = policy("allow volumes nfs, hostPath\ndeny volumes csi, ephemeral", extends="restricted")
    assert p.volumes == ("configMap", "downwardAPI", "emptyDir", "hostPath", "nfs",
                         "persistentVolumeClaim", "projected", "secret")


def test_allow_volume_under_any_keeps_the_wildcard():
    assert policy("allow volumes nfs", extends="privileged").volumes == ("*",)


def test_deny_volume_under_any_expands_the_wildcard():
    p = policy("deny volumes gitRepo, hostPath", extends="privileged")
    assert p.volumes == tuple(v for v in ALL_VOLUMES if v not in ("gitRepo", "hostPath"))
    assert "*" not in p.volumes


def test_phases_make_statement_order_irrelevant():
    # whole list first, then additions, then removals: a removal always wins
    a = policy("deny volumes secret\nallow volumes nfs\nvolumes secret, configMap",
               extends="restricted")
    b = policy("volumes secret, configMap\nallow volumes nfs\ndeny volumes secret",
               extends="restricted")
    assert a.volumes == b.volumes == ("configMap", "nfs")


def test_volumes_any_then_deny_host_paths_expands_the_list():
    p = policy("volumes any\ndeny host paths", extends="restricted")
    assert p.volumes == tuple(v for v in ALL_VOLUMES if v != "hostPath")
    assert p.allowed_host_paths == ()


def test_baseline_is_every_volume_but_host_path():
    assert policy("").volumes == tuple(v for v in ALL_VOLUMES if v != "hostPath")


def test_allow_and_deny_the_same_volume_in_one_policy_is_e010():
    assert errors("policy p extends baseline {\n  allow volumes nfs\n  deny volumes nfs\n}\n") \
        == [("E010", 3, 16)]


def test_allow_in_parent_and_deny_in_child_is_fine():
    policies = compile_ok("policy a extends restricted { allow volumes nfs }\n"
                          "policy b extends a { deny volumes nfs }\n")
    assert "nfs" in policies["a"].volumes
    assert "nfs" not in policies["b"].volumes


def test_only_via_pvc_allows_claims_and_denies_the_inline_type():
    p = policy("volumes configMap\nallow nfs only via pvc", extends="restricted")
    assert p.volumes == ("configMap", "persistentVolumeClaim")
    p = policy("allow nfs only via pvc", extends="privileged")
    assert p.volumes == tuple(v for v in ALL_VOLUMES if v != "nfs")


def test_allow_host_paths_sets_prefixes_and_allows_host_path_volumes():
    p = policy("allow host paths /var/log read-only, /data", extends="restricted")
    assert p.allowed_host_paths == (HostPath("/data", False), HostPath("/var/log", True))
    assert "hostPath" in p.volumes


def test_deny_host_paths_clears_prefixes_and_the_volume_type():
    policies = compile_ok("policy a extends baseline { allow host paths /var/log }\n"
                          "policy b extends a { deny host paths }\n"
                          "policy c extends a { deny volumes hostPath }\n")
    assert policies["a"].allowed_host_paths == (HostPath("/var/log", False),)
    for name in ("b", "c"):
        assert policies[name].allowed_host_paths == ()
        assert "hostPath" not in policies[name].volumes


def test_flex_volumes_and_csi_drivers_also_allow_their_volume_type():
    p = policy("allow flex volumes example/lvm, acme/cifs\n"
               "allow csi drivers secrets-store.csi.k8s.io", extends="restricted")
    assert p.allowed_flex_volumes == ("acme/cifs", "example/lvm")
    assert p.allowed_csi_drivers == ("secrets-store.csi.k8s.io",)
    assert {"flexVolume", "csi"} <= set(p.volumes)


@pytest.mark.parametrize(("statement", "strategy"), [
    ("run as user any", IdPolicy(Rule.RUN_AS_ANY)),
    ("run as user 1000..2000, 500", IdPolicy(Rule.MUST_RUN_AS,
                                              (IdRange(1000, 2000), IdRange(500, 500)))),
    ("run as non-root", IdPolicy(Rule.MUST_RUN_AS_NON_ROOT)),
    ("deny root", IdPolicy(Rule.MUST_RUN_AS_NON_ROOT)),
])
def test_run_as_user(statement, strategy):
    assert policy(statement).run_as_user == strategy


@pytest.mark.parametrize("field", ["run_as_group", "supplemental_groups", "fs_group"])
@pytest.mark.parametrize(("argument", "strategy"), [
    ("any", IdPolicy(Rule.RUN_AS_ANY)),
    ("1..65535", IdPolicy(Rule.MUST_RUN_AS, (IdRange(1, 65535),))),
    ("2000, 10..20 if set", IdPolicy(Rule.MAY_RUN_AS, (IdRange(2000, 2000), IdRange(10, 20)))),
    ("0..2147483647", IdPolicy(Rule.MUST_RUN_AS, (IdRange(0, 2**31 - 1),))),
])
def test_group_strategies(field, argument, strategy):
    assert getattr(policy(f"{field.replace('_', ' ')} {argument}"), field) == strategy


def test_run_as_group_is_unset_unless_stated():
    assert policy("").run_as_group is None


def test_root_filesystem():
    assert policy("require read-only root filesystem").read_only_root_filesystem is True
    policies = compile_ok("policy a extends baseline { require read-only root filesystem }\n"
                          "policy b extends a { allow writable root filesystem }\n")
    assert policies["b"].read_only_root_filesystem is False


def test_privilege_escalation_and_its_default():
    p = policy("default deny privilege escalation")
    assert (p.allow_privilege_escalation, p.default_allow_privilege_escalation) == (True, False)
    p = policy("default allow privilege escalation")
    assert p.default_allow_privilege_escalation is True
    p = policy("deny privilege escalation")
    assert (p.allow_privilege_escalation, p.default_allow_privilege_escalation) == (False, None)


@pytest.mark.parametrize(("statement", "field", "value"), [
    ("allow capabilities any", "allowed_capabilities", ("*",)),
    ("allow capabilities none", "allowed_capabilities", ()),
    ("allow capabilities SYS_TIME, NET_ADMIN, SYS_TIME", "allowed_capabilities",
     ("NET_ADMIN", "SYS_TIME")),
    ("allow capabilities ALL", "allowed_capabilities", ("ALL",)),
    ("add capabilities NET_BIND_SERVICE, CHOWN by default", "default_add_capabilities",
     ("CHOWN", "NET_BIND_SERVICE")),
    ("add capabilities none by default", "default_add_capabilities", ()),
    ("drop capabilities ALL", "required_drop_capabilities", ("ALL",)),
    ("drop capabilities NET_RAW, MKNOD", "required_drop_capabilities", ("MKNOD", "NET_RAW")),
    ("drop capabilities none", "required_drop_capabilities", ()),
])
def test_capabilities(statement, field, value):
    assert getattr(policy(statement), field) == value


def test_selinux():
    assert policy("selinux any", extends="restricted").selinux == SELinux(Rule.RUN_AS_ANY)
    p = policy('selinux user system_u role system_r type container_t level "s0:c1,c2"')
    assert p.selinux == SELinux(Rule.MUST_RUN_AS, level="s0:c1,c2", role="system_r",
                                type="container_t", user="system_u")


def test_proc_mount():
    assert policy("allow unmasked proc mount").allowed_proc_mount_types == ("Default", "Unmasked")
    assert policy("deny unmasked proc mount").allowed_proc_mount_types == ()
    assert policy("").allowed_proc_mount_types == ()


def test_sysctls_with_globs():
    p = policy("allow unsafe sysctls net.core.*, kernel.msg*, kernel.msg*\n"
               "deny sysctls kernel.shm*, net.ipv4.tcp_syncookies")
    assert p.allowed_unsafe_sysctls == ("kernel.msg*", "net.core.*")
    assert p.forbidden_sysctls == ("kernel.shm*", "net.ipv4.tcp_syncookies")
    assert policy("deny sysctls any").forbidden_sysctls == ("*",)
    assert policy("deny sysctls *").forbidden_sysctls == ("*",)
    assert policy("allow unsafe sysctls none").allowed_unsafe_sysctls == ()


def test_runtime_classes_and_default_in_any_order():
    expected = RuntimeClass(("gvisor", "kata"), "gvisor")
    assert policy("allow runtime classes kata, gvisor\ndefault runtime class gvisor") \
        .runtime_class == expected
    assert policy("default runtime class gvisor\nallow runtime classes kata, gvisor") \
        .runtime_class == expected
    assert policy("allow runtime classes any").runtime_class == RuntimeClass(("*",))
    assert policy("").runtime_class is None


def test_runtime_class_default_survives_a_new_allow_list_in_a_child():
    policies = compile_ok("policy a extends baseline {\n"
                          "  allow runtime classes gvisor\n  default runtime class gvisor\n}\n"
                          "policy b extends a { allow runtime classes gvisor, kata }\n")
    assert policies["b"].runtime_class == RuntimeClass(("gvisor", "kata"), "gvisor")


def test_seccomp_profiles():
    p = policy("allow seccomp profiles runtime/default, localhost/a.json, runtime/default\n"
               "default seccomp profile localhost/a.json")
    assert p.seccomp_allowed == ("runtime/default", "localhost/a.json", "runtime/default")
    assert p.seccomp_default == "localhost/a.json"
    assert policy("allow seccomp profiles any").seccomp_allowed == ("*",)
    p = policy("allow seccomp profiles none", extends="restricted")
    assert p.seccomp_allowed is None


def test_apparmor_profiles():
    p = policy("allow apparmor profiles runtime/default, localhost/k8s-nginx\n"
               "default apparmor profile localhost/k8s-nginx")
    assert p.apparmor_allowed == ("runtime/default", "localhost/k8s-nginx")
    assert p.apparmor_default == "localhost/k8s-nginx"
    assert policy("allow apparmor profiles any", extends="privileged").apparmor_allowed is None


def test_annotations_sorted_and_overridden_by_key():
    policies = compile_ok('policy a extends baseline {\n  annotation "z.io/k" "1"\n'
                          '  annotation "a.io/k" "2"\n}\n'
                          'policy b extends a { annotation "z.io/k" "3" }\n')
    assert policies["a"].annotations == (("a.io/k", "2"), ("z.io/k", "1"))
    assert policies["b"].annotations == (("a.io/k", "2"), ("z.io/k", "3"))


# -- extends ----------------------------------------------------------------------------------


def test_extends_stdlib_privileged():
    p = policy("", extends="privileged")
    assert p.extends == ("stdlib:privileged",)
    assert (p.privileged, p.allow_privilege_escalation) == (True, True)
    assert (p.host_network, p.host_pid, p.host_ipc) == (True, True, True)
    assert p.host_ports == (IdRange(0, 65535),)
    assert p.volumes == ("*",)
    assert p.allowed_capabilities == ("*",)
    assert p.required_drop_capabilities == ()
    assert p.run_as_user == p.supplemental_groups == p.fs_group == IdPolicy(Rule.RUN_AS_ANY)
    assert p.selinux == SELinux(Rule.RUN_AS_ANY)
    assert (p.seccomp_allowed, p.seccomp_default) == (("*",), None)
    assert (p.apparmor_allowed, p.apparmor_default) == (None, None)


def test_extends_stdlib_baseline():
    p = policy("")
    assert p.extends == ("stdlib:baseline",)
    assert (p.privileged, p.allow_privilege_escalation) == (False, True)
    assert p.allowed_capabilities == (
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
    assert "NET_RAW" not in p.allowed_capabilities
    assert (p.host_network, p.host_pid, p.host_ipc, p.host_ports) == (False, False, False, ())
    assert p.allowed_host_paths == ()
    assert p.run_as_user == IdPolicy(Rule.RUN_AS_ANY)
    assert p.seccomp_allowed == ("runtime/default", "docker/default")
    assert p.seccomp_default == "runtime/default"
    assert (p.apparmor_allowed, p.apparmor_default) == (("runtime/default",), "runtime/default")


def test_extends_stdlib_restricted():
    p = policy("", extends="restricted")
    assert p.extends == ("stdlib:restricted",)
    assert (p.privileged, p.allow_privilege_escalation) == (False, False)
    assert p.required_drop_capabilities == ("ALL",)
    assert p.allowed_capabilities == ()
    assert p.volumes == ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                         "persistentVolumeClaim", "projected", "secret")
    assert p.run_as_user == IdPolicy(Rule.MUST_RUN_AS_NON_ROOT)
    assert p.supplemental_groups == p.fs_group == IdPolicy(Rule.MUST_RUN_AS, (IdRange(1, 65535),))
    assert p.seccomp_allowed == ("docker/default", "runtime/default")
    assert p.seccomp_default is None
    assert p.read_only_root_filesystem is False


def test_description_is_not_inherited():
    policies = compile_ok('policy a extends baseline { description "A" }\n'
                          "policy b extends a { deny privileged }\n")
    assert policies["a"].description == "A"
    assert policies["b"].description is None
    assert "description" not in policies["b"].origins
    assert policy("", extends="restricted").description is None


def test_override_in_a_child_wins_over_the_parent():
    p = policy("deny privileged\ndeny host namespaces\ndrop capabilities ALL\n"
               "allow capabilities none", extends="privileged")
    assert (p.privileged, p.host_network, p.host_pid, p.host_ipc) == (False,) * 4
    assert (p.allowed_capabilities, p.required_drop_capabilities) == ((), ("ALL",))


def test_extends_chain_through_local_policies():
    policies = compile_ok("policy a extends baseline { deny privilege escalation }\n"
                          "policy b extends a { allow host ports 80 }\n"
                          "policy c extends b { drop capabilities ALL }\n")
    c = policies["c"]
    assert c.extends == ("b", "a", "stdlib:baseline")
    assert policies["a"].extends == ("stdlib:baseline",)
    assert (c.allow_privilege_escalation, c.host_ports, c.required_drop_capabilities) == (
        False, (IdRange(80, 80),), ("ALL",))


def test_extends_a_policy_in_another_file_and_order_does_not_matter():
    policies = compile_ok("policy child extends parent { allow host ports 443 }\n",
                          "policy parent extends restricted { fs group any }\n")
    assert policies["child"].extends == ("parent", "stdlib:restricted")
    assert policies["child"].fs_group == IdPolicy(Rule.RUN_AS_ANY)
    assert policies["child"].source == "f0.pspc"
    assert policies["parent"].source == "f1.pspc"


def test_local_policy_shadows_the_stdlib_one():
    policies = compile_ok("policy baseline extends privileged { deny host namespaces }\n"
                          "policy child extends baseline {}\n")
    assert policies["child"].extends == ("baseline", "stdlib:privileged")
    assert policies["child"].privileged is True
    assert policies["child"].host_network is False


def test_a_policy_extending_its_own_name_extends_the_stdlib_one():
    policies = compile_ok("policy restricted extends restricted { fs group any }\n")
    p = policies["restricted"]
    assert p.extends == ("stdlib:restricted",)
    assert p.fs_group == IdPolicy(Rule.RUN_AS_ANY)
    assert p.run_as_user == IdPolicy(Rule.MUST_RUN_AS_NON_ROOT)


def test_policy_without_extends_starts_closed():
    p = policy("run as user any\nsupplemental groups any\nfs group any\nselinux any",
               extends=None)
    assert p.extends == ()
    assert (p.privileged, p.allow_privilege_escalation, p.host_network) == (False,) * 3
    assert (p.volumes, p.allowed_capabilities, p.host_ports) == ((), (), ())
    assert (p.seccomp_allowed, p.apparmor_allowed, p.runtime_class) == (None, None, None)


def test_policies_come_out_sorted_by_name_with_their_source():
    diags = Diagnostics()
    files = [parse_text("policy zeta extends baseline {}\npolicy alpha extends baseline {}",
                        "x.pspc", diags)]
    program = compile_files(files, diags)
    assert [p.name for p in program.policies] == ["alpha", "zeta"]
    assert {p.source for p in program.policies} == {"x.pspc"}
    assert program.policies[0].span == Span("x.pspc", 2, 1, 2, 33)
    assert "x.pspc" in program.sources and "stdlib/baseline.pspc" in program.sources


# -- bindings ---------------------------------------------------------------------------------


def bindings(text: str) -> list[tuple[str, str, str | None, str | None]]:
    (p,) = compile_ok("policy p extends baseline {}\n" + text).values()
    return [(b.subject.kind, b.subject.name, b.subject.namespace, b.namespace)
            for b in p.bindings]


@pytest.mark.parametrize(("text", "expected"), [
    ("bind p to user alice", [("User", "alice", None, None)]),
    ("bind p to user alice in namespace dev", [("User", "alice", None, "dev")]),
    ("bind p to group system:authenticated", [("Group", "system:authenticated", None, None)]),
    ("bind p to service account kube-system/replicaset-controller",
     [("ServiceAccount", "replicaset-controller", "kube-system", None)]),
    ("bind p to service account ci/runner in namespace ci",
     [("ServiceAccount", "runner", "ci", "ci")]),
    ("bind p to service accounts in namespace research",
     [("Group", "system:serviceaccounts:research", None, "research")]),
    ("bind p to all service accounts", [("Group", "system:serviceaccounts", None, None)]),
    ("bind p to all service accounts in namespaces b, a",
     [("Group", "system:serviceaccounts", None, "a"),
      ("Group", "system:serviceaccounts", None, "b")]),
])
def test_binding_subjects_and_namespaces(text, expected):
    assert bindings(text) == expected


def test_bindings_are_sorted_and_deduplicated():
    text = ("bind p to user zed, group admins in namespaces prod, dev\n"
            "bind p to user zed in namespace dev\n"
            "bind p to service account kube-system/job-controller\n")
    assert bindings(text) == [
        ("ServiceAccount", "job-controller", "kube-system", None),
        ("Group", "admins", None, "dev"),
        ("User", "zed", None, "dev"),
        ("Group", "admins", None, "prod"),
        ("User", "zed", None, "prod"),
    ]


def test_binding_span_is_the_subject_and_bindings_may_live_in_another_file():
    policies = compile_ok("policy p extends baseline {}\n",
                          "# bindings\nbind p to user alice, service accounts in namespace ns\n")
    cluster_wide, in_ns = policies["p"].bindings
    assert (cluster_wide.subject, cluster_wide.namespace) == (ir.Subject("User", "alice"), None)
    assert cluster_wide.span == Span("f1.pspc", 2, 11, 2, 21)
    assert in_ns.subject == ir.Subject("Group", "system:serviceaccounts:ns")
    assert in_ns.span == Span("f1.pspc", 2, 23, 2, 55)


def test_unbound_policy_has_no_bindings():
    assert policy("").bindings == ()


# -- origins ----------------------------------------------------------------------------------


def test_origin_of_an_inherited_value_is_the_stdlib_statement():
    p = policy("", extends="restricted")
    assert p.origins["privileged"] == Origin("stdlib:restricted",
                                             stdlib_span("restricted", "deny privileged"))
    assert p.origins["run_as_user"] == Origin("stdlib:restricted",
                                              stdlib_span("restricted", "run as non-root"))
    assert p.origins["volumes"].span.file == "stdlib/restricted.pspc"


def test_origin_of_an_overridden_value_is_the_local_statement():
    p = policy("  allow host network\n  run as user 1000", extends="restricted")
    assert p.origins["host_network"] == Origin("p", Span("f0.pspc", 2, 3, 2, 21))
    assert p.origins["run_as_user"] == Origin("p", Span("f0.pspc", 3, 3, 3, 19))
    namespaces = stdlib_span("restricted", "deny host namespaces")
    assert p.origins["host_pid"] == p.origins["host_ipc"] == Origin("stdlib:restricted", namespaces)


def test_origin_through_a_local_parent_names_that_parent():
    policies = compile_ok("policy a extends baseline {\n  allow host ports 80\n}\n"
                          "policy b extends a {\n  deny privileged\n}\n")
    b = policies["b"]
    assert b.origins["host_ports"] == Origin("a", Span("f0.pspc", 2, 3, 2, 22))
    assert b.origins["privileged"] == Origin("b", Span("f0.pspc", 5, 3, 5, 18))
    assert b.origins["allowed_capabilities"].policy == "stdlib:baseline"


def test_origin_of_a_volume_change_is_the_word_or_statement_that_made_it():
    p = policy("  volumes any\n  deny host paths", extends="restricted")
    assert p.origins["volumes"] == Origin("p", Span("f0.pspc", 3, 3, 3, 18))
    assert p.origins["allowed_host_paths"] == Origin("p", Span("f0.pspc", 3, 3, 3, 18))
    p = policy("  deny volumes csi", extends="restricted")
    assert p.origins["volumes"] == Origin("p", Span("f0.pspc", 2, 16, 2, 19))


def test_fields_never_stated_have_no_origin():
    p = policy("", extends="privileged")
    for field in ("run_as_group", "runtime_class", "apparmor_allowed", "description",
                  "default_allow_privilege_escalation", "annotations"):
        assert field not in p.origins
    assert set(p.origins) <= set(ir.INTENT_FIELDS)


def test_origins_do_not_take_part_in_policy_equality():
    a = compile_ok("policy p extends baseline { deny privileged }\n")["p"]
    b = compile_ok("\n\npolicy p extends baseline {\n\n  deny privileged\n}\n")["p"]
    assert a.origins["privileged"] != b.origins["privileged"]
    assert a == b


def test_inherited_origin_is_told_apart_when_a_local_policy_reuses_the_stdlib_name():
    # `policy restricted extends restricted` tightens the shipped policy under the same name;
    # explain and the checks must still see which values came from the stdlib.
    p = compile_ok("policy restricted extends restricted {\n  fs group any\n}\n")["restricted"]
    inherited = p.origins["run_as_user"]
    assert inherited.span == stdlib_span("restricted", "run as non-root")
    assert inherited.policy != p.origins["fs_group"].policy
    assert p.origins["fs_group"] == Origin("restricted", Span("f0.pspc", 2, 3, 2, 15))
