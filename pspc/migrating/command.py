"""What `pspc migrate [PATHS] --cluster DUMP...` runs: a pure function of its inputs.

The policies come from the pspc sources in PATHS when there are any (compiled through the
front door, pspc.compiler.compile, as `pspc migrate` always does); otherwise from the
dump's PodSecurityPolicies and RBAC, imported in memory by `pspc import`'s own code
(pspc.importing) and compiled the same way, so both get the same analysis. The simulator
runs on the PodSecurityPolicy objects themselves: the dump's (the `kubernetes.io/psp`
annotation names those), and the sources' for the PSP-today check when PATHS are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pspc.compiler import Options, compile, compile_texts
from pspc.diagnostics import Diagnostics
from pspc.importing import import_manifests
from pspc.migrating.dump import ClusterDump, read_dump
from pspc.migrating.plan import ClusterPlan, Policies, analyse
from pspc.migrating.render import render_json, render_text
from pspc.targets import psp as psp_target
from pspc.targets import rbac as rbac_target

EXIT_OK, EXIT_POLICY_ERRORS, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class Outcome:
    """What the command prints (stdout), its diagnostics and their sources, its exit code."""

    output: str
    diagnostics: Diagnostics
    sources: dict[str, str] = field(default_factory=dict)
    exit_code: int = EXIT_OK
    plan: ClusterPlan | None = None


def _from_sources(paths: list[str], diags: Diagnostics,
                  sources: dict[str, str]) -> Policies | None:
    build = compile(paths, Options(targets=()))
    diags.extend(build.diagnostics)
    sources.update(build.sources)
    if not build.ok:
        return None
    policies = build.program.policies
    return Policies("sources", [psp_target.manifest(p) for p in policies],
                    [m for p in policies for m in rbac_target.manifests(p)], build.analysis)


def _from_dump(dump: ClusterDump) -> Policies:
    psps = [m.object for m in dump.psps]
    rbac = [m.object for m in dump.rbac]
    if not dump.psps:
        return Policies("none", [], rbac, None, "the dump holds no PodSecurityPolicy and no "
                        "sources were given: the policies' levels are unknown")
    local = Diagnostics()  # import's diagnostics are about policy sources no one will read
    imported = import_manifests([*dump.psps, *dump.rbac], local)
    build = compile_texts({i.path: i.text for i in imported}, Options(targets=()), local) \
        if imported else None
    if build is None or not build.ok:
        errors = [d for d in local.items if d.severity == "error"]
        first = f" ({errors[0].code}: {errors[0].message})" if errors else ""
        return Policies("dump", psps, rbac, None, "pspc import cannot express the dump's "
                        f"PodSecurityPolicies exactly{first}: the policies' levels are "
                        "unknown; `pspc import DUMP -o DIR` says why")
    return Policies("dump", psps, rbac, build.analysis)


def migrate_cluster(paths: list[str], dumps: list[str], version: str, fmt: str) -> Outcome:
    """The plan from a cluster dump (UsageError for a path that does not exist)."""
    diags = Diagnostics()
    sources: dict[str, str] = {}
    dump = read_dump(dumps, diags)
    if diags.has_errors:
        return Outcome("", diags, sources, EXIT_BAD_INPUT)
    policies = _from_sources(paths, diags, sources) if paths else _from_dump(dump)
    if policies is None:
        return Outcome("", diags, sources, EXIT_POLICY_ERRORS)
    plan = analyse(dump, policies, version, diags)
    if diags.has_errors:
        return Outcome("", diags, sources, EXIT_BAD_INPUT)
    output = render_json(plan) if fmt == "json" else render_text(plan)
    return Outcome(output, diags, sources, EXIT_OK, plan)

