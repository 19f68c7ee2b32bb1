"""The build's diagnostics of what its targets carry differently, read from the targets'
coverage declarations (pspc.coverage), so that `pspc check` and `pspc build` say the same.

W301: the validating targets are stricter than PSP (they cannot fill in its defaults), never
weaker. (They apply PSP's selection rule exactly: pspc.validation.selection.)
W303/E303: the PSP target is weaker than the policy (an intent beyond PSP): a warning when
an admission-time target of the same build enforces it (gatekeeper, vap, kyverno, or psa
where its labels cover the intent), an error (fail closed) when the build has no such target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc.diagnostics import Span
from pspc.model import ir
from pspc.targets import target

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

VALIDATING = ("rego", "gatekeeper", "vap", "kyverno")
ADMISSION = ("gatekeeper", "vap", "kyverno")  # enforce at admission time, beside PSA
_STATEMENTS = {"selinux_types": "allow selinux types",
               "require_explicit_non_root": "require explicit non-root"}


def report_losses(build: Build) -> None:
    chosen = build.options.targets
    declared = {name: target(name).coverage for name in chosen}
    for policy in build.program.policies:
        span = Span(policy.span.file, policy.span.line, policy.span.column,
                    policy.span.line, policy.span.column + 6)
        coverage = {name: declare(build.analysis, policy) for name, declare in declared.items()
                    if declare is not None}
        if "psp" in coverage:
            _psp_weaker(build, policy, coverage, span)
        validating = [t for t in VALIDATING if t in coverage]
        defaults = dict.fromkeys(d for t in validating for c in coverage[t] for d in c.defaults)
        if defaults:
            build.diagnostics.warning(
                "W301", f"policy `{policy.name}`: {', '.join(validating)} cannot fill in what "
                "the PodSecurityPolicy defaults (" + ", ".join(defaults) + "); they reject "
                "pods that leave it unset", span, help="set these fields in the workloads "
                "(see report.md), or rely on the PSP/PSA outputs")


def _psp_weaker(build: Build, policy: ir.Policy, coverage: dict, span: Span) -> None:
    weaker = [c.intent for c in coverage["psp"] if c.weakens]
    if not weaker:
        return
    enforcing = [t for t in ADMISSION if t in coverage and not any(
        c.intent in weaker and c.weakens for c in coverage[t])]
    if "psa" in build.options.targets and psa_enforces(build.analysis, policy, weaker):
        enforcing.append("psa")
    message = (f"policy `{policy.name}`: the PodSecurityPolicy cannot enforce "
               + ", ".join(f"`{_STATEMENTS[w]}`" for w in weaker))
    if enforcing:
        verb = "does" if len(enforcing) == 1 else "do"
        build.diagnostics.warning("W303", message + f"; {', '.join(enforcing)} {verb}", span,
                                  help="apply those outputs too (see report.md)")
    else:
        build.diagnostics.error("E303", message + ", and no target of this build does", span,
                                help="also build gatekeeper, vap or kyverno (`--target`)")


def psa_enforces(analysis: Analysis, policy: ir.Policy, fields: list[str]) -> bool:
    """Do pspc's PSA labels enforce these intents of `policy` wherever it is usable?

    Only where pspc labels every such namespace (no cluster-wide binding) and none of the
    fields is a gap at the namespace's enforce level.
    """
    if not policy.bindings or any(b.namespace is None for b in policy.bindings):
        return False
    for namespace in sorted({b.namespace for b in policy.bindings}):
        found = analysis.levels_for(namespace)
        if any(g.field in fields for g in analysis.gaps(policy, found.enforce, found.version)):
            return False
    return True
