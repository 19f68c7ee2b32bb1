"""Where the Gatekeeper and Kyverno mutation targets may fill a policy's defaults in.

Their mutators match pods by namespace, not by who sends the request or the pod's service
account, so they cannot follow PodSecurityPolicy's choice among the policies usable for a
pod (pspc.mutation.choice). They can reproduce it only in a namespace where no other
policy may be usable: there a pod either may use the policy, and PSP fills in its defaults
exactly as the mutators do, or may use none, and PSP and the validating targets reject it
whatever the mutators did. Where another policy may be usable too (bound in the same
namespace, or cluster-wide), PSP leaves alone a pod that policy admits unchanged and gives
another pod that policy's defaults, so the mutators must not touch it: there they are left
out (fail closed), and the validating targets reject pods relying on the defaults.

A policy may be usable in the namespaces of its bindings, everywhere for a cluster-wide
one; a policy admission cannot build (pspc.mutation.defaults `usable`) is never usable.
Members of system:masters may use every policy everywhere: Kyverno, which sees the
requester, leaves their pods alone where another policy exists (`superusers_shared`);
Gatekeeper cannot, and its coverage says so.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from pspc.model import ir
from pspc.mutation.defaults import usable


@dataclass(frozen=True)
class Scope:
    """The namespaces the mutators match (`namespaces`; None: every namespace except
    `excluded`), and why some are left out (`reasons`, one per other policy)."""

    namespaces: tuple[str, ...] | None
    excluded: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # where the policy may be usable, but is not matched
    # another policy exists, which members of system:masters may use anywhere (every policy
    # is usable by them, bound or not): a mechanism that sees the requester leaves them out
    superusers_shared: bool = False

    @property
    def empty(self) -> bool:
        return self.namespaces == ()

    def describe(self) -> str:
        """The loss, as the coverage and the diagnostic name it."""
        where = ("in any namespace" if self.empty and not self.left_out else
                 "in namespace" + "s" * (len(self.left_out) > 1) + " "
                 + ", ".join(self.left_out))
        return (f"{'; '.join(self.reasons)}: its defaults are not filled in {where} "
                "(mutators match namespaces, not who may use which policy), so the "
                "validating targets reject pods there that rely on them")


def _reach(policy: ir.Policy) -> set[str] | None:
    """The namespaces where the policy may be usable (None: every namespace)."""
    if not usable(policy):
        return set()
    namespaces = policy.namespaces()
    return None if namespaces is None else set(namespaces)


def _listed(namespaces: set[str]) -> str:
    return "namespace" + "s" * (len(namespaces) > 1) + " " + ", ".join(sorted(namespaces))


NAMED = 3  # other policies a reason names; more are counted, so that reasons stay short


def _others(names: list[str], name: str) -> tuple[str, str] | None:
    """The policies of `names` (sorted) but `name`, and the verb they take: ("policy `a`",
    "is"), ("policies `a` and `b`", "are"), or the first NAMED and how many more (None:
    there are none). With many policies in one namespace, a reason stays one line, and
    costs the same for each of them."""
    at = bisect.bisect_left(names, name)
    count = len(names) - (at < len(names) and names[at] == name)
    shown = ", ".join(f"`{n}`" for n in [n for n in names[:NAMED + 1] if n != name][:NAMED])
    if count == 0:
        return None
    if count == 1:
        return f"policy {shown}", "is"
    if count <= NAMED:
        head, _, last = shown.rpartition(", ")
        return f"policies {head} and {last}", "are"
    return f"policies {shown} and {count - NAMED} more", "are"


def scopes(policies: tuple[ir.Policy, ...]) -> dict[str, Scope]:
    """The scope of each policy of `policies`, by name: where its mutators may match (its
    namespaces but those another policy may be usable in). One pass over an index of who
    may be usable where, so that a build of many policies stays linear in them."""
    reach = {p.name: _reach(p) for p in sorted(policies, key=lambda p: p.name)}
    index = _Index([name for name, where in reach.items() if where is None], {},
                   [name for name, where in reach.items() if where])
    for name, where in reach.items():
        for namespace in sorted(where or ()):
            index.bound_in.setdefault(namespace, []).append(name)
    # members of system:masters may use every usable policy, bound or not
    users = {p.name for p in policies if usable(p)}
    return {name: _scope(name, where, index, len(users) > (name in users))
            for name, where in reach.items()}


@dataclass(frozen=True)
class _Index:
    """Who may be usable where: the policies bound cluster-wide, those bound in each
    namespace, and those bound in some namespace; each list sorted by name."""

    everywhere: list[str]
    bound_in: dict[str, list[str]]
    bound_somewhere: list[str]


def _scope(name: str, own: set[str] | None, index: _Index, superusers: bool) -> Scope:
    if own == set():
        return Scope(())  # unbound, or never usable: nothing to fill in
    wide = _others(index.everywhere, name)
    if own is None:
        if wide:
            return Scope((), (), (f"bound cluster-wide, as {' '.join(wide)}",))
        taken = tuple(sorted(index.bound_in))
        others = _others(index.bound_somewhere, name)
        reasons = (f"bound cluster-wide, and {' '.join(others)} bound in "
                   f"{_listed(set(taken))}",) if others else ()
        return Scope(None, taken, reasons, taken, superusers)
    if wide:
        return Scope((), (), (f"{' '.join(wide)} bound cluster-wide, so may be usable in "
                              "every namespace of this one",), tuple(sorted(own)), superusers)
    reasons, taken = [], set()
    for namespace in sorted(own):
        if others := _others(index.bound_in[namespace], name):
            taken.add(namespace)
            reasons.append(f"shares namespace {namespace} with {others[0]}")
    return Scope(tuple(sorted(own - taken)), (), tuple(reasons), tuple(sorted(taken)),
                 superusers)
