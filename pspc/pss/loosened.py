"""A policy that inherits a Pod Security Standards level but states what the level forbids.

`policy node-exporter extends restricted { allow host network, pid }` inherits `conform to
pod security standard restricted` from the stdlib and states host namespaces, which
restricted rejects. Requiring both would make the validating outputs (and PSA) reject every
pod the author meant to admit; requiring the level alone would ignore what the author wrote.
pspc keeps what the author wrote: such a policy means its PodSecurityPolicy, as a policy
without a level does (every intent it states or inherits is required, docs/equivalence.md),
and W111 says so, naming the statements that leave the level. Writing `no pod security
standard` says the same and silences the warning.

"Leaves the level" is judged against the stdlib policy of that level: a check of the level
that rejects pods this policy admits but not pods the stdlib policy admits, on a field the
policy states itself. (The stdlib's own PodSecurityPolicy approximates the level with
fields such as MustRunAsNonRoot; what it shares with the stdlib does not count.)
"""

from __future__ import annotations

from dataclasses import replace

from pspc.diagnostics import Diagnostics
from pspc.model import ir
from pspc.pss.analysis import conflicts
from pspc.pss.levels import standard_version


def drop_loosened_levels(program: ir.Program, stdlib: dict[str, ir.Policy],
                         diags: Diagnostics) -> ir.Program:
    """The program, with the level dropped from each policy that states what it forbids."""
    kept = []
    for policy in program.policies:
        left = _leaving(policy, stdlib)
        if left:
            standard = policy.pod_security_standard
            statements = ", ".join(dict.fromkeys(f"`{c.intent}`" for c in left if c.intent))
            checks = ", ".join(dict.fromkeys(c.check for c in left))
            origin = policy.origins.get("pod_security_standard")
            diags.warning(
                "W111", f"policy `{policy.name}` inherits Pod Security Standards "
                f"{standard.level} but states what it forbids ({statements}: {checks}): it "
                "is checked as its PodSecurityPolicy says, not as the level",
                policy.span, notes=(("the level is stated here", origin.span),) if origin
                else (), help="say `no pod security standard` in the policy to make this "
                "explicit, or remove those statements to keep the level")
            policy = replace(policy, pod_security_standard=None, psp_only=())
        kept.append(policy)
    return replace(program, policies=tuple(kept))


def _leaving(policy: ir.Policy, stdlib: dict[str, ir.Policy]) -> list:
    standard = policy.pod_security_standard
    base = stdlib.get(standard.level) if standard is not None else None
    if base is None or policy.source.startswith("stdlib/"):
        return []
    version = standard_version(policy)
    shared = {c.check for c in conflicts(base, standard.level, version)}
    return [c for c in conflicts(policy, standard.level, version)
            if c.field and c.field not in policy.psp_only and c.check not in shared]
