"""Render checks to Rego v1.

Rego bodies are conjunctions, so a predicate compiles to body lines; a disjunction, a
negated compound or a quantifier over a compound becomes a generated helper function whose
parameters are the variables in scope. Values read through object.get are always defined,
so negating a comparison is exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pspc.validation import expr as e


def _key(key: e.Key, render) -> str:
    return render(key) if isinstance(key, e.Concat) else json.dumps(key)


@dataclass
class RegoWriter:
    """Accumulates helper functions for one module; names are unique per module."""

    prefix: str
    helpers: list[str] = field(default_factory=list)
    count: int = 0

    def value(self, node: e.Expr) -> str:
        if isinstance(node, e.Var):
            return node.name
        if isinstance(node, e.Lit):
            return json.dumps(node.value)
        if isinstance(node, e.Concat):
            return "concat(\"\", [" + ", ".join(self.value(p) for p in node.parts) + "])"
        if isinstance(node, e.Val):
            return self._get(node.path, self.value(node.default))
        if isinstance(node, e.Items):
            return self._get(node.path, "[]")
        if isinstance(node, e.Containers):
            return f"_containers({node.spec.name})"
        raise TypeError(f"not a value: {node!r}")

    def _get(self, path: e.Path, default: str) -> str:
        keys = [_key(k, self.value) for k in path.keys]
        where = keys[0] if len(keys) == 1 else "[" + ", ".join(keys) + "]"
        return f"object.get({path.base.name}, {where}, {default})"

    def lines(self, node: e.Expr, scope: tuple[str, ...]) -> list[str]:
        """Body lines that hold exactly when `node` is true."""
        if isinstance(node, e.And):
            return [line for operand in node.operands for line in self.lines(operand, scope)]
        if isinstance(node, e.Any):
            inner = (*scope, node.var.name)
            return [f"some {node.var.name} in {self.value(node.items)}",
                    *self.lines(node.body, inner)]
        return [self.condition(node, scope)]

    def condition(self, node: e.Expr, scope: tuple[str, ...]) -> str:
        """One Rego expression that holds exactly when `node` is true."""
        if isinstance(node, e.Lit):
            return "true" if node.value else "false"
        if isinstance(node, e.Cmp):
            return f"{self.value(node.left)} {node.op} {self.value(node.right)}"
        if isinstance(node, e.In):
            return f"{self.value(node.item)} in {self.value(node.collection)}"
        if isinstance(node, e.StartsWith):
            return f"startswith({self.value(node.text)}, {self.value(node.prefix)})"
        if isinstance(node, e.NonEmpty):
            return f"count({self.value(node.items)}) > 0"
        if isinstance(node, e.Has):
            return f"{self._get(node.path, 'null')} != null"
        if isinstance(node, e.Not):
            return f"not {self.helper([node.operand], scope)}"
        if isinstance(node, e.All):
            inner = (*scope, node.var.name)
            body = self.lines(node.body, inner)
            if len(body) == 1:
                return f"every {node.var.name} in {self.value(node.items)} {{ {body[0]} }}"
            return (f"every {node.var.name} in {self.value(node.items)} "
                    f"{{ {self.helper([node.body], inner)} }}")
        if isinstance(node, e.Or):
            return self.helper(list(node.operands), scope)
        return self.helper([node], scope)

    def helper(self, alternatives: list[e.Expr], scope: tuple[str, ...]) -> str:
        """A function true when any alternative holds; returns its call."""
        self.count += 1
        name = f"_{self.prefix}_{self.count}"
        params = ", ".join(scope)
        for alternative in alternatives:
            body = "\n".join(f"\t{line}" for line in self.lines(alternative, scope))
            self.helpers.append(f"{name}({params}) if {{\n{body}\n}}")
        return f"{name}({params})"


def check_call(writer: RegoWriter, name: str, node: e.Expr, scope: tuple[str, ...]) -> str:
    """Define `name(scope...)` as `node` and return its call (the rule every check uses)."""
    params = ", ".join(scope)
    body = "\n".join(f"\t{line}" for line in writer.lines(node, scope))
    writer.helpers.append(f"{name}({params}) if {{\n{body}\n}}")
    return f"{name}({params})"


CONTAINERS_FUNCTION = (
    "# init, regular and ephemeral containers, in the order PSP visits them\n"
    "_containers(spec) := array.concat(array.concat(object.get(spec, \"initContainers\", []), "
    "object.get(spec, \"containers\", [])), object.get(spec, \"ephemeralContainers\", []))"
)
