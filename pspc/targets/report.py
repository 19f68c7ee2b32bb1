"""The build report: for every policy and target, each intent as exact, partial or not
expressible, with the reason (report.md for people, report.json for tools).

The psa rows are the policy's gaps at the Pod Security Standards level it fits (at pspc's
default version): intents stricter than that level, which PSA cannot enforce, each with
the outputs that do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.coverage import Coverage, unsupported
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


def entries(analysis: Analysis, version: str = DEFAULT_VERSION) -> list[dict]:
    """Every target's coverage declarations, whether or not this build writes it; PSA's at
    Pod Security Standards `version`."""
    declared = [(name, target(name).coverage) for name in TARGETS]
    out = []
    for policy in analysis.program.policies:
        targets = {name: declare(analysis, policy) for name, declare in declared if declare}
        targets["psa"] = psa_coverage(analysis, policy, version)
        out.append({"policy": policy.name, "source": policy.source,
                    "psa": psa_level(analysis, policy, version),
                    "targets": {name: [{"intent": g.intent, "status": g.status,
                                        "reason": g.reason} for g in gaps]
                                for name, gaps in targets.items()}})
    return out


def _psa_line(psa: dict) -> str:
    line = (f"Pod Security Admission: fits **{psa['level']}** (Pod Security Standards "
            f"{psa['version']})")
    by_level: dict[str, list[str]] = {}
    for blocker in psa["blockers"]:
        by_level.setdefault(blocker["level"], [])
        if blocker["check"] not in by_level[blocker["level"]]:
            by_level[blocker["level"]].append(blocker["check"])
    if by_level:
        line += "; " + "; ".join(f"{level} would reject pods it admits ({', '.join(checks)})"
                                 for level, checks in by_level.items())
    return line + ". The psa rows are its intents stricter than that level."


def markdown(report: list[dict]) -> str:
    lines = ["# pspc build report", "",
             "Each policy's intents, per target: exact, partial (enforced differently: see "
             "why) or not expressible.", ""]
    for item in report:
        lines += [f"## {item['policy']}", "", f"Source: `{item['source']}`", "",
                  _psa_line(item["psa"]), "",
                  "| target | intent | status | reason |", "|---|---|---|---|"]
        for name, gaps in item["targets"].items():
            for gap in gaps:
                if name == "psp" or gap["status"] != "exact":
                    lines.append(f"| {name} | {gap['intent']} | {gap['status']} | "
                                 f"{gap['reason']} |")
        lines.append("")
    return "\n".join(lines)


def build(build: Build) -> list[OutputFile]:
    report = entries(build.analysis,
                     profiles.capped(DEFAULT_VERSION, profiles.pss_cap(build.profile)))
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
