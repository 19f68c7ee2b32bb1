"""Partial evaluation: a check family's expression with one policy's values substituted and
folded away, for the targets that carry literal checks (VAP, Kyverno, conftest).

The result holds no Param or Named node, only the node types every renderer knows: a
quantifier over a literal list is unrolled (`some range in [1..2, 5..5]` becomes
`1 <= x <= 2 or x == 5`), a comparison of literals becomes its truth value, and conjunctions
and disjunctions are simplified (pspc.validation.expr.and_, or_, not_). So the parametric
check, which the Gatekeeper template renders once for every policy, and the literal one are
the same expression: one check model.
"""

from __future__ import annotations

from pspc.validation import expr as e

_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_ABSENT = object()


def specialise(node: e.Expr, params: dict) -> e.Expr:
    """`node` with the family's parameters `params` (e.PARAMS) substituted and folded."""
    return _fold(node, {e.PARAMS.name: params})


def _fold(node: e.Expr, env: dict) -> e.Expr:  # noqa: PLR0911, PLR0912 - one case per node
    if isinstance(node, e.Var):
        return e.Lit(env[node.name]) if node.name in env else node
    if isinstance(node, e.Param):
        return e.Lit(env[node.of.name][node.name]) if node.of.name in env else node
    if isinstance(node, e.Named):
        return _fold(node.value, env)
    if isinstance(node, e.Concat):
        parts = tuple(_fold(part, env) for part in node.parts)
        if all(isinstance(part, e.Lit) for part in parts):
            return e.Lit("".join(str(part.value) for part in parts))
        return e.Concat(parts)
    if isinstance(node, e.Val | e.Has | e.Items | e.Keys):
        return _access(node, env)
    if isinstance(node, e.Cmp):
        left, right = _fold(node.left, env), _fold(node.right, env)
        if isinstance(left, e.Lit) and isinstance(right, e.Lit):
            return e.Lit(_OPS[node.op](left.value, right.value))
        return e.Cmp(node.op, left, right)
    if isinstance(node, e.In):
        item, collection = _fold(node.item, env), _fold(node.collection, env)
        if isinstance(collection, e.Lit) and not collection.value:
            return e.FALSE
        if isinstance(item, e.Lit) and isinstance(collection, e.Lit):
            return e.Lit(item.value in collection.value)
        if isinstance(collection, e.Lit) and len(collection.value) == 1:  # `x in [a]`: x == a
            return e.Cmp("==", item, e.Lit(collection.value[0]))
        return e.In(item, collection)
    if isinstance(node, e.StartsWith):
        text, prefix = _fold(node.text, env), _fold(node.prefix, env)
        if isinstance(text, e.Lit) and isinstance(prefix, e.Lit):
            return e.Lit(str(text.value).startswith(str(prefix.value)))
        return e.StartsWith(text, prefix)
    if isinstance(node, e.NonEmpty):
        items = _fold(node.items, env)
        return e.Lit(bool(items.value)) if isinstance(items, e.Lit) else e.NonEmpty(items)
    if isinstance(node, e.Cond):
        test = _fold(node.test, env)
        if isinstance(test, e.Lit):
            return _fold(node.then if test.value else node.otherwise, env)
        return e.Cond(test, _fold(node.then, env), _fold(node.otherwise, env))
    if isinstance(node, e.Not):
        return e.not_(_fold(node.operand, env))
    if isinstance(node, e.And):
        return _exact(e.and_(*(_fold(operand, env) for operand in node.operands)))
    if isinstance(node, e.Or):
        return _unguarded(e.or_(*(_fold(operand, env) for operand in node.operands)))
    if isinstance(node, e.All | e.Any):
        return _quantifier(node, env)
    return node  # Lit, Containers, OnlyKeys: nothing to substitute


def _unguarded(node: e.Expr) -> e.Expr:
    """`!has(p) || X` is X where X holds when p is absent (every read under p gives its
    default): the guard adds nothing (`seLinuxOptions`, when set, with an allowed type and
    no user or role: `type in ["", ...] && user == "" && role == ""` holds unset)."""
    if not isinstance(node, e.Or):
        return node
    for guard in node.operands:
        if isinstance(guard, e.Not) and isinstance(guard.operand, e.Has):
            rest = e.or_(*(o for o in node.operands if o is not guard))
            if _fold(_absent(rest, guard.operand.path), {}) == e.TRUE:
                return _unguarded(rest)
    return node


def _absent(node: object, unset: e.Path) -> object:
    """`node` where the field at `unset` is absent: its reads are their defaults."""
    if isinstance(node, e.Val | e.Has | e.Items | e.Keys) and node.path.base == unset.base \
            and node.path.keys[:len(unset.keys)] == unset.keys:
        if isinstance(node, e.Val):
            return _absent(node.default, unset)
        return e.FALSE if isinstance(node, e.Has) else e.Lit([])
    if isinstance(node, tuple):
        return tuple(_absent(item, unset) for item in node)
    if isinstance(node, e.Lit) or not hasattr(node, "__dataclass_fields__"):
        return node
    return type(node)(*(_absent(getattr(node, f), unset) for f in node.__dataclass_fields__))


def _access(node: e.Val | e.Has | e.Items | e.Keys, env: dict) -> e.Expr:
    """A field read: from a bound (literal) variable, its value; else the read, its
    computed map keys folded."""
    keys = tuple(key if isinstance(key, str) else _key(_fold(key, env)) for key in node.path.keys)
    path = e.Path(node.path.base, keys)
    if node.path.base.name not in env:
        if isinstance(node, e.Val):
            return e.Val(path, _fold(node.default, env))
        return type(node)(path)
    found = _lookup(env[node.path.base.name], keys)
    if isinstance(node, e.Has):
        return e.Lit(found is not _ABSENT)
    if isinstance(node, e.Val):
        return _fold(node.default, env) if found is _ABSENT else e.Lit(found)
    if isinstance(node, e.Items):
        return e.Lit([] if found is _ABSENT else found)
    return e.Lit([] if found is _ABSENT else list(found))


def _key(key: e.Expr) -> e.Key:
    return key.value if isinstance(key, e.Lit) else key


def _lookup(value: object, keys: tuple[e.Key, ...]) -> object:
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return _ABSENT
        value = value[key]
    return value


def _quantifier(node: e.All | e.Any, env: dict) -> e.Expr:
    items = _fold(node.items, env)
    inner = {k: v for k, v in env.items() if k != node.var.name}
    if not isinstance(items, e.Lit):
        body = _fold(node.body, inner)
        if body == (e.FALSE if isinstance(node, e.All) else e.TRUE):  # decided by emptiness
            return e.NonEmpty(items) if body == e.TRUE else e.not_(e.NonEmpty(items))
        return e.TRUE if body == e.TRUE else e.FALSE if body == e.FALSE else type(node)(
            node.var, items, body)
    bodies = [_fold(node.body, {**inner, node.var.name: item}) for item in items.value]
    return e.and_(*bodies) if isinstance(node, e.All) else e.or_(*bodies)


def _exact(node: e.Expr) -> e.Expr:
    """`min <= x and x <= max` with min == max is `x == min`: a one-value range."""
    if isinstance(node, e.And) and len(node.operands) == 2:
        low, high = node.operands
        if (isinstance(low, e.Cmp) and isinstance(high, e.Cmp) and (low.op, high.op) == (">=", "<=")
                and low.left == high.left and low.right == high.right):
            return e.Cmp("==", low.left, low.right)
    return node
