"""Policies as parameters of the shared check library (pspc.validation.selection): the
Gatekeeper Constraint's `spec.parameters.policies`, and conftest's `rego/policies.rego`.

One entry per policy, a document a reviewer reads like a PodSecurityPolicy: its name, who may
use it (`grants`, as rbac/ grants it), and for each check family it requires, that family's
values (`runAsUser: {ranges: [{min: 1000, max: 2000}]}`) with `origin`, the source line that
asks for it (`policies.pspc:10 run as user 1000..2000`). The checks of a level come from its
statement, named once as `podSecurityStandard.origin`.
"""

from __future__ import annotations

import re

from pspc.model import ir
from pspc.pss.levels import standard_version
from pspc.validation.requirements import Requirement
from pspc.validation.standards import INTENT

_COMMENT = re.compile(r"\s+#.*$")


def origin(policy: ir.Policy, intent: str, lines: dict[str, list[str]]) -> str:
    """`file:line statement` for the intent, or for an intent the policy leaves at its closed
    default, `file:line policy NAME (default)`; `lines` are the source files' lines."""
    found = policy.origins.get(intent)
    span = found.span if found is not None else policy.span
    statement = lines.get(span.file, [])[span.line - 1:span.end_line]
    text = " ".join(_COMMENT.sub("", line).strip() for line in statement).strip()
    if found is None:
        text = f"policy {policy.name} (default)"
    return f"{span.file}:{span.line} {text}".rstrip()


def grants(policy: ir.Policy) -> list[dict]:
    """Who may use the policy: users (service accounts as their user names) and groups,
    cluster-wide or in `namespaces`."""
    from pspc.validation.selection import grants as selection_grants

    found = []
    for grant in selection_grants(policy):
        entry: dict = {}
        if grant.namespaces is not None:
            entry["namespaces"] = list(grant.namespaces)
        if grant.names:
            entry["users"] = list(grant.names)
        if grant.groups:
            entry["groups"] = list(grant.groups)
        found.append(entry)
    return found


def policy_parameters(policy: ir.Policy, checks: tuple[Requirement, ...],
                      lines: dict[str, list[str]], profile_version: str | None = None) -> dict:
    """The policy as the check library reads it; `lines` are the source files' lines."""
    entry: dict = {"name": policy.name, "grants": grants(policy)}
    standard = policy.pod_security_standard
    if standard is not None:
        entry["podSecurityStandard"] = {
            "level": standard.level, "version": standard_version(policy, profile_version),
            "origin": origin(policy, INTENT, lines)}
    for check in checks:
        family = check.family
        values = dict(check.params)
        if check.intent != INTENT:
            values["origin"] = origin(policy, check.intent, lines)
        entry.setdefault(family.key, values)
    return entry


def parameters(policies: list[ir.Policy], checks, sources: dict[str, str],
               profile_version: str | None = None) -> dict:
    """Every policy, by name, as the library's `policies` parameter; `checks(policy)` are
    its requirements (pspc.analysis)."""
    lines = {name: text.splitlines() for name, text in sources.items()}
    return {"policies": [policy_parameters(p, checks(p), lines, profile_version)
                         for p in sorted(policies, key=lambda p: p.name)]}
