"""The writing half of `pspc build`: under OUT's lock, compare, then check or commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pspc.output import writer


def update(out: str, files: dict[str, bytes], check: bool, empty: str | None = None,
           scope: str | None = None) -> None:
    """Bring OUT up to date with `files`, or with `check` say how it differs (exit 1).

    `empty` names the sources when there are none left: the files pspc generated from
    them are then removed (their policies are gone), rather than the build refusing.
    `scope` (`PROFILE/`) limits the update to one profile's folder (writer.plan)."""
    def waiting() -> None:
        click.echo(f"waiting for another pspc build of {out}...", err=True)

    try:
        with writer.locked(Path(out), write=not check, on_wait=waiting):
            plan = writer.plan(Path(out), files, scope)
            generated = [n for n in plan.removed if n != writer.MANIFEST]
            if empty is not None and generated:
                click.echo(f"no .pspc files in {empty}: {'would remove' if check else 'removing'}"
                           f" the {len(generated)} files pspc generated in {out}", err=True)
            for line in plan.leftovers():
                click.echo(line, err=True)
            if check:
                if plan.is_current and not plan.untracked:
                    click.echo(f"{out} is up to date ({len(plan.files)} files)")
                    return
                click.echo(writer.diff(plan), nl=False)
                extra = "".join(f", {len(found)} {what}" for found, what in (
                    (plan.stray, "temporary"), (plan.untracked, "untracked")) if found)
                click.echo(f"{out} is stale: {len(plan.added)} to add, {len(plan.changed)} to "
                           f"change, {len(plan.removed)} to delete{extra}; run `pspc build` "
                           "to update it", err=True)
                sys.exit(1)
            if plan.is_current:
                click.echo(f"{out} is up to date ({len(plan.files)} files)")
                return
            writer.commit(plan)
    except writer.WriteError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"wrote {out}: {len(plan.added)} added, {len(plan.changed)} changed, "
               f"{len(plan.removed)} deleted, {len(plan.files)} files in all")
