"""Render checks to CEL, as Kubernetes (ValidatingAdmissionPolicy, Gatekeeper's
K8sNativeValidation, Kyverno) evaluates it.

Every field read is guarded with has() (or `in` for map keys that are not identifiers),
because reading an absent field is an error in CEL. The pod is `object`; the container
list is the variable `variables.containers`, defined once per policy.
"""

from __future__ import annotations

import json
import re

from pspc.validation import expr as e

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"in", "as", "break", "const", "continue", "else", "for", "function", "if",
             "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
             "true", "false", "null"}
CONTAINERS_VARIABLE = "containers"


def _name(var: e.Var) -> str:
    return {"obj": "object", "spec": "object.spec"}.get(var.name, var.name)


def value(node: e.Expr) -> str:
    if isinstance(node, e.Var):
        return _name(node)
    if isinstance(node, e.Lit):
        return json.dumps(node.value)
    if isinstance(node, e.Concat):
        return "(" + " + ".join(value(p) for p in node.parts) + ")"
    if isinstance(node, e.Val):
        return _guarded(node.path, value(node.default))
    if isinstance(node, e.Items):
        return _guarded(node.path, "[]")
    if isinstance(node, e.Keys):  # a CEL map's macros range over its keys
        return _guarded(node.path, "{}")
    if isinstance(node, e.Containers):
        return f"variables.{CONTAINERS_VARIABLE}"
    if isinstance(node, e.Cond):
        return f"({condition(node.test)} ? {value(node.then)} : {value(node.otherwise)})"
    if isinstance(node, e.Param | e.Named):
        return parametric(node)
    return condition(node)


def parametric(node: e.Param | e.Named) -> str:
    """The nodes of a check family that partial evaluation removes (the Gatekeeper template
    keeps them): a parameter, which is always present, and a named value, inlined."""
    if isinstance(node, e.Param):
        return f"{_name(node.of)}.{node.name}"
    return value(node.value)


def containers_expression() -> str:
    """The definition of `variables.containers`: init, regular and ephemeral containers."""
    spec = e.Var("spec")
    return " + ".join(_guarded(e.path(spec, k), "[]")
                      for k in ("initContainers", "containers", "ephemeralContainers"))


def _steps(path: e.Path) -> tuple[list[str], str]:
    """The has()/in tests that make each step of `path` safe, and the access itself."""
    tests, access = [], _name(path.base)
    for key in path.keys:
        if isinstance(key, str) and _IDENTIFIER.fullmatch(key) and key not in _RESERVED:
            tests.append(f"has({access}.{key})")
            access = f"{access}.{key}"
        else:
            rendered = value(key) if isinstance(key, e.Concat) else json.dumps(key)
            tests.append(f"{rendered} in {access}")
            access = f"{access}[{rendered}]"
    return tests, access


def _guarded(path: e.Path, default: str) -> str:
    tests, access = _steps(path)
    return f"({' && '.join(tests)} ? {access} : {default})"


def condition(node: e.Expr) -> str:
    if isinstance(node, e.Named):
        return condition(node.value)
    if isinstance(node, e.Lit):
        return "true" if node.value else "false"
    if isinstance(node, e.Cmp):
        return f"{value(node.left)} {node.op} {value(node.right)}"
    if isinstance(node, e.In):
        return f"{value(node.item)} in {value(node.collection)}"
    if isinstance(node, e.StartsWith):
        return f"{value(node.text)}.startsWith({value(node.prefix)})"
    if isinstance(node, e.NonEmpty):
        return f"size({value(node.items)}) > 0"
    if isinstance(node, e.OnlyKeys):
        return f"{_name(node.var)}.all(key, key in {json.dumps(list(node.keys))})"
    if isinstance(node, e.Has):
        tests, _ = _steps(node.path)
        return tests[0] if len(tests) == 1 else "(" + " && ".join(tests) + ")"
    if isinstance(node, e.Not):
        inner = condition(node.operand)
        return f"!{inner}" if inner.startswith(("(", "has(")) and _balanced(inner) else \
            f"!({inner})"
    if isinstance(node, e.And):
        return "(" + " && ".join(condition(o) for o in node.operands) + ")"
    if isinstance(node, e.Or):
        return "(" + " || ".join(condition(o) for o in node.operands) + ")"
    if isinstance(node, e.All):
        return f"{value(node.items)}.all({node.var.name}, {condition(node.body)})"
    if isinstance(node, e.Any):
        return f"{value(node.items)}.exists({node.var.name}, {condition(node.body)})"
    raise TypeError(f"not a condition: {node!r}")


def _balanced(text: str) -> bool:
    """Whether `text` is one parenthesised or called term, safe to negate without parens."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and index < len(text) - 1 and char == ")":
            return False
    return True
