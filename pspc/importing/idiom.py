"""Say an imported policy idiomatically: as the closest stdlib policy plus its differences.

For each base — `restricted`, `baseline`, `privileged`, or nothing (an empty, closed
PodSecurityPolicy) — the statements that turn the base into the policy are computed from
the IR: only the intents that differ, host namespaces grouped, volume types as a full list
or as `allow`/`deny volumes` changes, whichever is shorter. The base needing the fewest
statements wins (ties go to the stdlib, in the order above). A base is usable only when
the language can undo what the policy must not inherit (a default seccomp profile, say),
and every candidate is compiled to prove it gives back exactly the policy.

**Importing never tightens.** A stdlib `baseline` or `restricted` conforms to its Pod
Security Standards level, which a PodSecurityPolicy never states; so an import that extends
one also says `no pod security standard`, and means exactly its PodSecurityPolicy in every
target (the stdlib states nothing else beyond PSP). Extending the base keeps the import
short and says how the PSP differs from the documented one; the explicit statement says, in
words, that the imported policy does not claim the level: deleting it adopts the level
(whose validating outputs then admit exactly what PSA admits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from pspc import vocabulary as voc
from pspc.diagnostics import Diagnostics
from pspc.formatter import wrap
from pspc.importing.verify import PSP_INTENTS, compile_text, intents
from pspc.model import ir, unparse
from pspc.model.intents import ROOT
from pspc.model.language import ROW
from pspc.syntax import ast

BASES = ("restricted", "baseline", "privileged")
_HOST = {"host_network": "network", "host_pid": "pid", "host_ipc": "ipc"}
_IMPLIED_VOLUMES = {"allowed_host_paths": "hostPath", "allowed_flex_volumes": "flexVolume",
                    "allowed_csi_drivers": "csi"}  # statements that also allow a volume type

Parts = unparse.Parts


@dataclass(frozen=True)
class Idiom:
    """How a policy is written: the base it extends (None: nothing) and its statements."""

    base: str | None
    statements: tuple[Parts, ...]

    @property
    def changes(self) -> int:
        return sum(not head.startswith("description ") and (head, items, tail) != NO_LEVEL
                   for head, items, tail in self.statements)

    def source(self, name: str) -> str:
        header = f"policy {name}" + (f" extends {self.base}" if self.base else "") + " {"
        body = [line for parts in self.statements for line in wrap("  ", *parts)]
        return "\n".join([header, *body, "}"]) + "\n"


@cache
def _base(base: str) -> ir.Policy:
    diags = Diagnostics()
    (policy,) = compile_text(f"policy base extends {base} {{}}\n", diags).values()
    return policy


def base_intents(base: str | None) -> dict[str, object]:
    """The intents a policy extending `base` inherits (ROOT's closed defaults for None)."""
    return {f: ROOT[f] for f in PSP_INTENTS} if base is None else intents(_base(base))


def beyond_psp(base: str | None) -> list[str]:
    """The statements of what `base` gives beyond PodSecurityPolicy that an imported policy
    inherits (the validating targets and PSA enforce them, the PodSecurityPolicy does not).
    Its level is not inherited: the import resets it (`no pod security standard`)."""
    if base is None:
        return []
    policy = _base(base)
    return [unparse.one_line(parts) for field, parts in unparse.statements(policy)
            if field in ir.BEYOND_PSP and field != LEVEL
            and getattr(policy, field) != ROOT[field]]


LEVEL = "pod_security_standard"
NO_LEVEL: Parts = (ROW[ast.NoPodSecurityStandard].keyword, [], "")


def _without_level(policy: ir.Policy, base: str | None, found: list[Parts]) -> list[Parts]:
    """`found`, saying `no pod security standard` where the base states a level the
    policy does not have (after its description, so that it reads first)."""
    if base is None or _base(base).pod_security_standard == policy.pod_security_standard:
        return found
    described = sum(1 for head, _, _ in found if head.startswith("description "))
    return [*found[:described], NO_LEVEL, *found[described:]]


def _volume_statements(target: tuple[str, ...], inherited: tuple[str, ...],
                       implied: set[str]) -> list[Parts]:
    """Volume statements that turn `inherited` (plus what `implied` statements add) into
    `target`: the full list, or additions and removals when those are shorter."""
    current = set(inherited) if voc.ALL in inherited else set(inherited) | implied
    wanted = set(target)
    if current == wanted:
        return []
    volumes = ROW[ast.Volumes].head()
    if wanted == {voc.ALL}:
        full = [unparse.list_statement(volumes, target)]
    else:
        full = [unparse.list_statement(volumes, sorted(wanted - implied))]
    options = [full]
    if voc.ALL not in wanted:
        if voc.ALL in current:
            added, removed = set(), set(voc.VOLUME_TYPES) - wanted
        else:
            added, removed = wanted - current, current - wanted
        delta = [(ROW[node].head(), sorted(names), "") for node, names in
                 ((ast.AllowVolumes, added), (ast.DenyVolumes, removed)) if names]
        options.append(delta)
    return min(options, key=lambda o: (len(o), sum(len(items) for _, items, _ in o)))


def _annotations(target: Iterable[tuple[str, str]], inherited) -> list[Parts] | None:
    wanted, current = dict(target), dict(inherited)
    if set(current) - set(wanted):
        return None  # an inherited annotation cannot be removed
    return [unparse.annotation(k, v) for k, v in sorted(wanted.items())
            if current.get(k) != v]


def diff(policy: ir.Policy, inherited: dict[str, object]) -> list[Parts] | None:
    """The statements that turn `inherited` into `policy`; None when the language cannot
    take back an inherited value the policy does not have."""
    by_field: dict[str, list[Parts]] = {}
    for field, parts in unparse.statements(policy):
        by_field.setdefault(field, []).append(parts)
    changed = {f for f in PSP_INTENTS if getattr(policy, f) != inherited[f]}
    implied = {volume for field, volume in _IMPLIED_VOLUMES.items() if field in changed}
    out: list[Parts] = list(by_field.get("description", ()))  # never inherited
    done: set[str] = {"description"}
    for field, _ in unparse.statements(policy):
        if field in done or field not in changed and field not in _HOST or (
                field in ir.BEYOND_PSP):
            continue
        done.add(field)
        if field in _HOST:
            done.update(_HOST)
            out.extend(unparse.host_namespaces({name: getattr(policy, f) for f, name in
                                                _HOST.items() if f in changed}))
        elif field == "volumes":
            out.extend(_volume_statements(policy.volumes, inherited["volumes"], implied))
        elif field == "annotations":
            notes = _annotations(policy.annotations, inherited["annotations"])
            if notes is None:
                return None
            out.extend(notes)
        else:
            out.extend(by_field[field])
    for field in changed - done:  # unparse states nothing for this (empty) value
        reset = unparse.RESETS.get(field)
        if reset is None:
            return None
        out.append(reset)
    return out


def _resolves_to(policy: ir.Policy, idiom: Idiom) -> bool:
    diags = Diagnostics()
    compiled = compile_text(idiom.source(policy.name), diags).get(policy.name)
    return not diags.has_errors and compiled is not None and intents(compiled) == intents(
        policy) and compiled.pod_security_standard == policy.pod_security_standard


def choose(policy: ir.Policy, taken: Iterable[str] = ()) -> Idiom:
    """The shortest correct way to write `policy`. `taken` are names of other policies
    written beside it: `extends NAME` would mean them, so those bases are not used."""
    taken = set(taken) - {policy.name}
    candidates = []
    for rank, base in enumerate((*BASES, None)):
        if base in taken:
            continue
        found = diff(policy, base_intents(base))
        if found is not None:  # the level's reset is not counted: it is not a difference
            statements = _without_level(policy, base, found)
            candidates.append((len(found), rank, Idiom(base, tuple(statements))))
    for *_, idiom in sorted(candidates, key=lambda c: c[:2]):
        if _resolves_to(policy, idiom):
            return idiom
    return Idiom(None, tuple(parts for _, parts in unparse.statements(policy)))
