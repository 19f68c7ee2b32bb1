"""Evaluate checks directly in Python, with the semantics both renderers implement.

The contract oracle uses it for the intents a PodSecurityPolicy cannot express
(ir.BEYOND_PSP): for those, the PSP simulator cannot say what a validating engine should
answer, but the check itself can.
"""

from __future__ import annotations

from pspc.validation import expr as e
from pspc.validation.requirements import SPEC, C, Requirement, V

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_ABSENT = object()


def _lookup(path: e.Path, env: dict) -> object:
    value = env[path.base.name]
    for key in path.keys:
        name = value_of(key, env) if isinstance(key, e.Concat) else key
        if not isinstance(value, dict) or value.get(name) is None:
            return _ABSENT
        value = value[name]
    return value


def value_of(node: e.Expr, env: dict) -> object:
    if isinstance(node, e.Var):
        return env[node.name]
    if isinstance(node, e.Lit):
        return node.value
    if isinstance(node, e.Concat):
        return "".join(str(value_of(p, env)) for p in node.parts)
    if isinstance(node, e.Val):
        found = _lookup(node.path, env)
        return value_of(node.default, env) if found is _ABSENT else found
    if isinstance(node, e.Items):
        found = _lookup(node.path, env)
        return [] if found is _ABSENT else found
    if isinstance(node, e.Keys):
        found = _lookup(node.path, env)
        return list(found) if isinstance(found, dict) else []
    if isinstance(node, e.Containers):
        spec = env[node.spec.name]
        return [c for key in _CONTAINER_LISTS for c in spec.get(key) or []]
    if isinstance(node, e.Cond):
        return value_of(node.then if holds(node.test, env) else node.otherwise, env)
    return holds(node, env)


def holds(node: e.Expr, env: dict) -> bool:
    if isinstance(node, e.Lit):
        return bool(node.value)
    if isinstance(node, e.Cmp):
        return _OPS[node.op](value_of(node.left, env), value_of(node.right, env))
    if isinstance(node, e.In):
        return value_of(node.item, env) in value_of(node.collection, env)
    if isinstance(node, e.StartsWith):
        return str(value_of(node.text, env)).startswith(str(value_of(node.prefix, env)))
    if isinstance(node, e.NonEmpty):
        return len(value_of(node.items, env)) > 0
    if isinstance(node, e.Has):
        return _lookup(node.path, env) is not _ABSENT
    if isinstance(node, e.OnlyKeys):
        return set(env[node.var.name]) <= set(node.keys)
    if isinstance(node, e.Not):
        return not holds(node.operand, env)
    if isinstance(node, e.And):
        return all(holds(o, env) for o in node.operands)
    if isinstance(node, e.Or):
        return any(holds(o, env) for o in node.operands)
    if isinstance(node, (e.All, e.Any)):
        test = all if isinstance(node, e.All) else any
        return test(holds(node.body, {**env, node.var.name: item})
                    for item in value_of(node.items, env))
    raise TypeError(f"not a condition: {node!r}")


def passes(check: Requirement, pod: dict) -> bool:
    """Whether `pod` satisfies `check`, over the pod, each container or each volume."""
    env = {"obj": pod, "spec": pod.get("spec") or {}}
    if check.scope == "pod":
        return holds(check.ok, env)
    items = value_of(e.Containers(SPEC), env) if check.scope == "container" else \
        (env["spec"].get("volumes") or [])
    var = C.name if check.scope == "container" else V.name
    return all(holds(check.ok, {**env, var: item}) for item in items)
