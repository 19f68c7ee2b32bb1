"""The pipeline in one place: find sources, parse, resolve, check, run targets, render.

Everything here is pure up to the returned bytes; writing is pspc.output.writer's job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pspc.diagnostics import Diagnostics, Span
from pspc.targets import TARGET_NAMES

if TYPE_CHECKING:
    from pspc.model.resolve import Program
    from pspc.syntax import ast

SOURCE_SUFFIX = ".pspc"


class UsageError(Exception):
    """The command line names something that cannot be used (exit code 2)."""


class NoSourcesError(UsageError):
    """The paths exist but hold no .pspc file: `pspc build` then prunes its outputs."""


def display_path(path: Path) -> str:
    """A stable, portable name for a file: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def find_sources(paths: list[str]) -> list[Path]:
    """Every .pspc file named or found below the given folders, in a stable order."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if name.endswith(SOURCE_SUFFIX):
                        file = Path(root) / name
                        found[display_path(file)] = file
        elif path.is_file():
            found[display_path(path)] = path
        else:
            raise UsageError(f"no such file or directory: {raw}")
    if not found:
        raise NoSourcesError("no .pspc files found in " + ", ".join(paths))
    return [found[k] for k in sorted(found)]


def parse_files(paths: list[Path], diags: Diagnostics) -> tuple[list[ast.SourceFile],
                                                                 dict[str, str]]:
    from pspc.syntax.parser import parse_text, read_source

    files, sources = [], {}
    for path in paths:
        name = display_path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            diags.error("E002", f"cannot read the file: {exc.strerror}", Span(name, 1, 1, 1, 1))
            continue
        text = read_source(name, data, diags)
        if text is None:
            continue
        sources[name] = text
        parsed = parse_text(text, name, diags)
        if parsed is not None:
            files.append(parsed)
    return files, sources


@dataclass(frozen=True)
class Compilation:
    program: Program | None
    diagnostics: Diagnostics
    sources: dict[str, str]


def compile_paths(paths: list[str]) -> Compilation:
    """Parse, resolve and check; the program is None when a source cannot be parsed."""
    from pspc.model.checks import check_namespaces, check_policies
    from pspc.model.resolve import compile_files

    diags = Diagnostics()
    files, sources = parse_files(find_sources(paths), diags)
    if diags.has_errors:
        return Compilation(None, diags, sources)
    program = compile_files(files, diags)
    check_policies(program.policies, diags)
    check_namespaces(program, diags)
    return Compilation(program, diags, {**program.sources, **sources})


def target_names() -> list[str]:
    return list(TARGET_NAMES)


def build_outputs(program: Program, targets: list[str], label: str) -> dict[str, bytes]:
    """Run the chosen targets and render every file, plus kustomization.yaml."""
    from pspc.output.render import kustomization, render
    from pspc.targets import OutputFile, registry

    chosen = registry()
    files: list[OutputFile] = []
    for name in targets:
        files.extend(chosen[name](program))
    rendered = {f.path: render(f) for f in files}
    manifests = [p for p in rendered if p.endswith(".yaml") and not p.startswith("helm/")]
    rendered["kustomization.yaml"] = render(kustomization(manifests, label))
    return dict(sorted(rendered.items()))
