"""The build report: for every policy and target, each intent as exact, partial or not
expressible, with the reason (report.md for people, report.json for tools).

The psa rows are the policy's gaps at the Pod Security Standards level it fits (at pspc's
default version): intents stricter than that level, which PSA cannot enforce, each with
the outputs that do."""

from __future__ import annotations

import json

from pspc.model.ir import Program
from pspc.targets import OutputFile
from pspc.validation.gaps import (
    NOT_EXPRESSIBLE,
    VALIDATING_TARGETS,
    Gap,
    enforcement_text,
    psp_gaps,
    validating_gaps,
)


def psa_level(policy) -> dict:
    from pspc.pss.levels import DEFAULT_VERSION
    from pspc.pss.namespaces import level_report

    report = level_report(policy, DEFAULT_VERSION)
    return {"level": report.level, "version": DEFAULT_VERSION, "blockers": [
        {"level": c.level, "check": c.check, "intent": c.intent, "sentence": c.sentence}
        for c in report.blockers]}


def psa_gaps(policy) -> list[Gap]:
    from pspc.pss.levels import DEFAULT_VERSION
    from pspc.pss.namespaces import level_report

    report = level_report(policy, DEFAULT_VERSION)
    return [Gap(g.field, NOT_EXPRESSIBLE, f"{g.sentence}: {g.why}; enforced by "
                + enforcement_text(policy, g.field)) for g in report.gaps]


def entries(program: Program) -> list[dict]:
    out = []
    for policy in program.policies:
        targets = {"psp": psp_gaps(policy)}
        targets.update((t, validating_gaps(policy, t)) for t in VALIDATING_TARGETS)
        targets["psa"] = psa_gaps(policy)
        out.append({"policy": policy.name, "source": policy.source, "psa": psa_level(policy),
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
        for target, gaps in item["targets"].items():
            for gap in gaps:
                if target == "psp" or gap["status"] != "exact":
                    lines.append(f"| {target} | {gap['intent']} | {gap['status']} | "
                                 f"{gap['reason']} |")
        lines.append("")
    return "\n".join(lines)


def build(program: Program) -> list[OutputFile]:
    report = entries(program)
    label = "the policies listed below"
    return [OutputFile("report.md", label, (), markdown(report)),
            OutputFile("report.json", label, (),
                       report_json(report))]


def report_json(report: list[dict]) -> str:
    """`{"policies": [...]}` with one policy per line: a diff shows which policies changed,
    and the C encoder (which indentation would disable) writes it."""
    lines = ",\n".join(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in report)
    return '{"policies": [\n' + lines + "\n]}\n"
