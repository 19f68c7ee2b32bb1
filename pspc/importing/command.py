"""`pspc import`: PodSecurityPolicy and RBAC YAML (files, folders, cluster dumps) to sources.

Exit codes as for `pspc build`: 0 written (warnings allowed); 1 bad input (nothing is
written), or OUTPUT out of date with --check; 2 usage errors (a missing path, an OUTPUT
that cannot be written safely).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pspc.compiler import UsageError, discover, display_path
from pspc.diagnostics import Diagnostics, summary
from pspc.importing.idiom import beyond_psp
from pspc.importing.sources import WILDCARD_FLAG, ImportedPolicy, import_manifests, skipped
from pspc.manifests import Manifest, read_manifests
from pspc.output import writer

EXIT_FAILED = 1
SUFFIXES = (".yaml", ".yml", ".json")


def input_files(paths: tuple[str, ...]) -> list[Path]:
    """Files named, and the YAML/JSON files below folders named (hidden ones skipped)."""
    found = discover(list(paths), SUFFIXES, take_named=True)
    if not found:
        raise UsageError("no YAML files (" + ", ".join(SUFFIXES) + ") in " + ", ".join(paths))
    return found


def read_inputs(paths: tuple[str, ...], diags: Diagnostics,
                texts: dict[str, str]) -> list[Manifest]:
    manifests: list[Manifest] = []
    for path in input_files(paths):
        manifests.extend(read_manifests(path, display_path(path), diags, texts))
    return manifests


def _report(diags: Diagnostics, texts: dict[str, str]) -> None:
    colour = sys.stderr.isatty()
    for text in diags.rendered(texts, colour=colour):
        click.echo(text, err=True)
    if diags.items:
        click.echo(summary(diags), err=True)


def _describe(item: ImportedPolicy) -> str:
    base = f"extends {item.idiom.base}" if item.idiom.base else "extends nothing"
    changes = item.idiom.changes
    bindings = len(item.policy.bindings)
    line = (f"  {item.path}: {base}, {changes} statement{'s' * (changes != 1)}, "
            f"{bindings} binding{'s' * (bindings != 1)}")
    if beyond := beyond_psp(item.idiom.base):
        line += ("; inherits what a PodSecurityPolicy cannot say (the validating targets "
                 "enforce it): " + "; ".join(beyond))
    return line


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False),
              help="Folder to write one <policy>.pspc file per PodSecurityPolicy into.")
@click.option(WILDCARD_FLAG, "include_wildcard", is_flag=True,
              help="Also import bindings granted only through `*` rules (e.g. "
              "cluster-admin's), which give every policy; they are marked with a comment.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 and show a diff if OUTPUT differs from the import.")
def import_command(paths: tuple[str, ...], out: str, include_wildcard: bool,
                   check: bool) -> None:
    """Turn PodSecurityPolicies (and the RBAC that lets people use them) into pspc sources.

    PATHS are YAML or JSON files, or folders of them: PodSecurityPolicy objects
    (policy/v1beta1 or extensions/v1beta1), multi-document files, `kind: List`, and dumps
    of `kubectl get psp,clusterrole,role,clusterrolebinding,rolebinding,namespace -A -o
    yaml` (other objects, such as pods, are skipped and counted). Each policy becomes
    OUTPUT/<policy>.pspc, written as the closest stdlib policy plus its differences, with
    `bind` statements for the RBAC that grants `use` of it. Every policy the API server
    accepts imports exactly; an invalid input is an error, and then nothing is written.
    """
    diags, texts = Diagnostics(), {}
    try:
        manifests = read_inputs(paths, diags, texts)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    imported = [] if diags.has_errors else import_manifests(manifests, diags, include_wildcard)
    _report(diags, texts)
    if diags.has_errors:
        click.echo("nothing written: fix the errors above", err=True)
        sys.exit(EXIT_FAILED)
    files = {item.path: item.text.encode("utf-8") for item in imported}
    try:
        with writer.locked(Path(out), write=not check):
            plan = writer.plan(Path(out), files)
            if check:
                if not plan.is_current:
                    click.echo(writer.diff(plan), nl=False)
                    click.echo(f"{out} differs from the import: {len(plan.added)} to add, "
                               f"{len(plan.changed)} to change, {len(plan.removed)} to "
                               "delete", err=True)
                    sys.exit(EXIT_FAILED)
            elif not plan.is_current:
                writer.commit(plan)
    except writer.WriteError as exc:
        raise click.UsageError(str(exc)) from exc
    count = f"{len(imported)} polic{'ies' if len(imported) != 1 else 'y'}"
    if others := skipped(manifests):
        count += (f"; skipped {sum(others.values())} other object"
                  f"{'s' * (sum(others.values()) != 1)}: "
                  + ", ".join(f"{n} {kind}" for kind, n in sorted(others.items())))
    if check:
        click.echo(f"{out} is up to date ({count})")
        return
    state = "unchanged" if plan.is_current else (
        f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} deleted")
    click.echo(f"imported {count} into {out} ({state}):")
    for item in imported:
        click.echo(_describe(item))
