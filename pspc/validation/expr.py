"""A small expression language for predicates over a pod, renderable to Rego and CEL.

Field access is always total: `Val(path, default)` reads a field or a default, `Has(path)`
tests presence and `Items(path)` reads a list or []. Predicates never fail on absent
fields, in either language, which keeps Rego (undefined) and CEL (error) in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Var:
    """A bound name: `obj` (the pod), `spec` (its spec), or a quantifier's variable."""

    name: str


@dataclass(frozen=True)
class Lit:
    value: object


@dataclass(frozen=True)
class Concat:
    """String concatenation, for map keys that embed a container name."""

    parts: tuple[Expr, ...]


Key = str | Concat


@dataclass(frozen=True)
class Path:
    base: Var
    keys: tuple[Key, ...]

    def __truediv__(self, key: Key) -> Path:
        return Path(self.base, (*self.keys, key))


@dataclass(frozen=True)
class Val:
    """The value at `path`, or `default` (itself an expression) when absent or null."""

    path: Path
    default: Expr


@dataclass(frozen=True)
class Has:
    path: Path


@dataclass(frozen=True)
class Items:
    """The list at `path`, or [] when absent."""

    path: Path


@dataclass(frozen=True)
class Keys:
    """The keys of the map at `path`, or [] when absent (e.g. the pod's annotations)."""

    path: Path


@dataclass(frozen=True)
class Containers:
    """init, regular and ephemeral containers of `spec`, in the order PSP visits them."""

    spec: Var


@dataclass(frozen=True)
class Cmp:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In:
    """`item` is an element of `collection` (a literal list or a list expression)."""

    item: Expr
    collection: Expr


@dataclass(frozen=True)
class StartsWith:
    text: Expr
    prefix: Expr


@dataclass(frozen=True)
class NonEmpty:
    items: Expr


@dataclass(frozen=True)
class Cond:
    """`then` where `test` holds, else `otherwise` (a value, not a condition)."""

    test: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class OnlyKeys:
    """The object bound to `var` has no keys but these (a volume with no source)."""

    var: Var
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class All:
    var: Var
    items: Expr
    body: Expr


@dataclass(frozen=True)
class Any:
    var: Var
    items: Expr
    body: Expr


@dataclass(frozen=True)
class Param:
    """A policy's value for a check: the parameter `name` of `of`, the check family's
    parameters (PARAMS) or an element of one of their lists (a range, a host path).

    Generated parameters always hold every name a family reads, so a Param is never
    absent. Partial evaluation (pspc.validation.partial) replaces it by the policy's value;
    the Gatekeeper template reads it from the Constraint (`params.ranges`)."""

    name: str
    of: Var


@dataclass(frozen=True)
class Named:
    """A value given a name that says what it computes (`container_seccomp_profile`): Rego
    defines it once as a helper function, whichever checks read it."""

    name: str
    value: Expr


Expr = (Var | Lit | Concat | Val | Has | Items | Keys | Containers | Cmp | In | StartsWith
        | NonEmpty | Cond | OnlyKeys | Not | And | Or | All | Any | Param | Named)

PARAMS = Var("params")

TRUE, FALSE = Lit(True), Lit(False)


def path(var: Var, *keys: Key) -> Path:
    return Path(var, keys)


def and_(*operands: Expr) -> Expr:
    """A conjunction, flattened and simplified (TRUE dropped, FALSE absorbing)."""
    flat: list[Expr] = []
    for operand in operands:
        if operand == TRUE:
            continue
        if operand == FALSE:
            return FALSE
        flat.extend(operand.operands if isinstance(operand, And) else (operand,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def or_(*operands: Expr) -> Expr:
    """A disjunction, flattened and simplified (FALSE dropped, TRUE absorbing)."""
    flat: list[Expr] = []
    for operand in operands:
        if operand == FALSE:
            continue
        if operand == TRUE:
            return TRUE
        flat.extend(operand.operands if isinstance(operand, Or) else (operand,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def not_(operand: Expr) -> Expr:
    """Negation, pushed into comparisons and constants where that is exact.

    Values read through Val always exist, so `not (a == b)` is exactly `a != b`.
    """
    if operand == TRUE:
        return FALSE
    if operand == FALSE:
        return TRUE
    if isinstance(operand, Not):
        return operand.operand
    if isinstance(operand, Cmp):
        return Cmp(_NEGATED[operand.op], operand.left, operand.right)
    return Not(operand)


def eq(left: Expr, right: object) -> Expr:
    return Cmp("==", left, right if _is_expr(right) else Lit(right))


def ne(left: Expr, right: object) -> Expr:
    return Cmp("!=", left, right if _is_expr(right) else Lit(right))


def rename(node: object, old: Var, new: Var) -> object:
    """`node` with the variable `old` replaced by `new` (the Gatekeeper template's CEL reads
    a family's parameters as `p.runAsUser`)."""
    if node == old:
        return new
    if isinstance(node, tuple):
        return tuple(rename(item, old, new) for item in node)
    if isinstance(node, Lit) or not hasattr(node, "__dataclass_fields__"):
        return node
    return type(node)(*(rename(getattr(node, f), old, new) for f in node.__dataclass_fields__))


def param(name: str, of: Var = PARAMS) -> Param:
    return Param(name, of)


def in_ranges(value: Expr, ranges: Expr) -> Expr:
    """`value` lies in one of the inclusive ranges ({min, max} objects) of `ranges`."""
    bound = Var("range")
    return Any(bound, ranges, and_(Cmp(">=", value, param("min", bound)),
                                   Cmp("<=", value, param("max", bound))))


def _is_expr(value: object) -> bool:
    return isinstance(value, Expr)
