"""The front door: `compile(paths, options) -> Build`, the only way sources become outputs.

Discovery, parsing, resolution, linting, analysis and the diagnostics of what the chosen
targets cannot express all happen here, once, for every command: `pspc build` and
`pspc check` print the same diagnostics for the same sources and targets because both are
this function; `eval`, `explain`, `migrate` and `import`'s self-verification go through it
too. Everything is pure up to `Build.outputs()`'s bytes; writing is pspc.output.writer's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pspc.diagnostics import Diagnostics, Span
from pspc.targets import TARGETS

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.model.ir import Program
    from pspc.syntax import ast

SOURCE_SUFFIX = ".pspc"


class UsageError(Exception):
    """The command line names something that cannot be used (exit code 2)."""


def display_path(path: Path) -> str:
    """A stable, portable name for a file: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: list[str], suffixes: tuple[str, ...], take_named: bool = False) -> list[Path]:
    """Every file with one of `suffixes` named in `paths` or found below its folders, in a
    stable order (by display name). Below a folder, hidden files and folders (a leading
    `.`, like .git) are skipped; a file named explicitly is taken whatever its suffix when
    `take_named` (the command reads only one kind of file)."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if name.endswith(suffixes) and not name.startswith("."):
                        file = Path(root) / name
                        found[display_path(file)] = file
        elif path.is_file():
            if take_named or path.name.endswith(suffixes):
                found[display_path(path)] = path
        else:
            raise UsageError(f"no such file or directory: {raw}")
    return [found[k] for k in sorted(found)]


def find_sources(paths: list[str]) -> list[Path]:
    """The .pspc files of `paths`; none at all is a usage error."""
    found = discover(paths, (SOURCE_SUFFIX,), take_named=True)
    if not found:
        raise UsageError("no .pspc files found in " + ", ".join(paths))
    return found


def read_sources(paths: list[Path], diags: Diagnostics) -> dict[str, str]:
    """Each readable source file's text, by display name."""
    from pspc.syntax.parser import read_source

    texts = {}
    for path in paths:
        name = display_path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            diags.error("E002", f"cannot read the file: {exc.strerror}", Span(name, 1, 1, 1, 1))
            continue
        text = read_source(name, data, diags)
        if text is not None:
            texts[name] = diags.sources[name] = text
    return texts


def parse_sources(texts: dict[str, str], diags: Diagnostics) -> list[ast.SourceFile]:
    from pspc.syntax.parser import parse_text

    parsed = (parse_text(text, name, diags) for name, text in texts.items())
    return [file for file in parsed if file is not None]


@dataclass(frozen=True)
class Options:
    """What to build: the targets (their diagnostics included), and the label that names
    the sources in generated headers."""

    targets: tuple[str, ...] = TARGETS
    label: str = "."


@dataclass
class Build:
    """One compile: the program (None when a source does not parse or resolve), its
    analysis, every diagnostic, and the source texts the diagnostics point into."""

    program: Program | None
    diagnostics: Diagnostics
    sources: dict[str, str]
    options: Options = field(default_factory=Options)
    analysis: Analysis | None = None

    @property
    def ok(self) -> bool:
        return self.program is not None and not self.diagnostics.has_errors

    def outputs(self) -> dict[str, bytes]:
        """Every file of the chosen targets, rendered, plus kustomization.yaml (listing the
        targets' cluster manifests), by path in sorted order."""
        from pspc.output.render import kustomization, render
        from pspc.targets import target

        rendered: dict[str, bytes] = {}
        manifests: list[str] = []
        for name in self.options.targets:
            chosen = target(name)
            for file in chosen.build(self):
                rendered[file.path] = render(file)
                if chosen.manifests and file.path.endswith(".yaml"):
                    manifests.append(file.path)
        rendered["kustomization.yaml"] = render(kustomization(sorted(manifests),
                                                              self.options.label))
        return dict(sorted(rendered.items()))


def compile(paths: list[str], options: Options | None = None) -> Build:
    """Compile the .pspc files of `paths` (UsageError when there are none)."""
    diags = Diagnostics()
    return compile_texts(read_sources(find_sources(paths), diags), options, diags)


def compile_texts(texts: dict[str, str], options: Options | None = None,
                  diags: Diagnostics | None = None) -> Build:
    """Compile source texts by file name: parse, resolve, lint, analyse, and say what the
    chosen targets cannot express."""
    from pspc.analysis import Analysis
    from pspc.model.lint import lint_policies, lint_usable_namespaces
    from pspc.model.resolve import compile_files
    from pspc.pss.namespaces import lint_declarations
    from pspc.targets.losses import report_losses

    options = options or Options()
    diags = diags if diags is not None else Diagnostics()
    diags.sources.update(texts)
    files = parse_sources(texts, diags)
    if diags.has_errors:
        return Build(None, diags, dict(texts), options)
    program = compile_files(files, diags)
    lint_policies(program.policies, diags)
    lint_usable_namespaces(program, diags)
    analysis = Analysis(program)
    lint_declarations(program, analysis.levels_for, diags)
    build = Build(program, diags, {**program.sources, **texts}, options, analysis)
    if not diags.has_errors:  # a policy in error has no meaning for the targets to carry
        report_losses(build)
    return build
