"""How each source statement changes a policy: one small function per intent shape.

pspc.model.language lists which function serves which statement; this module holds the State they
change and the checks of their arguments.

A policy starts from its parent's resolved fields (or from ROOT, an empty and therefore
closed PodSecurityPolicy) and its statements are applied in three phases, so that the
order in which an author writes them never matters: first whole-list settings, then
additions, then removals (a removal always wins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics, Span
from pspc.model import ir
from pspc.syntax import ast

if TYPE_CHECKING:
    from pspc.model.language import Intent

ROOT: dict[str, object] = {
    "description": None,
    "privileged": False,
    "host_network": False,
    "host_pid": False,
    "host_ipc": False,
    "host_ports": (),
    "volumes": (),
    "allowed_host_paths": (),
    "allowed_flex_volumes": (),
    "allowed_csi_drivers": (),
    "run_as_user": None,
    "run_as_group": None,
    "supplemental_groups": None,
    "fs_group": None,
    "read_only_root_filesystem": False,
    "allow_privilege_escalation": False,
    "default_allow_privilege_escalation": None,
    "allowed_capabilities": (),
    "default_add_capabilities": (),
    "required_drop_capabilities": (),
    "selinux": None,
    "selinux_types": None,
    "require_explicit_non_root": False,
    "pod_security_standard": None,
    "allowed_proc_mount_types": (),
    "allowed_unsafe_sysctls": (),
    "forbidden_sysctls": (),
    "runtime_class": None,
    "seccomp_allowed": None,
    "seccomp_default": None,
    "apparmor_allowed": None,
    "apparmor_default": None,
    "annotations": (),
    "labels": (),
}
REQUIRED = {
    "run_as_user": "run as user any | run as non-root | run as user <ranges>",
    "supplemental_groups": "supplemental groups any | <ranges> [if set]",
    "fs_group": "fs group any | <ranges> [if set]",
    "selinux": "selinux any | selinux type <t> level <l> ...",
}


@dataclass
class State:
    """The fields of one policy being resolved, plus where each came from."""

    policy: str
    fields: dict[str, object]
    origins: dict[str, ir.Origin]
    diags: Diagnostics
    volume_changes: dict[str, tuple[bool, Span, bool]] = field(default_factory=dict)

    def set(self, name: str, value: object, span: Span) -> None:
        self.fields[name] = value
        self.origins[name] = ir.Origin(self.policy, span)

    def change_volume(self, volume: str, allowed: bool, span: Span, implied: bool = False,
                      explicit: bool = False) -> None:
        """Add or remove one volume type, reporting an allow+deny of the same type. An
        `implied` addition (by the statement listing host paths or drivers) is no
        contradiction to an `explicit` `deny volumes` of that type, which wins: the policy
        keeps its paths or drivers without their volume type (W104)."""
        earlier = self.volume_changes.get(volume)
        if earlier is not None and earlier[2] and explicit:
            earlier = None
        if earlier is not None and earlier[0] != allowed:
            self.diags.error(
                "E010", f"volume type `{volume}` is both allowed and denied in policy "
                f"`{self.policy}`", span, notes=(("the other statement is here", earlier[1]),),
                help="keep one of the two statements")
            return
        if volume not in self.volume_changes or not implied:
            self.volume_changes[volume] = (allowed, span, implied)
        current = set(self.fields["volumes"])
        if allowed:
            if voc.ALL not in current:
                current.add(volume)
        else:
            if voc.ALL in current:
                current = set(voc.VOLUME_TYPES)
            current.discard(volume)
        self.set("volumes", tuple(sorted(current)), span)


Applier = Callable[["Intent", State, ast.Statement], None]


# -- argument helpers -------------------------------------------------------------------


def _id_ranges(state: State, ranges: tuple[ast.IdRange, ...], what: str):
    """User or group ID ranges: int64, non-negative, min <= max (as Kubernetes validates
    them); an ID above 2147483647 is kept with a warning, as no pod can use it. None
    after an error."""
    good, errors = [], len(state.diags.items)
    for r in ranges:
        if r.max > voc.MAX_INT64 or r.min > voc.MAX_INT64:
            state.diags.error("E007", f"{what} {r.text} is above the largest allowed, "
                              f"{voc.MAX_INT64}", r.span)
        elif r.min < 0 or r.max < 0:
            state.diags.error("E007", f"{what} range {r.text} is negative", r.span)
        elif r.min > r.max:
            state.diags.error("E007", f"{what} range {r.text} has its minimum above its "
                              "maximum", r.span, help=f"write it as {r.max}..{r.min}")
        else:
            if r.max > voc.MAX_ID:
                state.diags.warning("W110", f"{what} range {r.text} goes above "
                                    f"{voc.MAX_ID}: no pod can use such an ID", r.span)
            good.append(ir.IdRange(r.min, r.max))
    failed = any(d.code == "E007" for d in state.diags.items[errors:])
    return None if failed else tuple(good)


def _port_ranges(state: State, ranges: tuple[ast.IdRange, ...]):
    """Host port ranges: any 32-bit integers (Kubernetes does not validate them); a range
    that holds no usable port (1-65535) is kept with a warning."""
    good = []
    for r in ranges:
        if not (voc.MIN_INT32 <= r.min <= voc.MAX_INT32 and voc.MIN_INT32 <= r.max
                <= voc.MAX_INT32):
            state.diags.error("E007", f"port range {r.text} does not fit in a 32-bit "
                              "integer", r.span)
            continue
        if r.min > r.max:
            state.diags.warning("W110", f"port range {r.text} has its minimum above its "
                                "maximum: it allows no port", r.span,
                                help=f"write it as {r.max}..{r.min}")
        elif r.min < 0 or r.max > voc.MAX_PORT:
            state.diags.warning("W110", f"port range {r.text} goes beyond 0..{voc.MAX_PORT}",
                                r.span)
        good.append(ir.IdRange(r.min, r.max))
    return tuple(good)


def _items(value: ast.Words) -> tuple[ast.Word, ...]:
    return value.items if value.mode == "list" else ()


def _volume(state: State, word: ast.Word) -> str | None:
    if word.text in voc.VOLUME_TYPES:
        return word.text
    guess = voc.suggest(word.text, voc.VOLUME_TYPES)
    state.diags.error("E008", f"unknown volume type `{word.text}`", word.span,
                      help=f"did you mean `{guess}`?" if guess else
                      "volume types are: " + ", ".join(voc.VOLUME_TYPES))
    return None


def _capabilities(state: State, words: ast.Words, allow_any: bool):
    if words.mode == "any":
        return (voc.ALL,)
    names = []
    for word in _items(words):
        if word.text == voc.ALL and allow_any:
            names.append(voc.ALL)
            continue
        if not voc.CAPABILITY.fullmatch(word.text):
            # Kubernetes does not check capability names: keep it, but say so
            state.diags.warning("W110", f"`{word.text}` is not a capability name: no "
                                "container names such a capability", word.span)
            names.append(word.text)
            continue
        if word.text.upper().startswith("CAP_"):
            state.diags.warning("W103", f"capability `{word.text}` has a CAP_ prefix; "
                                "Kubernetes compares names exactly and never adds the prefix",
                                word.span, help=f"write `{word.text[4:].upper()}`")
        elif word.text != word.text.upper():
            state.diags.warning("W103", f"capability `{word.text}` is not upper case; "
                                "Kubernetes compares names exactly", word.span,
                                help=f"write `{word.text.upper()}`")
        names.append(word.text)
    return tuple(sorted(set(names)))


def _id_policy(state: State, ids: ast.Ids, what: str) -> ir.IdPolicy | None:
    ranges = _id_ranges(state, ids.ranges, what)
    if ranges is None:
        return None
    if ids.mode == "any":
        return ir.IdPolicy(ir.Rule.RUN_AS_ANY, ranges)
    rule = ir.Rule.MAY_RUN_AS if ids.if_set else ir.Rule.MUST_RUN_AS
    return ir.IdPolicy(rule, ranges)


def _sysctls(state: State, words: ast.Words) -> tuple[str, ...]:
    if words.mode == "any":
        return (voc.ALL,)
    names = []
    for word in _items(words):
        if len(word.text) > 253 or not voc.SYSCTL_PATTERN.fullmatch(word.text):
            state.diags.error("E016", f"`{word.text}` is not a sysctl name or pattern", word.span,
                              help="use dotted names such as net.core.somaxconn; a trailing * "
                              "matches every name with that prefix")
            continue
        names.append(word.text)
    if voc.ALL in names and len(names) > 1:
        state.diags.error("E016", "`*` already matches every sysctl; list nothing else beside it",
                          words.items[0].span)
    return tuple(sorted(set(names)))


def _profile(state: State, word: ast.Word, kind: str, allow_star: bool) -> str | None:
    text = word.text
    ok = text in (voc.RUNTIME_DEFAULT, "unconfined") or (
        kind == "seccomp" and text in voc.RUNTIME_DEFAULT_PROFILES)
    if text.startswith("localhost/"):
        rest = text[len("localhost/"):]
        ok = kind == "apparmor" or (not rest.startswith("/") and ".." not in rest.split("/"))
        if ok and not rest:
            state.diags.warning("W110", f"`{text}` names no {kind} profile", word.span)
    if text == voc.ALL and allow_star:
        ok = True
    if not ok:
        valid = "runtime/default, docker/default, unconfined or localhost/<relative path>" \
            if kind == "seccomp" else "runtime/default, unconfined or localhost/<profile>"
        state.diags.error("E019", f"`{text}` is not a valid {kind} profile", word.span,
                          help=f"use {valid}")
        return None
    return text


# -- appliers ----------------------------------------------------------------------------------
#
# Each takes the table row it serves (pspc.model.language.Intent), the state and its statement. The
# row's `field` (its first IR field) and `head` (its words) say what to set and how to name it,
# so the same applier serves every row of its shape.


def _empty_profile(state: State, word: ast.Word, kind: str) -> None:
    state.diags.warning("W110", f"an empty {kind} profile name matches only pods that name "
                        "no profile", word.span)


def flag(intent: Intent, state: State, stmt: ast.Verdict) -> None:
    state.set(intent.field, stmt.allow, stmt.span)


def fixed(value: object) -> Applier:
    """Set the row's field to `value` whatever the statement says (a bare statement)."""

    def apply(intent: Intent, state: State, stmt: ast.Statement) -> None:
        state.set(intent.field, value, stmt.span)

    return apply


def description(intent: Intent, state: State, stmt: ast.Description) -> None:
    state.set(intent.field, stmt.word.text, stmt.span)


def host_namespaces(intent: Intent, state: State, stmt: ast.HostNamespaces) -> None:
    for word in stmt.names:
        names = ("network", "pid", "ipc") if word.text == "namespaces" else (word.text,)
        for name in names:
            state.set(f"host_{name}", stmt.allow, stmt.span)


def host_ports(intent: Intent, state: State, stmt: ast.HostPorts) -> None:
    if not stmt.allow:
        state.set(intent.field, (), stmt.span)
    elif not stmt.ranges:
        state.set(intent.field, (ir.IdRange(0, voc.MAX_PORT),), stmt.span)
    else:
        state.set(intent.field, _port_ranges(state, stmt.ranges), stmt.span)


def volumes(intent: Intent, state: State, stmt: ast.Volumes) -> None:
    if stmt.words.mode == "any":
        state.set(intent.field, (voc.ALL,), stmt.span)
        return
    types = {v for v in (_volume(state, w) for w in _items(stmt.words)) if v}
    state.set(intent.field, tuple(sorted(types)), stmt.span)


def allow_volumes(intent: Intent, state: State, stmt: ast.AllowVolumes) -> None:
    for word in stmt.items:
        if (volume := _volume(state, word)) is not None:
            state.change_volume(volume, True, word.span)


def deny_volumes(intent: Intent, state: State, stmt: ast.DenyVolumes) -> None:
    for word in stmt.items:
        if (volume := _volume(state, word)) is not None:
            state.change_volume(volume, False, word.span, explicit=True)
            origin = state.origins.get("allowed_host_paths")
            if volume == "hostPath" and (origin is None or origin.policy != state.policy):
                state.set("allowed_host_paths", (), stmt.span)  # inherited paths go too


def only_via_pvc(intent: Intent, state: State, stmt: ast.OnlyViaPvc) -> None:
    volume = _volume(state, stmt.word)
    if volume is None:
        return
    if volume == "persistentVolumeClaim":
        state.diags.error("E008", "`allow persistentVolumeClaim only via pvc` says nothing",
                          stmt.word.span, help="name the inline volume type, e.g. nfs")
        return
    state.change_volume("persistentVolumeClaim", True, stmt.span)
    state.change_volume(volume, False, stmt.word.span)


def allow_host_paths(intent: Intent, state: State, stmt: ast.AllowHostPaths) -> None:
    paths = []
    for entry in stmt.paths:
        prefix = entry.prefix.text
        if not prefix or ".." in prefix.split("/"):
            state.diags.error("E018", f"host path `{prefix}` must not be empty or have `..`",
                              entry.prefix.span, help="write a prefix such as /var/log")
            continue
        if not prefix.startswith("/"):
            state.diags.warning("W110", f"host path `{prefix}` is relative: it matches only "
                                "volumes whose path is written relative too",
                                entry.prefix.span, help="write a prefix such as /var/log")
        paths.append(ir.HostPath(prefix, entry.read_only))
    state.set(intent.field, canonical_host_paths(paths), stmt.span)
    state.change_volume("hostPath", True, stmt.span, implied=True)


def canonical_host_paths(paths) -> tuple[ir.HostPath, ...]:
    """Each prefix once: writable when any entry for it is (admission lets a writable entry
    win over a read-only one of the same prefix), sorted by prefix."""
    writable: dict[str, bool] = {}
    for path in paths:
        writable[path.prefix] = writable.get(path.prefix, False) or not path.read_only
    return tuple(ir.HostPath(prefix, not writable[prefix]) for prefix in sorted(writable))


def deny_host_paths(intent: Intent, state: State, stmt: ast.DenyHostPaths) -> None:
    state.change_volume("hostPath", False, stmt.span)
    state.set("allowed_host_paths", (), stmt.span)


def flex_volumes(intent: Intent, state: State, stmt: ast.AllowFlexVolumes) -> None:
    for word in stmt.items:
        if not word.text.strip():
            state.diags.error("E023", "a flex volume driver name cannot be empty", word.span)
    drivers = {w.text for w in stmt.items if w.text.strip()}
    state.set(intent.field, tuple(sorted(drivers)), stmt.span)
    state.change_volume("flexVolume", True, stmt.span, implied=True)


def csi_drivers(intent: Intent, state: State, stmt: ast.AllowCsiDrivers) -> None:
    drivers = set()
    for word in stmt.items:
        if len(word.text) > 63 or not voc.is_subdomain(word.text.lower()):
            # Kubernetes does not check the names a PodSecurityPolicy lists
            state.diags.warning("W110", f"`{word.text}` is not a CSI driver name: no CSI "
                                "volume can name it", word.span, help="CSI driver names are "
                                "DNS subdomains of at most 63 characters")
        drivers.add(word.text)
    state.set(intent.field, tuple(sorted(drivers)), stmt.span)
    state.change_volume("csi", True, stmt.span, implied=True)


def run_as_non_root(intent: Intent, state: State, stmt: ast.RunAsNonRoot) -> None:
    ranges = _id_ranges(state, stmt.ranges, "user ID")
    if ranges is not None:
        state.set(intent.field, ir.IdPolicy(ir.Rule.MUST_RUN_AS_NON_ROOT, ranges), stmt.span)


def run_as_user(intent: Intent, state: State, stmt: ast.RunAsUser) -> None:
    if stmt.ids.if_set:
        state.diags.error("E024", "`if set` applies to groups only: a PodSecurityPolicy cannot "
                          "make a user ID range optional", stmt.span,
                          help="drop `if set`, or write `run as non-root` to accept any "
                          "non-root user")
        return
    if (strategy := _id_policy(state, stmt.ids, "user ID")) is not None:
        state.set(intent.field, strategy, stmt.span)


def group_strategy(intent: Intent, state: State, stmt: ast.IdStrategy) -> None:
    ids = stmt.ids
    if intent.field == "run_as_group" and (ids.mode == "any" and ids.ranges or
                                           ids.mode == "none"):
        state.diags.error("E007", "Kubernetes requires ranges for runAsGroup MustRunAs and "
                          "MayRunAs, and none for RunAsAny", stmt.span,
                          help="write `run as group any` or give ranges")
        return
    if (strategy := _id_policy(state, ids, "group ID")) is not None:
        state.set(intent.field, strategy, stmt.span)


def capability_list(allow_any: bool) -> Applier:
    """A capability list; `any` means every capability only where `allow_any` (elsewhere
    `*` is a name like any other, which Kubernetes accepts and no container uses)."""

    def apply(intent: Intent, state: State, stmt: ast.Listing) -> None:
        if stmt.words.mode == "any" and not allow_any:
            state.diags.error("E023", f"`{intent.head()} any` has no meaning", stmt.span,
                              help="list capabilities by name; ALL stands for every capability")
            return
        state.set(intent.field, _capabilities(state, stmt.words, allow_any), stmt.span)

    return apply


def selinux(intent: Intent, state: State, stmt: ast.Selinux) -> None:
    options: dict[str, str] = {}
    for key, word in stmt.options:
        if key in options:
            state.diags.error("E009", f"SELinux {key} is given twice", word.span)
        options[key] = word.text
    if stmt.mode == "any":
        value = ir.SELinux(ir.Rule.RUN_AS_ANY, **options)
    else:
        value = ir.SELinux(ir.Rule.MUST_RUN_AS, **options, no_options=stmt.mode == "none")
    state.set(intent.field, value, stmt.span)


def selinux_types(intent: Intent, state: State, stmt: ast.SelinuxTypes) -> None:
    words = stmt.words
    if words.mode == "none":
        state.diags.error("E023", f"`{intent.head()} none` has no meaning: an unset type is "
                          "always allowed", stmt.span, help="list the types, e.g. container_t")
        return
    types = None if words.mode == "any" else tuple(sorted({w.text for w in words.items}))
    state.set(intent.field, types, stmt.span)


def pod_security_standard(intent: Intent, state: State, stmt: ast.PodSecurityStandard) -> None:
    level = stmt.level.text
    if level not in voc.LEVELS:
        guess = voc.suggest(level, voc.LEVELS)
        state.diags.error("E025", f"`{level}` is not a Pod Security Standards level",
                          stmt.level.span,
                          help=f"did you mean `{guess}`?" if guess else
                          "the levels are privileged, baseline and restricted")
        return
    version = stmt.version.text if stmt.version is not None else None
    if version is not None and version not in voc.known_versions():
        state.diags.error("E026", f"`{version}` is not a Pod Security Standards version pspc "
                          "knows", stmt.version.span,
                          help=f"use v1.0 to {voc.known_versions()[-2]}, or latest; leave it out "
                          "for the build's version")
        return
    state.set(intent.field, ir.Standard(level, version), stmt.span)


def proc_mount(intent: Intent, state: State, stmt: ast.ProcMount) -> None:
    state.set(intent.field, ("Default", "Unmasked") if stmt.allow else (), stmt.span)


def sysctl_list(intent: Intent, state: State, stmt: ast.Listing) -> None:
    state.set(intent.field, _sysctls(state, stmt.words), stmt.span)


def runtime_classes(intent: Intent, state: State, stmt: ast.AllowRuntimeClasses) -> None:
    words = stmt.words
    current = state.fields[intent.field]
    default = current.default if current else None
    if words.mode == "any":
        state.set(intent.field, ir.RuntimeClass((voc.ALL,), default), stmt.span)
        return
    names: list[str] = []
    for word in _items(words):
        if word.text in names:
            state.diags.error("E020", f"runtime class `{word.text}` is listed twice", word.span)
        elif word.text != voc.ALL and not voc.is_subdomain(word.text):
            state.diags.error("E006", f"`{word.text}` is not a valid runtime class name",
                              word.span, help="runtime class names are DNS subdomains")
        else:
            names.append(word.text)
    if voc.ALL in names and len(names) > 1:
        state.diags.error("E020", "`*` already allows every runtime class; list nothing else",
                          words.items[0].span, help="write `allow runtime classes any`")
    state.set(intent.field, ir.RuntimeClass(tuple(sorted(names)), default), stmt.span)


def default_runtime_class(intent: Intent, state: State, stmt: ast.DefaultRuntimeClass) -> None:
    word = stmt.word
    if not voc.is_subdomain(word.text):
        state.diags.error("E006", f"`{word.text}` is not a valid runtime class name", word.span)
        return
    current = state.fields[intent.field] or ir.RuntimeClass(())
    state.set(intent.field, ir.RuntimeClass(current.allowed, word.text), stmt.span)


def profiles(kind: str) -> Applier:
    """The allowed seccomp or AppArmor profiles (`kind`)."""

    def apply(intent: Intent, state: State, stmt: ast.Listing) -> None:
        words = stmt.words
        if words.mode == "any":
            allowed = (voc.ALL,) if kind == "seccomp" else None
        elif words.mode == "none":
            if kind == "apparmor":
                state.diags.error("E019", "a PodSecurityPolicy cannot forbid every AppArmor "
                                  "profile", stmt.span,
                                  help="allow runtime/default and make it the default")
                return
            allowed = None
        else:
            allowed = _profile_list(state, words.items, kind)
        state.set(intent.field, allowed, stmt.span)

    return apply


def _profile_list(state: State, words: tuple[ast.Word, ...], kind: str) -> tuple[str, ...]:
    """The profiles in the order written (Kubernetes shows them in that order), repeats
    kept with a warning. An empty name is valid alone (an empty annotation) and, for
    AppArmor, anywhere in the list."""
    found: list[str] = []
    for word in words:
        if word.text == "" and (kind == "apparmor" or len(words) == 1):
            _empty_profile(state, word, kind)
            found.append("")
        elif (profile := _profile(state, word, kind, kind == "seccomp")) is not None:
            if profile in found:
                state.diags.warning("W110", f"{kind} profile `{profile}` is listed twice",
                                    word.span)
            found.append(profile)
    return tuple(found)


def default_profile(kind: str) -> Applier:
    """The default seccomp or AppArmor profile (`kind`)."""

    def apply(intent: Intent, state: State, stmt: ast.OneWord) -> None:
        if stmt.word.text == "":
            _empty_profile(state, stmt.word, kind)
            state.set(intent.field, "", stmt.span)
            return
        profile = _profile(state, stmt.word, kind, allow_star=False)
        if profile is not None:
            state.set(intent.field, profile, stmt.span)

    return apply


def annotation(intent: Intent, state: State, stmt: ast.Annotation) -> None:
    key, value = stmt.key, stmt.value
    if not voc.is_annotation_key(key.text.lower()):
        state.diags.error("E006", f"`{key.text}` is not a valid annotation key", key.span)
        return
    if key.text in voc.RESERVED_ANNOTATIONS:
        state.diags.error("E006", f"annotation `{key.text}` is written by an intent", key.span,
                          help="use the seccomp, apparmor or description intents instead")
        return
    annotations = dict(state.fields[intent.field])
    annotations[key.text] = value.text
    state.set(intent.field, tuple(sorted(annotations.items())), stmt.span)


def label(intent: Intent, state: State, stmt: ast.Label) -> None:
    key, value = stmt.key, stmt.value
    if not voc.is_annotation_key(key.text):
        state.diags.error("E006", f"`{key.text}` is not a valid label key", key.span)
        return
    if not voc.is_label_value(value.text):
        state.diags.error("E006", f"`{value.text}` is not a valid label value", value.span,
                          help="label values have at most 63 letters, digits, '-', '_' "
                          "and '.', starting and ending alphanumeric")
        return
    if key.text in voc.RESERVED_LABELS:
        state.diags.error("E006", f"label `{key.text}` is written by pspc", key.span)
        return
    labels = dict(state.fields[intent.field])
    labels[key.text] = value.text
    state.set(intent.field, tuple(sorted(labels.items())), stmt.span)
