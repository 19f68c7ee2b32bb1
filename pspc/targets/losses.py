"""The build's diagnostics of what its targets carry differently, read from the targets'
coverage declarations (pspc.coverage), so that `pspc check` and `pspc build` say the same.

W301: the validating targets are stricter than PSP (they cannot fill in its defaults), never
weaker; not for the defaults every mutating target of the build fills in (W307 and W308
say what those cannot reproduce, W309 where they leave the defaults out). (They apply
PSP's selection rule exactly: pspc.validation.selection.)
W303/E303: the PSP target is weaker than the policy (an intent beyond PSP): a warning when
an admission-time target of the same build enforces it (gatekeeper, vap, kyverno, or psa
where its labels cover the intent), an error (fail closed) when the build has no such target.
W304: a Pod Security Standards level that no target of the build enforces is a warning, not
E303: the author chose a level, and its PodSecurityPolicy output is, by definition, the
documented closest PodSecurityPolicy (so a PSP-only build of the stdlib works).

With cluster profiles each profile is a build of its own (`build.profile` set): its
diagnostics name it, and an intent beyond PSP that no target of the profile enforces is a
warning for that profile (W305), not a failure of every profile. W402 and W403 say what a
profile's Kubernetes version changes in the PSA labels and the Helm values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import profiles
from pspc.coverage import EXACT
from pspc.diagnostics import Span
from pspc.model import ir
from pspc.mutation.coverage import MUTATING, scope_loss
from pspc.mutation.coverage import filled as filled_in
from pspc.mutation.defaults import defaults as defaults_of
from pspc.pss.levels import LEVELS
from pspc.pss.namespaces import least_strict
from pspc.targets import target

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

VALIDATING = ("rego", "gatekeeper", "vap", "kyverno")
ADMISSION = ("gatekeeper", "vap", "kyverno")  # enforce at admission time, beside PSA
_STATEMENTS = {"selinux_types": "allow selinux types",
               "require_explicit_non_root": "require explicit non-root",
               "pod_security_standard": "conform to pod security standard"}
LEVEL = "pod_security_standard"


def _prefix(build: Build) -> str:
    return f"profile `{build.profile.name}`: " if build.profile else ""


def _notes(build: Build) -> tuple[tuple[str, Span], ...]:
    profile = build.profile
    if profile is None or profile.span is None:
        return ()
    return ((f"profile `{profile.name}` (Kubernetes {profile.version}, enforce "
             f"{', '.join(profile.enforce) or 'nothing'}) is declared here", profile.span),)


def report_losses(build: Build) -> None:
    chosen = build.options.targets
    declared = {name: target(name).coverage for name in chosen}
    prefix, notes = _prefix(build), _notes(build)
    if build.profile is not None:
        _profile_versions(build, notes)
    if "psa" in chosen:
        _wide_bindings(build)
    for policy in build.program.policies:
        span = Span(policy.span.file, policy.span.line, policy.span.column,
                    policy.span.line, policy.span.column + 6)
        coverage = {name: declare(build.analysis, policy) for name, declare in declared.items()
                    if declare is not None}
        if "psp" in coverage:
            _psp_weaker(build, policy, coverage, span)
        validating = [t for t in VALIDATING if t in coverage]
        defaults = dict.fromkeys(d for t in validating for c in coverage[t] for d in c.defaults)
        mutating = [t for t in MUTATING if t in coverage]
        if mutating:
            _mutating_limits(build, policy, mutating, coverage, span)
            filled = set.intersection(*(filled_in(t, build.analysis, policy) for t in mutating))
            defaults = {d: None for d in defaults if d not in filled}
        if defaults:
            build.diagnostics.warning(
                "W301", f"{prefix}policy `{policy.name}`: {', '.join(validating)} cannot fill "
                "in what "
                "the PodSecurityPolicy defaults (" + ", ".join(defaults) + "); they reject "
                "pods that leave it unset", span, help="set these fields in the workloads "
                "(see report.md), or rely on the PSP/PSA outputs", notes=notes)


def _wide_bindings(build: Build) -> None:
    """W311: a policy bound cluster-wide is usable in every namespace, so the PSA labels of
    the namespaces whose own policies are stricter enforce its level instead (PodSecurity-
    Policy admits there what it admits: the labels are right, the binding is the surprise,
    e.g. the privileged policy of kube-system bound to a controller's group)."""
    lowered: dict[str, list[tuple[str, str, str]]] = {}  # policy -> (ns, its level, own)
    for found in build.analysis.namespace_levels(profiles.pss_cap(build.profile)):
        if found.origin("enforce") != "computed" or not found.policies:
            continue
        own = [r.level for p, r in found.policies if p.namespaces() is not None]
        wide = [(p, r.level) for p, r in found.policies if p.namespaces() is None]
        if not own or not wide:
            continue
        level = least_strict(own)
        for policy, wide_level in wide:
            if wide_level == found.enforce and LEVELS.index(wide_level) < LEVELS.index(level):
                lowered.setdefault(policy.name, []).append((found.name, wide_level, level))
    by_name = {p.name: p for p in build.program.policies}
    for name, namespaces in sorted(lowered.items()):
        policy = by_name[name]
        wide = [b for b in policy.bindings if b.namespace is None]
        who = ", ".join(b.subject.text for b in wide)
        listed = ", ".join(f"{ns} ({own})" for ns, _, own in namespaces[:5]) + (
            f" and {len(namespaces) - 5} more" if len(namespaces) > 5 else "")
        levels = " or ".join(sorted({level for _, level, _ in namespaces}, key=LEVELS.index))
        build.diagnostics.warning(
            "W311", f"{_prefix(build)}policy `{name}` is bound cluster-wide (to {who}), so "
            f"PodSecurityPolicy lets it admit pods in every namespace: psa/ labels "
            f"{len(namespaces)} namespace{'s' * (len(namespaces) > 1)} {levels} instead of "
            f"the level their own policies fit: {listed}", wide[0].span or policy.span,
            notes=_notes(build), help="bind it only where it is needed (`in namespace "
            "...`), unless its subjects create pods everywhere")


def _mutating_limits(build: Build, policy: ir.Policy, mutating: list[str], coverage: dict,
                     span: Span) -> None:
    """W307 once per build (at the first policy with defaults, when there are two or more),
    W308 per policy for the Gatekeeper and Kyverno mutation targets, and W309 where they
    leave the policy's defaults out (another policy may be usable there too)."""
    prefix, notes = _prefix(build), _notes(build)
    with_defaults = build.analysis.once(("policies with defaults",), lambda: sorted(
        p.name for p in build.program.policies if defaults_of(p)))
    if "map" in mutating and len(with_defaults) > 1 and policy.name == with_defaults[0]:
        build.diagnostics.warning(
            "W307", f"{prefix}map: policies {', '.join(with_defaults)} have defaults; where "
            "the first usable one with a default to apply rejects a pod anyway, "
            "PodSecurityPolicy would take a later one's defaults, the MutatingAdmissionPolicy "
            "does not", span, notes=notes, help="see report.md (bindings, map)")
    for name in mutating:
        loss = scope_loss(name, build.analysis, policy)
        if loss:
            build.diagnostics.warning(
                "W309", f"{prefix}policy `{policy.name}`: {name}: {loss}", span, notes=notes,
                help="bind the policy in namespaces of its own, set the fields in the "
                "workloads, or build the map target where the cluster serves "
                "MutatingAdmissionPolicy")
        partial = [c for c in coverage[name] if c.status != EXACT and c.reason != loss]
        if name != "map" and defaults_of(policy) and partial:
            build.diagnostics.warning(
                "W308", f"{prefix}policy `{policy.name}`: {name} "
                + "; ".join(f"{c.intent}: {c.reason}" for c in partial), span, notes=notes,
                help="prefer the map target where the cluster serves MutatingAdmissionPolicy")


def _psp_weaker(build: Build, policy: ir.Policy, coverage: dict, span: Span) -> None:
    weaker = [c.intent for c in coverage["psp"] if c.weakens]
    if not weaker:
        return
    enforcing = [t for t in ADMISSION if t in coverage and not any(
        c.intent in weaker and c.weakens for c in coverage[t])]
    if "psa" in build.options.targets and psa_enforces(build.analysis, policy, weaker,
                                                       profiles.pss_cap(build.profile)):
        enforcing.append("psa")
    message = (f"{_prefix(build)}policy `{policy.name}`: the PodSecurityPolicy cannot enforce "
               + ", ".join(f"`{_STATEMENTS[w]}`" for w in weaker))
    notes = _notes(build)
    in_mode = ""  # the targets that would enforce, but only warn or audit in the profile's mode
    if enforcing and build.profile is not None and build.profile.mode != "deny":
        in_mode = (f"{', '.join(enforcing)} only {build.profile.mode} in its "
                   f"{build.profile.mode} mode")
        message += f", and no target of this profile enforces them ({in_mode})"
        enforcing = []
    elif not enforcing and build.profile is not None:
        message += ", and no target of this profile does: its cluster does not enforce them"
    if enforcing:
        verb = "does" if len(enforcing) == 1 else "do"
        build.diagnostics.warning("W303", message + f"; {', '.join(enforcing)} {verb}", span,
                                  help="apply those outputs too (see report.md)", notes=notes)
    elif weaker == [LEVEL]:
        standard = policy.pod_security_standard
        build.diagnostics.warning(
            "W304", f"{_prefix(build)}policy `{policy.name}`: the PodSecurityPolicy only "
            f"approximates Pod Security Standards {standard.level}, and no target of this "
            "build enforces it" + (f" ({in_mode})" if in_mode else ""), span, notes=notes,
            help='set the profile\'s mode = "deny" once its workloads pass, to enforce the '
            "level exactly" if in_mode else "also build gatekeeper, vap, kyverno or psa "
            "(`--target`, or the profile's enforce) to enforce the level exactly")
    elif build.profile is not None:
        build.diagnostics.warning(
            "W305", message, span, notes=notes, help="add gatekeeper (or psa, vap, kyverno where "
            "the version runs them) to the profile's enforce, or accept the gap there")
    else:
        build.diagnostics.error("E303", message + ", and no target of this build does", span,
                                help="also build gatekeeper, vap or kyverno (`--target`)")


def psa_enforces(analysis: Analysis, policy: ir.Policy, fields: list[str],
                 cap: str | None = None) -> bool:
    """Do pspc's PSA labels enforce these intents of `policy` wherever it is usable?

    Only where pspc labels every such namespace (no cluster-wide binding) and none of the
    fields is a gap at the namespace's enforce level.
    """
    if not policy.bindings or any(b.namespace is None for b in policy.bindings):
        return False
    labelled = {f.name: f for f in analysis.namespace_levels(cap)}
    for namespace in sorted({b.namespace for b in policy.bindings}):
        found = labelled.get(namespace) or analysis.levels_for(namespace)
        if any(g.field in fields for g in analysis.gaps(policy, found.enforce, found.version)):
            return False
    return True


def _profile_versions(build: Build, notes: tuple[tuple[str, Span], ...]) -> None:
    """W402: declared PSA versions newer than the profile's cluster; W403: AppArmor profiles
    the Helm values cannot set on it."""
    profile = build.profile
    cap = profiles.pss_cap(profile)
    if "psa" in build.options.targets:
        for declared in build.program.namespaces:
            version = declared.version
            if version and profiles.capped(version, cap) != version:
                build.diagnostics.warning(
                    "W402", f"profile `{profile.name}`: namespace `{declared.name}` declares "
                    f"Pod Security Standards {version}, newer than Kubernetes "
                    f"{profile.version}: its labels there pin {cap}",
                    declared.spans.get("version", declared.span), notes=notes)
    if "helm" in build.options.targets and not profiles.apparmor_field(profile):
        from pspc.targets.helm import apparmor_annotation

        for policy in build.program.policies:
            if value := apparmor_annotation(policy):
                origin = policy.origins.get("apparmor_allowed")
                build.diagnostics.warning(
                    "W403", f"profile `{profile.name}`: policy `{policy.name}` requires "
                    f"AppArmor profile {value}, and Kubernetes {profile.version} has no "
                    "appArmorProfile field (1.30+): helm/" + policy.name + ".values.yaml leaves "
                    "it out", origin.span if origin else policy.span, notes=notes,
                    help="set the container annotation its comment names in podAnnotations")
