"""`pspc import` as a pure function: Kubernetes objects in, formatted .pspc sources out.

objects ──psp.convert──▶ IR policies ──verify──▶ (each says exactly what its object says)
RBAC ──bindings.recover──▶ bindings per policy
policy ──idiom.choose──▶ statements ──printer──▶ one formatted file per policy

Before returning, every file is compiled together with the others: each policy must come
back with exactly the intents and bindings that were imported.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.compiler import SOURCE_SUFFIX, Options, compile_texts
from pspc.diagnostics import Diagnostics, Severity
from pspc.formatter import format_source
from pspc.importing import bindings as rbac
from pspc.importing.idiom import Idiom, choose
from pspc.importing.psp import convert
from pspc.importing.reader import describe, where
from pspc.importing.verify import intents, verify
from pspc.manifests import Manifest
from pspc.model import ir, unparse
from pspc.syntax.parser import parse_text

WILDCARD_FLAG = "--include-wildcard-bindings"


@dataclass(frozen=True)
class ImportedPolicy:
    """One imported policy (with its bindings), how it is written, and its file."""

    policy: ir.Policy
    manifest: Manifest
    idiom: Idiom
    grants: tuple[rbac.Grant, ...]
    path: str
    text: str


EXPECTED_KINDS = ("Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                  "ReplicationController", "Job", "CronJob")
"""Kinds a cluster dump holds beside policies and RBAC: counted, not warned about."""


def skipped(manifests: list[Manifest]) -> Counter[str]:
    """The objects import leaves out, counted by kind."""
    return Counter(m.kind for m in manifests if m.kind not in ("PodSecurityPolicy", *rbac.KINDS)
                   and m.kind)


def _classify(manifests: list[Manifest], diags: Diagnostics) -> tuple[list[Manifest],
                                                                     list[Manifest]]:
    psps, roles, others = [], [], []
    for manifest in manifests:
        kind = manifest.object.get("kind")
        if not isinstance(kind, str) or not kind:
            diags.error("E043", f"{describe(manifest)}: kind: an object needs a kind",
                        where(manifest), help="Kubernetes objects have apiVersion and kind")
        elif kind == "PodSecurityPolicy":
            psps.append(manifest)
        elif kind in rbac.KINDS:
            roles.append(manifest)
        elif kind not in EXPECTED_KINDS:
            others.append(manifest)
    counts = skipped(others)
    if counts:
        diags.warning("W201", "skipped what is neither a PodSecurityPolicy nor RBAC: "
                      + _counted(counts), where(others[0]))
    return psps, roles


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def _policies(psps: list[Manifest], diags: Diagnostics) -> list[tuple[ir.Policy, Manifest]]:
    found: dict[str, tuple[ir.Policy, Manifest]] = {}
    for manifest in psps:
        policy = convert(manifest, diags)
        if policy is None:
            continue
        if policy.name in found:
            first = found[policy.name][1]
            diags.error("E045", f"{describe(manifest)}: PodSecurityPolicy {policy.name} is "
                        "defined twice", where(manifest),
                        notes=(("first defined here", where(first)),), help="keep one of them")
            continue
        if verify(policy, manifest, diags):
            found[policy.name] = (policy, manifest)
    return list(found.values())


def _wildcard_warnings(recovered: rbac.Recovered, total: int, include: bool,
                       diags: Diagnostics) -> None:
    for item in recovered.wildcard_bindings:
        who = ", ".join(_who(s) for s in item.subjects) or "no subjects"
        policies = ", ".join(item.policies) if len(item.policies) < max(total, 4) else (
            f"all {total} imported policies")
        what = ("imported, marked with a comment" if include else
                f"not imported as policy bindings (pass {WILDCARD_FLAG} to import them)")
        diags.warning("W203", f"{describe(item.manifest)}: gives {who} `use` of {policies} "
                      f"only through `*` rules ({item.via}); {what}", where(item.manifest),
                      help="`*` rules (as in cluster-admin) grant every policy, usually "
                      "without meaning to bind it")


def _who(subject: ir.Subject) -> str:
    if subject.kind == "ServiceAccount":
        return f"service account {subject.namespace}/{subject.name}"
    return f"{subject.kind.lower()} {subject.name}"


def render(name: str, idiom: Idiom, grants: tuple[rbac.Grant, ...]) -> str:
    """The policy's file: the policy, its bindings, then (commented) wildcard bindings."""
    lines = idiom.source(name).splitlines()
    direct = [g.binding for g in grants if not g.wildcard]
    wildcard = [g for g in grants if g.wildcard]
    if direct:
        lines.append("")
        lines.extend(line for block in unparse.binding_lines(name, direct) for line in block)
    if wildcard:
        lines += ["", f"# Granted only through `*` rules (imported with {WILDCARD_FLAG}):"]
        lines += [f"#   {via}" for via in sorted({g.via for g in wildcard})]
        blocks = unparse.binding_lines(name, [g.binding for g in wildcard])
        lines.extend(line for block in blocks for line in block)
    text = "\n".join(lines) + "\n"
    parsed = parse_text(text, f"{name}{SOURCE_SUFFIX}", Diagnostics())
    return format_source(parsed) if parsed is not None else text


def _check_together(imported: list[ImportedPolicy], diags: Diagnostics) -> None:
    """Compile every file together: each policy must come back exactly as imported."""
    local = Diagnostics()
    build = compile_texts({item.path: item.text for item in imported}, Options(targets=()), local)
    compiled = {p.name: p for p in build.program.policies} if build.program else {}
    failed = {d.span.file for d in local.items if d.severity is Severity.ERROR and d.span}
    for item in imported:
        back = compiled.get(item.policy.name)
        same = back is not None and intents(back) == intents(item.policy) and set(
            back.bindings) == set(item.policy.bindings)
        if not same or item.path in failed or local.has_errors and not failed:
            diags.error("E044", f"{describe(item.manifest)}: internal error: the written "
                        "source does not compile back to this policy", where(item.manifest),
                        help="please report this as a bug in pspc import")


def import_manifests(manifests: list[Manifest], diags: Diagnostics,
                     include_wildcard: bool = False) -> list[ImportedPolicy]:
    """The sources for every PodSecurityPolicy among `manifests`; [] after any error."""
    psps, roles = _classify(manifests, diags)
    if not psps:
        if not diags.has_errors:
            diags.error("E041", "no PodSecurityPolicy in the input", None,
                        help="pass PodSecurityPolicy YAML, e.g. kubectl get psp,clusterrole,"
                        "role,clusterrolebinding,rolebinding -A -o yaml")
        return []
    policies = _policies(psps, diags)
    names = [p.name for p, _ in policies]
    recovered = rbac.recover(roles, names, diags)
    if diags.has_errors:
        return []
    _wildcard_warnings(recovered, len(names), include_wildcard, diags)
    imported = []
    for policy, manifest in sorted(policies, key=lambda pm: pm[0].name):
        grants = tuple(recovered.bindings(policy.name, include_wildcard))
        policy = dataclasses.replace(policy, bindings=tuple(g.binding for g in grants))
        idiom = choose(policy, names)
        imported.append(ImportedPolicy(policy, manifest, idiom, grants,
                                       f"{voc.file_stem(policy.name)}{SOURCE_SUFFIX}",
                                       render(policy.name, idiom, grants)))
    _check_together(imported, diags)
    return [] if diags.has_errors else imported
