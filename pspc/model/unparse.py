"""Write a resolved policy back as source statements, one per intent.

`pspc explain` prints these with the origin of each value; `pspc import` uses them (and the
grouped forms and `bind` statements below) to turn PodSecurityPolicy objects into source.
A statement is `(head, items, tail)`, which the printer wraps. The words of each intent come
from its row in pspc.model.language; this module adds what spans rows: grouping host namespaces,
resetting inherited lists, and `bind` statements.
"""

from __future__ import annotations

from collections.abc import Iterable

from pspc.diagnostics import Span
from pspc.model import ir, language
from pspc.model.language import annotation, list_statement, statements
from pspc.syntax import ast, text
from pspc.syntax.text import Parts, one_line, wrap

__all__ = ["annotation", "list_statement", "one_line", "statements", "Parts"]


def host_namespaces(flags: dict[str, bool]) -> list[Parts]:
    """The host namespace flags given, as few statements as possible: one per verdict, and
    `host namespaces` when a verdict covers network, pid and ipc."""
    row = language.ROW[ast.HostNamespaces]
    out = []
    for verdict in (True, False):
        names = [n for n in ("network", "pid", "ipc") if flags.get(n) is verdict]
        if names:
            out.append((row.head(verdict), ["namespaces"] if len(names) == 3 else names, ""))
    return out


RESETS: dict[str, Parts] = {
    row.field: list_statement(row.head(), (), tail=row.tail()) for row in (
        language.ROW[ast.DefaultCapabilities], language.ROW[ast.AllowUnsafeSysctls],
        language.ROW[ast.DenySysctls])
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
    return [text.binding_lines(decl) for decl in decls]


def policy_lines(p: ir.Policy, indent: str = "  ") -> list[tuple[str, list[str]]]:
    """Each intent's field name and its wrapped source lines."""
    return [(field, wrap(indent, *parts)) for field, parts in statements(p)]
