"""Write a resolved policy back as source statements, one per intent.

`pspc explain` prints these with the origin of each value; `pspc import` uses them (and the
grouped forms and `bind` statements below) to turn PodSecurityPolicy objects into source.
A statement is `(head, items, tail)`, which the printer wraps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pspc import vocabulary as voc
from pspc.diagnostics import Span
from pspc.model import ir
from pspc.syntax import ast, printer
from pspc.syntax.printer import quote, wrap

_BARE = re.compile(r'[^\s,{}"#]+')
_KEYWORDS = ("any", "none")  # `allow capabilities any` is not a capability named "any"

Parts = tuple[str, list[str], str]


def _w(text: str) -> str:
    return text if _BARE.fullmatch(text) and text not in _KEYWORDS else quote(text)


def _ranges(ranges: tuple[ir.IdRange, ...]) -> list[str]:
    return [str(r.min) if r.min == r.max else f"{r.min}..{r.max}" for r in ranges]


def _ids(head: str, strategy: ir.IdPolicy) -> tuple[str, list[str], str]:
    if strategy.rule is ir.Rule.RUN_AS_ANY:
        return head, ["any"], ""
    if strategy.rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        return "run as non-root", [], ""
    return head, _ranges(strategy.ranges), " if set" if strategy.rule is ir.Rule.MAY_RUN_AS else ""


def list_statement(head: str, items: Iterable[str], empty: str = "none") -> Parts:
    """`head a, b`; `head any` for exactly `*`; `head none` (or `empty`) for nothing."""
    items = tuple(items)
    if items == (voc.ALL,):
        return head, ["any"], ""
    return head, [_w(i) for i in items] or [empty], ""


_list = list_statement



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
                                                 [_w(c) for c in p.default_add_capabilities],
                                                 " by default")))
    out.append(("required_drop_capabilities",
                _list("drop capabilities", p.required_drop_capabilities)))
    if p.selinux.rule is ir.Rule.RUN_AS_ANY:
        out.append(("selinux", ("selinux any", [], "")))
    else:
        options = " ".join(f"{k} {_w(getattr(p.selinux, k))}" for k in
                           ("level", "role", "type", "user") if getattr(p.selinux, k) is not None)
        out.append(("selinux", (f"selinux {options}", [], "")))
    if p.selinux_types is not None:
        out.append(("selinux_types", _list("allow selinux types", p.selinux_types)))
    if p.require_explicit_non_root:
        out.append(("require_explicit_non_root", ("require explicit non-root", [], "")))
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
        out.append(("annotations", annotation(key, value)))
    return out


def one_line(parts: Parts) -> str:
    """A statement on one line, unwrapped (for messages)."""
    head, items, tail = parts
    return head + (" " + ", ".join(items) if items else "") + tail


def annotation(key: str, value: str) -> Parts:
    return f"annotation {quote(key)} {quote(value)}", [], ""


def host_namespaces(flags: dict[str, bool]) -> list[Parts]:
    """The host namespace flags given, as few statements as possible: one per verdict, and
    `host namespaces` when a verdict covers network, pid and ipc."""
    out = []
    for verdict in (True, False):
        names = [n for n in ("network", "pid", "ipc") if flags.get(n) is verdict]
        if names:
            out.append((_verdict(verdict, "host")[0], ["namespaces"] if len(names) == 3
                        else names, ""))
    return out


RESETS: dict[str, Parts] = {
    "default_add_capabilities": ("add capabilities", ["none"], " by default"),
    "allowed_unsafe_sysctls": ("allow unsafe sysctls", ["none"], ""),
    "forbidden_sysctls": ("deny sysctls", ["none"], ""),
}
"""The statement that empties a list intent which `statements` leaves out when empty (an
extending policy needs it to clear an inherited value)."""


# -- bindings ---------------------------------------------------------------------------------

ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
_NOWHERE = Span("", 0, 0, 0, 0)


def _word(text: str) -> ast.Word:
    return ast.Word(text, _NOWHERE)


def namespace_service_accounts(binding: ir.Binding) -> bool:
    """Is this `service accounts in namespace N`: the group of N's service accounts, in N?"""
    subject = binding.subject
    return (binding.namespace is not None and subject.kind == "Group"
            and subject.name == f"{ALL_SERVICE_ACCOUNTS}:{binding.namespace}")


def _subject(subject: ir.Subject, cluster_wide: bool) -> ast.Subject:
    if subject.kind == "ServiceAccount":
        return ast.Subject("service_account", _word(f"{subject.namespace}/{subject.name}"),
                           _NOWHERE)
    if subject == ir.Subject("Group", ALL_SERVICE_ACCOUNTS) and cluster_wide:
        return ast.Subject("all_service_accounts", None, _NOWHERE)
    return ast.Subject(subject.kind.lower(), _word(subject.name), _NOWHERE)


def binding_lines(policy: str, bindings: Iterable[ir.Binding]) -> list[list[str]]:
    """`bind` statements (each as wrapped lines) that give the policy exactly these bindings:
    the cluster-wide subjects in one statement, each `service accounts in namespace N`, then
    one statement per set of namespaces that bind the same subjects."""
    bindings = sorted(set(bindings), key=lambda b: (b.namespace or "", b.subject.sort_key))
    name = _word(policy)
    decls: list[ast.BindingDecl] = []
    cluster = [b.subject for b in bindings if b.namespace is None]
    if cluster:
        decls.append(ast.BindingDecl(name, tuple(_subject(s, True) for s in cluster), (),
                                     _NOWHERE))
    for b in bindings:
        if namespace_service_accounts(b):
            subject = ast.Subject("namespace_service_accounts", _word(b.namespace), _NOWHERE)
            decls.append(ast.BindingDecl(name, (subject,), (), _NOWHERE))
    by_namespace: dict[str, list[ir.Subject]] = {}
    for b in bindings:
        if b.namespace is not None and not namespace_service_accounts(b):
            by_namespace.setdefault(b.namespace, []).append(b.subject)
    by_subjects: dict[tuple[ir.Subject, ...], list[str]] = {}
    for namespace, subjects in by_namespace.items():
        by_subjects.setdefault(tuple(subjects), []).append(namespace)
    for subjects, namespaces in by_subjects.items():
        decls.append(ast.BindingDecl(name, tuple(_subject(s, False) for s in subjects),
                                     tuple(_word(n) for n in namespaces), _NOWHERE))
    return [printer.binding_lines(decl) for decl in decls]


def policy_lines(p: ir.Policy, indent: str = "  ") -> list[tuple[str, list[str]]]:
    """Each intent's field name and its wrapped source lines."""
    return [(field, wrap(indent, *parts)) for field, parts in statements(p)]
