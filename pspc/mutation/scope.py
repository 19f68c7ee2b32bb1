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


def scope(policies: tuple[ir.Policy, ...], policy: ir.Policy) -> Scope:
    """Where `policy`'s mutators may match: its namespaces but those another policy of
    `policies` may be usable in."""
    own = _reach(policy)
    if own == set():
        return Scope(())  # unbound, or never usable: nothing to fill in
    superusers = any(usable(p) for p in policies if p.name != policy.name)
    taken: set[str] = set()
    reasons = []
    everywhere = False
    for other in sorted(policies, key=lambda p: p.name):
        reach = _reach(other)
        if other.name == policy.name or reach == set():
            continue
        if own is None and reach is None:
            everywhere = True
            reasons.append(f"bound cluster-wide, as policy `{other.name}` is")
        elif own is None:
            taken |= reach
            reasons.append(f"bound cluster-wide, and policy `{other.name}` is bound in "
                           + _listed(reach))
        elif reach is None:
            taken |= own
            reasons.append(f"policy `{other.name}` is bound cluster-wide, so may be usable "
                           f"in every namespace of this one")
        elif shared := own & reach:
            taken |= shared
            reasons.append(f"shares {_listed(shared)} with policy `{other.name}`")
    if everywhere:
        return Scope((), (), tuple(reasons))
    if own is None:
        return Scope(None, tuple(sorted(taken)), tuple(reasons), tuple(sorted(taken)),
                     superusers)
    return Scope(tuple(sorted(own - taken)), (), tuple(reasons), tuple(sorted(taken)),
                 superusers)
