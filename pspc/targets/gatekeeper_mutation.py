"""The Gatekeeper mutation target (mutating/gatekeeper/<policy>.yaml): each policy's
PodSecurityPolicy defaults as Gatekeeper mutators (mutations.gatekeeper.sh/v1), matching
pods created in the namespaces where the policy is bound (every namespace for a
cluster-wide binding; an unbound policy gets none), but those where another policy may be
usable too (pspc.mutation.scope: there the mutators cannot tell which policy PSP would
choose, so they are left out and W309 says so).

* a field default is an `Assign` whose pathTest `MustNotExist` on the assigned path makes it
  apply only where the pod leaves the field unset; container defaults assign
  `spec.<list>[name:*]...`, one mutator per list (init, regular, ephemeral), as PSP visits
  each container;
* capabilities are `ModifySet` merges into each container's add and drop lists.

What Gatekeeper cannot say (pspc.mutation.coverage declares it, W307 reports it): who sends
the request, and so which policy PSP would choose; a field outside the assigned path (the
pod-level runAsUser that makes PSP leave the container's alone, the seccomp annotation); a
capability the container drops (PSP does not add a default it drops); the AppArmor
annotation, whose key holds the container's name (Kubernetes before 1.30).

Gatekeeper applies every matching mutator, in name order, until the pod stops changing; no
two policies' mutators match the same namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.mutation.coverage import apparmor_field, mutating_coverage
from pspc.mutation.defaults import ANNOTATION, Default, defaults
from pspc.mutation.scope import Scope, scopes
from pspc.targets import MANAGED_BY, OutputFile, Target

if TYPE_CHECKING:
    from pspc.compiler import Build
    from pspc.model import ir

API = "mutations.gatekeeper.sh/v1"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_APPLY_TO = [{"groups": [""], "kinds": ["Pod"], "versions": ["v1"]}]


def _match(within: Scope) -> dict:
    match: dict = {"scope": "Namespaced", "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}
    if within.namespaces is not None:
        match["namespaces"] = list(within.namespaces)
    if within.excluded:
        match["excludedNamespaces"] = list(within.excluded)
    return match


def _name(policy: str, *parts: str) -> str:
    return "-".join((voc.file_stem(policy), *parts)).lower()[:253]


def _assign(name: str, location: str, value: object, match: dict) -> dict:
    return {"apiVersion": API, "kind": "Assign",
            "metadata": {"name": name, "labels": dict(MANAGED_BY)},
            "spec": {"applyTo": _APPLY_TO, "match": match, "location": location,
                     "parameters": {"pathTests": [{"subPath": location,
                                                   "condition": "MustNotExist"}],
                                    "assign": {"value": value}}}}


def _modify_set(name: str, location: str, values: tuple[str, ...], match: dict) -> dict:
    return {"apiVersion": API, "kind": "ModifySet",
            "metadata": {"name": name, "labels": dict(MANAGED_BY)},
            "spec": {"applyTo": _APPLY_TO, "match": match, "location": location,
                     "parameters": {"operation": "merge", "values": {"fromList": list(values)}}}}


def _field_name(default: Default) -> str:
    return "-".join(k.lower() for k in default.field if k != "securityContext")


def mutators(policy: ir.Policy, within: Scope, with_apparmor_field: bool = True) -> list[dict]:
    """The policy's mutators, in the order PSP applies its defaults, `within` the namespaces
    where no other policy may be usable (pspc.mutation.scope)."""
    found = defaults(policy, with_apparmor_field)
    if within.empty or not found:
        return []
    match = _match(within)
    docs = []
    for default in found.pod:
        docs.append(_assign(_name(policy.name, _field_name(default)),
                            "spec." + ".".join(default.field), default.value, match))
    for key in CONTAINER_LISTS:
        where = f"spec.{key}[name:*]"
        for default in found.container:
            if default.field == ANNOTATION:
                continue  # no AssignMetadata key can hold the container's name
            docs.append(_assign(_name(policy.name, key.lower(), _field_name(default)),
                                f"{where}." + ".".join(default.field), default.value, match))
        caps = found.capabilities
        for verb in ("add", "drop") if caps else ():
            if values := getattr(caps, verb):
                docs.append(_modify_set(_name(policy.name, key.lower(), f"capabilities-{verb}"),
                                        f"{where}.securityContext.capabilities.{verb}", values,
                                        match))
    return docs


def build(build: Build) -> list[OutputFile]:
    field = apparmor_field(build.analysis)
    policies = build.program.policies
    within = scopes(policies)
    return [OutputFile(f"mutating/gatekeeper/{voc.file_stem(p.name)}.yaml", p.source, tuple(docs))
            for p in policies if (docs := mutators(p, within[p.name], field))]


TARGET = Target("gatekeeper-mutation", build, manifests=True,
                coverage=mutating_coverage("gatekeeper-mutation"))
