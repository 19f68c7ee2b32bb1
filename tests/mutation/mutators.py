"""Small interpreters of the Gatekeeper and Kyverno mutation objects pspc writes, following
the projects' documented semantics, for the differential tests (tests/mutation/test_mutators.py).
They cover exactly the constructs pspc generates; tests/mutation/test_interpreters.py checks
them against examples in the style of the upstream documentation.

Gatekeeper (mutation docs: Assign, ModifySet, pathTests, list globs):
* `location` is a dotted path; `list[name:*]` visits every existing entry of the list (it
  never creates one); a missing parent object is created;
* pathTests: `MustNotExist` skips the assignment where the sub path exists, `MustExist`
  where it does not;
* ModifySet `merge` appends the values a list lacks (creating the list);
* mutators whose `match` fits the pod (kind Pod, in `namespaces` when given, not in
  `excludedNamespaces`) apply in name
  order; Gatekeeper repeats until the pod stops changing, which with these idempotent
  mutators is one pass.

Kyverno (mutate docs: patchStrategicMerge anchors, foreach, preconditions, variables):
* `+(key): value` adds the key where it is absent and leaves it as it is otherwise;
* a list entry `(name): X` (conditional anchor) patches the entries whose name is X;
* `{{ expr }}` is JMESPath over `request.object` and `element` (the item of a foreach),
  inner `{{ ... }}` first; a string that is one whole `{{ }}` takes the expression's value;
* preconditions: `Equals` compares values; `AnyNotIn` holds when some key item is not in
  the value list;
* a rule applies where its `match` resources fit (kind Pod, in `namespaces` when given) and
  no `exclude` entry does (its resources' `namespaces` name the pod's, or its subjects
  name a group of the requester);
* rules apply in order, each to the pod the previous one produced; a foreach evaluates its
  list on the pod as it was when the foreach started.
"""

from __future__ import annotations

import copy
import json
import re

import jmespath

_GLOB = re.compile(r"^(\w+)\[name:\*\]$")


# -- Gatekeeper ----------------------------------------------------------------------------

def _matches(match: dict, pod: dict, namespace: str) -> bool:
    kinds = [k for entry in match.get("kinds", []) for k in entry.get("kinds", [])]
    if kinds and "Pod" not in kinds:
        return False
    return ("namespaces" not in match or namespace in match["namespaces"]) and \
        namespace not in match.get("excludedNamespaces", ())


def _targets(node: object, steps: list[str]) -> list[tuple[dict, str]]:
    """The (parent, key) places `steps` reaches from `node`, creating missing objects."""
    if not isinstance(node, dict):
        return []
    step, rest = steps[0], steps[1:]
    glob = _GLOB.match(step)
    if glob:
        return [place for entry in node.get(glob.group(1)) or () for place in
                _targets(entry, rest)]
    if not rest:
        return [(node, step)]
    if step not in node:
        node[step] = {}
    return _targets(node[step], rest)


def gatekeeper(mutators: list[dict], pod: dict, namespace: str) -> dict:
    pod = copy.deepcopy(pod)
    for mutator in sorted(mutators, key=lambda m: (m["kind"], m["metadata"]["name"])):
        spec = mutator["spec"]
        if not _matches(spec.get("match", {}), pod, namespace):
            continue
        parameters = spec["parameters"]
        tests = {t["subPath"]: t["condition"] for t in parameters.get("pathTests", [])}
        assert set(tests) <= {spec["location"]}, "pspc tests only the assigned path"
        for parent, key in _targets(pod, spec["location"].split(".")):
            exists = key in parent
            if tests.get(spec["location"]) == ("MustExist" if not exists else "MustNotExist"):
                continue
            if mutator["kind"] == "Assign":
                parent[key] = copy.deepcopy(parameters["assign"]["value"])
            else:
                assert parameters["operation"] == "merge"
                values = parent.setdefault(key, [])
                values += [v for v in parameters["values"]["fromList"] if v not in values]
    return pod


# -- Kyverno -------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{([^{}]*)\}\}")


def _substitute(text: str, context: dict) -> object:
    """`{{ }}` variables, innermost first; a string that is one variable takes its value."""
    while True:
        inner = list(_VARIABLE.finditer(text))
        if not inner:
            return text
        if len(inner) == 1 and inner[0].span() == (0, len(text)):
            return jmespath.search(inner[0].group(1).strip(), context)
        match = inner[0]
        value = jmespath.search(match.group(1).strip(), context)
        text = text[:match.start()] + (value if isinstance(value, str) else json.dumps(value)) \
            + text[match.end():]


def _resolved(value: object, context: dict) -> object:
    if isinstance(value, str):
        return _substitute(value, context)
    if isinstance(value, dict):
        return {_substitute(k, context): _resolved(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, context) for v in value]
    return value


def _holds(conditions: dict, context: dict) -> bool:
    def one(condition: dict) -> bool:
        key = _resolved(condition["key"], context)
        value = _resolved(condition["value"], context)
        if condition["operator"] == "Equals":
            return key == value
        if condition["operator"] == "AnyNotIn":
            keys = key if isinstance(key, list) else [key]
            return any(k not in (value or []) for k in keys)
        raise AssertionError(condition["operator"])
    return all(one(c) for c in conditions.get("all", [])) and (
        "any" not in conditions or any(one(c) for c in conditions["any"]))


def _patch(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if key.startswith("+(") and key.endswith(")"):
            name = key[2:-1]
            if name not in target:
                target[name] = copy.deepcopy(value)
        elif isinstance(value, dict):
            _patch(target.setdefault(key, {}), value)
        elif isinstance(value, list) and value and isinstance(value[0], dict) and \
                "(name)" in value[0]:
            for entry in value:
                rest = {k: v for k, v in entry.items() if k != "(name)"}
                for item in target.get(key) or ():
                    if item.get("name") == entry["(name)"]:
                        _patch(item, rest)
        else:
            target[key] = copy.deepcopy(value)


def _excluded(exclude: dict, namespace: str, groups: tuple[str, ...]) -> bool:
    return any(namespace in entry.get("resources", {}).get("namespaces", ()) or any(
        subject["kind"] == "Group" and subject["name"] in groups
        for subject in entry.get("subjects", ())) for entry in exclude.get("any", ()))


def kyverno(policy: dict, pod: dict, namespace: str, groups: tuple[str, ...] = ()) -> dict:
    """The pod after the policy's rules, created in `namespace` by a requester in `groups`."""
    pod = copy.deepcopy(pod)
    for rule in policy["spec"]["rules"]:
        resources = rule["match"]["any"][0]["resources"]
        if "Pod" not in resources["kinds"] or (
                "namespaces" in resources and namespace not in resources["namespaces"]) or (
                _excluded(rule.get("exclude", {}), namespace, groups)):
            continue
        context = {"request": {"object": copy.deepcopy(pod)}}
        if "preconditions" in rule and not _holds(rule["preconditions"], context):
            continue
        mutate = rule["mutate"]
        if "patchStrategicMerge" in mutate:
            _patch(pod, _resolved(mutate["patchStrategicMerge"], context))
        for step in mutate.get("foreach", ()):
            context = {"request": {"object": copy.deepcopy(pod)}}
            for element in jmespath.search(step["list"], context) or ():
                scope = {**context, "element": element}
                if "preconditions" in step and not _holds(step["preconditions"], scope):
                    continue
                _patch(pod, _resolved(step["patchStrategicMerge"], scope))
    return pod
