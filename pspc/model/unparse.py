"""Write a resolved policy back as source statements, one per intent.

`pspc explain` prints these with the origin of each value; `pspc import` will use them
to turn PodSecurityPolicy objects into source.
"""

from __future__ import annotations

import re

from pspc.model import ir
from pspc.model import vocabulary as voc
from pspc.syntax.printer import quote, wrap

_BARE = re.compile(r'[^\s,{}"#]+')


def _w(text: str) -> str:
    return text if _BARE.fullmatch(text) else quote(text)


def _ranges(ranges: tuple[ir.IdRange, ...]) -> list[str]:
    return [str(r.min) if r.min == r.max else f"{r.min}..{r.max}" for r in ranges]


def _ids(head: str, strategy: ir.IdPolicy) -> tuple[str, list[str], str]:
    if strategy.rule is ir.Rule.RUN_AS_ANY:
        return head, ["any"], ""
    if strategy.rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        return "run as non-root", [], ""
    return head, _ranges(strategy.ranges), " if set" if strategy.rule is ir.Rule.MAY_RUN_AS else ""


def _list(head: str, items: tuple[str, ...], empty: str = "none") -> tuple[str, list[str], str]:
    if items == (voc.ALL,):
        return head, ["any"], ""
    return head, [_w(i) for i in items] or [empty], ""


def _verdict(flag: bool, what: str) -> tuple[str, list[str], str]:
    return f"{'allow' if flag else 'deny'} {what}", [], ""


def statements(p: ir.Policy) -> list[tuple[str, tuple[str, list[str], str]]]:
    """(field, (head, items, tail)) for every intent of the policy, in a fixed order."""
    out: list[tuple[str, tuple[str, list[str], str]]] = []
    if p.description is not None:
        out.append(("description", (f"description {quote(p.description)}", [], "")))
    out.append(("privileged", _verdict(p.privileged, "privileged")))
    out.append(("allow_privilege_escalation",
                _verdict(p.allow_privilege_escalation, "privilege escalation")))
    if p.default_allow_privilege_escalation is not None:
        flag = "allow" if p.default_allow_privilege_escalation else "deny"
        out.append(("default_allow_privilege_escalation",
                    (f"default {flag} privilege escalation", [], "")))
    for name in ("network", "pid", "ipc"):
        out.append((f"host_{name}", (_verdict(getattr(p, f"host_{name}"), "host")[0],
                                     [name], "")))
    if p.host_ports:
        out.append(("host_ports", ("allow host ports", _ranges(p.host_ports), "")))
    else:
        out.append(("host_ports", ("deny host ports", [], "")))
    out.append(("volumes", _list("volumes", p.volumes)))
    if p.allowed_host_paths:
        out.append(("allowed_host_paths", ("allow host paths", [
            _w(h.prefix) + (" read-only" if h.read_only else "") for h in p.allowed_host_paths],
            "")))
    if p.allowed_flex_volumes:
        out.append(("allowed_flex_volumes", _list("allow flex volumes", p.allowed_flex_volumes)))
    if p.allowed_csi_drivers:
        out.append(("allowed_csi_drivers", _list("allow csi drivers", p.allowed_csi_drivers)))
    out.append(("run_as_user", _ids("run as user", p.run_as_user)))
    if p.run_as_group is not None:
        out.append(("run_as_group", _ids("run as group", p.run_as_group)))
    out.append(("supplemental_groups", _ids("supplemental groups", p.supplemental_groups)))
    out.append(("fs_group", _ids("fs group", p.fs_group)))
    out.append(("read_only_root_filesystem", (
        "require read-only root filesystem" if p.read_only_root_filesystem
        else "allow writable root filesystem", [], "")))
    out.append(("allowed_capabilities", _list("allow capabilities", p.allowed_capabilities)))
    if p.default_add_capabilities:
        out.append(("default_add_capabilities", ("add capabilities",
                                                 list(p.default_add_capabilities),
                                                 " by default")))
    out.append(("required_drop_capabilities",
                _list("drop capabilities", p.required_drop_capabilities)))
    if p.selinux.rule is ir.Rule.RUN_AS_ANY:
        out.append(("selinux", ("selinux any", [], "")))
    else:
        options = " ".join(f"{k} {_w(getattr(p.selinux, k))}" for k in
                           ("level", "role", "type", "user") if getattr(p.selinux, k) is not None)
        out.append(("selinux", (f"selinux {options}", [], "")))
    out.append(("allowed_proc_mount_types",
                _verdict("Unmasked" in p.allowed_proc_mount_types, "unmasked proc mount")))
    if p.allowed_unsafe_sysctls:
        out.append(("allowed_unsafe_sysctls", _list("allow unsafe sysctls",
                                                    p.allowed_unsafe_sysctls)))
    if p.forbidden_sysctls:
        out.append(("forbidden_sysctls", _list("deny sysctls", p.forbidden_sysctls)))
    if p.runtime_class is not None:
        out.append(("runtime_class", _list("allow runtime classes", p.runtime_class.allowed)))
        if p.runtime_class.default:
            out.append(("runtime_class",
                        (f"default runtime class {_w(p.runtime_class.default)}", [], "")))
    for kind in ("seccomp", "apparmor"):
        allowed = getattr(p, f"{kind}_allowed")
        if allowed is None:
            out.append((f"{kind}_allowed", (f"allow {kind} profiles",
                                            ["none" if kind == "seccomp" else "any"], "")))
        else:
            out.append((f"{kind}_allowed", _list(f"allow {kind} profiles", allowed)))
        default = getattr(p, f"{kind}_default")
        if default is not None:
            out.append((f"{kind}_default", (f"default {kind} profile {_w(default)}", [], "")))
    for key, value in p.annotations:
        out.append(("annotations", (f"annotation {quote(key)} {quote(value)}", [], "")))
    return out


def policy_lines(p: ir.Policy, indent: str = "  ") -> list[tuple[str, list[str]]]:
    """Each intent's field name and its wrapped source lines."""
    return [(field, wrap(indent, *parts)) for field, parts in statements(p)]
