"""The `pspc` command line.

Exit codes, for scripts: 0 success; 1 policy errors, or stale outputs with --check;
2 usage errors (bad options, missing paths, unwritable output folder); 130 after SIGINT
(Ctrl-C) and 143 after SIGTERM, as shells report a command a signal ended.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import click

from pspc import __version__
from pspc.compiler import Build, NoSourcesError, Options, UsageError, compile
from pspc.diagnostics import Diagnostics, summary
from pspc.output.signals import exit_code, terminate_as_interrupt
from pspc.targets import DEFAULT_TARGETS, TARGETS

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


def _compile(paths: tuple[str, ...], targets: tuple[str, ...] = DEFAULT_TARGETS,
             config: str | None = None, profile: str | None = None,
             discover: bool = False, empty_ok: bool = False) -> Build | None:
    """The front door (pspc.compiler.compile), with usage errors as click's; `discover`
    looks for a pspc.toml (build and check); None if `empty_ok` and the paths hold no
    .pspc file."""
    from pspc.compiler import display_path

    # A compile makes millions of small objects, almost none in cycles, and keeps most of
    # them to the end: the cyclic collector would only rescan that growing heap, again and
    # again (a quarter of a 3,000-policy build). So it is off while compiling; then what
    # the compile made is frozen out of its view, and later collections (rendering, eval's
    # pods) scan only what is new, at thresholds for a program that allocates in bulk.
    gc.disable()
    label = ", ".join(sorted(display_path(Path(p)) for p in paths)) if paths else "."
    try:
        return compile(list(paths) or ["."], Options(targets, label, config, profile, discover))
    except UsageError as exc:
        if empty_ok and isinstance(exc, NoSourcesError):
            return None
        raise click.UsageError(str(exc)) from exc
    finally:
        gc.freeze()
        gc.set_threshold(200_000, 30, 30)
        gc.enable()


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

    def main(self, *args, **kwargs):
        with terminate_as_interrupt():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        """Exit 130 / 143 on SIGINT / SIGTERM, where click would say `Aborted!`, exit 1."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            click.echo("\ninterrupted", err=True)
            ctx.exit(exit_code(exc))


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pspc")
def main() -> None:
    """pspc compiles pod security intents into PodSecurityPolicies and the RBAC that makes
    them take effect.

    Write policies in .pspc files (see README.md for the language), then run
    `pspc build policies/` and commit the generated folder.
    """


def _profile_options(command):
    command = click.option(
        "--profile", default=None, help="Only this profile of pspc.toml (default: every "
        "profile, each into OUTPUT/PROFILE/); `build` then updates only OUTPUT/PROFILE/.")(command)
    return click.option(
        "--config", "config", default=None, type=click.Path(dir_okay=False),
        help="The pspc.toml to use (default: the first found from PATHS upward to the "
        "repository root).")(command)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out", default="outputs", show_default=True,
              type=click.Path(file_okay=False), help="Folder to write the generated files into.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 and show a diff if OUTPUT is not up to date.")
@click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
              help="Build only these targets (repeatable; with profiles, those of each "
              "profile's). Default: all but the mutating ones (map, gatekeeper-mutation, "
              "kyverno-mutation); with profiles, those each profile names.")
@_profile_options
def build(paths: tuple[str, ...], out: str, check: bool, targets: tuple[str, ...],
          config: str | None, profile: str | None) -> None:
    """Compile the .pspc files in PATHS (default: .) into OUTPUT.

    Per policy, OUTPUT gets psp/ and rbac/ (PodSecurityPolicy and the RBAC that makes it
    take effect) and helm/; for all policies together, PodSecurityPolicy's selection rule
    in gatekeeper/, rego/ (conftest), vap/ (ValidatingAdmissionPolicy) and kyverno/; and
    psa/namespaces.yaml (Pod Security Admission labels); when chosen (--target, or a
    profile's enforce), mutating/ (PodSecurityPolicy's defaults as a MutatingAdmissionPolicy,
    Gatekeeper mutators or Kyverno mutate rules);
    migration.md (the plan off PodSecurityPolicy), report.md/report.json (what each target
    enforces, intent by intent) and a kustomization.yaml per deployable unit. With a
    pspc.toml, each of its cluster profiles gets OUTPUT/PROFILE/ with the targets of that
    cluster. pspc only replaces or deletes files it generated (listed in
    OUTPUT/.pspc-manifest); a failed build leaves OUTPUT as it was. Without .pspc files in
    PATHS, the files pspc generated are removed. A second build into the same OUTPUT waits
    for the first.
    """
    from pspc.output.update import update

    build = _compile(paths, targets or DEFAULT_TARGETS, config, profile, discover=True,
                     empty_ok=True)
    if build is None:
        update(out, {}, check, empty=", ".join(paths) or ".")
        return
    _print(build)
    if not build.ok:
        click.echo("nothing written: fix the errors above", err=True)
        sys.exit(EXIT_FAILED)
    for chosen in build.profiles:
        if not build.for_profile(chosen).options.targets:
            click.echo(f"profile {chosen.name!r} builds none of the targets asked for "
                       f"({', '.join(targets)}); nothing written", err=True)
            sys.exit(EXIT_USAGE)
    # one profile owns only its folder: the other profiles' files stay
    update(out, build.outputs(), check, scope=f"{profile}/" if profile else None)


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json prints one object with every diagnostic.")
@click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
              help="Check for these targets only, as `pspc build --target` builds them "
              "(repeatable). Default: as `pspc build`.")
@_profile_options
def check_command(paths: tuple[str, ...], fmt: str, targets: tuple[str, ...],
                  config: str | None, profile: str | None) -> None:
    """Report errors and warnings in PATHS without writing anything: exactly what
    `pspc build` reports for the same sources, targets and profiles."""
    build = _compile(paths, targets or DEFAULT_TARGETS, config, profile, discover=True)
    _print(build, fmt)
    sys.exit(EXIT_FAILED if build.diagnostics.has_errors else EXIT_OK)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change.")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite .pspc files in canonical form, keeping comments."""
    from pspc.compiler import find_sources, parse_sources, read_sources
    from pspc.formatter import format_source
    from pspc.output import writer

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
            try:
                writer.replace_file(path, formatted.encode("utf-8"))
            except writer.WriteError as exc:
                raise click.UsageError(str(exc)) from exc
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


def _psa_version(ctx, param, value: str | None) -> str | None:
    from pspc.pss import known_versions

    if value is not None and value not in known_versions():
        raise click.BadParameter(f"{value!r} is not a Pod Security Standards version pspc "
                                 f"knows: use v1.0 to {known_versions()[-2]}, or latest")
    return value


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_profile_options
@click.option("--cluster", "dumps", multiple=True, type=click.Path(),
              help="A dump of the running cluster (repeatable; files or folders): `kubectl "
              "get pods,rs,deploy,sts,ds,jobs,cronjobs,ns,psp,clusterroles,roles,"
              "clusterrolebindings,rolebindings -A -o yaml`. Plans from what runs.")
@click.option("--version", "--psa-version", "psa_version", callback=_psa_version,
              help="With --cluster: the Pod Security Standards version (default v1.30).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None,
              help="With --cluster: text (default) or json.")
def migrate(paths: tuple[str, ...], dumps: tuple[str, ...], psa_version: str | None,
            fmt: str | None, config: str | None, profile: str | None) -> None:
    """Print the plan from PodSecurityPolicy to Pod Security Admission for PATHS.

    Per namespace: the policies bound there today, the enforce/audit/warn levels pspc
    writes to psa/namespaces.yaml, the intents PSA cannot enforce and which outputs do, and
    the workloads that rely on PodSecurityPolicy defaults (with the fields to set and the
    Helm values that set them). `pspc build` writes the same plan to migration.md. With
    cluster profiles (pspc.toml), each profile's plan, or --profile's.

    With --cluster, the plan comes from the workloads the dump shows running: per
    namespace, the strictest level every workload passes beside the level the policies
    (PATHS, else the dump's PodSecurityPolicies) imply, the exact fields each workload
    left to a PodSecurityPolicy default, what baseline and restricted would reject, and
    the `kubectl label` commands. Exit code 2 for an invalid dump.
    """
    from pspc.targets.migration import plan

    if dumps:
        from pspc.migrating.command import migrate_cluster
        from pspc.pss import DEFAULT_VERSION

        try:
            outcome = migrate_cluster(list(paths), list(dumps), psa_version or DEFAULT_VERSION,
                                      fmt or "text")
        except UsageError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(outcome.output, nl=False)
        _report(outcome.diagnostics, outcome.sources)
        sys.exit(outcome.exit_code)
    if psa_version or fmt:
        raise click.UsageError("--version and --format go with --cluster")
    build = _compile(paths, config=config, profile=profile, discover=True)
    if not build.ok:
        _print(build)
        sys.exit(EXIT_FAILED)
    everyone = build.config.profiles if build.config else ()
    for chosen in build.profiles or (None,):
        others = tuple(p for p in everyone if p != chosen)
        view = build if chosen is None else build.for_profile(chosen)
        click.echo(plan(view.analysis, chosen, others), nl=False)
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
              "pspc[engines] (regorus; cel-expr-python or cel-python).")
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
