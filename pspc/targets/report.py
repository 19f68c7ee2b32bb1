"""The build report: for every policy and target, each intent as exact, partial or not
expressible, with the reason (report.json for tools, every declaration in full; report.md
for people, one intent x target matrix per policy, each row pointing at the source line
that states the intent, each distinct reason a footnote under the table).

The psa rows are the policy's gaps at the Pod Security Standards level it fits (at pspc's
default version): intents stricter than that level, which PSA cannot enforce, each with
the outputs that do.

report.md is laid out by pspc/output/templates/report.md.j2."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.coverage import BINDINGS, EXACT, Coverage, unsupported
from pspc.pss.levels import DEFAULT_VERSION
from pspc.targets import TARGETS, OutputFile, Target, target
from pspc.validation.coverage import enforcement_text

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build
    from pspc.model import ir


def psa_level(analysis: Analysis, policy: ir.Policy, version: str = DEFAULT_VERSION) -> dict:
    report = analysis.level(policy, version)
    return {"level": report.level, "version": version, "blockers": [
        {"level": c.level, "check": c.check, "intent": c.intent, "sentence": c.sentence}
        for c in report.blockers]}


def psa_coverage(analysis: Analysis, policy: ir.Policy,
                 version: str = DEFAULT_VERSION) -> list[Coverage]:
    """PSA enforces a level, not a policy: the intents stricter than the level the policy
    fits are what it cannot express."""
    report = analysis.level(policy, version)
    return [unsupported(g.field, f"{g.sentence}: {g.why}; enforced by "
                        + enforcement_text(analysis, policy, g.field)) for g in report.gaps]


def origins(policy: ir.Policy) -> dict[str, str]:
    """Where each intent of `policy` is stated (`file:line`), bindings included; intents
    it inherits say where the policy it extends states them. Intents no statement set
    (closed defaults) have none."""
    found = {intent: f"{o.span.file}:{o.span.line}" for intent, o in policy.origins.items()
             if o.span is not None}
    spans = [b.span for b in policy.bindings if b.span is not None]
    if spans:
        first = min(spans, key=lambda s: (s.file, s.line))
        found[BINDINGS] = f"{first.file}:{first.line}"
    return found


def entries(analysis: Analysis, version: str = DEFAULT_VERSION,
            chosen: tuple[str, ...] = TARGETS) -> list[dict]:
    """The coverage declarations of the `chosen` targets (by default every target, whether
    or not this build writes it: what each would carry); PSA's at Pod Security Standards
    `version`."""
    declared = [(name, target(name).coverage) for name in chosen if name != "psa"]
    out = []
    for policy in analysis.program.policies:
        targets = {name: declare(analysis, policy) for name, declare in declared if declare}
        if "psa" in chosen:
            targets["psa"] = psa_coverage(analysis, policy, version)
        out.append({"policy": policy.name, "source": policy.source,
                    "origins": origins(policy),
                    "psa": psa_level(analysis, policy, version),
                    "targets": {name: [{"intent": g.intent, "status": g.status,
                                        "reason": g.reason} for g in gaps]
                                for name, gaps in targets.items()}})
    return out


def _rejected_by(psa: dict) -> list[tuple[str, list[str]]]:
    """(stricter level, the checks it fails), for the level line of a policy."""
    by_level: dict[str, list[str]] = {}
    for blocker in psa["blockers"]:
        checks = by_level.setdefault(blocker["level"], [])
        if blocker["check"] not in checks:
            checks.append(blocker["check"])
    return list(by_level.items())


def _line(origin: str | None, source: str) -> str:
    """An intent's source location for its row: `line N` in the policy's own file (named
    above the table), `file:N` in another (the stdlib policy it extends), `-` for none."""
    if origin is None:
        return "-"
    file, _, line = origin.rpartition(":")
    return f"line {line}" if file == source else origin


def matrix(item: dict) -> dict:
    """One policy's table: a row per intent (in source order: its own lines, then what it
    inherits, then closed defaults), a column per target, each cell `exact`, or `partial` /
    `not expressible` with the number of its reason's footnote; `-` where the target
    declares nothing for the intent (psa declares only what its level cannot enforce)."""
    targets = list(item["targets"])
    declared: dict[str, dict[str, dict]] = {}
    for name, gaps in item["targets"].items():
        for gap in gaps:
            declared.setdefault(gap["intent"], {})[name] = gap
    order = list(declared)
    source, found = item["source"], item["origins"]

    def position(intent: str) -> tuple:
        origin = found.get(intent)
        if origin is None:
            return (2, 0, "", order.index(intent))
        file, _, line = origin.rpartition(":")
        return (file != source, int(line), file, order.index(intent))

    notes: list[str] = []  # numbered as the table is read: row by row, left to right

    def cell(gap: dict | None) -> str:
        if gap is None:
            return "-"
        if gap["status"] == EXACT:
            return EXACT
        if gap["reason"] not in notes:
            notes.append(gap["reason"])
        return f"{gap['status']} ({notes.index(gap['reason']) + 1})"

    rows = [{"intent": intent, "line": _line(found.get(intent), source),
             "cells": [cell(declared[intent].get(name)) for name in targets]}
            for intent in sorted(declared, key=position)]
    return {"targets": targets, "rows": rows, "notes": notes}


def markdown(report: list[dict]) -> str:
    """One intent x target matrix per policy, under its Pod Security Admission level."""
    from pspc.output.markdown import render

    return render("report.md.j2", policies=[
        {"name": item["policy"], "source": item["source"], "level": item["psa"]["level"],
         "version": item["psa"]["version"], "rejected_by": _rejected_by(item["psa"]),
         **matrix(item)}
        for item in report])


def build(build: Build) -> list[OutputFile]:
    # a profile is one cluster: its report has the targets it builds; without profiles,
    # every target, for choosing among them
    chosen = build.options.targets if build.profile else TARGETS
    report = entries(build.analysis, profiles.pss_version(build.profile), chosen)
    label = "the policies listed below"
    return [OutputFile("report.md", label, (), markdown(report)),
            OutputFile("report.json", label, (),
                       report_json(report))]


def report_json(report: list[dict]) -> str:
    """`{"policies": [...]}` with one policy per line: a diff shows which policies changed,
    and the C encoder (which indentation would disable) writes it."""
    lines = ",\n".join(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in report)
    return '{"policies": [\n' + lines + "\n]}\n"


TARGET = Target("report", build)
