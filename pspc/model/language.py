"""The pspc language in one table: a row per statement kind says everything about it.

Each `Intent` row joins the facets of one kind that used to be spelled in five places:
its AST `node` class, its `keyword` (the statement's words: `_` marks the argument,
`allow|deny` the verdict), the IR `fields` it states and their PodSecurityPolicy names, how it
is `apply`-ed while resolving (pspc.model.intents), `print`-ed by `pspc fmt` and how the IR
value is `unparse`-d back into a statement (`pspc explain`, `pspc import`).

Why a table of records rather than methods on the AST classes: the AST stays plain data for
the parser and the diagnostics, the IR knows nothing of syntax, and this module is the only
one that sees both. Facets are functions of a shape (verdict, list, ID strategy, ...) that
read the row's own `keyword` and `field`, so most rows name only functions already written;
a new intent is its grammar rule, a node class, a row here, and its targets. The order of the
rows is the order in which `unparse` writes a policy. tests/test_language.py checks that every
node class has one row and every IR field is stated by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pspc import vocabulary as voc
from pspc.model import intents as apply
from pspc.model import ir
from pspc.model.intents import Applier, State
from pspc.syntax import ast, text
from pspc.syntax.text import Parts, name, quote, word

Printer = Callable[["Intent", ast.Statement], Parts]
Unparser = Callable[["Intent", ir.Policy], list[tuple[str, Parts]]]
Keys = Callable[[ast.Statement], tuple[str, ...]]


@dataclass(frozen=True)
class Intent:
    """One statement kind. `fields` are the IR fields it states (the first is `field`, the
    one it unparses), `psp_fields` their PodSecurityPolicy names (None: beyond PSP), `also`
    other fields it changes (volume types implied by a path or a driver). Statements apply in
    `phase` order: whole lists, then additions, then removals. `key` names the intent for the
    "stated twice" check: the kind by default, None where repeating is fine."""

    node: type[ast.Statement]
    keyword: str
    fields: tuple[str, ...]
    psp_fields: tuple[str | None, ...]
    apply: Applier
    print: Printer
    unparse: Unparser | None = None
    phase: int = 0
    also: tuple[str, ...] = ()
    key: str | Keys | None = ""

    @property
    def field(self) -> str:
        return self.fields[0]

    def head(self, allow: bool | None = None) -> str:
        """The words before the argument, with the verdict filled in."""
        head = self.keyword.partition(" _")[0]
        return head if allow is None else head.replace("allow|deny", "allow" if allow else "deny")

    def tail(self) -> str:
        return self.keyword.partition(" _")[2]

    def keys(self, stmt: ast.Statement) -> tuple[str, ...]:
        if callable(self.key):
            return self.key(stmt)
        key = self.node.kind if self.key == "" else self.key
        return (key,) if key else ()


# -- printing a statement as written --------------------------------------------------------


def _bare(i: Intent, s: ast.Statement) -> Parts:
    return i.keyword, [], ""


def _verdict(i: Intent, s: ast.Verdict) -> Parts:
    return i.head(s.allow), [], ""


def _listing(i: Intent, s: ast.Listing) -> Parts:
    return i.head(), text.words(s.words), i.tail()


def _names(i: Intent, s: ast.Names) -> Parts:
    return i.head(), [word(w) for w in s.items], i.tail()


def _id_strategy(i: Intent, s: ast.IdStrategy) -> Parts:
    return i.head(), text.ids(s.ids), i.tail()


def _one_word(i: Intent, s: ast.OneWord) -> Parts:
    return f"{i.head()} {word(s.word)}{i.tail()}", [], ""


def _description(i: Intent, s: ast.Description) -> Parts:
    return f"{i.head()} {quote(s.word.text)}", [], ""


def _host_namespaces(i: Intent, s: ast.HostNamespaces) -> Parts:
    return i.head(s.allow), [w.text for w in s.names], ""


def _host_ports(i: Intent, s: ast.HostPorts) -> Parts:
    if not s.allow:
        return i.head(False), [], ""
    return i.head(True), [r.text for r in s.ranges] or ["any"], ""


def _host_paths(i: Intent, s: ast.AllowHostPaths) -> Parts:
    return i.head(), [word(p.prefix) + (" read-only" if p.read_only else "") for p in s.paths], ""


def _selinux(i: Intent, s: ast.Selinux) -> Parts:
    options = " ".join(f"{key} {word(w)}" for key, w in s.options)
    mode = "" if s.mode == "options" else s.mode
    return " ".join(filter(None, (i.head(), mode, options))), [], ""


def _run_as_non_root(i: Intent, s: ast.RunAsNonRoot) -> Parts:
    return i.keyword, [r.text for r in s.ranges], ""


def _standard(i: Intent, s: ast.PodSecurityStandard) -> Parts:
    words = [word(s.level)] + ([word(s.version)] if s.version is not None else [])
    return f"{i.head()} {' '.join(words)}", [], ""


def _annotation(i: Intent, s: ast.Annotation) -> Parts:
    return annotation(s.key.text, s.value.text)


def _label(i: Intent, s: ast.Label) -> Parts:
    return label(s.key.text, s.value.text)


# -- writing an IR value as a statement -----------------------------------------------------


def list_statement(head: str, items: Iterable[str], empty: str = "none", tail: str = "",
                   star: bool = True) -> Parts:
    """`head a, b`; `head any` for exactly `*` (unless not `star`: then `*` is a name);
    `head none` (or `empty`) for nothing."""
    items = tuple(items)
    if items == (voc.ALL,) and star:
        return head, ["any"], tail
    return head, [name(i) for i in items] or [empty], tail


def _ranges(ranges: tuple[ir.IdRange, ...]) -> list[str]:
    return [str(r.min) if r.min == r.max else f"{r.min}..{r.max}" for r in ranges]


def _value(i: Intent, p: ir.Policy):
    return getattr(p, i.field)


def _stated_verdict(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    value = _value(i, p)
    return [] if value is None else [(i.field, (i.head(value), [], ""))]


def _stated_if_true(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    return [(i.field, (i.keyword, [], ""))] if _value(i, p) else []


def _stated_list(optional: bool, star: bool = True) -> Unparser:
    """Every value as a list statement; an `optional` one only when not empty. Where `*`
    is no wildcard (not `star`), it is written as a name."""

    def unparse(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
        value = _value(i, p)
        if optional and not value:
            return []
        return [(i.field, list_statement(i.head(), value, tail=i.tail(), star=star))]

    return unparse


def _stated_word(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    value = _value(i, p)
    return [] if value is None else [(i.field, (f"{i.head()} {name(value)}{i.tail()}", [], ""))]


def _stated_description(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    value = _value(i, p)
    return [] if value is None else [(i.field, (f"{i.head()} {quote(value)}", [], ""))]


def _stated_host_namespaces(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    return [(f, (i.head(getattr(p, f)), [f.removeprefix("host_")], "")) for f in i.fields]


def _stated_host_ports(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    return [(i.field, (i.head(bool(p.host_ports)), _ranges(p.host_ports), ""))]


def _unused(i: Intent, p: ir.Policy, volume: str) -> list[tuple[str, Parts]]:
    """`deny volumes V` after a statement that allows V as it lists its paths or drivers,
    when the policy lists them without allowing V (they have no effect: W104)."""
    if voc.ALL in p.volumes or volume in p.volumes:
        return []
    return [(i.field, (f"{ROW[ast.DenyVolumes].head()} {volume}", [], ""))]


def _stated_host_paths(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    paths = [name(h.prefix) + (" read-only" if h.read_only else "") for h in _value(i, p)]
    return [(i.field, (i.head(), paths, "")), *_unused(i, p, "hostPath")] if paths else []


def _stated_drivers(volume: str) -> Unparser:
    def unparse(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
        value = _value(i, p)
        if not value:
            return []
        return [(i.field, list_statement(i.head(), value, star=False)), *_unused(i, p, volume)]

    return unparse


def _stated_ids(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    strategy: ir.IdPolicy | None = _value(i, p)
    if strategy is None:
        return []
    ranges = _ranges(strategy.ranges)
    if strategy.rule is ir.Rule.RUN_AS_ANY:
        return [(i.field, (i.head(), [" ".join(["any", *ranges[:1]]), *ranges[1:]], ""))]
    if strategy.rule is ir.Rule.MUST_RUN_AS_NON_ROOT:
        return [(i.field, (ROW[ast.RunAsNonRoot].keyword, ranges, ""))]
    tail = " if set" if strategy.rule is ir.Rule.MAY_RUN_AS else ""
    return [(i.field, (i.head(), ranges or ["none"], tail))]


def _stated_root_filesystem(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    row = ROW[ast.ReadOnlyRootFilesystem if _value(i, p) else ast.WritableRootFilesystem]
    return [(i.field, (row.keyword, [], ""))]


def _stated_selinux(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    selinux: ir.SELinux = _value(i, p)
    options = " ".join(f"{k} {name(getattr(selinux, k))}" for k in ("level", "role", "type", "user")
                       if getattr(selinux, k) is not None)
    if selinux.rule is ir.Rule.RUN_AS_ANY:
        mode = "any"
    elif options:
        mode = ""
    else:
        mode = "none" if selinux.no_options else "unset"
    return [(i.field, (" ".join(filter(None, (i.head(), mode, options))), [], ""))]


def _stated_proc_mount(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    if _value(i, p) == ("Unmasked",):
        return [(i.field, (ROW[ast.RequireUnmaskedProcMount].keyword, [], ""))]
    return [(i.field, (i.head("Unmasked" in _value(i, p)), [], ""))]


def _stated_runtime_classes(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    runtime: ir.RuntimeClass | None = _value(i, p)
    return [] if runtime is None else [(i.field, list_statement(i.head(), runtime.allowed))]


def _stated_default_runtime_class(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    runtime: ir.RuntimeClass | None = _value(i, p)
    if runtime is None or not runtime.default:
        return []
    return [(i.field, (f"{i.head()} {name(runtime.default)}", [], ""))]


def _stated_profiles(unset: str) -> Unparser:
    """Allowed profiles; None (no annotation) is written `unset`."""

    def unparse(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
        allowed = _value(i, p)
        if allowed is None:
            return [(i.field, (i.head(), [unset], ""))]
        return [(i.field, list_statement(i.head(), allowed))]

    return unparse


def _stated_standard(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    """The level and version; `no pod security standard` for none, so that a policy written
    out in full (or over a stdlib base that states one) says so."""
    standard: ir.Standard | None = _value(i, p)
    if standard is None:
        return [(i.field, (ROW[ast.NoPodSecurityStandard].keyword, [], ""))]
    words = [standard.level] + ([standard.version] if standard.version else [])
    return [(i.field, (f"{i.head()} {' '.join(words)}", [], ""))]


def _stated_annotations(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    return [(i.field, annotation(key, value)) for key, value in _value(i, p)]


def annotation(key: str, value: str) -> Parts:
    return f"{ROW[ast.Annotation].head()} {quote(key)} {quote(value)}", [], ""


def _stated_labels(i: Intent, p: ir.Policy) -> list[tuple[str, Parts]]:
    return [(i.field, label(key, value)) for key, value in _value(i, p)]


def label(key: str, value: str) -> Parts:
    return f"{ROW[ast.Label].head()} {quote(key)} {quote(value)}", [], ""


# -- the table --------------------------------------------------------------------------------


def _host_namespace_keys(stmt: ast.HostNamespaces) -> tuple[str, ...]:
    names = {w.text for w in stmt.names}
    return tuple(f"host {n}" for n in ("network", "pid", "ipc")
                 if n in names or "namespaces" in names)


def _annotation_keys(stmt: ast.Annotation) -> tuple[str, ...]:
    return (f"annotation {stmt.key.text}",)


def _label_keys(stmt: ast.Label) -> tuple[str, ...]:
    return (f"label {stmt.key.text}",)


def _note(key: str) -> str:
    return f"metadata.annotations[{key}]"


_ADDS, _REMOVES = 1, 2  # phases
_VOLUMES = ("volumes",)

def _profile_intents(kind: str, allow: type, default: type, unset: str) -> tuple[Intent, ...]:
    """`allow KIND profiles _` and `default KIND profile _` (seccomp, apparmor): the same
    two rows for both kinds, stored in the PSP's annotations. `unset`: how an IR value of
    None is stated (no seccomp profile is allowed; any AppArmor profile is)."""
    notes = {"seccomp": (voc.SECCOMP_ALLOWED, voc.SECCOMP_DEFAULT),
             "apparmor": (voc.APPARMOR_ALLOWED, voc.APPARMOR_DEFAULT)}[kind]
    return (Intent(allow, f"allow {kind} profiles _", (f"{kind}_allowed",),
                   (_note(notes[0]),), apply.profiles(kind), _listing,
                   _stated_profiles(unset=unset)),
            Intent(default, f"default {kind} profile _", (f"{kind}_default",),
                   (_note(notes[1]),), apply.default_profile(kind), _one_word, _stated_word))


INTENTS: tuple[Intent, ...] = (
    Intent(ast.Description, "description _", ("description",), (_note(voc.DESCRIPTION),),
           apply.description, _description, _stated_description),
    Intent(ast.Privileged, "allow|deny privileged", ("privileged",), ("privileged",),
           apply.flag, _verdict, _stated_verdict),
    Intent(ast.PrivilegeEscalation, "allow|deny privilege escalation",
           ("allow_privilege_escalation",), ("allowPrivilegeEscalation",),
           apply.flag, _verdict, _stated_verdict),
    Intent(ast.DefaultPrivilegeEscalation, "default allow|deny privilege escalation",
           ("default_allow_privilege_escalation",), ("defaultAllowPrivilegeEscalation",),
           apply.flag, _verdict, _stated_verdict),
    Intent(ast.HostNamespaces, "allow|deny host _", ("host_network", "host_pid", "host_ipc"),
           ("hostNetwork", "hostPID", "hostIPC"), apply.host_namespaces, _host_namespaces,
           _stated_host_namespaces, key=_host_namespace_keys),
    Intent(ast.HostPorts, "allow|deny host ports _", ("host_ports",), ("hostPorts",),
           apply.host_ports, _host_ports, _stated_host_ports),
    Intent(ast.Volumes, "volumes _", _VOLUMES, _VOLUMES, apply.volumes, _listing,
           _stated_list(optional=False)),
    Intent(ast.AllowVolumes, "allow volumes _", _VOLUMES, _VOLUMES, apply.allow_volumes,
           _names, phase=_ADDS, key=None),
    Intent(ast.DenyVolumes, "deny volumes _", _VOLUMES, _VOLUMES, apply.deny_volumes, _names,
           phase=_REMOVES, also=("allowed_host_paths",), key=None),
    Intent(ast.OnlyViaPvc, "allow _ only via pvc", _VOLUMES, _VOLUMES, apply.only_via_pvc,
           _one_word, phase=_REMOVES, key=None),
    Intent(ast.AllowHostPaths, "allow host paths _", ("allowed_host_paths",),
           ("allowedHostPaths",), apply.allow_host_paths, _host_paths, _stated_host_paths,
           phase=_ADDS, also=_VOLUMES),
    Intent(ast.DenyHostPaths, "deny host paths", ("allowed_host_paths",), ("allowedHostPaths",),
           apply.deny_host_paths, _bare, phase=_REMOVES, also=_VOLUMES),
    Intent(ast.AllowFlexVolumes, "allow flex volumes _", ("allowed_flex_volumes",),
           ("allowedFlexVolumes",), apply.flex_volumes, _names, _stated_drivers("flexVolume"),
           phase=_ADDS, also=_VOLUMES),
    Intent(ast.AllowCsiDrivers, "allow csi drivers _", ("allowed_csi_drivers",),
           ("allowedCSIDrivers",), apply.csi_drivers, _names, _stated_drivers("csi"),
           phase=_ADDS, also=_VOLUMES),
    Intent(ast.RunAsUser, "run as user _", ("run_as_user",), ("runAsUser",), apply.run_as_user,
           _id_strategy, _stated_ids),
    Intent(ast.RunAsNonRoot, "run as non-root", ("run_as_user",), ("runAsUser",),
           apply.run_as_non_root, _run_as_non_root, key="run_as_user"),
    Intent(ast.RunAsGroup, "run as group _", ("run_as_group",), ("runAsGroup",),
           apply.group_strategy, _id_strategy, _stated_ids),
    Intent(ast.SupplementalGroups, "supplemental groups _", ("supplemental_groups",),
           ("supplementalGroups",), apply.group_strategy, _id_strategy, _stated_ids),
    Intent(ast.FsGroup, "fs group _", ("fs_group",), ("fsGroup",), apply.group_strategy,
           _id_strategy, _stated_ids),
    Intent(ast.ReadOnlyRootFilesystem, "require read-only root filesystem",
           ("read_only_root_filesystem",), ("readOnlyRootFilesystem",), apply.fixed(True), _bare,
           _stated_root_filesystem, key="root_filesystem"),
    Intent(ast.WritableRootFilesystem, "allow writable root filesystem",
           ("read_only_root_filesystem",), ("readOnlyRootFilesystem",), apply.fixed(False),
           _bare, key="root_filesystem"),
    Intent(ast.AllowCapabilities, "allow capabilities _", ("allowed_capabilities",),
           ("allowedCapabilities",), apply.capability_list(allow_any=True), _listing,
           _stated_list(optional=False)),
    Intent(ast.DefaultCapabilities, "add capabilities _ by default",
           ("default_add_capabilities",), ("defaultAddCapabilities",),
           apply.capability_list(allow_any=False), _listing,
           _stated_list(optional=True, star=False)),
    Intent(ast.DropCapabilities, "drop capabilities _", ("required_drop_capabilities",),
           ("requiredDropCapabilities",), apply.capability_list(allow_any=False), _listing,
           _stated_list(optional=False, star=False)),
    Intent(ast.Selinux, "selinux _", ("selinux",), ("seLinux",), apply.selinux, _selinux,
           _stated_selinux),
    Intent(ast.SelinuxTypes, "allow selinux types _", ("selinux_types",), (None,),
           apply.selinux_types, _listing, _stated_list(optional=True)),
    Intent(ast.RequireNonRoot, "require explicit non-root", ("require_explicit_non_root",),
           (None,), apply.fixed(True), _bare, _stated_if_true),
    Intent(ast.PodSecurityStandard, "conform to pod security standard _",
           ("pod_security_standard",), (None,), apply.pod_security_standard, _standard,
           _stated_standard, key="pod_security_standard"),
    Intent(ast.NoPodSecurityStandard, "no pod security standard", ("pod_security_standard",),
           (None,), apply.fixed(None), _bare, key="pod_security_standard"),
    Intent(ast.ProcMount, "allow|deny unmasked proc mount", ("allowed_proc_mount_types",),
           ("allowedProcMountTypes",), apply.proc_mount, _verdict, _stated_proc_mount,
           key="proc_mount"),
    Intent(ast.RequireUnmaskedProcMount, "require unmasked proc mount",
           ("allowed_proc_mount_types",), ("allowedProcMountTypes",),
           apply.fixed(("Unmasked",)), _bare, key="proc_mount"),
    Intent(ast.AllowUnsafeSysctls, "allow unsafe sysctls _", ("allowed_unsafe_sysctls",),
           ("allowedUnsafeSysctls",), apply.sysctl_list, _listing, _stated_list(optional=True)),
    Intent(ast.DenySysctls, "deny sysctls _", ("forbidden_sysctls",), ("forbiddenSysctls",),
           apply.sysctl_list, _listing, _stated_list(optional=True)),
    Intent(ast.AllowRuntimeClasses, "allow runtime classes _", ("runtime_class",),
           ("runtimeClass.allowedRuntimeClassNames",), apply.runtime_classes, _listing,
           _stated_runtime_classes),
    Intent(ast.DefaultRuntimeClass, "default runtime class _", ("runtime_class",),
           ("runtimeClass.defaultRuntimeClassName",), apply.default_runtime_class, _one_word,
           _stated_default_runtime_class, phase=_ADDS),
    *_profile_intents("seccomp", ast.AllowSeccomp, ast.DefaultSeccomp, unset="none"),
    *_profile_intents("apparmor", ast.AllowApparmor, ast.DefaultApparmor, unset="any"),
    Intent(ast.Annotation, "annotation _ _", ("annotations",), ("metadata.annotations",),
           apply.annotation, _annotation, _stated_annotations, key=_annotation_keys),
    Intent(ast.Label, "label _ _", ("labels",), ("metadata.labels",),
           apply.label, _label, _stated_labels, key=_label_keys),
)

ROW: dict[type[ast.Statement], Intent] = {row.node: row for row in INTENTS}


def parts(stmt: ast.Statement) -> Parts:
    """The statement as `pspc fmt` prints it."""
    row = ROW[type(stmt)]
    return row.print(row, stmt)


def keys(stmt: ast.Statement) -> tuple[str, ...]:
    return ROW[type(stmt)].keys(stmt)


def phase(stmt: ast.Statement) -> int:
    return ROW[type(stmt)].phase


def apply_statement(state: State, stmt: ast.Statement) -> None:
    row = ROW[type(stmt)]
    row.apply(row, state, stmt)


def statements(policy: ir.Policy) -> list[tuple[str, Parts]]:
    """(field, statement) for every intent of the policy, in the order of the table."""
    return [out for row in INTENTS if row.unparse for out in row.unparse(row, policy)]
