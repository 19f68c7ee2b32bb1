"""Engines that run pspc's validating outputs in real evaluators: Rego in regorus (the
conftest module and the Gatekeeper module) and CEL in cel-expr-python (the CEL team's C++
runtime) or cel-python.

They evaluate one policy each, as a validating admission engine would: a pod is admitted
when no check fails. Each policy's module or expressions are compiled once, when the engine
is built, not per pod. The evaluators are optional (the `engines` extra): they are imported
only when an engine is built.
"""

from __future__ import annotations

import json
import re

from pspc.engines import Verdict
from pspc.model import ir
from pspc.validation.render import cel_validations, cel_variables, package_name, rego_module
from pspc.workloads import PodRequest

ENGINES_EXTRA = "pip install 'pspc[engines]'"
CEL_RUNTIMES = ("cel-expr-python", "cel-python")


class RegoInput:
    """One regorus engine for the modules of several policies, so that a pod is serialised
    and handed to regorus once, not once per policy. Packages differ by policy name, so the
    policies must have distinct names (those of one program do)."""

    def __init__(self) -> None:
        import regorus

        self.engine = regorus.Engine()
        self._current: object = None

    def set(self, document: dict, key: object) -> None:
        if key is not self._current:
            self.engine.set_input_json(json.dumps(document))
            self._current = key


class RegoEngine:
    """The generated Rego (`conftest` or `gatekeeper` flavour) in regorus."""

    def __init__(self, policy: ir.Policy, flavour: str, shared: RegoInput | None = None) -> None:
        self.name = "rego" if flavour == "conftest" else "gatekeeper"
        self.flavour = flavour
        self.policy = policy
        self.input = shared or RegoInput()
        self.engine = self.input.engine
        module = rego_module(policy, flavour)
        self.engine.add_policy(f"{package_name(policy)}.{flavour}.rego", module)
        base = "pspc" if flavour == "conftest" else "pspc.gatekeeper"
        rule = "deny" if flavour == "conftest" else "violation"
        self.query = f"data.{base}.{package_name(policy)}.{rule}"
        self.has_rule = re.search(rf"^{rule}\b", module, re.MULTILINE) is not None

    def messages(self, obj: dict) -> list[str]:
        if not self.has_rule:  # a policy without checks: nothing to deny
            return []
        document = obj if self.flavour == "conftest" else {"review": {"object": obj}}
        self.input.set(document, obj)
        values = json.loads(self.engine.eval_rule_as_json(self.query))
        return sorted(v if isinstance(v, str) else v["msg"] for v in values)

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request.pod)
        return Verdict(not found, self.policy.name, "; ".join(found) or None,
                       tuple((self.name, m) for m in found))


def cel_runtime() -> str:
    """The CEL runtime to use: cel-expr-python when it is installed, else cel-python."""
    for runtime, module in zip(CEL_RUNTIMES, ("cel_expr_python", "celpy"), strict=True):
        try:
            __import__(module)
        except ImportError:
            continue
        return runtime
    raise ImportError("no CEL runtime is installed", name="cel-expr-python")


class CelEngine:
    """The generated CEL validations, with Kubernetes' `join` for lists, in `runtime`
    (one of CEL_RUNTIMES; by default cel-expr-python when installed, else cel-python)."""

    name = "cel"

    def __init__(self, policy: ir.Policy, runtime: str | None = None) -> None:
        self.policy = policy
        self.runtime = runtime or cel_runtime()
        backend = {"cel-expr-python": _CelExpr, "cel-python": _CelPy}[self.runtime]
        self.messages = backend(policy).messages

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request.pod)
        return Verdict(not found, self.policy.name, "; ".join(found) or None,
                       tuple(("cel", m) for m in found))


class _CelPy:
    """cel-python: a pure-Python interpreter, slow but dependency-free."""

    def __init__(self, policy: ir.Policy) -> None:
        import celpy

        self._celpy = celpy
        env = celpy.Environment()
        functions = {"join": _join}
        self.variables = [(v["name"], env.program(env.compile(v["expression"]), functions))
                          for v in cel_variables(policy)]
        self.validations = [(env.program(env.compile(v.expression), functions),
                             env.program(env.compile(v.message_expression), functions))
                            for v in cel_validations(policy)]

    def messages(self, obj: dict) -> list[str]:
        types = self._celpy.celtypes
        variables = types.MapType({})
        activation: dict = {"object": self._celpy.json_to_cel(obj), "variables": variables}
        for name, program in self.variables:  # in order: later ones read earlier ones
            variables[types.StringType(name)] = program.evaluate(activation)
        found = []
        for allowed, message in self.validations:
            if not bool(allowed.evaluate(activation)):
                found.append(str(message.evaluate(activation)))
        return found


def _join(items, separator=None):
    import celpy

    return celpy.celtypes.StringType(str(separator or "").join(str(i) for i in items))


_VARIABLE_REFERENCE = re.compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


class _CelExpr:
    """cel-expr-python: the CEL team's C++ runtime (strings extension for `join`).

    Few round trips between Python and C++, which dominate the cost: the variables are
    computed level by level (a level is those that read only earlier levels), each level
    as one map expression, and all validations as one list expression whose items are the
    messages of the failed checks ("" for a passed one). When a batch fails with an error,
    its expressions are evaluated one by one: an erring variable is left unset, an erring
    or non-boolean check fails, as Kubernetes fails a validation that errs.
    """

    def __init__(self, policy: ir.Policy) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_strings

        self._error = cel.Type.ERROR
        self.env = cel.NewEnv(variables={"object": cel.Type.DYN,
                                         "variables": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)},
                              extensions=[ext_strings.ExtStrings()])
        compile_ = self.env.compile
        self.levels = []
        for level in _levels(cel_variables(policy)):
            batch = compile_("{" + ", ".join(f"{json.dumps(v['name'])}: {v['expression']}"
                                             for v in level) + "}")
            self.levels.append((batch, [(v["name"], compile_(v["expression"])) for v in level]))
        validations = cel_validations(policy)
        self.checks = [(compile_(v.expression), compile_(v.message_expression))
                       for v in validations]
        self.batch = compile_("[" + ", ".join(
            f'(({v.expression}) == true) ? "" : ({v.message_expression})'
            for v in validations) + "]") if validations else None

    def messages(self, obj: dict) -> list[str]:
        variables: dict = {}
        data = {"object": obj, "variables": variables}
        for batch, one_by_one in self.levels:
            result = batch.eval(data=data)
            if result.type() != self._error:
                variables.update(result.plain_value())
                continue
            for name, expression in one_by_one:
                value = expression.eval(data=data)
                if value.type() != self._error:
                    variables[name] = value.plain_value()
        if self.batch is None:
            return []
        result = self.batch.eval(data=data)
        if result.type() != self._error:
            return [m for m in result.plain_value() if m]
        found = []
        for allowed, message in self.checks:
            verdict = allowed.eval(data=data)
            if verdict.type() == self._error or verdict.plain_value() is not True:
                text = message.eval(data=data)
                found.append(str(text.plain_value()) if text.type() != self._error
                             else "error evaluating the validation's message")
        return found


def _levels(variables: list[dict]) -> list[list[dict]]:
    """The variables in dependency levels, each reading only variables of earlier levels
    (a variable that reads an unknown or later one goes last, in declaration order)."""
    known = {v["name"] for v in variables}
    done: set[str] = set()
    levels: list[list[dict]] = []
    pending = list(variables)
    while pending:
        level = [v for v in pending
                 if set(_VARIABLE_REFERENCE.findall(v["expression"])) & known <= done]
        if not level:
            level = pending[:1]
        levels.append(level)
        done |= {v["name"] for v in level}
        pending = [v for v in pending if v not in level]
    return levels
