"""The MutatingAdmissionPolicy target (mutating/map/pspc-defaults.yaml): PodSecurityPolicy's
defaults on a cluster after PodSecurityPolicy, in Kubernetes' own CEL mutation.

One policy `pspc-defaults` for pod CREATE (PSP mutates only on create), whose variables are
the validating selection's plus the choice of pspc.mutation.choice (`defaulting`: whose
defaults the pod gets), and one mutation: an ApplyConfiguration holding the chosen policy's
defaults (one mutation, so that the choice is made once, on the pod as it came).
ApplyConfiguration rather than JSONPatch:

* containers are a list keyed by name (listType=map) in the pod schema, so an apply
  configuration names the containers it defaults and merges field by field, where a JSON
  patch must address each container by index (two-variable comprehensions, 1.32+) and
  create each missing parent object first;
* every value is typed by the pod schema (`Object.spec.containers.securityContext{...}`), so
  a wrong field is a compile error of the policy, not a broken pod;
* "only where unset" is CEL's optional fields (`?runAsUser: ... optional.none()`,
  Kubernetes 1.28+): a field the pod sets is simply not in the configuration.

Lists inside a container (capabilities add/drop) are atomic in the schema: the
configuration carries the whole grown list, the pod's own entries first.

MutatingAdmissionPolicy is admissionregistration.k8s.io/v1alpha1 in Kubernetes 1.32-1.33,
v1beta1 in 1.34-1.35 (both off by default: the MutatingAdmissionPolicy feature gate and the
runtime-config of that version), v1 from 1.36 (pspc.profiles.map_api).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pspc import profiles
from pspc.mutation.choice import CONTAINER_LISTS, WINNER, applies, cel_variables, grows, needing
from pspc.mutation.coverage import mutating_coverage
from pspc.mutation.defaults import Capabilities, Default, Defaults, defaults
from pspc.targets import MANAGED_BY, OutputFile, Target, pod_admission_rules, sources
from pspc.validation.cel import CelWriter
from pspc.validation.expr import Items
from pspc.validation.requirements import SC
from pspc.validation.selection import cel_identifiers

# MutatingAdmissionPolicy needs Kubernetes 1.32+, whose CEL has optionals.
_CEL = CelWriter(optionals=True)

if TYPE_CHECKING:
    from pspc.analysis import Analysis
    from pspc.compiler import Build

NAME = "pspc-defaults"
PATH = "mutating/map/pspc-defaults.yaml"


def typed(kind: str, value: object) -> str:
    """`value` in CEL, objects as instances of the schema type `kind` (Object.spec...)."""
    if isinstance(value, dict):
        return kind + "{" + ", ".join(f"{k}: {typed(f'{kind}.{k}', v)}"
                                      for k, v in value.items()) + "}"
    return json.dumps(value)


def _optional(test: str, value: str) -> str:
    return f"{test} ? optional.of({value}) : optional.none()"


def _object(kind: str, entries: list[tuple[tuple[str, ...], str, str]],
            first: tuple[str, ...] = (), last: tuple[str, ...] = (), known: str = "") -> str:
    """An object of type `kind` from (path below it, condition, value) entries: each field
    present only where its condition holds (plainly where it is `known` to hold), a nested
    object only where one of its fields is; `first` and `last` are fields as written."""
    heads: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    for keys, test, value in entries:
        heads.setdefault(keys[0], []).append((keys[1:], test, value))
    fields = list(first)
    for key, inner in heads.items():
        if len(inner) == 1 and not inner[0][0]:
            _, test, value = inner[0]
        else:
            tests = list(dict.fromkeys(t for _, t, _ in inner))
            test = tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"
            value = _object(f"{kind}.{key}", inner, known=test)
        fields.append(f"{key}: {value}" if test == known else
                      f"?{key}: {_optional(test, value)}")
    return kind + "{" + ", ".join(fields + list(last)) + "}"


def _capabilities(caps: Capabilities) -> list[tuple[tuple[str, ...], str, str]]:
    """The grown add and drop lists, each only where it grows."""
    adds = _CEL.value(Items(SC / "capabilities" / "add"))
    drops = _CEL.value(Items(SC / "capabilities" / "drop"))
    entries = []
    if caps.add:
        new = f"{json.dumps(list(caps.add))}.filter(cap, !(cap in {adds}) && !(cap in {drops}))"
        entries.append((("securityContext", "capabilities", "add"),
                        _CEL.condition(grows(caps.add, ())), f"{adds} + {new}"))
    if caps.drop:
        new = f"{json.dumps(list(caps.drop))}.filter(cap, !(cap in {drops}))"
        entries.append((("securityContext", "capabilities", "drop"),
                        _CEL.condition(grows((), caps.drop)), f"{drops} + {new}"))
    return entries


def _entries(kind: str, found: tuple[Default, ...]) -> list[tuple[tuple[str, ...], str, str]]:
    return [(d.field, _CEL.condition(applies(d)), typed(f"{kind}.{'.'.join(d.field)}", d.value))
            for d in found]


def _container_list(ident: str, key: str, found: Defaults) -> str:
    """The containers of list `key` that the defaults change, each with those that apply
    (every container default is in its securityContext)."""
    kind = f"Object.spec.{key}"
    entries = [(keys[1:], test, value) for keys, test, value in
               _entries(kind, found.container)
               + (_capabilities(found.capabilities) if found.capabilities else [])]
    context = _object(f"{kind}.securityContext", entries)
    needs = f"variables.{needing(ident, key)}"
    return f"?{key}: " + _optional(
        f"size({needs}) > 0",
        f"{needs}.map(c, {kind}{{name: c.name, securityContext: {context}}})")


def mutation(idents: dict[str, str], defaulting: list[Defaults]) -> str:
    """One ApplyConfiguration: the chosen policy's defaults (empty for none). One mutation,
    so that the choice is made once, on the pod as it came."""
    chosen = "Object{}"
    for found in reversed(defaulting):
        ident = idents[found.policy]
        lists = tuple(_container_list(ident, key, found) for key in CONTAINER_LISTS) if (
            found.container or found.capabilities) else ()
        spec = _object("Object.spec", _entries("Object.spec", found.pod), last=lists)
        chosen = (f"variables.{WINNER} == {json.dumps(found.policy)} ? "
                  f"Object{{spec: {spec}}} : {chosen}")
    return chosen


def policy_object(analysis: Analysis, api: str, defaulting: list[Defaults]) -> dict:
    idents = cel_identifiers(analysis.program.policies)
    return {
        "apiVersion": api,
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": pod_admission_rules("CREATE"),
            "variables": cel_variables(analysis, defaulting),
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": mutation(idents, defaulting)}}],
            # PSP mutated once, before the webhooks: a container a webhook adds later gets
            # no defaults (PSP's validation then judged it as it was)
            "reinvocationPolicy": "Never",
        },
    }


def binding_object(api: str) -> dict:
    return {"apiVersion": api, "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": NAME, "labels": dict(MANAGED_BY)},
            "spec": {"policyName": NAME}}


def policy_defaults(build: Build, apparmor_field: bool = True) -> list[Defaults]:
    """The defaults of each policy that has any, in name order."""
    found = [defaults(p, apparmor_field) for p in build.program.policies]
    return sorted((d for d in found if d), key=lambda d: d.policy)


def build(build: Build) -> list[OutputFile]:
    defaulting = policy_defaults(build)
    if not defaulting:
        return []
    api = profiles.map_api(build.profile)
    return [OutputFile(PATH, sources(build), (policy_object(build.analysis, api, defaulting),
                                              binding_object(api)))]


TARGET = Target("map", build, manifests=True, coverage=mutating_coverage("map"))

