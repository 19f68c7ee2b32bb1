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
from pspc.targets import DEFAULT_TARGETS, TARGETS
from pspc.vocabulary import OUTPUT_MANIFEST

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.config import Config
    from pspc.model.ir import Program
    from pspc.profiles import Profile
    from pspc.syntax import ast
    from pspc.targets import OutputFile

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


def discover(paths: list[str], suffixes: tuple[str, ...], take_named: bool = False) -> list[Path]:
    """Every file with one of `suffixes` named in `paths` or found below its folders, in a
    stable order (by display name). Below a folder, hidden files and folders (a leading
    `.`, like .git) and pspc's own output folders (holding a .pspc-manifest: `pspc eval .`
    in a repository whose outputs/ lies inside must not read the generated PSPs as more
    policies) are skipped; a file named explicitly is taken whatever its suffix when
    `take_named` (the command reads only one kind of file)."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and not os.path.exists(os.path.join(root, d, OUTPUT_MANIFEST)))
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
    """The .pspc files of `paths`; none at all is a usage error (NoSourcesError)."""
    found = discover(paths, (SOURCE_SUFFIX,), take_named=True)
    if not found:
        raise NoSourcesError("no .pspc files found in " + ", ".join(paths))
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
    """What to build: the targets (their diagnostics included), the label that names the
    sources in generated headers, and the cluster profiles: `config` names a pspc.toml
    (default: the one found from the paths, unless `discover` is false), `profile` picks
    one of its profiles (default: all)."""

    targets: tuple[str, ...] = DEFAULT_TARGETS
    label: str = "."
    config: str | None = None
    profile: str | None = None
    discover: bool = True


@dataclass
class Build:
    """One compile: the program (None when a source does not parse or resolve), its
    analysis, every diagnostic, and the source texts the diagnostics point into."""

    program: Program | None
    diagnostics: Diagnostics
    sources: dict[str, str]
    options: Options = field(default_factory=Options)
    analysis: Analysis | None = None
    config: Config | None = None
    profiles: tuple[Profile, ...] = ()  # the profiles built, each into its own folder
    profile: Profile | None = None  # set in the view of one profile (for_profile)
    _views: dict[str, Build] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.program is not None and not self.diagnostics.has_errors

    def for_profile(self, profile: Profile) -> Build:
        """This build as one profile's targets see it: its targets, its cluster, and an
        analysis at its Kubernetes version (a Pod Security Standards level stated without a
        version is that cluster's), made once per profile."""
        from dataclasses import replace

        from pspc.analysis import Analysis
        from pspc.profiles import pss_cap

        view = self._views.get(profile.name)
        if view is None:
            # without a choice of targets, a profile builds every target it names
            chosen = TARGETS if self.options.targets == DEFAULT_TARGETS else self.options.targets
            targets = tuple(t for t in chosen if profile.builds(t))
            view = self._views[profile.name] = replace(
                self, options=replace(self.options, targets=targets), profile=profile,
                analysis=Analysis(self.program, pss_cap(profile)), _views={})
        return view

    def outputs(self) -> dict[str, bytes]:
        """Every file, rendered, by path in sorted order: with profiles, each profile's
        targets under PROFILE/ with a kustomization.yaml per deployable unit and one for
        the profile; without, every chosen target with a kustomization.yaml per unit."""
        rendered: dict[str, bytes] = {}
        if not self.profiles:
            rendered.update(self._rendered("", whole=False))
        for profile in self.profiles:
            rendered.update(self.for_profile(profile)._rendered(profile.name + "/", whole=True))
        return dict(sorted(rendered.items()))

    def files(self, name: str) -> tuple[OutputFile, ...]:
        """The files of target `name`, built once: the build's diagnostics read some
        (pspc.targets.object_sizes) before they are rendered."""
        from pspc.targets import target

        return self.analysis.once(("files", name), lambda: tuple(target(name).build(self)))

    def _rendered(self, prefix: str, whole: bool) -> dict[str, bytes]:
        from pspc.output.render import kustomizations, render
        from pspc.targets import target

        rendered: dict[str, bytes] = {}
        manifests: list[str] = []
        for name in self.options.targets:
            chosen = target(name)
            for file in self.files(name):
                rendered[prefix + file.path] = render(file)
                if chosen.manifests and file.path.endswith(".yaml"):
                    manifests.append(file.path)
        for file in kustomizations(manifests, self.options.label, whole):
            rendered[prefix + file.path] = render(file)
        return rendered


def compile(paths: list[str], options: Options | None = None) -> Build:
    """Compile the .pspc files of `paths` (UsageError when there are none), with the
    profiles of their pspc.toml (UsageError for a --config or --profile that names none)."""
    options = options or Options()
    diags = Diagnostics()
    config = load_config(paths, options, diags)
    return compile_texts(read_sources(find_sources(paths), diags), options, diags, config)


def load_config(paths: list[str], options: Options, diags: Diagnostics) -> Config | bool | None:
    """The pspc.toml of `paths` (or options.config): None when there is none, False when it
    has errors (reported in `diags`)."""
    from pspc import config

    if options.config is not None:
        path = Path(options.config)
        if not path.is_file():
            raise UsageError(f"no such file: {options.config}")
    elif options.discover:
        path = config.find(paths)
    else:
        path = None
    if path is None:
        if options.profile is not None:
            raise UsageError(f"--profile {options.profile}: no {config.FILENAME} found "
                             "(give one with --config)")
        return None
    loaded = config.load(path, diags, display_path(path))
    if loaded is None:
        return False
    if options.profile is not None and options.profile not in [p.name for p in loaded.profiles]:
        raise UsageError(f"--profile {options.profile}: {loaded.path} declares "
                         + ", ".join(p.name for p in loaded.profiles))
    return loaded


def compile_texts(texts: dict[str, str], options: Options | None = None,
                  diags: Diagnostics | None = None, config: Config | bool | None = None
                  ) -> Build:
    """Compile source texts by file name: parse, resolve, lint, analyse, and say what the
    chosen targets (or each chosen profile's) cannot express."""
    from pspc.analysis import Analysis
    from pspc.model.lint import lint_policies, lint_usable_namespaces
    from pspc.model.resolve import compile_files, stdlib_program
    from pspc.pss.loosened import drop_loosened_levels
    from pspc.pss.namespaces import lint_declarations
    from pspc.targets.losses import report_losses
    from pspc.targets.object_sizes import report_object_sizes

    options = options or Options()
    diags = diags if diags is not None else Diagnostics()
    diags.sources.update(texts)
    loaded = config or None  # False: a pspc.toml with errors, already reported
    profiles = tuple(p for p in loaded.profiles if options.profile in (None, p.name)) \
        if loaded else ()
    files = parse_sources(texts, diags)
    if diags.has_errors:
        return Build(None, diags, dict(texts), options, config=loaded, profiles=profiles)
    program = compile_files(files, diags)
    stdlib = {p.name: p for p in stdlib_program().policies}
    program = drop_loosened_levels(program, stdlib, diags)
    lint_policies(program.policies, diags)
    lint_usable_namespaces(program, diags)
    analysis = Analysis(program)
    lint_declarations(program, analysis.levels_for, diags)
    build = Build(program, diags, {**program.sources, **texts}, options, analysis, loaded,
                  profiles)
    if not diags.has_errors:  # a policy in error has no meaning for the targets to carry
        for view in [build.for_profile(p) for p in profiles] if profiles else [build]:
            report_losses(view)
            report_object_sizes(view)
    return build
