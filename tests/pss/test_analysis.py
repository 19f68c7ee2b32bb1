"""Which PSS level each policy fits: stdlib, the seed examples, and one policy per intent.

The pods a policy admits are those its PodSecurityPolicy admits and that meet its intents
beyond PSP (ir.BEYOND_PSP: `allow selinux types`, `require explicit non-root`), which the
stdlib baseline and restricted policies state so that they fit their levels exactly. The
PodSecurityPolicy-only forms of those two (`psp-baseline`, `psp-restricted`: the Kubernetes
documentation's baseline-psp.yaml and restricted-psp.yaml) show what PSP alone cannot reach.

Three kinds of evidence:
* exact levels, blockers and gaps for the shipped and example policies (justified inline);
* witness pods: the PSP simulator admits them unchanged and PSA rejects them, so the
  blockers that surprise (run as non-root, UID ranges) are real;
* a derandomized search: for every pod a policy's PodSecurityPolicy admits (after its
  mutation, in the full API-server pipeline that syncs seccomp annotations and fields),
  each PSS check that rejects it was predicted by `conflicts`.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from itertools import combinations_with_replacement

import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pspc.admission.pipeline import FeatureGates, Pipeline
from pspc.admission.pod import iter_containers
from pspc.admission.rbac import RBACAuthorizer
from pspc.compiler import compile
from pspc.diagnostics import Diagnostics
from pspc.engines.psp import BOOTSTRAP_RBAC, DEFAULT_REQUESTER, PspEngine, PspOptions
from pspc.model import ir
from pspc.model.resolve import compile_files, stdlib_sources
from pspc.pss import evaluate_pod
from pspc.pss.analysis import CONFLICTS, conflicts, gaps, recommend_level
from pspc.pss.controls import PodView
from pspc.pss.levels import CHECKS, checks_for, parse_version, rules_for
from pspc.syntax.parser import parse_text
from pspc.targets.psp import manifest
from pspc.validation.interpret import passes
from pspc.validation.requirements import requirements
from pspc.workloads import PodRequest

# -- policies --------------------------------------------------------------------------------


def compile_text(text: str) -> dict[str, ir.Policy]:
    diags = Diagnostics()
    parsed = parse_text(text, "test.pspc", diags)
    program = compile_files([parsed], diags)
    assert not diags.has_errors, [str(d.message) for d in diags.items]
    return {p.name: p for p in program.policies}


@cache
def stdlib() -> dict[str, ir.Policy]:
    """The shipped policies, through `policy x extends x {}` as a user would reach them."""
    return compile_text("\n".join(f"policy {name} extends {name} {{}}"
                                  for name in ("privileged", "baseline", "restricted")))


@cache
def example(seed: str) -> dict[str, ir.Policy]:
    compilation = compile([str(EXAMPLES / seed)])
    assert not compilation.diagnostics.has_errors
    return {p.name: p for p in compilation.program.policies}


def psp_only(name: str) -> str:
    """The stdlib policy `name` without its intents beyond PSP, as `policy psp-<name>`."""
    text = stdlib_sources()[f"stdlib/{name}.pspc"]
    kept = [line for line in text.splitlines()
            if not line.strip().startswith(("allow selinux types", "require explicit",
                                            "conform to pod security standard"))]
    return "\n".join(kept).replace(f"policy {name} {{", f"policy psp-{name} {{") + "\n"


def one(statements: str, parent: str = "psp-baseline") -> ir.Policy:
    """A policy of the given statements over `parent`, SELinux pinned to container_t.

    `selinux any` admits spc_t and custom users, so without this pin neither PSP-only base
    (psp-baseline, psp-restricted) fits baseline and no other intent could be seen on its
    own; the stdlib bases fit their levels either way. The default base is PSP-only, so
    that each intent is seen without the stdlib's intents beyond PSP.
    """
    pin = "" if "selinux" in statements else "selinux type container_t\n "
    base = psp_only(parent[len("psp-"):]) if parent.startswith("psp-") else ""
    return compile_text(f"{base}policy p extends {parent} {{\n {pin}{statements}\n}}")["p"]


@cache
def psp_stdlib() -> dict[str, ir.Policy]:
    """psp-baseline and psp-restricted on their own."""
    return compile_text(psp_only("baseline") + psp_only("restricted"))


def blockers(report) -> set[tuple[str, str, str]]:
    return {(c.level, c.check, c.field) for c in report.blockers}


def gap_fields(report) -> list[str]:
    return [g.field for g in report.gaps]


# Restricted is out of reach for every PodSecurityPolicy: PSA requires runAsNonRoot: true,
# which PSP only sets when runAsUser is unset too, and rejects a pod-level runAsUser: 0 that
# PSP lets every container override. These two are in every restricted blocker list.
RUN_AS = {("restricted", "runAsNonRoot", "run_as_user"), ("restricted", "runAsUser", "run_as_user")}
SELINUX_ANY = {("baseline", "seLinuxOptions", "selinux"),
               ("restricted", "seLinuxOptions", "selinux")}


# -- stdlib and examples ---------------------------------------------------------------------


def test_stdlib_privileged_is_privileged() -> None:
    report = recommend_level(stdlib()["privileged"], "latest")
    assert report.level == "privileged"
    assert blockers(report) == {
        (level, check, field) for level in ("baseline", "restricted") for check, field in (
            ("privileged", "privileged"), ("hostNamespaces", "host_network"),
            ("hostNamespaces", "host_pid"), ("hostNamespaces", "host_ipc"),
            ("hostPorts", "host_ports"), ("seLinuxOptions", "selinux"),
            ("appArmorProfile", "apparmor_allowed"), ("windowsHostProcess", "host_network"))
    } | {
        ("baseline", "hostPathVolumes", "volumes"),
        ("baseline", "capabilities_baseline", "allowed_capabilities"),
        ("baseline", "seccompProfile_baseline", "seccomp_allowed"),
        ("restricted", "restrictedVolumes", "volumes"),
        ("restricted", "capabilities_restricted", "allowed_capabilities"),
        ("restricted", "capabilities_restricted", "required_drop_capabilities"),
        ("restricted", "seccompProfile_restricted", "seccomp_allowed"),
        ("restricted", "allowPrivilegeEscalation", "allow_privilege_escalation"),
    } | RUN_AS
    # It still refuses Unmasked /proc and unsafe sysctls, which privileged PSA admits.
    assert gap_fields(report) == ["allowed_proc_mount_types", "allowed_unsafe_sysctls"]


def test_stdlib_baseline_is_baseline() -> None:
    """It conforms to baseline at the build's version: no blocker but the level, no gap."""
    report = recommend_level(stdlib()["baseline"], "v1.30")
    assert report.level == "baseline"
    assert blockers(report) == {("restricted", "level", "pod_security_standard")}
    assert report.caveats == () and report.gaps == ()
    # An older or newer version is another set of checks: v1.37 also checks probe hosts
    # (v1.34), so PSA baseline v1.37 rejects pods that baseline v1.30 admits.
    assert recommend_level(stdlib()["baseline"], "v1.29").level == "baseline"
    latest = recommend_level(stdlib()["baseline"], "latest")
    assert latest.level == "privileged"
    assert [g.field for g in latest.gaps] == ["pod_security_standard"]
    assert latest.gaps[0].intent == "conform to pod security standard baseline"


def test_stdlib_restricted_is_restricted() -> None:
    report = recommend_level(stdlib()["restricted"], "v1.30")
    assert report.level == "restricted"
    assert report.blockers == () and report.caveats == () and report.gaps == ()
    # v1.22 lacks v1.23's runAsUser check and v1.29's sysctls: neither level contains it.
    assert recommend_level(stdlib()["restricted"], "v1.22").level == "privileged"
    # Pinned to latest, it is restricted at latest.
    pinned = one("conform to pod security standard restricted latest", "restricted")
    assert recommend_level(pinned, "latest").level == "restricted"


def test_a_policy_with_a_level_keeps_the_gaps_of_what_it_states() -> None:
    policy = one("run as user 1000\n fs group 2000", "restricted")  # and `selinux type`
    assert gap_fields(recommend_level(policy, "v1.30")) == ["run_as_user", "fs_group",
                                                            "selinux"]


def test_the_psp_only_forms_are_held_back_by_selinux_any_and_run_as_non_root() -> None:
    baseline = recommend_level(psp_stdlib()["psp-baseline"], "latest")
    assert baseline.level == "privileged"
    assert {b for b in blockers(baseline) if b[0] == "baseline"} == {
        ("baseline", "seLinuxOptions", "selinux")}
    assert next(b for b in baseline.blockers if b.check == "seLinuxOptions").intent == \
        "selinux any"
    restricted = recommend_level(psp_stdlib()["psp-restricted"], "latest")
    assert restricted.level == "privileged"
    assert blockers(restricted) == SELINUX_ANY | RUN_AS
    run_as = [b for b in restricted.blockers if b.field == "run_as_user"]
    assert [b.intent for b in run_as] == ["run as non-root", "run as non-root"]


def test_stdlib_levels_with_selinux_pinned() -> None:
    assert recommend_level(one("", "baseline"), "v1.30").level == "baseline"
    assert recommend_level(one("", "restricted"), "v1.30").level == "restricted"
    for parent in ("psp-baseline", "psp-restricted"):
        report = recommend_level(one("", parent), "latest")
        assert report.level == "baseline"
        assert [(c.check, c.field) for c in report.caveats] == [
            ("hostProbesAndHostLifecycle", None)]
    assert blockers(recommend_level(one("", "psp-restricted"), "latest")) == RUN_AS


def test_seed_000_extends_stdlib_restricted_and_fits_restricted() -> None:
    # Its narrower volume list and `default seccomp profile` are gaps, not blockers.
    report = recommend_level(example("seed-000-metakube")["psp-restricted"], "v1.30")
    assert report.level == "restricted"
    assert report.blockers == ()
    assert {"volumes", "seccomp_default"} <= set(gap_fields(report))


@pytest.mark.parametrize(("seed", "name", "restricted_blockers"), [
    # 100-psp adds no capability but drops none: capabilities_restricted wants drop ALL.
    ("seed-001-psp-by-example", "100-psp", SELINUX_ANY | RUN_AS | {
        ("restricted", "capabilities_restricted", "required_drop_capabilities")}),
    # Seed 003 writes its own "restricted" without seccomp or AppArmor annotations: no
    # AppArmor allow-list admits Unconfined, and no seccomp allow-list admits no profile.
    ("seed-003-use-psp", "restricted", SELINUX_ANY | RUN_AS | {
        ("baseline", "appArmorProfile", "apparmor_allowed"),
        ("restricted", "appArmorProfile", "apparmor_allowed"),
        ("restricted", "allowPrivilegeEscalation", "allow_privilege_escalation"),
        ("restricted", "capabilities_restricted", "required_drop_capabilities"),
        ("restricted", "seccompProfile_restricted", "seccomp_allowed")}),
    # Seed 004 pins UIDs (never runAsNonRoot) and, like seed 003, has no profile annotations.
    ("seed-004-shared-nfs", "shared-nfs", SELINUX_ANY | RUN_AS | {
        ("baseline", "appArmorProfile", "apparmor_allowed"),
        ("restricted", "appArmorProfile", "apparmor_allowed"),
        ("restricted", "seccompProfile_restricted", "seccomp_allowed")}),
])
def test_restricted_looking_examples_are_privileged(seed, name, restricted_blockers) -> None:
    report = recommend_level(example(seed)[name], "latest")
    assert report.level == "privileged"
    assert blockers(report) == restricted_blockers


@pytest.mark.parametrize(("seed", "name"), [
    # Host namespaces, any capability, any volume: nothing baseline-like.
    ("seed-001-psp-by-example", "200-psp"),
    # Both ACK templates extend stdlib privileged: any capability, any seccomp profile.
    ("seed-002-ack", "privileged-restricted"),
    ("seed-002-ack", "privileged-root-volumes-restricted"),
])
def test_privileged_examples_are_privileged(seed, name) -> None:
    report = recommend_level(example(seed)[name], "latest")
    assert report.level == "privileged"
    assert ("baseline", "capabilities_baseline", "allowed_capabilities") in blockers(report)


def test_every_example_policy_is_analysed() -> None:
    levels = {(d.name, p): recommend_level(example(d.name)[p], "v1.30").level
              for d in sorted(EXAMPLES.iterdir()) if d.is_dir() for p in example(d.name)}
    # Only seed 000 and profiles-fleet build on stdlib restricted; every other example writes
    # its own policy with `selinux any` (or extends stdlib privileged), which baseline rejects.
    assert levels == {
        ("seed-000-metakube", "psp-restricted"): "restricted",
        ("seed-001-psp-by-example", "100-psp"): "privileged",
        ("seed-001-psp-by-example", "200-psp"): "privileged",
        ("seed-002-ack", "privileged-restricted"): "privileged",
        ("seed-002-ack", "privileged-root-volumes-restricted"): "privileged",
        ("seed-003-use-psp", "restricted"): "privileged",
        ("seed-004-shared-nfs", "restricted"): "privileged",
        ("seed-004-shared-nfs", "shared-nfs"): "privileged",
        # extends stdlib restricted, like seed 000
        ("profiles-fleet", "shared-nfs"): "restricted",
        ("profiles-fleet", "web"): "restricted",
    }


def test_shared_nfs_gaps_name_its_intents() -> None:
    report = recommend_level(example("seed-004-shared-nfs")["shared-nfs"], "latest")
    gaps = {g.field: g for g in report.gaps}
    assert gaps["run_as_user"].intent == "run as user 32767..32768"
    assert gaps["run_as_user"].sentence == "containers run as UID 32767..32768"
    assert gaps["volumes"].intent == ("volumes configMap, downwardAPI, emptyDir, "
                                      "persistentVolumeClaim, projected, secret")
    assert "nfs" in gaps["volumes"].sentence.split("refuses ")[1]
    assert gaps["supplemental_groups"].sentence == "supplemental groups must be in 32767"
    assert gaps["fs_group"].sentence == "the fsGroup must be in 32767"
    assert gaps["fs_group"].why == "the Pod Security Standards have no control for group IDs"
    assert gap_fields(report) == [
        "privileged", "host_network", "host_pid", "host_ipc", "allow_privilege_escalation",
        "host_ports", "volumes", "run_as_user", "supplemental_groups", "fs_group",
        "allowed_capabilities", "required_drop_capabilities", "allowed_proc_mount_types",
        "allowed_unsafe_sysctls", "seccomp_allowed"]


# -- one intent at a time --------------------------------------------------------------------


@pytest.mark.parametrize(("statements", "version", "level", "extra"), [
    ("", "latest", "baseline", set()),
    ("allow privileged", "latest", "privileged", {("privileged", "privileged")}),
    ("allow host network", "latest", "privileged",
     {("hostNamespaces", "host_network"), ("windowsHostProcess", "host_network")}),
    ("allow host pid", "latest", "privileged", {("hostNamespaces", "host_pid")}),
    ("allow host ports 0", "latest", "baseline", set()),
    ("allow host ports 8000..8080", "latest", "privileged", {("hostPorts", "host_ports")}),
    ("allow host paths /var/log read-only", "latest", "privileged",
     {("hostPathVolumes", "volumes")}),
    ("allow capabilities NET_RAW", "latest", "privileged",
     {("capabilities_baseline", "allowed_capabilities")}),
    ("add capabilities SYS_ADMIN by default", "latest", "privileged",
     {("capabilities_baseline", "default_add_capabilities")}),
    ("allow apparmor profiles runtime/default, unconfined", "latest", "privileged",
     {("appArmorProfile", "apparmor_allowed")}),
    ("allow apparmor profiles any", "latest", "privileged",
     {("appArmorProfile", "apparmor_allowed")}),
    ("allow seccomp profiles unconfined, runtime/default", "latest", "privileged",
     {("seccompProfile_baseline", "seccomp_allowed")}),
    ("allow seccomp profiles any", "v1.18", "privileged",
     {("seccompProfile_baseline", "seccomp_allowed")}),
    ("allow seccomp profiles none", "latest", "baseline", set()),
    ("selinux type spc_t", "latest", "privileged", {("seLinuxOptions", "selinux")}),
    ("selinux type container_t user system_u", "latest", "privileged",
     {("seLinuxOptions", "selinux")}),
    ("selinux type container_engine_t", "v1.30", "privileged", {("seLinuxOptions", "selinux")}),
    ("selinux type container_engine_t", "v1.31", "baseline", set()),
    ("allow unmasked proc mount", "v1.34", "privileged",
     {("procMount", "allowed_proc_mount_types")}),
    # From v1.35 baseline admits Unmasked in user-namespace pods, the only ones the API
    # server lets unmask /proc.
    ("allow unmasked proc mount", "v1.35", "baseline", set()),
    ("allow unsafe sysctls net.ipv4.tcp_keepalive_time", "v1.28", "privileged",
     {("sysctls", "allowed_unsafe_sysctls")}),
    ("allow unsafe sysctls net.ipv4.tcp_keepalive_time", "v1.29", "baseline", set()),
    ("allow unsafe sysctls net.core.*", "latest", "privileged",
     {("sysctls", "allowed_unsafe_sysctls")}),
    ("allow unsafe sysctls net.core.*, kernel.msgmax\n deny sysctls net.*, kernel.msgmax",
     "latest", "baseline", set()),
    # Intents baseline does not check never block it.
    ("run as user any\n allow privilege escalation\n volumes any\n deny host paths\n"
     " require read-only root filesystem\n fs group 5..6", "latest", "baseline", set()),
])
def test_baseline_blockers_by_intent(statements, version, level, extra) -> None:
    report = recommend_level(one(statements), version)
    assert report.level == level
    assert {(check, field) for lvl, check, field in blockers(report)
            if lvl == "baseline"} == extra


@pytest.mark.parametrize(("statements", "version", "extra"), [
    ("", "latest", set()),
    ("allow privilege escalation", "latest",
     {("allowPrivilegeEscalation", "allow_privilege_escalation")}),
    ("allow privilege escalation", "v1.7", set()),
    ("drop capabilities none", "latest",
     {("capabilities_restricted", "required_drop_capabilities")}),
    ("drop capabilities none", "v1.21", set()),
    ("allow capabilities NET_BIND_SERVICE", "latest", set()),
    ("add capabilities NET_BIND_SERVICE by default", "latest", set()),
    ("add capabilities CHOWN by default", "latest",
     {("capabilities_restricted", "default_add_capabilities")}),
    ("allow capabilities CHOWN", "latest", {("capabilities_restricted", "allowed_capabilities")}),
    ("allow capabilities CHOWN", "v1.21", set()),
    ("allow volumes nfs", "latest", {("restrictedVolumes", "volumes")}),
    ("allow seccomp profiles none", "latest",
     {("seccompProfile_restricted", "seccomp_allowed")}),
    ("allow seccomp profiles none", "v1.18", set()),
    ("allow seccomp profiles localhost/p.json", "latest", set()),
    ("allow unmasked proc mount", "latest", {("procMount_restricted", "allowed_proc_mount_types")}),
    # A UID range pins the UID but leaves runAsNonRoot to the pod, like non-root does.
    ("run as user 1000..2000", "latest", set()),
    ("run as user 0..10", "v1.22", set()),
])
def test_restricted_blockers_by_intent(statements, version, extra) -> None:
    report = recommend_level(one(statements, "psp-restricted"), version)
    assert report.level == "baseline"
    found = {(check, field) for lvl, check, field in blockers(report)}
    run_as = {("runAsNonRoot", "run_as_user")} | (
        {("runAsUser", "run_as_user")} if parse_version(version) >= (1, 23) else set())
    assert found == run_as | extra


def test_run_as_blockers_say_why_per_strategy() -> None:
    def sentence(statements: str, check: str) -> str:
        report = recommend_level(one(statements, "psp-restricted"), "latest")
        return next(b.sentence for b in report.blockers if b.check == check)
    assert "set a non-zero runAsUser" in sentence("", "runAsNonRoot")
    assert "never checks runAsNonRoot" in sentence("run as user 5..6", "runAsNonRoot")
    assert sentence("run as user 0..6", "runAsUser") == \
        "admits runAsUser: 0 (its UID ranges include 0)"
    assert "every container overrides" in sentence("run as user 5..6", "runAsUser")


def test_conflicts_cover_every_check_and_privileged_has_none() -> None:
    assert set(CONFLICTS) == {c.id for c in CHECKS}
    assert conflicts(stdlib()["privileged"], "privileged", "latest") == ()


def test_the_probe_host_caveat_starts_at_v1_34() -> None:
    assert recommend_level(one(""), "v1.33").caveats == ()
    caveat, = recommend_level(one(""), "v1.34").caveats
    assert (caveat.level, caveat.check, caveat.field, caveat.intent) == (
        "baseline", "hostProbesAndHostLifecycle", None, None)


# -- gaps ------------------------------------------------------------------------------------


def test_baseline_gaps_of_a_restricted_policy() -> None:
    report = recommend_level(one("run as user 1000..2000\n default seccomp profile "
                                 "runtime/default", "psp-restricted"), "latest")
    assert report.level == "baseline"
    gaps = {g.field: (g.sentence, g.why) for g in report.gaps}
    assert list(gaps) == [
        "allow_privilege_escalation", "volumes", "run_as_user", "supplemental_groups",
        "fs_group", "allowed_capabilities", "required_drop_capabilities", "selinux",
        "allowed_proc_mount_types", "allowed_unsafe_sysctls", "seccomp_allowed",
        "seccomp_default", "apparmor_allowed", "apparmor_default"]
    assert gaps["allow_privilege_escalation"] == (
        "containers may not allow privilege escalation",
        "PSA baseline does not check allowPrivilegeEscalation")
    assert gaps["allowed_proc_mount_types"] == (
        "procMount: Unmasked is refused in every pod",
        "PSA baseline v1.37 admits it in user-namespace pods (hostUsers: false)")
    assert gaps["allowed_unsafe_sysctls"][0].startswith(
        "sysctls net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_fin_timeout")
    assert gaps["seccomp_allowed"][0] == (
        "seccomp refuses pods that name no profile, Localhost profiles not listed")
    assert gaps["seccomp_default"] == (
        "pods that name no seccomp profile get runtime/default",
        "PSA only validates: it never sets a default, so pods must state it themselves")
    assert gaps["volumes"][0].startswith("refuses awsElasticBlockStore, azureDisk")


def test_sysctl_gaps_follow_the_allowlist_of_the_version() -> None:
    def sysctl_gaps(statements: str, version: str) -> dict[str, str]:
        report = recommend_level(one(statements), version)
        return {g.field: g.sentence for g in report.gaps if "sysctl" in g.field}
    assert sysctl_gaps("", "v1.26") == {}
    assert sysctl_gaps("", "v1.27") == {"allowed_unsafe_sysctls": (
        "sysctls net.ipv4.ip_local_reserved_ports are refused: PodSecurityPolicy's safe set "
        "is the v1.24 one")}
    assert sysctl_gaps("allow unsafe sysctls net.ipv4.ip_local_reserved_ports\n"
                       " deny sysctls kernel.shm_rmid_forced", "v1.27") == {
        "forbidden_sysctls": "sysctls kernel.shm_rmid_forced are refused"}


@pytest.mark.parametrize(("statements", "field", "sentence"), [
    ("require read-only root filesystem", "read_only_root_filesystem",
     "containers must have a read-only root filesystem"),
    ("default deny privilege escalation", "default_allow_privilege_escalation",
     "containers that do not say get allowPrivilegeEscalation: false"),
    ("allow runtime classes gvisor\n default runtime class gvisor", "runtime_class",
     "runtime classes are limited to gvisor"),
    ("allow csi drivers inline.example.com", "allowed_csi_drivers",
     "inline CSI drivers are limited to inline.example.com"),
    ("run as group 10..20 if set", "run_as_group", "containers run as GID 10..20 (if set)"),
    ("add capabilities CHOWN by default", "default_add_capabilities",
     "containers get CHOWN added unless they drop it"),
    ("allow apparmor profiles localhost/k8s\n default apparmor profile localhost/k8s",
     "apparmor_allowed",
     "AppArmor refuses pods that name no profile, RuntimeDefault, Localhost profiles not listed"),
])
def test_gaps_by_intent(statements, field, sentence) -> None:
    report = recommend_level(one(statements), "latest")
    assert report.level == "baseline"
    assert sentence in [g.sentence for g in report.gaps if g.field == field]


def test_gaps_at_privileged_include_what_baseline_would_check() -> None:
    report = recommend_level(one("allow host ports 80, 8000..8080\n"
                                 "allow host paths /var/log read-only\n allow privileged"),
                             "latest")
    assert report.level == "privileged"
    gaps = {g.field: g.sentence for g in report.gaps}
    assert gaps["host_ports"] == "host ports are limited to 80, 8000..8080"
    assert gaps["allowed_host_paths"] == "host paths are limited to /var/log (read-only)"
    assert gaps["selinux"].startswith("pods run with exactly")
    assert "privileged" not in gaps


def test_gaps_at_restricted_would_be_only_what_restricted_cannot_say() -> None:
    """No policy reaches restricted, but the gap rules still hold for it."""
    found = {g.field: g.sentence for g in gaps(one("", "psp-restricted"), "restricted",
                                               "latest")}
    assert found["allowed_capabilities"] == "NET_BIND_SERVICE may not be added"
    assert found["seccomp_allowed"] == "seccomp refuses Localhost profiles not listed"
    assert "required_drop_capabilities" not in found
    assert "allow_privilege_escalation" not in found


# -- witnesses: PSP admits them unchanged, PSA rejects them ----------------------------------


def psp_engine(policy: ir.Policy) -> PspEngine:
    return PspEngine([manifest(policy)], list(BOOTSTRAP_RBAC), PspOptions())


def witness(**contexts) -> dict:
    """A pod restricted-shaped in every way but `contexts` (pod=..., app=...)."""
    def container(name):
        return {"name": name, "image": "registry.k8s.io/pause", "securityContext": {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            **contexts.get(name, {})}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w", "annotations": {
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}},
        "spec": {"containers": [container("app")], "securityContext": {
            "fsGroup": 1, "supplementalGroups": [1], "seccompProfile": {"type": "RuntimeDefault"},
            **contexts.get("pod", {})}}}


@pytest.mark.parametrize(("policy", "pod", "level", "reason"), [
    (lambda: psp_stdlib()["psp-restricted"], witness(app={"runAsUser": 1000}), "restricted",
     "runAsNonRoot != true"),
    (lambda: psp_stdlib()["psp-restricted"],
     witness(pod={"runAsUser": 0, "runAsNonRoot": True}, app={"runAsUser": 1000}),
     "restricted", "runAsUser=0"),
    (lambda: psp_stdlib()["psp-restricted"],
     witness(pod={"runAsNonRoot": True, "seLinuxOptions": {"type": "spc_t"}}), "baseline",
     "seLinuxOptions"),
    (lambda: psp_stdlib()["psp-baseline"],
     witness(pod={"seLinuxOptions": {"user": "system_u", "type": "container_t"}}), "baseline",
     "seLinuxOptions"),
    (lambda: one("run as user 32767", "psp-restricted"),
     witness(pod={"runAsUser": 0, "runAsNonRoot": True,
                  "seLinuxOptions": {"type": "container_t"}}, app={"runAsUser": 32767}),
     "restricted", "runAsUser=0"),
])
def test_blockers_have_witnesses(policy, pod, level, reason) -> None:
    verdict = psp_engine(policy()).evaluate(PodRequest(pod, "default", None))
    assert verdict.allowed and not verdict.mutated, verdict.message or verdict.patch
    assert [r.split(" (")[0] for r in evaluate_pod(pod, level, "latest")] == [reason]


def test_a_pinned_type_outside_the_allow_list_admits_no_pod() -> None:
    """PSP gives every pod container_engine_t, which stdlib baseline's types refuse."""
    policy = one("selinux type container_engine_t", "baseline")
    assert recommend_level(policy, "v1.30").level == "baseline"
    assert admitted(policy, plain_pod(True)) is None
    assert admitted(one("selinux type container_engine_t"), plain_pod(True)) is not None


@pytest.mark.parametrize(("name", "pod"), [
    ("restricted", witness(app={"runAsUser": 1000})),
    ("restricted", witness(pod={"runAsUser": 0, "runAsNonRoot": True}, app={"runAsUser": 1000})),
    ("restricted", witness(pod={"runAsNonRoot": True, "seLinuxOptions": {"type": "spc_t"}})),
    ("baseline", witness(pod={"seLinuxOptions": {"user": "system_u", "type": "container_t"}})),
])
def test_the_stdlib_refuses_those_witnesses_beyond_psp(name, pod) -> None:
    """Its PSP still admits them unchanged; its intents beyond PSP refuse them."""
    policy = stdlib()[name]
    assert psp_engine(policy).evaluate(PodRequest(pod, "default", None)).allowed
    assert admitted(policy, pod) is None


# -- search: every rejection of an admitted pod is predicted ---------------------------------

SEARCH_VERSIONS = ("v1.18", "v1.22", "v1.28", "v1.30", "v1.34", "latest")
SECCOMP = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_FIELDS = {"runtime/default": {"type": "RuntimeDefault"},
                  "unconfined": {"type": "Unconfined"},
                  "localhost/p.json": {"type": "Localhost", "localhostProfile": "p.json"}}


def _pod(pod: dict) -> dict:
    return pod["spec"].setdefault("securityContext", {})


def _app(pod: dict) -> dict:
    return pod["spec"]["containers"][0].setdefault("securityContext", {})


def _seccomp(profile: str | None, container: str | None = None):
    """Set a seccomp profile as the API server stores it: annotation and field together."""
    def change(pod: dict) -> None:
        annotations = pod["metadata"]["annotations"]
        key = SECCOMP if container is None else \
            f"container.seccomp.security.alpha.kubernetes.io/{container}"
        owner = _pod(pod) if container is None else _app(pod)
        annotations.pop(key, None)
        owner.pop("seccompProfile", None)
        if profile is not None:
            annotations[key] = profile
            owner["seccompProfile"] = SECCOMP_FIELDS[profile]
    return change


def _set(where, **values):
    def change(pod: dict) -> None:
        where(pod).update(values)
    return change


def _unset(where, key: str):
    def change(pod: dict) -> None:
        where(pod).pop(key, None)
    return change


def _apparmor(profile: str):
    def change(pod: dict) -> None:
        for _, container in iter_containers(pod["spec"]):
            key = "container.apparmor.security.beta.kubernetes.io/" + container["name"]
            pod["metadata"]["annotations"][key] = profile
    return change


def _add(key: str, item: dict):
    def change(pod: dict) -> None:
        pod["spec"].setdefault(key, []).append(item)
    return change


def _unmask(pod: dict) -> None:
    pod["spec"]["hostUsers"] = False
    _app(pod)["procMount"] = "Unmasked"


def _host_process(pod: dict) -> None:
    pod["spec"]["hostNetwork"] = True
    _pod(pod)["windowsOptions"] = {"hostProcess": True}


def _root_overridden(pod: dict) -> None:
    """A pod-level UID 0 that the only container overrides with a UID every range admits."""
    _pod(pod)["runAsUser"] = 0
    _app(pod)["runAsUser"] = 32767


def _spec(pod: dict) -> dict:
    return pod["spec"]


def _ports(pod: dict) -> dict:
    return pod["spec"]["containers"][0]


# Each change moves one field a PSS check or a PSP strategy reads, as API validation allows.
CHANGES = (
    _set(_pod, runAsUser=0), _set(_pod, runAsUser=32767), _set(_pod, runAsNonRoot=False),
    _set(_pod, runAsNonRoot=True), _set(_app, runAsUser=0), _set(_app, runAsUser=1000),
    _set(_app, runAsUser=32767), _set(_app, runAsNonRoot=False), _root_overridden,
    _set(_pod, fsGroup=32767),
    _set(_pod, supplementalGroups=[32767]),
    _set(_pod, seLinuxOptions={"type": "spc_t"}),
    _set(_pod, seLinuxOptions={"type": "container_engine_t"}),
    _set(_app, seLinuxOptions={"type": "container_t", "user": "system_u"}),
    _set(_pod, sysctls=[{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]),
    _set(_pod, sysctls=[{"name": "net.core.somaxconn", "value": "1"}]),
    _set(_pod, sysctls=[{"name": "kernel.shm_rmid_forced", "value": "1"}]),
    _set(_spec, hostNetwork=True), _set(_spec, hostPID=True), _host_process,
    _set(_app, privileged=True), _set(_app, allowPrivilegeEscalation=True),
    _unset(_app, "allowPrivilegeEscalation"), _unset(_app, "capabilities"),
    _set(_app, capabilities={"add": ["NET_RAW"], "drop": ["ALL"]}),
    _set(_app, capabilities={"add": ["CHOWN"], "drop": ["ALL"]}),
    _set(_app, capabilities={"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}),
    _set(_app, readOnlyRootFilesystem=True), _unmask, _set(_spec, hostUsers=False),
    _seccomp(None), _seccomp("unconfined"), _seccomp("localhost/p.json"),
    _seccomp("unconfined", "app"), _apparmor("unconfined"), _apparmor("localhost/k8s"),
    _apparmor("runtime/default"),
    _set(_ports, ports=[{"containerPort": 80, "hostPort": 80}]),
    _set(_ports, ports=[{"containerPort": 9000, "hostPort": 9000}]),
    _add("volumes", {"name": "logs", "hostPath": {"path": "/var/log"}}),
    _add("volumes", {"name": "share", "nfs": {"server": "nfs", "path": "/"}}),
    _add("volumes", {"name": "inline", "csi": {"driver": "inline.example.com"}}),
    _add("volumes", {"name": "scratch", "emptyDir": {}}),
    _add("initContainers", {"name": "init", "image": "registry.k8s.io/pause"}),
    _add("ephemeralContainers", {"name": "debug", "image": "busybox", "securityContext": {
        "privileged": True}}),
)


@cache
def search_policies() -> tuple[ir.Policy, ...]:
    # Over stdlib baseline, `selinux type container_engine_t` admits no pod (see above), so
    # its conflicts could have no witness: it is searched over psp-baseline only.
    crafted = [one(s, parent) for parent in ("baseline", "psp-baseline") for s in (
        "", "allow unsafe sysctls net.ipv4.tcp_keepalive_time", "allow unmasked proc mount",
        "selinux type container_engine_t", "allow capabilities NET_RAW",
        "allow seccomp profiles unconfined, runtime/default",
        "allow apparmor profiles runtime/default, unconfined", "allow host ports 80",
        "allow host network", "volumes any")
        if parent == "psp-baseline" or "container_engine_t" not in s]
    crafted += [one(s, parent) for parent in ("restricted", "psp-restricted")
                for s in ("", "run as user 1000, 32767", "allow seccomp profiles localhost/p.json")]
    examples = [p for d in sorted(EXAMPLES.iterdir()) if d.is_dir()
                for p in example(d.name).values()]
    # A policy with a level admits what the level admits (pspc.validation.standards): the
    # search of PSP-shaped admission applies to the others only.
    return tuple(p for p in (*stdlib().values(), *psp_stdlib().values(), *examples, *crafted)
                 if p.pod_security_standard is None)


@cache
def pipeline(policy: ir.Policy) -> Pipeline:
    """The full v1.24 API-server pipeline, which stores seccomp annotations and fields
    together, with every feature gate on so that `allow unmasked proc mount` counts."""
    gates = FeatureGates(ephemeral_containers=True, csi_inline_volume=True,
                         proc_mount_type=True)
    return Pipeline([manifest(policy)], RBACAuthorizer(list(BOOTSTRAP_RBAC)), mode="full",
                    gates=gates)


@cache
def beyond_psp(policy: ir.Policy) -> tuple:
    return tuple(c for c in requirements(policy) if c.intent in ir.BEYOND_PSP)


def admitted(policy: ir.Policy, pod: dict) -> dict | None:
    """The pod as stored after the policy admits it (mutations included), or None.

    As in ContractOracle, the policy's intents beyond PSP must hold too; they are checked
    on the stored pod, the one PSA sees (with a mutation target, the mutated form)."""
    result = pipeline(policy).review("CREATE", copy.deepcopy(pod), user=DEFAULT_REQUESTER,
                                     namespace="default")
    if not result.allowed or not all(passes(c, result.pod) for c in beyond_psp(policy)):
        return None
    return result.pod


@cache
def predicted(policy: ir.Policy, level: str, version: str) -> frozenset[str]:
    return frozenset(c.check for c in conflicts(policy, level, version))


def failures(pod: dict) -> dict[tuple[str, str], frozenset[str]]:
    """The ids of the checks `pod` fails, per level and version searched."""
    return _failures(json.dumps(pod, sort_keys=True))


@cache
def _failures(pod: str) -> dict[tuple[str, str], frozenset[str]]:
    view = PodView(json.loads(pod))
    out = {}
    for version in SEARCH_VERSIONS:
        parsed = parse_version(version)
        for level in ("baseline", "restricted"):
            out[level, version] = frozenset(spec.id for spec in checks_for(level, parsed)
                                            if spec.function(view, rules_for(parsed)))
    return out


@st.composite
def pods(draw) -> dict:
    """A plain pod, optionally with a RuntimeDefault profile, then up to four changes."""
    pod = plain_pod(draw(st.booleans()))
    for change in draw(st.lists(st.sampled_from(CHANGES), max_size=4)):
        change(pod)
    return pod


@settings(derandomize=True, deadline=None, database=None, max_examples=500,
          suppress_health_check=[HealthCheck.too_slow])
@given(pods())
def test_every_rejection_of_an_admitted_pod_is_predicted(pod: dict) -> None:
    for policy in search_policies():
        stored = admitted(policy, pod)
        if stored is None:
            continue
        for (level, version), failed in failures(stored).items():
            missed = failed - predicted(policy, level, version)
            assert not missed, (policy.name, level, version, missed, stored)


def plain_pod(seccomp: bool) -> dict:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "search", "namespace": "default", "annotations": {}},
           "spec": {"automountServiceAccountToken": False, "containers": [
               {"name": "app", "image": "registry.k8s.io/pause"}]}}
    if seccomp:
        _seccomp("runtime/default")(pod)
    return pod


@cache
def witnessed(policy: ir.Policy) -> dict[tuple[str, str], frozenset[str]]:
    """Checks failed by pods the policy admits, over every pair of changes to a plain pod."""
    found: dict[tuple[str, str], set[str]] = {}
    for seccomp in (False, True):
        for first, second in combinations_with_replacement(CHANGES, 2):
            pod = plain_pod(seccomp)
            first(pod)
            second(pod)
            if (stored := admitted(policy, pod)) is not None:
                for key, failed in failures(stored).items():
                    found.setdefault(key, set()).update(failed)
    return {key: frozenset(checks) for key, checks in found.items()}


def test_every_predicted_conflict_has_a_witness() -> None:
    """The converse of the search: no blocker is a false alarm (caveats aside)."""
    for policy in search_policies():
        seen = witnessed(policy)
        for version in SEARCH_VERSIONS:
            for level in ("baseline", "restricted"):
                unseen = predicted(policy, level, version) - seen.get((level, version), set())
                assert unseen <= {"hostProbesAndHostLifecycle"}, (policy.name, level, version)


def test_the_search_reaches_every_check() -> None:
    """Guard against a vacuous search: admitted pods fail every check but the probe one."""
    reached = set().union(*(checks for policy in search_policies()
                            for checks in witnessed(policy).values()))
    assert reached == {c.id for c in CHECKS} - {"hostProbesAndHostLifecycle"}
