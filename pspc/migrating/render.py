"""The cluster plan as people read it (Markdown, like migration.md) and as JSON.

The JSON schema is documented in README.md (*Migrating a running cluster*); its top-level
`schema` names its version, and any change that is not an addition bumps it.
"""

from __future__ import annotations

import json

from pspc.migrating.plan import CANDIDATES, ClusterPlan, NamespaceReport, WorkloadReport

SCHEMA = "pspc.migrate.cluster/v1"


def render_json(plan: ClusterPlan) -> str:
    return json.dumps({"schema": SCHEMA, **plan.to_json()}, indent=2) + "\n"


def _policies_line(found: NamespaceReport) -> str:
    if found.policies is None:
        return "Policies: unknown (see above)."
    if not found.policies:
        return ("Policies: none is usable here: PodSecurityPolicy admits no pod in this "
                "namespace today.")
    names = "; ".join(f"`{p.name}` ({p.level}) for " + ", ".join(p.subjects)
                      for p in found.policies)
    return f"Policies usable here imply **{found.policy_level}**: {names}."


def _workload_line(workload: WorkloadReport) -> str:
    pods = f"{workload.pods} pod{'s' * (workload.pods != 1)}"
    line = f"- {workload.ref} ({pods}): passes **{workload.level}**"
    if workload.kind == "Pod":
        line += "; a bare pod, evaluated as it runs"
        if workload.owner_missing:
            line += f" (its controller, {workload.owner_missing}, is not in the dump)"
    today = workload.psp_today
    if today is not None:
        if not today.allowed:
            line += "; PodSecurityPolicy rejects its next pod today"
        elif today.mutated:
            line += f"; PodSecurityPolicy admits its next pod under `{today.policy}`, changed"
        else:
            line += f"; PodSecurityPolicy admits its next pod under `{today.policy}`"
    return line


def _defaults(found: NamespaceReport) -> list[str]:
    lines = ["### Relies on PodSecurityPolicy defaults", ""]
    items = []
    for workload in found.workloads:
        for item in workload.defaults:
            via = f"{item.pods} pod{'s' * (item.pods != 1)} admitted by `{item.policy}`"
            if not item.found:
                items.append(f"- {workload.ref}: {via}, which is not in the dump: what it "
                             "fills in is unknown")
            elif not item.admitted:
                items.append(f"- {workload.ref}: {via}, which now rejects its template:")
                items += [f"  - {v}" for v in item.violations]
            elif item.fields:
                items.append(f"- {workload.ref}: {via}, which fills in fields its "
                             "template omits; set them there:")
                items += [f"  - `{f}`" for f in item.fields]
    if not items:
        return lines + ["None: no policy named by the pods here changes their workloads' "
                        "templates.", ""]
    return lines + ["PSA and the validating outputs never change pods: once "
                    "PodSecurityPolicy is gone, these fields stay unset unless the templates "
                    "set them.", "", *items, ""]


def _rejected(found: NamespaceReport, level: str) -> list[str]:
    title = f"### Rejected by {level} {found.version}"
    rejected = found.rejected(level)
    if not rejected:
        return [title, "", "Nothing: every workload here passes.", ""]
    lines = [title, ""]
    for workload in rejected:
        lines.append(f"- {workload.ref}: " + ", ".join(workload.reasons[level]))
    return lines + [""]


def _namespace(found: NamespaceReport) -> list[str]:
    count = len(found.workloads)
    lines = [f"## Namespace `{found.name}`", ""]
    lines.append(f"Every current workload passes **{found.level}** {found.version}"
                 if count else f"No workload runs here: **{found.level}** {found.version} "
                 "rejects nothing that runs")
    lines[-1] += f" ({count} workload{'s' * (count != 1)}). " + _policies_line(found)
    if found.unbound:
        wide = [p.name for p in found.policies or () if p.scope == "cluster"]
        lines += ["", "**No policy is bound in this namespace**: PodSecurityPolicy rejects "
                  "the new pods of its workloads today"
                  + (", unless their creator may use a cluster-wide policy ("
                     + ", ".join(f"`{n}`" for n in wide) + ")." if wide else ".")]
    if not found.in_dump:
        lines += ["", "The dump has no Namespace object for it."]
    current = ", ".join(f"`{k}={v}`" for k, v in found.current_labels.items()) or "none"
    lines += ["", f"Pod Security labels today: {current}.", ""]
    if found.workloads:
        lines += ["### Workloads", "", *(_workload_line(w) for w in found.workloads), ""]
        lines += _defaults(found)
        for level in CANDIDATES:
            lines += _rejected(found, level)
    labels = found.labels
    lines += ["### Labels", "",
              f"enforce {labels['enforce']}, audit and warn {labels['audit']}, at "
              f"{found.version}. Audit and warn first; the server-side dry run of enforce "
              "lists the running pods it would reject; then enforce:", "", "```sh",
              *found.commands(), "```", ""]
    return lines


def render_text(plan: ClusterPlan) -> str:
    source = {"sources": "the pspc sources given",
              "dump": "the dump's PodSecurityPolicies and RBAC, imported in memory",
              "none": "none"}[plan.policy_source]
    lines = ["# Migration plan from the running cluster: PodSecurityPolicy to Pod Security "
             "Admission", "",
             f"Dump: {', '.join(plan.dumps)}. Policies: {source}. Pod Security Standards "
             f"{plan.version}.", ""]
    if plan.policy_note:
        lines += [f"Note: {plan.policy_note}.", ""]
    lines += ["Each namespace's enforce level is the strictest level that every workload "
              "running there passes, as its controller creates its pods from the template "
              "(bare pods as they run); audit and warn are one level stricter. The "
              "policies' level is what pspc's analysis of the policies usable there gives.",
              "", "| namespace | workloads | workloads pass | policies imply | relies on "
              "PSP defaults | bound here |", "|---|---|---|---|---|---|"]
    for found in plan.namespaces:
        relying = sum(w.relies_on_defaults for w in found.workloads)
        implied = "unknown" if found.policies is None else (found.policy_level or "none usable")
        bound = "yes" if found.bound else ("**no**" if found.unbound else "no")
        lines.append(f"| `{found.name}` | {len(found.workloads)} | {found.level} | {implied} | "
                     f"{relying} | {bound} |")
    lines.append("")
    unbound = [f"`{n.name}`" for n in plan.namespaces if n.unbound]
    if unbound:
        lines += ["Namespaces with workloads but no policy bound there: " + ", ".join(unbound)
                  + ". PodSecurityPolicy rejects their new pods today unless a cluster-wide "
                  "policy admits them.", ""]
    for found in plan.namespaces:
        lines += _namespace(found)
    if plan.ignored:
        lines += ["Left out of the dump (not pods, workloads, namespaces, PodSecurityPolicies "
                  "or RBAC): " + ", ".join(f"{n} {k}" for k, n in sorted(plan.ignored.items()))
                  + ".", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
