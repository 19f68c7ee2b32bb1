"""The migration plan from PodSecurityPolicy to Pod Security Admission (migration.md, and
`pspc migrate`), namespace by namespace:

* the policies usable there today, and the level each fits (pspc.pss.analysis);
* the enforce / audit / warn labels of psa/namespaces.yaml, and where each comes from;
* the gaps: intents stricter than the enforced level, and which outputs enforce them;
* what the next stricter level would reject (what audit and warn will report);
* the workloads affected: a PodSecurityPolicy that fills fields in (defaults) changes pods
  today; PSA and the validating outputs never do, so pods relying on it are rejected. The
  plan lists the fields to set, and the Helm values that set them.

The steps follow the cluster: without profiles, the whole path (validating outputs beside
PodSecurityPolicy on 1.24 or before, VAP after the upgrade, PSA labels in audit/warn first);
for a profile, the steps its Kubernetes version allows, naming the config's other profiles
on the way (a PSP-era profile hands over to the newer ones).

Everything is derived from the IR, in a fixed order, so the plan is deterministic.
This module computes what the plan says; pspc/output/templates/migration.md.j2 lays it out.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from pspc import profiles
from pspc import vocabulary as voc
from pspc.model import ir
from pspc.pss.levels import LEVELS
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
    from pspc.profiles import Profile

PATH = "migration.md"

FIX = ("Fix the workloads listed under *Workloads affected*: set those fields in their "
       "manifests (charts made with `helm create`: pass the `helm/<policy>.values.yaml` file).")
PSA_FIRST = ("Apply `psa/namespaces.yaml` in audit and warn first (a profile with "
             "`mode = \"warn\"` writes no enforce label): the audit log and `kubectl` warnings "
             "show what enforcing would reject. Then apply it with enforce; audit and warn are "
             "then one level stricter, showing what tightening further would break.")
NO_EDIT = ("Either apply {folders} (the no-edit path): it fills in what PodSecurityPolicy filled "
           "in, where pods leave it unset, so workloads keep working as they are (report.md "
           "lists what it cannot reproduce). Or, explicitly, fix the workloads listed under "
           "*Workloads affected*: set those fields in their manifests (charts made with `helm "
           "create`: pass the `helm/<policy>.values.yaml` file).")
MUTATING_FOLDERS = {"map": "`mutating/map/` (MutatingAdmissionPolicy)",
                    "gatekeeper-mutation": "`mutating/gatekeeper/` (Gatekeeper mutation)",
                    "kyverno-mutation": "`mutating/kyverno/` (Kyverno mutate rules)"}
VAP_WHEN = ("`vap/` needs Kubernetes 1.30 (admissionregistration.k8s.io/v1; v1beta1 on "
            "1.28-1.29, off by default)")


def _numbered(steps: list[str]) -> list[str]:
    return [textwrap.fill(f"{n}. {step}", 90, subsequent_indent="   ")
            for n, step in enumerate(steps, 1)]


def steps(profile: Profile | None, others: tuple[Profile, ...] = ()) -> list[str]:
    """The rollout steps for a profile's cluster, or for the whole path without one."""
    if profile is None:
        return ["Steps, while PodSecurityPolicy is still enabled (Kubernetes 1.24 or before):",
                "", *_numbered([
                    FIX + " Or build a mutating target (`--target map`, `gatekeeper-mutation` "
                    "or `kyverno-mutation`, or a profile's enforce) and apply it after the "
                    "upgrade: it fills those fields in, so workloads need no edit.",
                    "Apply `gatekeeper/` or `kyverno/` beside PodSecurityPolicy (each folder "
                    "has its kustomization.yaml; Gatekeeper templates before constraints); run "
                    "`rego/` with conftest in CI. " + VAP_WHEN + ": apply it after the upgrade "
                    "instead, if you prefer it.",
                    PSA_FIRST + " (Kubernetes 1.23+.)",
                    "Disable the PodSecurityPolicy admission plugin, stop building the `psp` "
                    "and `rbac` targets, and upgrade. Declare your clusters as profiles in "
                    "pspc.toml to get the outputs each version serves."])]
    enforce = profile.enforce
    validating = [f"`{t}/`" for t in ("gatekeeper", "kyverno", "vap") if t in enforce]
    mode = ("" if profile.mode == "deny" else
            f" They are in {profile.mode} mode: they report, they do not reject.")
    later = [p for p in others if p.kubernetes > profile.kubernetes]
    if profile.kubernetes <= profiles.PSP_UNTIL:
        head = (f"Profile `{profile.name}` is Kubernetes {profile.version}, where "
                + ("PodSecurityPolicy still enforces (`psp/` and `rbac/`)."
                   if "psp" in enforce else "PodSecurityPolicy is served but not built here."))
        beside = (f"Apply {' and '.join(validating)} beside PodSecurityPolicy.{mode}"
                  if validating else "No validating output runs beside PodSecurityPolicy in "
                  "this profile: add `gatekeeper` (or `kyverno`) to its enforce to enforce the "
                  "intents PodSecurityPolicy cannot, before the upgrade.")
        todo = [FIX, beside + " `vap/` is not available on this version: "
                + VAP_WHEN + "; run `rego/` with conftest in CI."]
        if "psa" in enforce:
            todo.append(PSA_FIRST + f" The labels pin at most v{profile.version}.")
        upgrade = ("Disable the PodSecurityPolicy admission plugin and upgrade to 1.25 or later"
                   + (": continue with the migration.md of "
                      + ", ".join(f"profile `{p.name}` (Kubernetes {p.version})" for p in later)
                      if later else "; then declare the upgraded cluster as a profile") + ".")
        todo.append(upgrade)
        return [textwrap.fill(head, 90), "", "Steps:", "", *_numbered(todo)]
    earlier = [p for p in others if p.kubernetes <= profiles.PSP_UNTIL]
    head = (f"Profile `{profile.name}` is Kubernetes {profile.version}: PodSecurityPolicy is gone, "
            "and nothing fills in pod fields any more.")
    if earlier:
        head += (" Clusters coming from " + ", ".join(f"profile `{p.name}`" for p in earlier)
                 + " follow its plan first.")
    apply = (f"Apply {' and '.join(validating)}.{mode}" if validating else
             "No validating output enforces in this profile: only PSA's levels apply.")
    if "vap" in enforce and profile.kubernetes < profiles.VAP_SINCE:
        apply += (" On this version `vap/` is v1beta1: enable the ValidatingAdmissionPolicy "
                  "feature gate and admissionregistration.k8s.io/v1beta1 first.")
    if profile.mode == "deny" and validating:
        apply += " To roll out gently, build a profile with `mode = \"warn\"` first."
    mutating = [MUTATING_FOLDERS[t] for t in MUTATING_FOLDERS if t in enforce]
    fix = NO_EDIT.format(folders=" and ".join(mutating)) if mutating else FIX
    todo = [fix, apply + " Run `rego/` with conftest in CI."]
    if "psa" in enforce:
        todo.append(PSA_FIRST)
    return [textwrap.fill(head, 90), "", "Steps:", "", *_numbered(todo)]


def _subject(binding: ir.Binding) -> str:
    return binding.subject.text + (f" in {binding.namespace}" if binding.namespace
                                   else " (cluster-wide)")


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


def plan(analysis: Analysis, profile: Profile | None = None,
         others: tuple[Profile, ...] = ()) -> str:
    """The plan; for a profile, at its cluster's Pod Security Standards version and with
    the steps its version allows (`others`: the config's other profiles)."""
    from pspc.output.markdown import render

    program = analysis.program
    cap = profiles.pss_cap(profile)
    version = profiles.pss_version(profile)
    wide = [{"name": p.name, "level": analysis.level(p, version).level}
            for p in cluster_wide(program)]
    return render(
        "migration.md.j2", version=version, steps=steps(profile, others),
        namespaces=[_namespace(analysis, f) for f in analysis.namespace_levels(cap)],
        cluster_wide=wide,
        cluster_level=least_strict([p["level"] for p in wide]) if wide else None,
        mutating=" and ".join(f"`mutating/{MUTATING_FOLDERS[t].split('/')[1]}/`"
                              for t in MUTATING_FOLDERS if profile and t in profile.enforce),
        filling=[{"name": p.name, "stem": voc.file_stem(p.name), "defaults": found}
                 for p in program.policies
                 if p.bindings and (found := defaults(analysis, p))],
        unbound=[p.name for p in program.policies if not p.bindings])


def build(build: Build) -> list[OutputFile]:
    others = tuple(p for p in (build.config.profiles if build.config else ())
                   if p != build.profile)
    return [OutputFile(PATH, "the policies listed below", (),
                       plan(build.analysis, build.profile, others))]


TARGET = Target("migration", build)
