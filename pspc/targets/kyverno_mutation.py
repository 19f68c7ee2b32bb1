"""The Kyverno mutation target (mutating/kyverno/pspc-defaults.yaml): one ClusterPolicy
`pspc-defaults` whose mutate rules fill in each policy's PodSecurityPolicy defaults in pods
created in the namespaces where the policy is bound (every namespace for a cluster-wide
binding, `exclude` naming those left out; an unbound policy gets none), but those where
another policy may be usable too (pspc.mutation.scope: left out, W309), and not for members
of system:masters where another policy exists (they may use every policy).

* a field default is a strategic merge patch with Kyverno's add anchor, `+(field): value`:
  added only where the pod leaves the field unset;
* container defaults are `foreach` over each container list (init, regular, ephemeral, as
  PSP visits them), the entry picked by the conditional anchor `(name)`; a default that PSP
  leaves alone where another field is set (the pod's runAsUser for the container's, the
  annotation for the seccomp profile) has a `preconditions` entry per such field;
* capabilities: a rule per capability and container list, whose preconditions say the
  container lacks it (and, for a capability to add, does not drop it), appending it to the
  list (rules apply in order, each to the pod the previous one produced).

What these rules do not say (pspc.mutation.coverage declares it): which policy PSP would
choose among several usable ones, because a rule matches namespaces, not who may use a
policy; hence no two policies' rules match the same namespace.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from pspc import vocabulary as voc
from pspc.mutation.coverage import apparmor_field, mutating_coverage
from pspc.mutation.defaults import ANNOTATION, Capabilities, Default, defaults
from pspc.mutation.scope import Scope, scopes
from pspc.targets import MANAGED_BY, OutputFile, Target, sources
from pspc.validation.expr import Concat, Path
from pspc.validation.requirements import SPEC
from pspc.validation.selection import SUPERUSER_GROUP

if TYPE_CHECKING:
    from pspc.compiler import Build
    from pspc.model import ir

PATH = "mutating/kyverno/pspc-defaults.yaml"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"


def jmespath(where: Path) -> str:
    """A path of pspc.validation.expr as Kyverno reads it: the pod is request.object, the
    container of a foreach is `element`; keys that are not identifiers are quoted."""
    base = "request.object.spec" if where.base == SPEC else (
        "request.object" if where.base.name == "obj" else "element")
    steps = [base]
    for key in where.keys:
        if isinstance(key, Concat):
            text = "".join(p.value if hasattr(p, "value") else "{{element.name}}"
                           for p in key.parts)
            steps.append(json.dumps(text))
        elif key.replace("_", "").isalnum():
            steps.append(key)
        else:
            steps.append(json.dumps(key))
    return ".".join(steps)


def _unset(where: Path) -> dict:
    return {"key": f"{{{{ not_null({jmespath(where)}, '') }}}}", "operator": "Equals",
            "value": ""}


def _nested(keys: tuple[str, ...], value: object) -> dict:
    """`{a: {b: {+(c): value}}}` for keys (a, b, c)."""
    patch: dict = {f"+({keys[-1]})": value}
    for key in reversed(keys[:-1]):
        patch = {key: patch}
    return patch


def _merge(into: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def _match(within: Scope) -> dict:
    """The rule's `match`, and `exclude` for the namespaces left out of a cluster-wide one
    and for members of system:masters, who may use every policy (pspc.mutation.scope)."""
    resources: dict = {"kinds": ["Pod"], "operations": ["CREATE"]}
    if within.namespaces is not None:
        resources["namespaces"] = list(within.namespaces)
    found = {"match": {"any": [{"resources": resources}]}}
    exclude: list[dict] = []
    if within.excluded:
        exclude.append({"resources": {"namespaces": list(within.excluded)}})
    if within.superusers_shared:
        exclude.append({"subjects": [{"kind": "Group", "name": SUPERUSER_GROUP}]})
    if exclude:
        found["exclude"] = {"any": exclude}
    return found


def _rule_name(*parts: str) -> str:
    """A Kyverno rule name: lowercase DNS label characters, at most 63."""
    return re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower())[:63].strip("-")


def _pod_rules(name: str, found: tuple[Default, ...], match: dict) -> list[dict]:
    rules = []
    plain = [d for d in found if not d.unless]
    if plain:
        patch: dict = {}
        for default in plain:
            _merge(patch, _nested(default.field, default.value))
        rules.append({"name": f"{name}-pod", **match,
                      "mutate": {"patchStrategicMerge": {"spec": patch}}})
    for default in (d for d in found if d.unless):
        rules.append({"name": _rule_name(name, "pod", default.field[-1].lower()), **match,
                      "preconditions": {"all": [_unset(u) for u in default.unless]},
                      "mutate": {"patchStrategicMerge": {"spec": _nested(default.field,
                                                                         default.value)}}})
    return rules


def _entry(key: str, patch: dict) -> dict:
    return {"spec": {key: [{"(name)": "{{ element.name }}", **patch}]}}


def _foreach(key: str, default: Default) -> dict:
    if default.field == ANNOTATION:
        patch = {"metadata": {"annotations": {
            f"+({voc.APPARMOR_CONTAINER_PREFIX}{{{{ element.name }}}})": default.value}}}
    else:
        patch = _entry(key, _nested(default.field, default.value))
    step: dict = {"list": f"request.object.spec.{key} || `[]`"}
    unless = [u for u in default.unless if not (default.field == ANNOTATION and
                                                 u.base.name == "obj")]
    if unless:
        step["preconditions"] = {"all": [_unset(u) for u in unless]}
    step["patchStrategicMerge"] = patch
    return step


def _capability_rules(name: str, caps: Capabilities, match: dict) -> list[dict]:
    rules = []
    for key in CONTAINER_LISTS:
        context = "element.securityContext.capabilities"
        for verb, values in (("add", caps.add), ("drop", caps.drop)):
            for cap in values:
                lacks = [{"key": cap, "operator": "AnyNotIn",
                          "value": f"{{{{ {context}.{v} || `[]` }}}}"}
                         for v in (("add", "drop") if verb == "add" else ("drop",))]
                grown = f"{{{{ [{context}.{verb} || `[]`, `{json.dumps([cap])}`][] }}}}"
                rules.append({"name": _rule_name(name, key.lower(), verb, cap.lower()),
                              **match, "mutate": {"foreach": [{
                                  "list": f"request.object.spec.{key} || `[]`",
                                  "preconditions": {"all": lacks},
                                  "patchStrategicMerge": _entry(key, {"securityContext": {
                                      "capabilities": {verb: grown}}})}]}})
    return rules


def rules(policy: ir.Policy, within: Scope, with_apparmor_field: bool = True) -> list[dict]:
    """The policy's mutate rules, in the order PSP applies its defaults, `within` the
    namespaces where no other policy may be usable (pspc.mutation.scope)."""
    found = defaults(policy, with_apparmor_field)
    if within.empty or not found:
        return []
    name, match = voc.file_stem(policy.name).lower(), _match(within)
    found_rules = _pod_rules(name, found.pod, match)
    if found.container:
        found_rules += [{"name": _rule_name(name, key.lower()), **match, "mutate": {
            "foreach": [_foreach(key, d) for d in found.container]}}
            for key in CONTAINER_LISTS]
    if found.capabilities:
        found_rules += _capability_rules(name, found.capabilities, match)
    return found_rules


def cluster_policy(policies: tuple[ir.Policy, ...], with_apparmor_field: bool = True) -> dict:
    within = scopes(policies)
    return {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "pspc-defaults", "labels": dict(MANAGED_BY),
                         "annotations": {AUTOGEN: "none"}},
            "spec": {"background": False, "rules": [
                r for p in sorted(policies, key=lambda p: p.name)
                for r in rules(p, within[p.name], with_apparmor_field)]}}


def build(build: Build) -> list[OutputFile]:
    policy = cluster_policy(build.program.policies, apparmor_field(build.analysis))
    return [OutputFile(PATH, sources(build), (policy,))] if policy["spec"]["rules"] else []


TARGET = Target("kyverno-mutation", build, manifests=True,
                coverage=mutating_coverage("kyverno-mutation"))
