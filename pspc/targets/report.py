"""The build report: for every policy and target, each intent as exact, partial or not
expressible, with the reason (report.md for people, report.json for tools)."""

from __future__ import annotations

import json

from pspc.model.resolve import Program
from pspc.targets import OutputFile
from pspc.validation.gaps import VALIDATING_TARGETS, psp_gaps, validating_gaps


def entries(program: Program) -> list[dict]:
    out = []
    for policy in program.policies:
        targets = {"psp": psp_gaps(policy)}
        targets.update((t, validating_gaps(policy, t)) for t in VALIDATING_TARGETS)
        out.append({"policy": policy.name, "source": policy.source, "targets": {
            name: [{"intent": g.intent, "status": g.status, "reason": g.reason}
                   for g in gaps] for name, gaps in targets.items()}})
    return out


def markdown(report: list[dict]) -> str:
    lines = ["# pspc build report", "",
             "Each policy's intents, per target: exact, partial (enforced differently: see "
             "why) or not expressible.", ""]
    for item in report:
        lines += [f"## {item['policy']}", "", f"Source: `{item['source']}`", "",
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
                       json.dumps({"policies": report}, indent=2, sort_keys=True) + "\n")]
