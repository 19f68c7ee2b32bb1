"""The `pspc` command line.

Exit codes, for scripts: 0 success; 1 policy errors, or stale outputs with --check;
2 usage errors (bad options, missing paths, unwritable output folder).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pspc import __version__
from pspc.compiler import Compilation, UsageError, compile_paths, target_names
from pspc.diagnostics import Diagnostics, render, summary

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _report(compilation: Compilation, fmt: str = "text") -> None:
    diags: Diagnostics = compilation.diagnostics
    if fmt == "json":
        errors, warnings = diags.counts()
        click.echo(json.dumps({"diagnostics": [d.to_json() for d in diags.sorted()],
                               "errors": errors, "warnings": warnings}, indent=2))
        return
    colour = sys.stderr.isatty()
    for diagnostic in diags.sorted():
        click.echo(render(diagnostic, compilation.sources, colour=colour), err=True)
    if diags.items:
        click.echo(summary(diags), err=True)


def _compile(paths: tuple[str, ...]) -> Compilation:
    try:
        return compile_paths(list(paths) or ["."])
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--target", "targets", multiple=True, type=click.Choice(target_names()),
              help="Build only these targets (repeatable). Default: all.")
def build(paths: tuple[str, ...], out: str, check: bool, targets: tuple[str, ...]) -> None:
    """Compile the .pspc files in PATHS (default: .) into OUTPUT.

    OUTPUT gets psp/<policy>.yaml, rbac/<policy>.yaml and a kustomization.yaml listing
    them. pspc only replaces or deletes files it generated (listed in
    OUTPUT/.pspc-manifest); a failed build leaves OUTPUT as it was.
    """
    from pspc.compiler import build_outputs
    from pspc.output import writer

    compilation = _compile(paths)
    _report(compilation)
    if compilation.diagnostics.has_errors or compilation.program is None:
        click.echo("nothing written: fix the errors above", err=True)
        sys.exit(EXIT_FAILED)
    from pspc.compiler import display_path

    label = ", ".join(sorted(display_path(Path(p)) for p in paths)) if paths else "."
    files = build_outputs(compilation.program, list(targets) or target_names(), label)
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
def check_command(paths: tuple[str, ...], fmt: str) -> None:
    """Report errors and warnings in PATHS without writing anything."""
    compilation = _compile(paths)
    _report(compilation, fmt)
    sys.exit(EXIT_FAILED if compilation.diagnostics.has_errors else EXIT_OK)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change.")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite .pspc files in canonical form, keeping comments."""
    from pspc.compiler import find_sources, parse_files
    from pspc.syntax.printer import format_source

    try:
        sources = find_sources(list(paths) or ["."])
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    diags = Diagnostics()
    files, texts = parse_files(sources, diags)
    if diags.has_errors:
        _report(Compilation(None, diags, texts))
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

    compilation = _compile(paths)
    program = compilation.program
    found = [p for p in program.policies if p.name == policy] if program else []
    if not found:
        _report(compilation)
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
