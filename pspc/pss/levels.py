"""Levels and versions of the Pod Security Standards: which checks run, with which rules.

This mirrors how the pod-security-admission registry resolves a `level:version` label:

* `privileged` runs no check; `baseline` runs the baseline checks; `restricted` runs every
  baseline check that no active restricted check overrides, then the restricted controls.
* Results are ordered baseline check ids first, then restricted ids, each sorted by id, so
  the reasons in a message come in upstream's order.
* `latest`, and any version newer than the newest rules known here, use the newest rules.

The rule changes between versions are data (the tables below) that `rules_for` turns into the
`Rules` every check reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pspc.model import ir
from pspc.pss import controls
from pspc.pss.controls import Control, PodView, Rules, Violation
from pspc.vocabulary import (  # noqa: F401 (re-exported)
    DEFAULT_VERSION,
    LATEST,
    LEVELS,
    NEWEST,
    known_versions,
)

Version = tuple[int, int]


def standard_version(policy: ir.Policy, profile_version: str | None = None) -> str:
    """The version a policy's `conform to pod security standard` is checked at: the
    statement's, else a cluster profile's (`profile_version`: the hook for a profile that
    names its Kubernetes version), else DEFAULT_VERSION."""
    standard = policy.pod_security_standard
    if standard is not None and standard.version is not None:
        return standard.version
    return profile_version or DEFAULT_VERSION

_VERSION = re.compile(r"v1\.(0|[1-9][0-9]*)")

# Each table maps the version a rule starts at to its value; later entries replace earlier.
SYSCTLS: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    ((1, 29), frozenset({
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"})),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
    ((1, 37), frozenset({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"})),
)
SELINUX_TYPES: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"", "container_t", "container_init_t", "container_kvm_t"})),
    ((1, 31), frozenset({"container_engine_t"})),
)
SECCOMP_FIELDS_SINCE: Version = (1, 19)
WINDOWS_EXEMPTION_SINCE: Version = (1, 25)
USER_NAMESPACE_RELAXATION_SINCE: Version = (1, 35)


@dataclass(frozen=True)
class CheckSpec:
    """One upstream check: its id, level, first version, and the baseline check it replaces."""

    id: str
    level: str
    function: Control
    since: Version = (1, 0)
    overrides: str | None = None


CHECKS = (
    CheckSpec("privileged", "baseline", controls.privileged),
    CheckSpec("hostNamespaces", "baseline", controls.host_namespaces),
    CheckSpec("hostPorts", "baseline", controls.host_ports),
    CheckSpec("hostPathVolumes", "baseline", controls.host_path_volumes),
    CheckSpec("capabilities_baseline", "baseline", controls.capabilities_baseline),
    CheckSpec("appArmorProfile", "baseline", controls.app_armor_profile),
    CheckSpec("seLinuxOptions", "baseline", controls.se_linux_options),
    CheckSpec("procMount", "baseline", controls.proc_mount),
    CheckSpec("seccompProfile_baseline", "baseline", controls.seccomp_profile_baseline),
    CheckSpec("sysctls", "baseline", controls.sysctls),
    CheckSpec("windowsHostProcess", "baseline", controls.windows_host_process),
    CheckSpec("hostProbesAndHostLifecycle", "baseline", controls.host_probes_and_host_lifecycle,
              (1, 34)),
    CheckSpec("restrictedVolumes", "restricted", controls.restricted_volumes,
              overrides="hostPathVolumes"),
    CheckSpec("runAsNonRoot", "restricted", controls.run_as_non_root),
    CheckSpec("runAsUser", "restricted", controls.run_as_user, (1, 23)),
    CheckSpec("allowPrivilegeEscalation", "restricted", controls.allow_privilege_escalation,
              (1, 8)),
    CheckSpec("capabilities_restricted", "restricted", controls.capabilities_restricted, (1, 22),
              overrides="capabilities_baseline"),
    CheckSpec("seccompProfile_restricted", "restricted", controls.seccomp_profile_restricted,
              (1, 19), overrides="seccompProfile_baseline"),
    CheckSpec("procMount_restricted", "restricted", controls.proc_mount_restricted, (1, 35),
              overrides="procMount"),
)


def parse_version(text: str) -> Version:
    """`v1.30` -> (1, 30); `latest` and versions past the newest known -> the newest."""
    if text == LATEST:
        return NEWEST
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Pod Security Standards version: use v1.<minor> "
                         "or latest")
    return min((1, int(match.group(1))), NEWEST)


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"{level!r} is not a Pod Security Standards level: use "
                         + ", ".join(LEVELS))
    return level


def _union_until(table: tuple[tuple[Version, frozenset[str]], ...],
                 version: Version) -> frozenset[str]:
    return frozenset().union(*(values for since, values in table if since <= version))


@cache
def rules_for(version: Version) -> Rules:
    return Rules(
        sysctls=_union_until(SYSCTLS, version),
        selinux_types=_union_until(SELINUX_TYPES, version),
        seccomp_fields=version >= SECCOMP_FIELDS_SINCE,
        user_namespace_relaxation=version >= USER_NAMESPACE_RELAXATION_SINCE,
        windows_exemption=version >= WINDOWS_EXEMPTION_SINCE,
    )


@cache
def checks_for(level: str, version: Version) -> tuple[CheckSpec, ...]:
    """The checks a `level:version` label runs, in upstream's result order."""
    if check_level(level) == "privileged":
        return ()
    active = [c for c in CHECKS if c.since <= version]
    baseline = sorted((c for c in active if c.level == "baseline"), key=lambda c: c.id)
    if level == "baseline":
        return tuple(baseline)
    replaced = {c.overrides for c in active if c.level == "restricted"}
    restricted = sorted((c for c in active if c.level == "restricted"), key=lambda c: c.id)
    return tuple([c for c in baseline if c.id not in replaced] + restricted)


def evaluate(pod: dict, level: str, version: str) -> list[Violation]:
    """Every check of `level:version` that `pod` fails, in upstream's order."""
    parsed = parse_version(version)
    specs = checks_for(level, parsed)
    if not specs:
        return []
    view, rules = PodView(pod), rules_for(parsed)
    return [found for spec in specs if (found := spec.function(view, rules)) is not None]
