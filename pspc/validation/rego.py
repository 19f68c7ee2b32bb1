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

    def value(self, node: e.Expr, scope: tuple[str, ...] = ()) -> str:
        if isinstance(node, e.Cond):
            self.count += 1
            name, params = f"_{self.prefix}_{self.count}", ", ".join(scope)
            test = "\n".join(f"\t{line}" for line in self.lines(node.test, scope))
            self.helpers.append(f"{name}({params}) := {self.value(node.then, scope)} if {{\n"
                                f"{test}\n}} else := {self.value(node.otherwise, scope)}")
            return f"{name}({params})"
        if isinstance(node, e.Var):
            return node.name
        if isinstance(node, e.Lit):
            return json.dumps(node.value)
        if isinstance(node, e.Concat):
            return "concat(\"\", [" + ", ".join(self.value(p, scope) for p in node.parts) + "])"
        if isinstance(node, e.Val):
            return self._get(node.path, self.value(node.default, scope))
        if isinstance(node, e.Items):
            return f"_list({self._get(node.path, '[]')})"
        if isinstance(node, e.Keys):
            return f"[key | some key, _ in {self._get(node.path, '{}')}]"
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
            return f"{self.value(node.left, scope)} {node.op} {self.value(node.right, scope)}"
        if isinstance(node, e.In):
            return f"{self.value(node.item, scope)} in {self.value(node.collection, scope)}"
        if isinstance(node, e.StartsWith):
            return f"startswith({self.value(node.text, scope)}, {self.value(node.prefix, scope)})"
        if isinstance(node, e.NonEmpty):
            return f"count({self.value(node.items)}) > 0"
        if isinstance(node, e.OnlyKeys):
            return f"count(object.remove({node.var.name}, {json.dumps(list(node.keys))})) == 0"
        if isinstance(node, e.Has):
            return f"{self._get(node.path, 'null')} != null"
        if isinstance(node, e.Not):
            if isinstance(node.operand, e.Has):  # the value read is always defined
                return f"{self._get(node.operand.path, 'null')} == null"
            return f"not {self.helper([node.operand], scope)}"
        if isinstance(node, e.All):
            inner = (*scope, node.var.name)
            body = self.lines(node.body, inner)
            if len(body) > 1:
                self.count += 1
                body = [self.function(f"_{self.prefix}_{self.count}", [body], inner)]
            return f"every {node.var.name} in {self.value(node.items)} {{ {body[0]} }}"
        if isinstance(node, e.Or):
            alternatives = distinct(node.operands)
            if len(alternatives) == 1:
                return self.condition(alternatives[0], scope)
            return self.helper(alternatives, scope)
        return self.helper([node], scope)

    def helper(self, alternatives: list[e.Expr], scope: tuple[str, ...]) -> str:
        """A function true when any alternative holds; returns its call."""
        self.count += 1
        return self.define(f"_{self.prefix}_{self.count}", alternatives, scope)

    def define(self, name: str, alternatives: list[e.Expr], scope: tuple[str, ...]) -> str:
        """Define `name(scope...)` with one body per distinct alternative; returns its call."""
        return self.function(name, [self.lines(a, scope) for a in distinct(alternatives)], scope)

    def function(self, name: str, bodies: list[list[str]], scope: tuple[str, ...]) -> str:
        """Define `name(scope...)` with these bodies (lists of lines); returns its call."""
        params = ", ".join(scope)
        for body in bodies:
            text = "\n".join(f"\t{line}" for line in body)
            self.helpers.append(f"{name}({params}) if {{\n{text}\n}}")
        return f"{name}({params})"


def distinct(alternatives) -> list[e.Expr]:
    """The alternatives without repeats, in order (literals may hold lists: no hashing)."""
    found: list[e.Expr] = []
    for alternative in alternatives:
        if alternative not in found:
            found.append(alternative)
    return found


def check_call(writer: RegoWriter, name: str, node: e.Expr, scope: tuple[str, ...]) -> str:
    """Define `name(scope...)` as `node` and return its call; a disjunction gets one body
    per alternative rather than a call to a helper that has them."""
    return writer.define(name, list(node.operands) if isinstance(node, e.Or) else [node], scope)


def violation(writer: RegoWriter, name: str, node: e.Expr, scope: tuple[str, ...]) -> str:
    """A body line that holds exactly when check `node` fails.

    Where the negation is one expression (a flipped equality, an absence test, the operand
    of a negation, `not` of a membership, prefix or non-emptiness test) it is the line
    itself; otherwise the line is `not` of the function `name`, defined as `node`. Each
    inlined negation saves a function call per checked element.
    """
    if isinstance(node, e.Cmp) and node.op in ("==", "!="):
        return writer.condition(e.not_(node), scope)
    if isinstance(node, e.Has):
        return writer.condition(e.Not(node), scope)
    if isinstance(node, e.Not):
        return writer.condition(node.operand, scope)
    if isinstance(node, e.Lit | e.In | e.StartsWith | e.NonEmpty):
        return f"not {writer.condition(node, scope)}"
    return "not " + check_call(writer, name, node, scope)


CONTAINERS_FUNCTION = (
    "# a list field, or [] when it is absent or null (`ports:` with nothing after it)\n"
    "_list(value) := value if is_array(value)\n\n"
    "_list(value) := [] if not is_array(value)\n\n"
    "# init, regular and ephemeral containers, in the order PSP visits them\n"
    "_containers(spec) := array.concat(array.concat(_list(object.get(spec, \"initContainers\", "
    "[])), _list(object.get(spec, \"containers\", []))), "
    "_list(object.get(spec, \"ephemeralContainers\", [])))"
)
