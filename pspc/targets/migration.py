"""The migration plan from PodSecurityPolicy to Pod Security Admission (migration.md, and
`pspc migrate`), namespace by namespace:

* the policies usable there today, and the level each fits (pspc.pss.analysis);
* the enforce / audit / warn labels of psa/namespaces.yaml, and where each comes from;
* the gaps: intents stricter than the enforced level, and which outputs enforce them;
* what the next stricter level would reject (what audit and warn will report);
* the workloads affected: a PodSecurityPolicy that fills fields in (defaults) changes pods
  today; PSA and the validating outputs never do, so pods relying on it are rejected. The
  plan lists the fields to set, and the Helm values that set them.

Everything is derived from the IR, in a fixed order, so the plan is deterministic.
This module computes what the plan says; pspc/output/templates/migration.md.j2 lays it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc.model import ir
from pspc.pss.levels import DEFAULT_VERSION, LEVELS
from pspc.pss.namespaces import (
    MODES,
    NamespaceLevels,
    cluster_wide,
    least_strict,
    next_stricter,
)
from pspc.targets import OutputFile, Target
from pspc.validation.coverage import enforcement_text

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

PATH = "migration.md"


def _subject(binding: ir.Binding) -> str:
    s = binding.subject
    who = f"{s.kind.lower() if s.kind != 'ServiceAccount' else 'service account'} " + (
        f"{s.namespace}/{s.name}" if s.namespace else s.name)
    return who + (f" in {binding.namespace}" if binding.namespace else " (cluster-wide)")


def _bound_here(policy: ir.Policy, namespace: str | None) -> list[ir.Binding]:
    return [b for b in policy.bindings if b.namespace in (None, namespace)]


def _origin(found: NamespaceLevels, mode: str) -> str:
    """Where the level of a mode comes from: the last column of the label table."""
    origin = found.origin(mode)
    if origin == "declared":
        where = found.declared.spans.get(mode, found.declared.span)
        forced = mode == "enforce" and found.declared.force
        return f"declared at `{where}`" + (" (forced)" if forced else "")
    if origin == "computed":
        return ("the least strict level of the policies usable here" if found.policies
                else "no policy is usable here: PodSecurityPolicy admits no pod")
    return "the next stricter level" if found.enforce != "restricted" else \
        "restricted (the strictest level)"


def _conflict(policy: ir.Policy, conflict) -> dict:
    """What the policy admits that a check rejects; the intent only if it is short."""
    short = conflict.intent and len(conflict.intent) <= 60
    return {"policy": policy.name, "sentence": conflict.sentence, "check": conflict.check,
            "intent": conflict.intent if short else None}


def defaults(analysis: Analysis, policy: ir.Policy) -> list[tuple[str, str]]:
    """(what PodSecurityPolicy fills in, what pods must then say), once per default."""
    seen: dict[str, str] = {}
    for check in analysis.requirements(policy):
        if check.default and check.default not in seen:
            who = "every container" if check.scope == "container" else "the pod"
            seen[check.default] = f"{who} {check.requirement}"
    return list(seen.items())


def _namespace(analysis: Analysis, found: NamespaceLevels) -> dict:
    enforce = found.enforce
    stricter = next_stricter(enforce) if enforce != "restricted" else None
    return {
        "name": found.name, "version": found.version, "levels": found.levels,
        "policies": [{"name": p.name, "level": r.level,
                      "bound_to": [_subject(b) for b in _bound_here(p, found.name)]}
                     for p, r in found.policies],
        "labels": [{"mode": mode, "level": found.levels[mode], "origin": _origin(found, mode)}
                   for mode in MODES],
        # enforcing a level stricter than a policy fits rejects pods it admits
        "forced": [_conflict(p, c) for p, r in found.policies
                   if LEVELS.index(r.level) < LEVELS.index(enforce)
                   for c in r.blockers if c.level == enforce],
        "gaps": [{"policy": p.name, "intent": g.intent, "field": g.field.replace("_", " "),
                  "sentence": g.sentence, "why": g.why,
                  "enforced_by": enforcement_text(analysis, p, g.field)}
                 for p, _ in found.policies for g in analysis.gaps(p, enforce, found.version)],
        "stricter": stricter,
        "rejected": [_conflict(p, c) for p, r in found.policies for c in r.blockers
                     if c.level == stricter],
        "filling": [p.name for p, _ in found.policies if defaults(analysis, p)],
    }


def plan(analysis: Analysis) -> str:
    from pspc.output.markdown import render

    program = analysis.program
    wide = [{"name": p.name, "level": analysis.level(p, DEFAULT_VERSION).level}
            for p in cluster_wide(program)]
    return render(
        "migration.md.j2", version=DEFAULT_VERSION,
        namespaces=[_namespace(analysis, f) for f in analysis.namespace_levels()],
        cluster_wide=wide,
        cluster_level=least_strict([p["level"] for p in wide]) if wide else None,
        filling=[{"name": p.name, "defaults": found} for p in program.policies
                 if p.bindings and (found := defaults(analysis, p))],
        unbound=[p.name for p in program.policies if not p.bindings])


def build(build: Build) -> list[OutputFile]:
    return [OutputFile(PATH, "the policies listed below", (), plan(build.analysis))]


TARGET = Target("migration", build)
