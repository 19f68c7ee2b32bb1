"""The Pod Security Admission target: psa/namespaces.yaml, one Namespace per namespace pspc
labels, with `pod-security.kubernetes.io/{enforce,audit,warn}` and their `-version` labels.

Which namespaces and which levels: pspc.pss.namespaces. Applying a Namespace manifest sets
these labels and leaves the namespace's other labels alone; the annotations ask Argo CD and
Flux never to prune these objects, since deleting a Namespace deletes everything in it (a
namespace leaves the file when its last binding or declaration goes away).

For a cluster profile, the `*-version` labels pin no version newer than the cluster's, and
the rollout mode picks the labels: warn and audit write no enforce label, and their audit
(and warn) labels carry the level enforce would have, so they report what enforcing it would
reject (pspc.profiles.psa_modes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import profiles
from pspc.pss.namespaces import LABEL_PREFIX, NamespaceLevels
from pspc.targets import OutputFile, Target

if TYPE_CHECKING:
    from pspc.compiler import Build

PATH = "psa/namespaces.yaml"
NO_PRUNE = {"argocd.argoproj.io/sync-options": "Prune=false",
            "kustomize.toolkit.fluxcd.io/prune": "disabled"}


def labels(found: NamespaceLevels, modes: tuple[str, ...] = ("enforce", "audit", "warn")
           ) -> dict[str, str]:
    """The labels of the `modes` written; without enforce, audit and warn carry the
    enforce level (unless declared), so they report what enforcing it would reject."""
    if "enforce" in modes:
        return found.labels()
    out = {}
    for mode in modes:
        level = found.levels[mode] if found.origin(mode) == "declared" else found.enforce
        out[LABEL_PREFIX + mode] = level
        out[LABEL_PREFIX + mode + "-version"] = found.version
    return out


def namespace_object(found: NamespaceLevels,
                     modes: tuple[str, ...] = ("enforce", "audit", "warn")) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": found.name, "labels": labels(found, modes),
                         "annotations": dict(NO_PRUNE)}}


def why(found: NamespaceLevels, modes: tuple[str, ...] = ("enforce", "audit", "warn")) -> str:
    """One line: the labels written for the `modes` and where their levels come from."""
    enforce = found.enforce
    if found.origin("enforce") == "declared":
        forced = " (forced)" if found.declared and found.declared.force else ""
        reason = f"declared at {found.declared.spans.get('enforce', found.declared.span)}{forced}"
    elif len(found.policies) == 1:
        reason = f"the level of {found.policies[0][0].name}"
    elif found.policies:
        reason = "least strict of " + ", ".join(f"{p.name} ({r.level})"
                                                for p, r in found.policies)
    else:
        reason = "no policy is usable here, so PodSecurityPolicy admits no pod"
    if "enforce" not in modes:  # a rollout: the labels say what enforcing would reject
        written = labels(found, modes)
        listed = ", ".join(f"{mode} {written[LABEL_PREFIX + mode]}" for mode in modes)
        return (f"{found.name}: {listed} {found.version} (enforce {enforce} in deny mode: "
                f"{reason})")
    others = ", ".join(f"{mode} {found.levels[mode]}"
                       + (" (declared)" if found.origin(mode) == "declared" else "")
                       for mode in ("audit", "warn"))
    return f"{found.name}: enforce {enforce} {found.version}: {reason}; {others}"


def build(build: Build) -> list[OutputFile]:
    found = build.analysis.namespace_levels(profiles.pss_cap(build.profile))
    if not found:
        return []
    modes = profiles.psa_modes(build.profile)
    sources = sorted(set().union(*(f.sources() for f in found)))
    comment = [why(f, modes) for f in found]
    if "enforce" not in modes:
        comment.append(f"{build.profile.mode} mode (profile {build.profile.name}): no enforce "
                       f"label; {' and '.join(modes)} report what enforcing would reject")
    return [OutputFile(PATH, ", ".join(sources), tuple(namespace_object(f, modes) for f in found),
                       comment="\n".join(comment))]


TARGET = Target("psa", build, manifests=True)
