"""The `pspc` command line.

Exit codes, for scripts: 0 success; 1 policy errors, or stale outputs with --check;
2 usage errors (bad options, missing paths, unwritable output folder).
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import click

from pspc import __version__
from pspc.compiler import Build, Options, UsageError, compile
from pspc.diagnostics import Diagnostics, summary
from pspc.targets import TARGETS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _report(diags: Diagnostics, sources: dict[str, str], fmt: str = "text") -> None:
    if fmt == "json":
        errors, warnings = diags.counts()
        click.echo(json.dumps({"diagnostics": [d.to_json() for d in diags.sorted()],
                               "errors": errors, "warnings": warnings}, indent=2))
        return
    colour = sys.stderr.isatty()
    for text in diags.rendered(sources, colour=colour):
        click.echo(text, err=True)
    if diags.items:
        click.echo(summary(diags), err=True)


def _compile(paths: tuple[str, ...], targets: tuple[str, ...] = TARGETS) -> Build:
    """The front door (pspc.compiler.compile), with usage errors as click's."""
    from pspc.compiler import display_path

    # A compile makes millions of small objects, almost none in cycles, and keeps most of
    # them to the end; at CPython's default thresholds the collector rescans that growing
    # heap over and over (a third of a 1,000-policy build). mypy sets the same thresholds.
    gc.set_threshold(200_000, 30, 30)

    label = ", ".join(sorted(display_path(Path(p)) for p in paths)) if paths else "."
    try:
        return compile(list(paths) or ["."], Options(targets, label))
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc


def _print(build: Build, fmt: str = "text") -> None:
    _report(build.diagnostics, build.sources, fmt)


class _Commands(click.Group):
    """Commands defined in their own modules are imported only when used, so that
    `pspc --version` and `pspc check` start without loading them."""

    lazy = {"import": ("pspc.importing.command", "import_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attribute = self.lazy[name]
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pspc")
def main() -> None:
    """pspc compiles pod security intents into PodSecurityPolicies and the RBAC that makes
    them take effect.

    Write policies in .pspc files (see README.md for the language), then run
    `pspc build policies/` and commit the generated folder.
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out", default="outputs", show_default=True,
              type=click.Path(file_okay=False), help="Folder to write the generated files into.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 and show a diff if OUTPUT is not up to date.")
@click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
              help="Build only these targets (repeatable). Default: all.")
def build(paths: tuple[str, ...], out: str, check: bool, targets: tuple[str, ...]) -> None:
    """Compile the .pspc files in PATHS (default: .) into OUTPUT.

    Per policy, OUTPUT gets psp/ and rbac/ (PodSecurityPolicy and the RBAC that makes it
    take effect), gatekeeper/, rego/ (conftest), vap/ (ValidatingAdmissionPolicy),
    kyverno/ and helm/, plus psa/namespaces.yaml (Pod Security Admission labels),
    migration.md (the plan off PodSecurityPolicy), report.md/report.json (what each target
    enforces, intent by intent) and a kustomization.yaml listing the manifests. pspc only
    replaces or deletes files it generated (listed in OUTPUT/.pspc-manifest); a failed
    build leaves OUTPUT as it was.
    """
    from pspc.output import writer

    build = _compile(paths, targets or TARGETS)
    _print(build)
    if not build.ok:
        click.echo("nothing written: fix the errors above", err=True)
        sys.exit(EXIT_FAILED)
    files = build.outputs()
    try:
        plan = writer.plan(Path(out), files)
        if check:
            if plan.is_current:
                click.echo(f"{out} is up to date ({len(plan.files)} files)")
                return
            click.echo(writer.diff(plan), nl=False)
            click.echo(f"{out} is stale: {len(plan.added)} to add, {len(plan.changed)} to "
                       f"change, {len(plan.removed)} to delete; run `pspc build` to update it",
                       err=True)
            sys.exit(EXIT_FAILED)
        if plan.is_current:
            click.echo(f"{out} is up to date ({len(plan.files)} files)")
            return
        writer.commit(plan)
    except writer.WriteError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"wrote {out}: {len(plan.added)} added, {len(plan.changed)} changed, "
               f"{len(plan.removed)} deleted, {len(plan.files)} files in all")


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json prints one object with every diagnostic.")
@click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
              help="Check for these targets only, as `pspc build --target` builds them "
              "(repeatable). Default: all.")
def check_command(paths: tuple[str, ...], fmt: str, targets: tuple[str, ...]) -> None:
    """Report errors and warnings in PATHS without writing anything: exactly what
    `pspc build` reports for the same sources and targets."""
    build = _compile(paths, targets or TARGETS)
    _print(build, fmt)
    sys.exit(EXIT_FAILED if build.diagnostics.has_errors else EXIT_OK)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change.")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite .pspc files in canonical form, keeping comments."""
    from pspc.compiler import find_sources, parse_sources, read_sources
    from pspc.formatter import format_source

    try:
        sources = find_sources(list(paths) or ["."])
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    diags = Diagnostics()
    texts = read_sources(sources, diags)
    files = parse_sources(texts, diags)
    if diags.has_errors:
        _report(diags, texts)
        sys.exit(EXIT_FAILED)
    stale = []
    for path, file in zip((p for p in sources), files, strict=True):
        formatted = format_source(file)
        if formatted == file.text:
            continue
        stale.append(file.path)
        if not check:
            path.write_text(formatted, encoding="utf-8", newline="\n")
    verb = "would reformat" if check else "reformatted"
    for name in stale:
        click.echo(f"{verb} {name}", err=True)
    click.echo(f"{len(stale)} of {len(files)} files {verb}" if stale
               else f"{len(files)} files already formatted", err=True)
    if check and stale:
        sys.exit(EXIT_FAILED)


@main.command()
@click.argument("policy")
@click.argument("paths", nargs=-1, type=click.Path())
def explain(policy: str, paths: tuple[str, ...]) -> None:
    """Show POLICY's resolved intents and where each one was set (file, line, policy)."""
    from pspc.model.unparse import policy_lines

    build = _compile(paths)
    program = build.program
    found = [p for p in program.policies if p.name == policy] if program else []
    if not found:
        _print(build)
        raise click.UsageError(f"no policy named {policy!r} in " + (", ".join(paths) or "."))
    resolved = found[0]
    chain = " -> ".join((resolved.name,) + resolved.extends)
    click.echo(f"# {resolved.name} ({chain}), defined at {resolved.span}")
    click.echo(f"policy {resolved.name} {{")
    for field, lines in policy_lines(resolved):
        origin = resolved.origins.get(field)
        where = (f"{origin.span} ({origin.policy})" if origin
                 else "default: an empty PodSecurityPolicy allows nothing")
        width = max(len(lines[-1]), 44)
        lines[-1] = lines[-1].ljust(width) + f"  # {where}"
        click.echo("\n".join(lines))
    click.echo("}")
    for binding in resolved.bindings:
        subject = binding.subject
        who = f"{subject.kind} {subject.namespace + '/' if subject.namespace else ''}{subject.name}"
        scope = f"in namespace {binding.namespace}" if binding.namespace else "cluster-wide"
        click.echo(f"# bound to {who} {scope}" + (f" ({binding.span})" if binding.span else ""))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def migrate(paths: tuple[str, ...]) -> None:
    """Print the plan from PodSecurityPolicy to Pod Security Admission for PATHS.

    Per namespace: the policies bound there today, the enforce/audit/warn levels pspc
    writes to psa/namespaces.yaml, the intents PSA cannot enforce and which outputs do, and
    the workloads that rely on PodSecurityPolicy defaults (with the fields to set and the
    Helm values that set them). `pspc build` writes the same plan to migration.md.
    """
    from pspc.targets.migration import plan

    build = _compile(paths)
    if not build.ok:
        _print(build)
        sys.exit(EXIT_FAILED)
    click.echo(plan(build.analysis), nl=False)
    _print(build)


def _default_groups(user: str) -> tuple[str, ...]:
    """The groups Kubernetes authentication gives a user that names none."""
    prefix = "system:serviceaccount:"
    if user.startswith(prefix) and user.count(":") == 3:
        namespace = user.split(":")[2]
        return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                "system:authenticated")
    return ("system:authenticated",)


def _engine_names(names: tuple[str, ...]) -> list[str]:
    if "all" in names:
        return ["psp", "rego", "gatekeeper", "cel", "psa"]
    return list(dict.fromkeys(names))


def _psa_version(ctx, param, value: str | None) -> str | None:
    from pspc.pss import known_versions

    if value is not None and value not in known_versions():
        raise click.BadParameter(f"{value!r} is not a Pod Security Standards version pspc "
                                 f"knows: use v1.0 to {known_versions()[-2]}, or latest")
    return value


def _kube_version(text: str) -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in text.lstrip("v").split(".")[:2])
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a version such as 1.24") from None
    if (major, minor) > (1, 24) or (major, minor) < (1, 3):
        raise click.BadParameter("PodSecurityPolicy exists from Kubernetes 1.3 to 1.24")
    return major, minor


@main.command("eval")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-f", "--filename", "files", multiple=True, required=True, type=click.Path(),
              help="Pods and workloads to evaluate (YAML; multi-document and kind: List).")
@click.option("-n", "--namespace", default="default", show_default=True,
              help="Namespace of objects that do not name one.")
@click.option("--engine", "engine_names", multiple=True, default=("psp",), show_default=True,
              type=click.Choice(["psp", "rego", "gatekeeper", "cel", "psa", "all"]),
              help="Engines to run (repeatable): psp (the admission simulator), rego "
              "(conftest module), gatekeeper (its Rego), cel (the VAP/Kyverno/Gatekeeper "
              "CEL), psa (Pod Security Admission), or all. The validating engines need "
              "regorus / cel-python.")
@click.option("--level", type=click.Choice(["privileged", "baseline", "restricted"]),
              help="psa: enforce this level in every namespace (default: the levels pspc "
              "writes to psa/namespaces.yaml for the pod's namespace; privileged, PSA's "
              "default, where pspc labels none).")
@click.option("--psa-version", "--version", "psa_version", callback=_psa_version,
              help="psa: the Pod Security Standards version, e.g. v1.30 or latest (default: "
              "the namespace's, else pspc's default v1.30).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--rbac", "rbac_files", multiple=True, type=click.Path(),
              help="Extra RBAC (and PSP) YAML, e.g. a cluster dump (repeatable).")
@click.option("--as", "as_user", help="The requesting user (default: a cluster admin in "
              "system:masters).")
@click.option("--as-group", "as_groups", multiple=True, help="A group of --as (repeatable).")
@click.option("--no-default-rbac", is_flag=True,
              help="Do not assume the bootstrap RBAC (cluster-admin bound to system:masters).")
@click.option("--operation", type=click.Choice(["create", "update"]), default="create",
              show_default=True)
@click.option("--kube-version", default="1.24", show_default=True,
              help="Kubernetes version whose messages to reproduce (1.3-1.24; before 1.19 "
              "rejections read `unable to validate against any pod security policy`).")
@click.option("--pipeline", type=click.Choice(["plugin", "full"]), default="plugin",
              show_default=True, help="plugin: the PSP plugin alone, objects as written; "
              "full: a stock API server (service account token volume, seccomp sync, gates).")
@click.option("--feature-gates", default=None,
              help="e.g. ProcMountType=false,EphemeralContainers=true")
def eval_command(paths, files, namespace, engine_names, level, psa_version, fmt, rbac_files,
                 as_user, as_groups, no_default_rbac, operation, kube_version, pipeline,
                 feature_gates):
    """Evaluate pods and workloads against the policies in PATHS.

    PATHS are pspc sources and/or PodSecurityPolicy and RBAC YAML. A workload's pods are
    requested by its controller's service account (e.g. the ReplicaSet controller for a
    Deployment), a Pod by the requesting user. Exit code: 0 all admitted, 1 something
    forbidden, 2 invalid input (nothing evaluated), 3 engines disagree.

    --engine psa applies the Pod Security Admission labels pspc writes for the pod's
    namespace (or --level everywhere), and checks that those labels reject no pod that the
    policies usable there admit (a disagreement of kind psa).
    """
    from pspc.admission import Identity
    from pspc.admission.pipeline import FeatureGates
    from pspc.engines.psp import BOOTSTRAP_RBAC, DEFAULT_REQUESTER, PspEngine, PspOptions
    from pspc.engines.validating import ContractOracle
    from pspc.engines.validators import ENGINES_EXTRA
    from pspc.evaluation import (
        Progress,
        add_policy_object,
        iter_results,
        load_objects,
        load_policy_objects,
        validating_engines,
        write_results,
    )
    from pspc.manifests import read_manifests

    version = _kube_version(kube_version)
    try:
        gates = FeatureGates.parse(feature_gates) if feature_gates else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--feature-gates") from None
    diags = Diagnostics()
    try:
        objects = load_policy_objects(list(paths), diags)
        for raw in rbac_files:
            if not Path(raw).is_file():
                raise UsageError(f"no such file: {raw}")
            for manifest in read_manifests(Path(raw), raw, diags):
                add_policy_object(objects, manifest, diags)
        manifests = load_objects(list(files), diags)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    if diags.has_errors:
        _report(diags, objects.sources)
        sys.exit(EXIT_USAGE)  # invalid input: never evaluated, so never admitted
    requester = DEFAULT_REQUESTER
    if as_user:
        requester = Identity(as_user, tuple(as_groups) or _default_groups(as_user))
    rbac = objects.rbac + ([] if no_default_rbac else list(BOOTSTRAP_RBAC))
    options = PspOptions(requester, operation.upper(), version, pipeline, gates)
    chosen = _engine_names(engine_names)
    engines = [PspEngine(objects.psps, rbac, options)] if "psp" in chosen else []
    try:
        engines += validating_engines(objects.analysis, chosen, requester, operation.upper())
    except ImportError as exc:
        raise click.UsageError(f"{exc.name} is not installed; to run the validating engines: "
                               f"{ENGINES_EXTRA}") from exc
    oracle = ContractOracle(objects.policies, requester) if len(engines) > 1 else None
    psa_check = None
    if "psa" in chosen:
        from pspc.engines.psa import NamespacePsaEngine
        from pspc.evaluation import PsaConsistency, psa_labels

        engines.append(NamespacePsaEngine(psa_labels(objects.analysis), level, psa_version))
        if objects.analysis is not None and level is None and psa_version is None:
            psa_check = PsaConsistency(objects.analysis,
                                       oracle or ContractOracle(objects.policies, requester))
    progress = Progress(len(manifests))
    found, forbidden = write_results(iter_results(manifests, engines, namespace, diags, oracle,
                                                  psa_check, progress), fmt, click.echo)
    _report(diags, objects.sources)
    if found:
        sys.exit(3)
    if diags.has_errors or forbidden:
        sys.exit(EXIT_FAILED)
