"""Render checks to CEL, as Kubernetes (ValidatingAdmissionPolicy, Gatekeeper's
K8sNativeValidation, Kyverno) evaluates it.

Reading an absent field is an error in CEL, so every read is made safe, in one of two
syntaxes:

* **optionals** (`object.spec.?securityContext.?runAsNonRoot.orValue(false)`, `[?"key"]`,
  `.hasValue()`, `.or()`): how Kubernetes CEL is written today. Kubernetes' admission CEL
  environment (k8s.io/apiserver pkg/cel/environment/base.go) adds `cel.OptionalTypes()` in
  the options whose IntroducedVersion is 1.28, and a new or changed expression compiles in
  the environment of the API server's compatibility version, one minor below its own
  (DefaultCompatibilityVersion: n-1): optionals compile from Kubernetes 1.29 on
  (pspc.profiles.CEL_OPTIONALS_SINCE decides per profile).
* **has() guards** (`has(c.securityContext) && has(c.securityContext.privileged) ? ... :
  false`), for older clusters and for cel-python, which does not parse optionals.

Both say the same: an absent field reads as the default, a present one (even null) as its
value. The pod is `object`; the container list is `variables.containers`, defined once;
named pod-level derivations (`HOISTED`) are read from variables defined once.
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
ANNOTATIONS_VARIABLE = "annotations"
_ANNOTATIONS = ("metadata", "annotations")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _name(var: e.Var) -> str:
    return {"obj": "object", "spec": "object.spec"}.get(var.name, var.name)


def _field(key: e.Key) -> bool:
    return isinstance(key, str) and bool(_IDENTIFIER.fullmatch(key)) and key not in _RESERVED


class CelWriter:
    """Renders expression nodes in one syntax (`optionals` or has() guards).

    `hoisted` maps pod-level derivations (expression nodes) to the names of the variables
    that hold them; `used` records, in order of first use, those the rendered text reads,
    so that the caller defines exactly those. A writer that hoists also reads the pod's
    annotations from `variables.annotations`."""

    def __init__(self, optionals: bool = False, hoisted: dict[e.Expr, str] | None = None) -> None:
        self.optionals = optionals
        self.hoisted = hoisted or {}
        self.used: dict[str, e.Expr] = {}
        self._keys: dict[str, e.Path] = {}  # a quantifier's variable -> the map it ranges over
        # text its callers rendered with it, by what determines the text
        # (pspc.validation.render._once): policies share most checks
        self.rendered: dict[tuple, str] = {}

    # -- values ---------------------------------------------------------------------------

    def value(self, node: e.Expr) -> str:
        if isinstance(node, e.Var):
            return _name(node)
        if isinstance(node, e.Lit):
            return json.dumps(node.value)
        if isinstance(node, e.Concat):
            return "(" + " + ".join(self.value(p) for p in node.parts) + ")"
        if isinstance(node, e.Val):
            return self._read(node.path, node.default)
        if isinstance(node, e.Items):
            return self._read(node.path, e.Lit([]))
        if isinstance(node, e.Keys):  # a CEL map's macros range over its keys
            return self._read(node.path, e.Lit({}))
        if isinstance(node, e.Containers):
            return f"variables.{CONTAINERS_VARIABLE}"
        if isinstance(node, e.Param):  # a check family's parameter, always present
            return f"{_name(node.of)}.{node.name}"
        if isinstance(node, e.Named):  # a named value: a Rego helper, inlined in CEL
            return self.value(node.value)
        if isinstance(node, e.Cond):
            name = self._hoisted(node)
            if name is not None:
                return f"variables.{name}"
            return (f"({self.condition(node.test)} ? {self.value(node.then)} : "
                    f"{self.value(node.otherwise)})")
        return self.condition(node)

    def _hoisted(self, node: e.Cond | e.Cmp) -> str | None:
        """The variable holding `node`, recorded as used; None when none does."""
        if not self.hoisted or (isinstance(node, e.Cmp) and not _scalar_test(node)):
            return None
        try:
            name = self.hoisted.get(node)
        except TypeError:  # a node holding a list literal, unhashable: never a hoisted one
            return None
        if name is not None:
            self.used.setdefault(name, node)
        return name

    def containers(self) -> str:
        """The definition of `variables.containers`: init, regular and ephemeral containers."""
        spec = e.Var("spec")
        return " + ".join(self.value(e.Items(e.path(spec, k))) for k in _CONTAINER_LISTS)

    def definition(self, node: e.Cond | e.Cmp) -> str:
        """The text of a hoisted variable: its derivation itself, not a read of it."""
        if isinstance(node, e.Cmp):
            return f"{self.value(node.left)} {node.op} {self.value(node.right)}"
        return (f"{self.condition(node.test)} ? {self.value(node.then)} : "
                f"{self.value(node.otherwise)}")

    def _key(self, key: e.Key) -> str:
        return self.value(key) if isinstance(key, e.Concat) else json.dumps(key)

    def annotations(self) -> str:
        """The pod's annotations (a map, {} when absent), as `variables.annotations`."""
        self.used.setdefault(ANNOTATIONS_VARIABLE, e.Keys(e.Path(e.Var("obj"), _ANNOTATIONS)))
        return f"variables.{ANNOTATIONS_VARIABLE}"

    def _base(self, path: e.Path, presence: bool = False) -> tuple[str, tuple[e.Key, ...]]:
        """Where the reads of `path` start, and the keys left to read (for a `presence`
        test, at least one: whether the pod has annotations is not in the variable)."""
        if self.hoisted and path.base.name == "obj" and path.keys[:2] == _ANNOTATIONS \
                and not (presence and path.keys == _ANNOTATIONS):
            return self.annotations(), path.keys[2:]
        return _name(path.base), path.keys

    def _read(self, path: e.Path, default: e.Expr) -> str:
        """The value at `path`, or `default` when a step is absent; in a quantifier over a
        map's keys, the map's value at the key, present."""
        base, keys = self._base(path)
        if not keys:
            return base
        key = keys[-1]
        if (isinstance(key, e.Concat) and len(key.parts) == 1 and isinstance(key.parts[0], e.Var)
                and self._keys.get(key.parts[0].name) == e.Path(path.base, path.keys[:-1])):
            return f"{self.value(e.Keys(self._keys[key.parts[0].name]))}[{key.parts[0].name}]"
        if self.optionals:
            text = self._optional(path)
            while isinstance(default, e.Val) and default.path.keys:  # a fallback field
                text += f".or({self._optional(default.path)})"
                default = default.default
            return f"{text}.orValue({self.value(default)})"
        tests, access = self._steps(path)
        return f"({' && '.join(tests)} ? {access} : {self.value(default)})"

    def _optional(self, path: e.Path, presence: bool = False) -> str:
        text, keys = self._base(path, presence)
        for key in keys:
            text += f".?{key}" if _field(key) else f"[?{self._key(key)}]"
        return text

    def _steps(self, path: e.Path, presence: bool = False) -> tuple[list[str], str]:
        """The has()/in tests that make each step of `path` safe, and the access itself."""
        tests, (access, keys) = [], self._base(path, presence)
        for key in keys:
            if _field(key):
                tests.append(f"has({access}.{key})")
                access = f"{access}.{key}"
            else:
                rendered = self._key(key)
                tests.append(f"{rendered} in {access}")
                access = f"{access}[{rendered}]"
        return tests, access

    # -- conditions -----------------------------------------------------------------------

    def condition(self, node: e.Expr) -> str:
        if isinstance(node, e.Named):
            return self.condition(node.value)
        if isinstance(node, e.Lit):
            return "true" if node.value else "false"
        if isinstance(node, e.Cmp):
            name = self._hoisted(node)
            if name is not None:
                return f"variables.{name}"
            return self.definition(node)
        if isinstance(node, e.In):
            return f"{self.value(node.item)} in {self.value(node.collection)}"
        if isinstance(node, e.StartsWith):
            return f"{self.value(node.text)}.startsWith({self.value(node.prefix)})"
        if isinstance(node, e.NonEmpty):
            return f"size({self.value(node.items)}) > 0"
        if isinstance(node, e.OnlyKeys):
            return f"{_name(node.var)}.all(key, key in {json.dumps(list(node.keys))})"
        if isinstance(node, e.Has):
            return self._has(node.path)
        if isinstance(node, e.Not) and isinstance(node.operand, e.NonEmpty):
            return f"size({self.value(node.operand.items)}) == 0"
        if isinstance(node, e.Not):
            inner = self.condition(node.operand)
            return f"!{inner}" if self._term(node.operand) else f"!({inner})"
        if isinstance(node, e.And):
            return "(" + " && ".join(self.condition(o) for o in node.operands) + ")"
        if isinstance(node, e.Or):
            return "(" + " || ".join(self._disjuncts(node.operands)) + ")"
        if isinstance(node, e.All | e.Any):
            macro = "all" if isinstance(node, e.All) else "exists"
            if isinstance(node.items, e.Keys):
                self._keys[node.var.name] = node.items.path
            try:
                body = self.condition(node.body)
                return f"{self.value(node.items)}.{macro}({node.var.name}, {body})"
            finally:
                self._keys.pop(node.var.name, None)
        raise TypeError(f"not a condition: {node!r}")

    def _disjuncts(self, operands: tuple[e.Expr, ...]) -> list[str]:
        """The operands of a disjunction; `(has(p) && A) || (!has(p) && B)` as the one
        term `(has(p) ? A : B)`, which says the same."""
        rendered, paired = [], set()
        for i, operand in enumerate(operands):
            if i in paired:
                continue
            found = next(((j, split) for j in range(i + 1, len(operands)) if j not in paired
                          and (split := _cases(operand, operands[j])) is not None), None)
            if found is None:
                rendered.append(self.condition(operand))
                continue
            paired.add(found[0])
            test, then, otherwise = (self.condition(part) for part in found[1])
            rendered.append(f"({test} ? {then} : {otherwise})")
        return rendered

    def _has(self, path: e.Path) -> str:
        """`has(x.f)` for one step (the idiom in both syntaxes); a deeper path is
        `x.?f.?g.hasValue()` with optionals, else a has() per step."""
        if self.optionals and len(self._base(path, presence=True)[1]) > 1:
            return f"{self._optional(path, presence=True)}.hasValue()"
        tests, _ = self._steps(path, presence=True)
        return tests[0] if len(tests) == 1 else "(" + " && ".join(tests) + ")"

    def _term(self, node: e.Expr) -> bool:
        """Whether `node` renders as one parenthesised, called or method-chained term, safe
        to negate without parentheses: a conjunction or disjunction (parenthesised), a
        method call (`.startsWith()`), a presence test but `"key" in map` (a has(), a
        parenthesised chain of them, or `.hasValue()`)."""
        if isinstance(node, (e.And, e.Or, e.StartsWith)):
            return True
        if not isinstance(node, e.Has):
            return False
        keys = self._base(node.path, presence=True)[1]
        return len(keys) > 1 or _field(keys[0])


def _cases(first: e.Expr, second: e.Expr) -> tuple[e.Expr, e.Expr, e.Expr] | None:
    """(test, then, otherwise) where `first` is `has(p) && then` and `second` is
    `!has(p) && otherwise`, or the other way round; else None."""
    for when, unless in ((first, second), (second, first)):
        if (isinstance(when, e.And) and isinstance(unless, e.And)
                and isinstance(when.operands[0], e.Has)
                and unless.operands[0] == e.Not(when.operands[0])):
            return (when.operands[0], e.and_(*when.operands[1:]),
                    e.and_(*unless.operands[1:]))
    return None


def _scalar_test(node: e.Cmp) -> bool:
    """A field compared with a string or boolean: the only comparisons pspc hoists (cheap
    to tell before hashing the node)."""
    return (isinstance(node.left, e.Val) and isinstance(node.right, e.Lit)
            and isinstance(node.right.value, str | bool))


def value(node: e.Expr) -> str:
    """`node` as a CEL value, with has() guards."""
    return CelWriter().value(node)


def condition(node: e.Expr) -> str:
    """`node` as a CEL condition, with has() guards."""
    return CelWriter().condition(node)


def containers_expression() -> str:
    """The definition of `variables.containers`, with has() guards."""
    return CelWriter().containers()
