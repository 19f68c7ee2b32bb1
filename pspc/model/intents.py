"""How each source statement changes a policy: one small function per intent.

A policy starts from its parent's resolved fields (or from ROOT, an empty and therefore
closed PodSecurityPolicy) and its statements are applied in three phases, so that the
order in which an author writes them never matters: first whole-list settings, then
additions, then removals (a removal always wins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics, Span
from pspc.model import ir
from pspc.syntax import ast

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
    "allowed_proc_mount_types": (),
    "allowed_unsafe_sysctls": (),
    "forbidden_sysctls": (),
    "runtime_class": None,
    "seccomp_allowed": None,
    "seccomp_default": None,
    "apparmor_allowed": None,
    "apparmor_default": None,
    "annotations": (),
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
    volume_changes: dict[str, tuple[bool, Span]] = field(default_factory=dict)

    def set(self, name: str, value: object, span: Span) -> None:
        self.fields[name] = value
        self.origins[name] = ir.Origin(self.policy, span)

    def change_volume(self, volume: str, allowed: bool, span: Span) -> None:
        """Add or remove one volume type, reporting an allow+deny of the same type."""
        earlier = self.volume_changes.get(volume)
        if earlier is not None and earlier[0] != allowed:
            self.diags.error(
                "E010", f"volume type `{volume}` is both allowed and denied in policy "
                f"`{self.policy}`", span, notes=(("the other statement is here", earlier[1]),),
                help="keep one of the two statements")
            return
        self.volume_changes[volume] = (allowed, span)
        current = set(self.fields["volumes"])
        if allowed:
            if voc.ALL not in current:
                current.add(volume)
        else:
            if voc.ALL in current:
                current = set(voc.VOLUME_TYPES)
            current.discard(volume)
        self.set("volumes", tuple(sorted(current)), span)


Applier = Callable[[State, ast.Statement], None]


@dataclass(frozen=True)
class Intent:
    """The meaning of one statement kind: which intent it states, when it runs, how.

    `key` names the intent for the "stated twice" check; None where repeating is fine.
    """

    key: str | None
    phase: int
    apply: Applier

    def keys(self, stmt: ast.Statement) -> tuple[str, ...]:
        if stmt.kind == "host_namespaces":
            names = {w.text for w in stmt.value}
            return tuple(f"host {n}" for n in ("network", "pid", "ipc")
                         if n in names or "namespaces" in names)
        if stmt.kind == "annotation":
            return (f"annotation {stmt.value[0].text}",)
        return (self.key,) if self.key else ()


# -- argument helpers -------------------------------------------------------------------


def _ranges(state: State, ranges: tuple[ast.IdRange, ...], limit: int, what: str):
    good = []
    for r in ranges:
        if r.max > limit or r.min > limit:
            state.diags.error("E007", f"{what} {r.text} is above the largest allowed, {limit}",
                              r.span)
        elif r.min > r.max:
            state.diags.error("E007", f"{what} range {r.text} has its minimum above its "
                              "maximum", r.span, help=f"write it as {r.max}..{r.min}")
        else:
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
            state.diags.error("E023", f"`{word.text}` is not a capability name", word.span)
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


def _id_policy(state: State, ids: ast.Ids, what: str) -> ir.IdPolicy:
    if ids.mode == "any":
        return ir.IdPolicy(ir.Rule.RUN_AS_ANY)
    rule = ir.Rule.MAY_RUN_AS if ids.if_set else ir.Rule.MUST_RUN_AS
    return ir.IdPolicy(rule, _ranges(state, ids.ranges, voc.MAX_ID, what))


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
    ok = text in ("runtime/default", "unconfined") or (
        kind == "seccomp" and text == "docker/default")
    if text.startswith("localhost/"):
        rest = text[len("localhost/"):]
        ok = bool(rest) and (kind == "apparmor" or (
            not rest.startswith("/") and ".." not in rest.split("/")))
    if text == voc.ALL and allow_star:
        ok = True
    if not ok:
        valid = "runtime/default, docker/default, unconfined or localhost/<relative path>" \
            if kind == "seccomp" else "runtime/default, unconfined or localhost/<profile>"
        state.diags.error("E019", f"`{text}` is not a valid {kind} profile", word.span,
                          help=f"use {valid}")
        return None
    return text


# -- appliers -----------------------------------------------------------------------------


def _flag(name: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        state.set(name, bool(stmt.allow), stmt.span)

    return apply


def _description(state: State, stmt: ast.Statement) -> None:
    state.set("description", stmt.value.text, stmt.span)


def _host_namespaces(state: State, stmt: ast.Statement) -> None:
    for word in stmt.value:
        names = ("network", "pid", "ipc") if word.text == "namespaces" else (word.text,)
        for name in names:
            state.set(f"host_{name}", bool(stmt.allow), stmt.span)


def _host_ports(state: State, stmt: ast.Statement) -> None:
    if not stmt.allow:
        state.set("host_ports", (), stmt.span)
    elif stmt.value == "any" or not stmt.value:
        state.set("host_ports", (ir.IdRange(0, voc.MAX_PORT),), stmt.span)
    else:
        state.set("host_ports", _ranges(state, stmt.value, voc.MAX_PORT, "port"), stmt.span)


def _volumes(state: State, stmt: ast.Statement) -> None:
    words: ast.Words = stmt.value
    if words.mode == "any":
        state.set("volumes", (voc.ALL,), stmt.span)
        return
    types = {v for v in (_volume(state, w) for w in _items(words)) if v}
    state.set("volumes", tuple(sorted(types)), stmt.span)


def _allow_volumes(state: State, stmt: ast.Statement) -> None:
    for word in stmt.value:
        if (volume := _volume(state, word)) is not None:
            state.change_volume(volume, True, word.span)


def _deny_volumes(state: State, stmt: ast.Statement) -> None:
    for word in stmt.value:
        if (volume := _volume(state, word)) is not None:
            state.change_volume(volume, False, word.span)
            if volume == "hostPath":
                state.set("allowed_host_paths", (), stmt.span)


def _only_via_pvc(state: State, stmt: ast.Statement) -> None:
    volume = _volume(state, stmt.value)
    if volume is None:
        return
    if volume == "persistentVolumeClaim":
        state.diags.error("E008", "`allow persistentVolumeClaim only via pvc` says nothing",
                          stmt.value.span, help="name the inline volume type, e.g. nfs")
        return
    state.change_volume("persistentVolumeClaim", True, stmt.span)
    state.change_volume(volume, False, stmt.value.span)


def _allow_host_paths(state: State, stmt: ast.Statement) -> None:
    paths = []
    for entry in stmt.value:
        prefix = entry.prefix.text
        if not prefix.startswith("/") or ".." in prefix.split("/"):
            state.diags.error("E018", f"host path `{prefix}` must be absolute and have no `..`",
                              entry.prefix.span, help="write a prefix such as /var/log")
            continue
        paths.append(ir.HostPath(prefix, entry.read_only))
    state.set("allowed_host_paths", tuple(sorted(set(paths), key=lambda p: p.prefix)),
              stmt.span)
    state.change_volume("hostPath", True, stmt.span)


def _deny_host_paths(state: State, stmt: ast.Statement) -> None:
    state.change_volume("hostPath", False, stmt.span)
    state.set("allowed_host_paths", (), stmt.span)


def _allow_flex(state: State, stmt: ast.Statement) -> None:
    for word in stmt.value:
        if not word.text.strip():
            state.diags.error("E023", "a flex volume driver name cannot be empty", word.span)
    drivers = {w.text for w in stmt.value if w.text.strip()}
    state.set("allowed_flex_volumes", tuple(sorted(drivers)), stmt.span)
    state.change_volume("flexVolume", True, stmt.span)


def _allow_csi(state: State, stmt: ast.Statement) -> None:
    drivers = set()
    for word in stmt.value:
        if len(word.text) > 63 or not voc.is_subdomain(word.text.lower()):
            state.diags.error("E023", f"`{word.text}` is not a CSI driver name", word.span,
                              help="CSI driver names are DNS subdomains of at most 63 characters")
            continue
        drivers.add(word.text)
    state.set("allowed_csi_drivers", tuple(sorted(drivers)), stmt.span)
    state.change_volume("csi", True, stmt.span)


def _run_as_user(state: State, stmt: ast.Statement) -> None:
    if stmt.value.if_set:
        state.diags.error("E024", "`if set` applies to groups only: a PodSecurityPolicy cannot "
                          "make a user ID range optional", stmt.span,
                          help="drop `if set`, or write `run as non-root` to accept any "
                          "non-root user")
        return
    state.set("run_as_user", _id_policy(state, stmt.value, "user ID"), stmt.span)


def _run_as_non_root(state: State, stmt: ast.Statement) -> None:
    state.set("run_as_user", ir.IdPolicy(ir.Rule.MUST_RUN_AS_NON_ROOT), stmt.span)


def _group_strategy(name: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        state.set(name, _id_policy(state, stmt.value, "group ID"), stmt.span)

    return apply


def _root_filesystem(read_only: bool) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        state.set("read_only_root_filesystem", read_only, stmt.span)

    return apply


def _capability_list(name: str, allow_any: bool, statement: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        if stmt.value.mode == "any" and not allow_any:
            state.diags.error("E023", f"`{statement} any` has no meaning", stmt.span,
                              help="list capabilities by name; ALL stands for every capability")
            return
        state.set(name, _capabilities(state, stmt.value, allow_any), stmt.span)

    return apply


def _selinux(state: State, stmt: ast.Statement) -> None:
    if stmt.value == "any":
        state.set("selinux", ir.SELinux(ir.Rule.RUN_AS_ANY), stmt.span)
        return
    options: dict[str, str] = {}
    for key, word in stmt.value:
        if key in options:
            state.diags.error("E009", f"SELinux {key} is given twice", word.span)
        options[key] = word.text
    state.set("selinux", ir.SELinux(ir.Rule.MUST_RUN_AS, **options), stmt.span)


def _selinux_types(state: State, stmt: ast.Statement) -> None:
    words: ast.Words = stmt.value
    if words.mode == "none":
        state.diags.error("E023", "`allow selinux types none` has no meaning: an unset type is "
                          "always allowed", stmt.span, help="list the types, e.g. container_t")
        return
    types = None if words.mode == "any" else tuple(sorted({w.text for w in words.items}))
    state.set("selinux_types", types, stmt.span)


def _require_non_root(state: State, stmt: ast.Statement) -> None:
    state.set("require_explicit_non_root", True, stmt.span)


def _proc_mount(state: State, stmt: ast.Statement) -> None:
    state.set("allowed_proc_mount_types", ("Default", "Unmasked") if stmt.allow else (),
              stmt.span)


def _sysctl_list(name: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        state.set(name, _sysctls(state, stmt.value), stmt.span)

    return apply


def _runtime_classes(state: State, stmt: ast.Statement) -> None:
    words: ast.Words = stmt.value
    default = state.fields["runtime_class"].default if state.fields["runtime_class"] else None
    if words.mode == "any":
        state.set("runtime_class", ir.RuntimeClass((voc.ALL,), default), stmt.span)
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
    state.set("runtime_class", ir.RuntimeClass(tuple(sorted(names)), default), stmt.span)


def _default_runtime_class(state: State, stmt: ast.Statement) -> None:
    word = stmt.value
    if not voc.is_subdomain(word.text):
        state.diags.error("E006", f"`{word.text}` is not a valid runtime class name", word.span)
        return
    current = state.fields["runtime_class"] or ir.RuntimeClass(())
    state.set("runtime_class", ir.RuntimeClass(current.allowed, word.text), stmt.span)


def _profiles(kind: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        words: ast.Words = stmt.value
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
            profiles = [_profile(state, w, kind, kind == "seccomp") for w in words.items]
            allowed = tuple(dict.fromkeys(p for p in profiles if p))
        state.set(f"{kind}_allowed", allowed, stmt.span)

    return apply


def _default_profile(kind: str) -> Applier:
    def apply(state: State, stmt: ast.Statement) -> None:
        profile = _profile(state, stmt.value, kind, allow_star=False)
        if profile is not None:
            state.set(f"{kind}_default", profile, stmt.span)

    return apply


def _annotation(state: State, stmt: ast.Statement) -> None:
    key, value = stmt.value
    if not voc.is_annotation_key(key.text):
        state.diags.error("E006", f"`{key.text}` is not a valid annotation key", key.span)
        return
    if key.text in voc.RESERVED_ANNOTATIONS:
        state.diags.error("E006", f"annotation `{key.text}` is written by an intent", key.span,
                          help="use the seccomp, apparmor or description intents instead")
        return
    annotations = dict(state.fields["annotations"])
    annotations[key.text] = value.text
    state.set("annotations", tuple(sorted(annotations.items())), stmt.span)


INTENTS: dict[str, Intent] = {
    "description": Intent("description", 0, _description),
    "privileged": Intent("privileged", 0, _flag("privileged")),
    "host_namespaces": Intent("host_namespaces", 0, _host_namespaces),
    "host_ports": Intent("host_ports", 0, _host_ports),
    "volumes": Intent("volumes", 0, _volumes),
    "allow_volumes": Intent(None, 1, _allow_volumes),
    "allow_host_paths": Intent("allow_host_paths", 1, _allow_host_paths),
    "allow_flex_volumes": Intent("allow_flex_volumes", 1, _allow_flex),
    "allow_csi_drivers": Intent("allow_csi_drivers", 1, _allow_csi),
    "deny_volumes": Intent(None, 2, _deny_volumes),
    "only_via_pvc": Intent(None, 2, _only_via_pvc),
    "deny_host_paths": Intent("deny_host_paths", 2, _deny_host_paths),
    "run_as_user": Intent("run_as_user", 0, _run_as_user),
    "run_as_non_root": Intent("run_as_user", 0, _run_as_non_root),
    "run_as_group": Intent("run_as_group", 0, _group_strategy("run_as_group")),
    "supplemental_groups": Intent("supplemental_groups", 0,
                                  _group_strategy("supplemental_groups")),
    "fs_group": Intent("fs_group", 0, _group_strategy("fs_group")),
    "read_only_root_filesystem": Intent("root_filesystem", 0, _root_filesystem(True)),
    "writable_root_filesystem": Intent("root_filesystem", 0, _root_filesystem(False)),
    "privilege_escalation": Intent("privilege_escalation", 0,
                                   _flag("allow_privilege_escalation")),
    "default_privilege_escalation": Intent("default_privilege_escalation", 0,
                                           _flag("default_allow_privilege_escalation")),
    "allow_capabilities": Intent("allow_capabilities", 0,
                                 _capability_list("allowed_capabilities", True,
                                                  "allow capabilities")),
    "default_capabilities": Intent("default_capabilities", 0,
                                   _capability_list("default_add_capabilities", False,
                                                    "add capabilities")),
    "drop_capabilities": Intent("drop_capabilities", 0,
                                _capability_list("required_drop_capabilities", False,
                                                 "drop capabilities")),
    "selinux": Intent("selinux", 0, _selinux),
    "selinux_types": Intent("selinux_types", 0, _selinux_types),
    "require_non_root": Intent("require_non_root", 0, _require_non_root),
    "proc_mount": Intent("proc_mount", 0, _proc_mount),
    "allow_unsafe_sysctls": Intent("allow_unsafe_sysctls", 0,
                                   _sysctl_list("allowed_unsafe_sysctls")),
    "deny_sysctls": Intent("deny_sysctls", 0, _sysctl_list("forbidden_sysctls")),
    "allow_runtime_classes": Intent("allow_runtime_classes", 0, _runtime_classes),
    "default_runtime_class": Intent("default_runtime_class", 1, _default_runtime_class),
    "allow_seccomp": Intent("allow_seccomp", 0, _profiles("seccomp")),
    "default_seccomp": Intent("default_seccomp", 0, _default_profile("seccomp")),
    "allow_apparmor": Intent("allow_apparmor", 0, _profiles("apparmor")),
    "default_apparmor": Intent("default_apparmor", 0, _default_profile("apparmor")),
    "annotation": Intent(None, 0, _annotation),
}
