"""Render check families to Rego v1.

Rego bodies are conjunctions, so a predicate compiles to body lines; a disjunction, a
negated compound or a quantifier over a compound becomes a helper function whose arguments
are the variables it reads. Values read through object.get are always defined, so negating
a comparison is exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pspc.validation import expr as e


def distinct(alternatives) -> list[e.Expr]:
    """The alternatives without repeats, in order (literals may hold lists: no hashing)."""
    found: list[e.Expr] = []
    for alternative in alternatives:
        if alternative not in found:
            found.append(alternative)
    return found


# -- the check library of the Gatekeeper template and of conftest --------------------------

# How the library names what every check reads: rules of the adapter, not arguments.
GLOBALS = {"obj": "_pod", "spec": "_spec"}


def free_variables(node: object, bound: frozenset[str] = frozenset()) -> set[str]:
    """The variables `node` reads that no quantifier inside it binds (but the adapter's
    globals, `obj` and `spec`): what a helper defined as `node` takes as arguments."""
    if isinstance(node, e.Var):
        return set() if node.name in bound or node.name in GLOBALS else {node.name}
    if isinstance(node, e.All | e.Any):
        return free_variables(node.items, bound) | free_variables(
            node.body, bound | {node.var.name})
    if isinstance(node, e.Path):
        found = free_variables(node.base, bound)
        for key in node.keys:
            found |= free_variables(key, bound)
        return found
    if isinstance(node, tuple):
        return set().union(*(free_variables(item, bound) for item in node))
    if not hasattr(node, "__dataclass_fields__") or isinstance(node, e.Lit):
        return set()
    return set().union(*(free_variables(getattr(node, f), bound)
                         for f in node.__dataclass_fields__))


@dataclass
class LibraryWriter:
    """Renders check families to Rego helpers named after what they compute: a family's
    check is `<family>_ok`, a Named value or condition takes its name, and a helper made
    for a part of a check is named after the check and the part (`host_ports_ok_port`,
    `..._either`). Each helper takes only the variables it reads and is defined after its
    first use; a name is defined once, however many checks read it."""

    helpers: dict[str, list[str]] = field(default_factory=dict)
    nodes: dict[str, e.Expr] = field(default_factory=dict)

    def text(self) -> str:
        return "\n\n".join(part for parts in self.helpers.values() for part in parts)

    def _call(self, name: str, node: e.Expr) -> tuple[str, bool]:
        """The call of helper `name` (arguments: what `node` reads), and whether it still
        needs defining."""
        args = ", ".join(sorted(free_variables(node)))
        known = self.nodes.setdefault(name, node)
        if known != node:
            raise ValueError(f"two helpers named {name}: name one of them (expr.Named)")
        fresh = name not in self.helpers
        if fresh:
            self.helpers[name] = []  # its place: after the helper that first calls it
        return (f"{name}({args})" if args else name), fresh  # without arguments: a rule

    def value(self, node: e.Expr, name: str) -> str:
        if isinstance(node, e.Named):
            return self._value_helper(node.name, node.value)
        if isinstance(node, e.Cond):
            return self._value_helper(f"{name}_value", node)
        if isinstance(node, e.Var):
            return GLOBALS.get(node.name, node.name)
        if isinstance(node, e.Param):
            return f"{self.value(node.of, name)}.{node.name}"
        if isinstance(node, e.Lit):
            return json.dumps(node.value)
        if isinstance(node, e.Concat):
            return "concat(\"\", [" + ", ".join(self.value(p, name) for p in node.parts) + "])"
        if isinstance(node, e.Val):
            return self._get(node.path, self.value(node.default, name), name)
        if isinstance(node, e.Items):
            return f"_list({self._get(node.path, '[]', name)})"
        if isinstance(node, e.Keys):
            return f"object.keys({self._get(node.path, '{}', name)})"
        if isinstance(node, e.Containers):
            return "_containers"
        raise TypeError(f"not a value: {node!r}")

    def _value_helper(self, name: str, node: e.Expr) -> str:
        """`name(...) := then if { test } else := ...`: a Cond chain as an else chain."""
        if not isinstance(node, e.Cond):
            return self.value(node, name)
        call, fresh = self._call(name, node)
        if fresh:
            chain, rest = [], node
            while isinstance(rest, e.Cond):
                test = "\n".join(f"\t{line}" for line in self.lines(rest.test, name))
                chain.append(f"{self.value(rest.then, name)} if {{\n{test}\n}}")
                rest = rest.otherwise
            self.helpers[name].append(f"{call} := " + " else := ".join(chain)
                                      + f" else := {self.value(rest, name)}")
        return call

    def _get(self, path: e.Path, default: str, name: str) -> str:
        keys = [json.dumps(k) if isinstance(k, str) else self.value(
            k.parts[0] if len(k.parts) == 1 else k, name) for k in path.keys]
        where = keys[0] if len(keys) == 1 else "[" + ", ".join(keys) + "]"
        return f"object.get({self.value(path.base, name)}, {where}, {default})"

    def lines(self, node: e.Expr, name: str) -> list[str]:
        """Body lines that hold exactly when `node` is true."""
        if isinstance(node, e.And):
            return [line for operand in node.operands for line in self.lines(operand, name)]
        if isinstance(node, e.Any):
            return [f"some {node.var.name} in {self.value(node.items, name)}",
                    *self.lines(node.body, name)]
        return [self.condition(node, name)]

    def condition(self, node: e.Expr, name: str) -> str:  # noqa: PLR0911 - one case per node
        """One Rego expression that holds exactly when `node` is true."""
        if isinstance(node, e.Named):
            return self.define(node.name, node.value)
        if isinstance(node, e.Lit):
            return "true" if node.value else "false"
        if isinstance(node, e.Cmp):
            return f"{self.value(node.left, name)} {node.op} {self.value(node.right, name)}"
        if isinstance(node, e.In):
            return f"{self.value(node.item, name)} in {self.value(node.collection, name)}"
        if isinstance(node, e.StartsWith):
            return (f"startswith({self.value(node.text, name)}, "
                    f"{self.value(node.prefix, name)})")
        if isinstance(node, e.NonEmpty):
            return f"count({self.value(node.items, name)}) > 0"
        if isinstance(node, e.OnlyKeys):
            return f"count(object.remove({node.var.name}, {json.dumps(list(node.keys))})) == 0"
        if isinstance(node, e.Has):
            return f"{self._get(node.path, 'null', name)} != null"
        if isinstance(node, e.Not):
            if isinstance(node.operand, e.Has):  # the value read is always defined
                return f"{self._get(node.operand.path, 'null', name)} == null"
            if isinstance(node.operand, e.Cmp | e.In | e.StartsWith | e.NonEmpty | e.Named):
                return f"not {self.condition(node.operand, name)}"
            return f"not {self.define(f'{name}_holds', node.operand)}"
        if isinstance(node, e.All):
            inner = f"{name}_{node.var.name}"
            body = (self.define(inner, node.body) if isinstance(node.body, e.And | e.Any)
                    else self.condition(node.body, inner))  # one line in `every`'s braces
            return f"every {node.var.name} in {self.value(node.items, name)} {{ {body} }}"
        if isinstance(node, e.Or):
            return self.define(f"{name}_either", node)
        return self.define(f"{name}_holds", node)

    def define(self, name: str, node: e.Expr) -> str:
        """Define `name(...)` as `node` (one body per alternative of a disjunction); returns
        its call."""
        call, fresh = self._call(name, node)
        if fresh:
            alternatives = distinct(node.operands) if isinstance(node, e.Or) else [node]
            for alternative in alternatives:
                body = "\n".join(f"\t{line}" for line in self.lines(alternative, name))
                self.helpers[name].append(f"{call} if {{\n{body}\n}}")
        return call

    def failure(self, node: e.Expr, name: str) -> str:
        """A body line that holds exactly when `node` fails: a negated comparison, presence
        or membership test inline, else `not` of the helper `name` defined as `node`."""
        if isinstance(node, e.Cmp) and node.op in ("==", "!="):
            return self.condition(e.not_(node), name)
        if isinstance(node, e.Has):
            return self.condition(e.Not(node), name)
        if isinstance(node, e.Not):
            return self.condition(node.operand, name)
        if isinstance(node, e.In | e.StartsWith | e.NonEmpty):
            return f"not {self.condition(node, name)}"
        return f"not {self.define(name, node)}"
