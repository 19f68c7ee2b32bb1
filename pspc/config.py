"""pspc.toml: finding it and reading its cluster profiles, with located diagnostics.

Found as ruff and black find theirs: in the folder of the paths given (their common folder),
then each parent up to the repository root (a folder with `.git`) or the filesystem root;
`--config FILE` names one instead. The format:

    [profiles.legacy]            # the output folder OUT/legacy/
    kubernetes = "1.24"          # the cluster's version, a string "1.N" (1.19 to 1.37)
    enforce = ["psp", "psa"]     # targets that enforce there: psp (with rbac), gatekeeper,
                                 # vap, kyverno, psa
    ci = ["rego", "report", "migration", "helm"]   # CI-side targets (the default: all four)
    mode = "deny"                # deny (the default) | warn | audit

Every problem is a diagnostic at the file's line and column (E050-E054), so `pspc check`
and `pspc build` report them like any other.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pspc.diagnostics import Diagnostics, Span
from pspc.profiles import (
    CI_TARGETS,
    DEFAULT_CI,
    DEFAULT_MODE,
    ENFORCE_TARGETS,
    MODES,
    MUTATING_TARGETS,
    OLDEST,
    Profile,
    Version,
    caveat,
    unsupported,
)
from pspc.vocabulary import NEWEST

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILENAME = "pspc.toml"
PROFILE_KEYS = ("kubernetes", "enforce", "ci", "mode")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_VERSION = re.compile(r"v?1\.(0|[1-9][0-9]*)")
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Config:
    path: str  # as displayed in diagnostics
    profiles: tuple[Profile, ...]


def find(paths: list[str]) -> Path | None:
    """The pspc.toml that governs `paths`, or None."""
    folders = [p if p.is_dir() else p.parent for p in (Path(raw).resolve() for raw in paths)]
    if not folders:
        return None
    folder = Path(os.path.commonpath([str(f) for f in folders]))
    while True:
        candidate = folder / FILENAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists() or folder.parent == folder:
            return None
        folder = folder.parent


class _Locator:
    """Where a table, key or string value is written in the TOML text (tomllib gives no
    positions): a line scan that knows table headers and `key =` lines."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = text.splitlines()
        self.tables: dict[str, int] = {}  # header -> line index
        self.keys: dict[tuple[str, str], int] = {}  # (table, key) -> line index
        table = ""
        for index, line in enumerate(self.lines):
            if match := re.match(r"\s*\[\s*([^\[\]]+?)\s*\]", line):
                table = ".".join(part.strip().strip("\"'") for part in match[1].split("."))
                self.tables.setdefault(table, index)
            elif match := re.match(r"\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.-]+)\s*=", line):
                self.keys.setdefault((table, match[1].strip("\"'")), index)

    def _span(self, index: int, start: int, length: int) -> Span:
        return Span(self.name, index + 1, start + 1, index + 1, start + 1 + max(length, 1))

    def table(self, table: str) -> Span:
        index = self.tables.get(table)
        if index is None:
            return Span(self.name, 1, 1, 1, 2)
        line = self.lines[index]
        start = len(line) - len(line.lstrip())
        return self._span(index, start, line.find("]", start) + 1 - start)

    def key(self, table: str, key: str) -> Span:
        index = self.keys.get((table, key))
        if index is None:
            return self.table(table)
        line = self.lines[index]
        start = line.find(key)
        return self._span(index, max(start, 0), len(key))

    def text(self, span: Span) -> str:
        """What is written at a span of one line."""
        return self.lines[span.line - 1][span.column - 1:span.end_column - 1]

    def value(self, table: str, key: str, value: object) -> Span:
        """The span of a value: a quoted string from the key's line on, else the key."""
        index = self.keys.get((table, key))
        if index is None:
            return self.table(table)
        if isinstance(value, str):
            for offset, line in enumerate(self.lines[index:index + 50]):
                for quoted in (f'"{value}"', f"'{value}'"):
                    start = line.find(quoted, line.find("=") + 1 if offset == 0 else 0)
                    if start >= 0:
                        return self._span(index + offset, start, len(quoted))
        line = self.lines[index]
        start = line.find("=") + 1
        start += len(line[start:]) - len(line[start:].lstrip())
        return self._span(index, start, len(line.rstrip()) - start)


def _suggest(word: str, choices: tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean `{found[0]}`?" if found else None


def _version(raw: object) -> Version | None:
    if isinstance(raw, str) and (match := _VERSION.fullmatch(raw.strip())):
        return (1, int(match[1]))
    return None


def load(path: Path, diags: Diagnostics, name: str | None = None) -> Config | None:
    """Read and check a pspc.toml; None when it has errors (reported in `diags`)."""
    name = name or path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as exc:
        diags.error("E050", f"cannot read {FILENAME}: {exc.strerror}", Span(name, 1, 1, 1, 2))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        diags.error("E050", f"{FILENAME} is not UTF-8 text", Span(name, 1, 1, 1, 2))
        return None
    diags.sources[name] = text
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _AT.search(message)
        line, column = (int(at[1]), int(at[2])) if at else (1, 1)
        if "(at end of document)" in message:
            lines = text.splitlines() or [""]
            line, column = ((len(lines) + 1, 1) if text.endswith("\n")
                            else (len(lines), len(lines[-1]) + 1))
        message = message.replace("(at end of document)", "at the end of the file")
        diags.error("E050", f"invalid TOML: {_AT.sub('', message).strip()}",
                    Span(name, line, column, line, column + 1))
        return None
    where = _Locator(name, text)
    errors_before = sum(d.severity.value == "error" for d in diags.items)
    for key in document:
        if key != "profiles":
            diags.error("E051", f"unknown key `{key}` in {FILENAME}", where.key("", key),
                        help=_suggest(key, ("profiles",)) or "pspc.toml has one table, "
                        "[profiles.NAME]")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict) or not tables:
        diags.error("E052", f"{FILENAME} declares no profile", where.table("profiles")
                    if "profiles" in where.tables else Span(name, 1, 1, 1, 2),
                    help='declare one: [profiles.prod] kubernetes = "1.33" enforce = ["vap"]')
        return None
    profiles = []
    for profile_name, table in tables.items():
        profile = _profile(profile_name, table, where, diags)
        if profile is not None:
            profiles.append(profile)
    if sum(d.severity.value == "error" for d in diags.items) > errors_before:
        return None
    return Config(name, tuple(profiles))


def _profile(name: str, table: object, where: _Locator, diags: Diagnostics) -> Profile | None:
    path = f"profiles.{name}"
    header = where.table(path)
    ok = True
    if not _NAME.fullmatch(name) or len(name) > 63:
        diags.error("E052", f"invalid profile name `{name}`: it names an output folder, so "
                    "it must be a DNS label (lower-case letters, digits and `-`)", header)
        ok = False
    if not isinstance(table, dict):
        diags.error("E052", f"profile `{name}` must be a table ([{path}])", header)
        return None
    for key in table:
        if key not in PROFILE_KEYS:
            diags.error("E051", f"unknown key `{key}` in profile `{name}`", where.key(path, key),
                        help=_suggest(key, PROFILE_KEYS)
                        or "a profile has kubernetes, enforce, ci and mode")
            ok = False
    version = None
    if "kubernetes" not in table:
        diags.error("E052", f"profile `{name}` does not say its Kubernetes version", header,
                    help='add e.g. kubernetes = "1.33"')
        ok = False
    else:
        raw = table["kubernetes"]
        version = _version(raw)
        span = where.value(path, "kubernetes", raw)
        if isinstance(raw, float | int) and not isinstance(raw, bool):
            written = where.text(span).split("#")[0].strip() or str(raw)
            diags.error("E052", f"profile `{name}`: write the Kubernetes version as a string "
                        f"(TOML reads {written} as the number {raw!r})", span,
                        help=f'kubernetes = "{written}"')
            ok = False
        elif version is None:
            diags.error("E052", f"profile `{name}`: {raw!r} is not a Kubernetes version",
                        span, help='write "1.N", e.g. "1.33"')
            ok = False
        elif not OLDEST <= version <= NEWEST:
            diags.error("E052", f"profile `{name}`: pspc supports Kubernetes "
                        f"{OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}, not {raw}", span)
            ok = False
    enforce = _targets(name, table, "enforce", ENFORCE_TARGETS, CI_TARGETS, None, where, diags)
    ci = _targets(name, table, "ci", CI_TARGETS, ENFORCE_TARGETS, DEFAULT_CI, where, diags)
    mode = table.get("mode", DEFAULT_MODE)
    if mode not in MODES:
        diags.error("E052", f"profile `{name}`: unknown mode {mode!r}",
                    where.value(path, "mode", mode),
                    help=(_suggest(mode, MODES) if isinstance(mode, str) else None)
                    or "use deny, warn or audit")
        ok = False
    if enforce is None or ci is None or version is None or not ok:
        return None
    profile = Profile(name, version, enforce, ci, mode, header)
    for target in enforce:
        span = where.value(path, "enforce", target)
        if why := unsupported(target, version):
            diags.error("E054", f"profile `{name}` enforces {target}, but {why}", span,
                        help=f"remove {target} from the profile's enforce, or change its "
                        "kubernetes version")
        elif note := caveat(target, version):
            diags.warning("W401", f"profile `{name}` enforces {target} on Kubernetes "
                          f"{profile.version}: {note}", span)
    unmoded = [t for t in ("psp", *MUTATING_TARGETS) if t in enforce]
    if unmoded and mode != "deny":
        what = ("its psp output enforces" if unmoded == ["psp"] else
                "PodSecurityPolicy enforces, a mutating target changes pods")
        diags.warning("W404", f"profile `{name}` is in {mode} mode, but "
                      f"{', '.join(unmoded)} {'has' if len(unmoded) == 1 else 'have'} no such "
                      f"mode: {what}", where.value(path, "mode", mode),
                      help="the other targets of the profile follow the mode")
    mutating = [t for t in MUTATING_TARGETS if t in enforce]
    if len(mutating) > 1:
        diags.warning("W405", f"profile `{name}` enforces {', '.join(mutating)}: each fills "
                      "in the same defaults, and a cluster runs one of them",
                      where.value(path, "enforce", mutating[1]),
                      help="keep one (map where the cluster serves MutatingAdmissionPolicy)")
    return profile


def _targets(name: str, table: dict, key: str, allowed: tuple[str, ...],
             other: tuple[str, ...], default: tuple[str, ...] | None, where: _Locator,
             diags: Diagnostics) -> tuple[str, ...] | None:
    path = f"profiles.{name}"
    if key not in table:
        if default is None:
            diags.error("E052", f"profile `{name}` does not say which targets enforce on its "
                        "cluster", where.table(path),
                        help='add e.g. enforce = ["vap", "psa"] (or enforce = [] for CI only)')
        return default
    raw = table[key]
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        diags.error("E052", f"profile `{name}`: {key} must be a list of target names",
                    where.value(path, key, raw))
        return None
    ok = True
    for index, target in enumerate(raw):
        span = where.value(path, key, target)
        if target in raw[:index]:
            diags.error("E052", f"profile `{name}`: {target} is listed twice in {key}", span)
            ok = False
        elif target == "rbac" and key == "enforce":
            diags.error("E053", f"profile `{name}`: rbac is not a target of its own here; "
                        "it comes with psp", span, help="list psp")
            ok = False
        elif target in other:
            diags.error("E053", f"profile `{name}`: {target} belongs in "
                        f"{'ci' if key == 'enforce' else 'enforce'}, not in {key}", span)
            ok = False
        elif target not in allowed:
            diags.error("E053", f"profile `{name}`: unknown target `{target}` in {key}", span,
                        help=_suggest(target, allowed) or f"{key} takes {', '.join(allowed)}")
            ok = False
    return tuple(raw) if ok else None
