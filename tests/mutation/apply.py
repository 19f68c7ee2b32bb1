"""Test-side machinery for the mutating outputs: evaluate a MutatingAdmissionPolicy in
cel-expr-python and apply its ApplyConfiguration, and compare pods as Kubernetes does.

* CEL: the schema types of an apply configuration (`Object.spec.containers{name: ...}`) are
  Kubernetes' own type provider, which cel-expr-python does not have; the expression is
  evaluated with each typed object written as a map literal (`{"name": ...}`), the only
  rewrite. cel-python has no optional types (`?field:`), so the mutations run in
  cel-expr-python only; the variables (the validating selection's CEL) run in both
  elsewhere (tests/validation).
* Apply: structured-merge-diff's merge for the fields pspc writes: objects merge field by
  field, the container lists (listType=map, key name) merge entry by entry, every other list
  (capabilities add/drop, supplementalGroups: atomic) is replaced.
* Comparison: PodSecurityPolicy writes seccomp and AppArmor defaults as annotations, the
  mutating outputs as fields (pspc.mutation.defaults says why); a field the mutation added is
  compared as the annotation it stands for (docker/default as runtime/default, its alias).
  PSP's own marks (`kubernetes.io/psp`, the seccomp annotation that mirrors the pod's
  field) and empty objects are not compared;
  capability lists are compared as sets (PSP sorts them, the runtime reads a set).
"""

from __future__ import annotations

import copy
import json
import re

from pspc import vocabulary as voc
from pspc.admission.pod import PSP_ANNOTATION, seccomp_annotation_for_field
from pspc.engines.validators import _levels

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_TYPED = re.compile(r"\bObject(?:\.\w+)*\{")
_FIELD = re.compile(r"([{,]\s*)(\??)([A-Za-z_]\w*):")


def untyped(expression: str) -> str:
    """The expression with each schema-typed object literal as a map literal; the root
    objects (`Object{...}`, one type in Kubernetes, maps of different shapes here) as
    `dyn(...)`, so that the branches of a conditional type-check alike."""
    out, depth, roots, quoted = [], 0, [], False
    index = 0
    while index < len(expression):
        char = expression[index]
        if quoted:
            out.append(char)
            if char == "\\":
                out.append(expression[index + 1])
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
            out.append(char)
        elif expression.startswith("Object{", index):
            roots.append(depth)
            depth += 1
            out.append("dyn({")
            index += len("Object")
        elif char == "{":
            depth += 1
            out.append(char)
        elif char == "}":
            depth -= 1
            out.append("})" if roots and roots[-1] == depth else "}")
            if roots and roots[-1] == depth:
                roots.pop()
        else:
            out.append(char)
        index += 1
    return _FIELD.sub(r'\1\2"\3":', _TYPED.sub("{", "".join(out)))


class MutatingPolicy:
    """A MutatingAdmissionPolicy's variables and mutations, compiled once."""

    def __init__(self, policy: dict) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_optional, ext_strings

        self._error = cel.Type.ERROR
        env = cel.NewEnv(variables={"object": cel.Type.DYN, "oldObject": cel.Type.DYN,
                                    "request": cel.Type.DYN,
                                    "variables": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)},
                         extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])
        spec = policy["spec"]
        self.variables = [(v["name"], env.compile(v["expression"]))
                          for level in _levels(spec["variables"]) for v in level]
        self.mutations = [env.compile(untyped(m["applyConfiguration"]["expression"]))
                          for m in spec["mutations"]]

    def apply(self, pod: dict, request: dict) -> tuple[dict, str]:
        """The pod after every mutation, in order (a mutation that errs fails the request),
        and the policy whose defaults it chose (`variables.defaulting` on the first)."""
        chosen = None
        for mutation in self.mutations:
            variables = self.evaluate(pod, request)
            data = {"object": pod, "oldObject": None, "request": request,
                    "variables": variables}
            chosen = variables.get("defaulting", "") if chosen is None else chosen
            result = mutation.eval(data=data)
            assert result.type() != self._error, result
            pod = merge(pod, json.loads(json.dumps(result.plain_value())))
        return pod, chosen or ""


    def evaluate(self, pod: dict, request: dict) -> dict:
        """The policy's variables for `pod` (an erring one is left unset)."""
        variables: dict = {}
        data = {"object": pod, "oldObject": None, "request": request, "variables": variables}
        for name, expression in self.variables:
            value = expression.eval(data=data)
            if value.type() != self._error:
                variables[name] = value.plain_value()
        return variables


def merge(base: object, patch: object, key: str = "") -> object:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for k, v in patch.items():
            merged[k] = merge(base[k], v, k) if k in base else v
        return merged
    if key in CONTAINER_LISTS and isinstance(base, list):
        merged_list = list(base)
        index = {c.get("name"): n for n, c in enumerate(merged_list)}
        for entry in patch:
            if entry["name"] in index:
                n = index[entry["name"]]
                merged_list[n] = merge(merged_list[n], entry)
            else:
                merged_list.append(entry)
        return merged_list
    return patch


def as_fields(pod: dict, original: dict) -> dict:
    """PSP's mutation of `original` as the mutating targets write it: the seccomp and
    AppArmor annotations it added as fields (pspc.mutation.defaults says why)."""
    pod = copy.deepcopy(pod)
    annotations = pod.get("metadata", {}).get("annotations") or {}
    before = original.get("metadata", {}).get("annotations") or {}
    spec = pod["spec"]
    context = spec.setdefault("securityContext", {})
    if voc.SECCOMP_POD in annotations and voc.SECCOMP_POD not in before and \
            "seccompProfile" not in context:
        field = voc.profile_field(annotations.pop(voc.SECCOMP_POD))
        if field:
            context["seccompProfile"] = field
    for key in CONTAINER_LISTS:
        for container in spec.get(key) or ():
            name = voc.APPARMOR_CONTAINER_PREFIX + container.get("name", "")
            if name in annotations and name not in before:
                field = voc.profile_field(annotations.pop(name))
                if field:
                    container.setdefault("securityContext", {})["appArmorProfile"] = field
    return pod


def _profile_annotations(pod: dict, original: dict) -> None:
    """Move seccomp and AppArmor fields the mutation added into their annotations."""
    spec, before = pod.get("spec", {}), original.get("spec", {})
    annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
    context = spec.get("securityContext") or {}
    if "seccompProfile" in context and "seccompProfile" not in (before.get("securityContext")
                                                                or {}):
        annotations[voc.SECCOMP_POD] = seccomp_annotation_for_field(context.pop("seccompProfile"))
    for key in CONTAINER_LISTS:
        old = {c.get("name"): c for c in before.get(key) or ()}
        for container in spec.get(key) or ():
            sc = container.get("securityContext") or {}
            was = (old.get(container.get("name")) or {}).get("securityContext") or {}
            if "appArmorProfile" in sc and "appArmorProfile" not in was:
                annotations[voc.APPARMOR_CONTAINER_PREFIX + container["name"]] = \
                    seccomp_annotation_for_field(sc.pop("appArmorProfile"))


def _tidy(value: object) -> object:
    """Without empty objects; capability lists as sorted sets."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _tidy(v)
            if k in ("add", "drop") and isinstance(v, list):
                v = sorted(set(v))
            if v != {}:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def comparable(pod: dict, original: dict, psp: bool) -> dict:
    """`pod` (a mutation of `original`) as the other side writes it (see the module doc)."""
    pod = copy.deepcopy(pod)
    annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
    if psp:
        annotations.pop(PSP_ANNOTATION, None)
        pod_field = (original.get("spec", {}).get("securityContext") or {}).get("seccompProfile")
        had = (original.get("metadata", {}).get("annotations") or {}).get(voc.SECCOMP_POD)
        if pod_field and not had:
            annotations.pop(voc.SECCOMP_POD, None)
        elif not had and annotations.get(voc.SECCOMP_POD) == voc.DOCKER_DEFAULT:
            annotations[voc.SECCOMP_POD] = voc.RUNTIME_DEFAULT  # one profile, two names
    else:
        _profile_annotations(pod, original)
    return _tidy(pod)
