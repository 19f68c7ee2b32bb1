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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import vocabulary as voc
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

INTRO = """PodSecurityPolicy was removed in Kubernetes 1.25. For each namespace this plan gives the
Pod Security Admission labels of `psa/namespaces.yaml`, the intents of the policies that PSA
cannot enforce and the outputs that do, and the workloads that break because they rely on
what a PodSecurityPolicy filled in. Levels are those of the Pod Security Standards
{version} unless a namespace declares a version.

Steps, while PodSecurityPolicy is still enabled:

1. Fix the workloads listed under *Workloads affected*: set those fields in their
   manifests (charts made with `helm create`: pass the `helm/<policy>.values.yaml` file).
2. Apply one validating output: `vap/` (Kubernetes 1.30+), `gatekeeper/` or `kyverno/`;
   run `rego/` with conftest in CI.
3. Apply `psa/namespaces.yaml`. audit and warn are one level stricter than enforce: the
   audit log and `kubectl` warnings show what tightening further would break.
4. Disable the PodSecurityPolicy admission plugin, stop building the `psp` and `rbac`
   targets, and upgrade."""


def _subject(binding: ir.Binding) -> str:
    s = binding.subject
    who = f"{s.kind.lower() if s.kind != 'ServiceAccount' else 'service account'} " + (
        f"{s.namespace}/{s.name}" if s.namespace else s.name)
    return who + (f" in {binding.namespace}" if binding.namespace else " (cluster-wide)")


def _bound_here(policy: ir.Policy, namespace: str | None) -> list[ir.Binding]:
    return [b for b in policy.bindings if b.namespace in (None, namespace)]


def _label_table(found: NamespaceLevels) -> list[str]:
    lines = ["| mode | level | version | from |", "|---|---|---|---|"]
    for mode in MODES:
        origin = found.origin(mode)
        if origin == "declared":
            where = found.declared.spans.get(mode, found.declared.span)
            reason = f"declared at `{where}`"
            if mode == "enforce" and found.declared.force:
                reason += " (forced)"
        elif origin == "computed":
            reason = ("the least strict level of the policies usable here" if found.policies
                      else "no policy is usable here: PodSecurityPolicy admits no pod")
        else:
            reason = "the next stricter level" if found.enforce != "restricted" else \
                "restricted (the strictest level)"
        lines.append(f"| {mode} | {found.levels[mode]} | {found.version} | {reason} |")
    return lines


def _policies(found: NamespaceLevels) -> list[str]:
    if not found.policies:
        return ["No pspc policy is usable here: PodSecurityPolicy admits no pod in this "
                "namespace today."]
    lines = ["Policies usable here today (PodSecurityPolicy admits a pod that any of them "
             "allows):", ""]
    for policy, report in found.policies:
        who = "; ".join(_subject(b) for b in _bound_here(policy, found.name))
        lines.append(f"- `{policy.name}` fits **{report.level}**; bound to {who}")
    return lines


def _conflict(policy: ir.Policy, conflict) -> str:
    """A bullet: what the policy admits that a check rejects, with the short statements."""
    short = conflict.intent and len(conflict.intent) <= 60
    return (f"- `{policy.name}` {conflict.sentence}"
            + (f" (`{conflict.intent}`)" if short else "") + f": {conflict.check}")


def _forced(found: NamespaceLevels) -> list[str]:
    enforce = found.enforce
    broken = [(p, c) for p, r in found.policies if LEVELS.index(r.level) < LEVELS.index(enforce)
              for c in r.blockers if c.level == enforce]
    if not broken:
        return []
    lines = [f"**Enforcing {enforce} rejects pods the policies admit today:**", ""]
    lines += [_conflict(p, c) for p, c in broken]
    return lines + [""]


def _gaps(analysis: Analysis, found: NamespaceLevels) -> list[str]:
    rows = []
    for policy, _ in found.policies:
        for gap in analysis.gaps(policy, found.enforce, found.version):
            intent = f"`{gap.intent}`" if gap.intent else \
                gap.field.replace("_", " ") + " (not stated)"
            rows.append(f"| `{policy.name}` | {intent} | {gap.sentence} ({gap.why}) | "
                        f"{enforcement_text(analysis, policy, gap.field)} |")
    title = f"### What PSA {found.enforce} {found.version} does not enforce here"
    if not rows:
        return [title, "", "Nothing: PSA enforces every intent of these policies.", ""]
    return [title, "", "| policy | intent | stricter than PSA | enforced by |",
            "|---|---|---|---|", *rows, ""]


def _stricter(found: NamespaceLevels) -> list[str]:
    if found.enforce == "restricted":
        return []
    level = next_stricter(found.enforce)
    rows = [(p, c) for p, r in found.policies for c in r.blockers if c.level == level]
    title = f"### What {level} would reject"
    if not rows:
        return [title, "", f"No pod the policies admit: {level} could be enforced.", ""]
    lines = [title, "", f"Pods the policies admit today that {level} would reject (PSA's "
             "audit and warn modes report pods like these without rejecting them):", ""]
    lines += [_conflict(p, c) for p, c in rows]
    return lines + [""]


def defaults(analysis: Analysis, policy: ir.Policy) -> list[tuple[str, str]]:
    """(what PodSecurityPolicy fills in, what pods must then say), once per default."""
    seen: dict[str, str] = {}
    for check in analysis.requirements(policy):
        if check.default and check.default not in seen:
            who = "every container" if check.scope == "container" else "the pod"
            seen[check.default] = f"{who} {check.requirement}"
    return list(seen.items())


def _affected_here(analysis: Analysis, policies: list[ir.Policy]) -> list[str]:
    mutating = [f"`{p.name}`" for p in policies if defaults(analysis, p)]
    lines = ["### Workloads affected", ""]
    if not mutating:
        return lines + ["None: no policy usable here fills in fields, so no pod relies on a "
                        "PodSecurityPolicy default.", ""]
    return lines + [", ".join(mutating) + (" fills" if len(mutating) == 1 else " fill")
                    + " in fields of pods today: pods here that rely on it are rejected once "
                    "PodSecurityPolicy is gone, until they set those fields (see *Workloads "
                    "affected* below).", ""]


def _affected(analysis: Analysis, policies: list[ir.Policy]) -> list[str]:
    mutating = [(p, d) for p in policies if (d := defaults(analysis, p))]
    if not mutating:
        return []
    lines = ["## Workloads affected", "",
             "PSA never changes pods, and neither do the validating outputs: pods that left "
             "these fields to a PodSecurityPolicy are rejected until they set them.", ""]
    for policy, found in mutating:
        lines += [f"### `{policy.name}`", "", "Fills in today:", ""]
        lines += [f"- {default}: {requirement}" for default, requirement in found]
        lines += ["", f"Charts made with `helm create`: `helm upgrade --install RELEASE CHART "
                  f"-f helm/{voc.file_stem(policy.name)}.values.yaml` sets these.", ""]
    return lines


def _namespace(analysis: Analysis, found: NamespaceLevels) -> list[str]:
    lines = [f"## Namespace `{found.name}`", "", *_policies(found), "", *_label_table(found), ""]
    lines += _forced(found)
    lines += _gaps(analysis, found)
    lines += _stricter(found)
    lines += _affected_here(analysis, [p for p, _ in found.policies])
    return lines


def _elsewhere(analysis: Analysis, labelled: list[str]) -> list[str]:
    lines = ["## Other namespaces", ""]
    wide = cluster_wide(analysis.program)
    if not wide:
        return lines + ["pspc labels only the namespaces above. No policy is bound "
                        "cluster-wide, so PodSecurityPolicy admits no pod in any other "
                        "namespace today; PSA applies the cluster's default there (privileged, "
                        "unless the API server's AdmissionConfiguration says otherwise).", ""]
    reports = [(p, analysis.level(p, DEFAULT_VERSION)) for p in wide]
    level = least_strict([r.level for _, r in reports])
    names = ", ".join(f"`{p.name}` ({r.level})" for p, r in reports)
    where = "the namespaces above" if labelled else "no namespace"
    lines += [f"pspc labels {where}. These policies are bound cluster-wide, so they are usable "
              f"in every namespace: {names}. In a namespace pspc does not label, PSA applies "
              "the cluster's default (privileged, unless the API server's "
              f"AdmissionConfiguration says otherwise); {level} at {DEFAULT_VERSION} would "
              "reject no pod they admit. Declare the namespaces that matter, e.g. "
              f"`namespace NAME enforce {level}`, to have pspc label them.", ""]
    return lines


def _unbound(program: ir.Program) -> list[str]:
    unbound = [p.name for p in program.policies if not p.bindings]
    if not unbound:
        return []
    return ["## Policies bound to no one", "",
            "These admit no pod today and need no PSA level: "
            + ", ".join(f"`{n}`" for n in unbound) + ".", ""]


def plan(analysis: Analysis) -> str:
    program = analysis.program
    found = analysis.namespace_levels()
    lines = ["# Migration plan: PodSecurityPolicy to Pod Security Admission", "",
             INTRO.format(version=DEFAULT_VERSION), ""]
    if found:
        lines += ["| namespace | enforce | audit | warn | version |", "|---|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.levels['enforce']} | {f.levels['audit']} | "
                  f"{f.levels['warn']} | {f.version} |" for f in found]
        lines.append("")
    for item in found:
        lines += _namespace(analysis, item)
    lines += _elsewhere(analysis, [f.name for f in found])
    lines += _affected(analysis, [p for p in program.policies if p.bindings])
    lines += _unbound(program)
    return "\n".join(lines).rstrip("\n") + "\n"


def build(build: Build) -> list[OutputFile]:
    return [OutputFile(PATH, "the policies listed below", (), plan(build.analysis))]


TARGET = Target("migration", build)
