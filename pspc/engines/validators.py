"""Engines that run pspc's validating outputs in real evaluators: Rego in regorus (the
conftest module and the Gatekeeper module) and CEL in cel-expr-python (the CEL team's C++
runtime) or cel-python.

`SelectionRegoEngine` and `SelectionCelEngine` run what pspc writes: PodSecurityPolicy's
selection rule over all policies (pspc.validation.selection), given the request's identity.
`RegoEngine` and `CelEngine` run one policy's piece of it (its library module, its checks):
a pod passes when no check fails. Modules and expressions are compiled once, when the
engine is built, not per pod. The evaluators are optional (the `engines` extra): they are
imported only when an engine is built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pspc.analysis import Analysis
from pspc.engines import Verdict
from pspc.model import ir
from pspc.validation.library_cel import cel_library
from pspc.validation.parameters import policy_parameters
from pspc.validation.render import cel_program
from pspc.validation.requirements import requirements
from pspc.validation.selection import CONFTEST_MAIN, rego_parameters, rego_selection
from pspc.validation.standards import families
from pspc.workloads import PodRequest

ENGINES_EXTRA = "pip install 'pspc[engines]'"
# every pod's service account is in this group: a policy granted to it is usable for any pod
EVERY_POD_GROUP = "system:serviceaccounts"
CEL_RUNTIMES = ("cel-expr-python", "cel-python")


class RegoEngine:
    """One policy through the check library (`conftest` or `gatekeeper` flavour) in regorus,
    the policy usable by any pod's service account: the reasons it rejects a pod (none: it
    admits it)."""

    def __init__(self, policy: ir.Policy, flavour: str) -> None:
        import regorus

        self.name = "rego" if flavour == "conftest" else "gatekeeper"
        self.flavour = flavour
        self.policy = policy
        entry = policy_parameters(policy, tuple(requirements(policy)), {})
        self.parameters = {"policies": [{**entry, "grants": [{"groups": [EVERY_POD_GROUP]}]}]}
        self.engine = regorus.Engine()
        self.engine.add_policy("pspc.rego", rego_selection(flavour, families()).main)
        if flavour == "conftest":
            self.engine.add_policy("policies.rego", rego_parameters(self.parameters))

    def messages(self, obj: dict) -> list[str]:
        document = obj if self.flavour == "conftest" else {
            "review": {"object": obj, "namespace": "default"}, "parameters": self.parameters}
        self.engine.set_input_json(json.dumps(document))
        values = json.loads(self.engine.eval_rule_as_json("data.pspc.reasons"))
        return sorted(message for _, message in values)

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


def optional_syntax(runtime: str, optionals: bool | None) -> bool:
    """The CEL syntax to run (pspc.validation.cel): as asked, else optionals where the
    runtime parses them (cel-expr-python; cel-python does not)."""
    if optionals is None:
        return runtime == "cel-expr-python"
    if optionals and runtime == "cel-python":
        raise ValueError("cel-python does not parse CEL optionals")
    return optionals


class CelEngine:
    """The generated CEL validations, with Kubernetes' `join` for lists, in `runtime`
    (one of CEL_RUNTIMES; by default cel-expr-python when installed, else cel-python), in
    optional syntax or with has() guards (`optionals`; by default what the runtime parses).
    With `gatekeeper`, the Gatekeeper template's CEL given this policy alone, usable by any
    pod's service account, as its parameters."""

    def __init__(self, policy: ir.Policy, runtime: str | None = None,
                 optionals: bool | None = None, gatekeeper: bool = False) -> None:
        self.name = "gatekeeper-cel" if gatekeeper else "cel"
        self.policy = policy
        self.runtime = runtime or cel_runtime()
        backend = {"cel-expr-python": _CelExpr, "cel-python": _CelPy}[self.runtime]
        if not gatekeeper:
            variables, validations = cel_program(policy, optional_syntax(self.runtime,
                                                                         optionals))
            self.messages = backend(variables, [(v.expression, v.message_expression)
                                                for v in validations]).messages
            return
        library = cel_library(families())
        self._library = backend(list(library.variables),
                                [(library.expression, library.message_expression)])
        entry = policy_parameters(policy, tuple(requirements(policy)), {})
        self._given = {"params": {"policies": [
            {**entry, "grants": [{"groups": [EVERY_POD_GROUP]}]}]}}

    def messages(self, pod: dict) -> list[str]:
        """The Gatekeeper template's messages (the other engines bind theirs instead)."""
        request = {"namespace": "default", "operation": "CREATE",
                   "userInfo": {"username": "", "groups": []}}
        return self._library.messages(pod, {"oldObject": None, "request": request},
                                      self._given)

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request.pod)
        return Verdict(not found, self.policy.name, "; ".join(found) or None,
                       tuple((self.name, m) for m in found))


class _CelPy:
    """cel-python: a pure-Python interpreter, slow but dependency-free."""

    def __init__(self, variables: list[dict], validations: list[tuple[str, str]]) -> None:
        import celpy

        self._celpy = celpy
        env = celpy.Environment()
        functions = {"join": _join}
        self.variables = [(v["name"], env.program(env.compile(v["expression"]), functions))
                          for v in variables]
        self.validations = [(env.program(env.compile(expression), functions),
                             env.program(env.compile(message), functions))
                            for expression, message in validations]

    def messages(self, obj: dict, context: dict | None = None,
                 given: dict | None = None) -> list[str]:
        types = self._celpy.celtypes
        variables = types.MapType({types.StringType(k): self._celpy.json_to_cel(v)
                                   for k, v in (given or {}).items()})
        activation: dict = {"object": self._celpy.json_to_cel(obj), "variables": variables}
        for key, value in (context or {}).items():
            activation[key] = self._celpy.json_to_cel(value)
        for name, program in self.variables:  # in order: later ones read earlier ones
            try:
                variables[types.StringType(name)] = program.evaluate(activation)
            except Exception:  # an erring variable is left unset, as a lazy one that errs
                continue
        found = []
        for allowed, message in self.validations:
            try:
                passed = allowed.evaluate(activation)
            except Exception:
                passed = False
            if isinstance(passed, Exception) or not isinstance(passed, types.BoolType) \
                    or not bool(passed):
                try:
                    found.append(str(message.evaluate(activation)))
                except Exception:
                    found.append("error evaluating the validation's message")
        return found


def _join(items, separator=None):
    import celpy

    return celpy.celtypes.StringType(str(separator or "").join(str(i) for i in items))


_VARIABLE_REFERENCE = re.compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


class _CelExpr:
    """cel-expr-python: the CEL team's C++ runtime (strings extension for `join`, optional
    extension for `.?` and `orValue`).

    Few round trips between Python and C++, which dominate the cost: the variables are
    computed level by level (a level is those that read only earlier levels), each level
    as one map expression, and all validations as one list expression whose items are the
    messages of the failed checks ("" for a passed one). When a batch fails with an error,
    its expressions are evaluated one by one: an erring variable is left unset, an erring
    or non-boolean check fails, as Kubernetes fails a validation that errs.
    """

    def __init__(self, variables: list[dict], validations: list[tuple[str, str]]) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_optional, ext_strings

        self._error = cel.Type.ERROR
        self.env = cel.NewEnv(variables={"object": cel.Type.DYN, "oldObject": cel.Type.DYN,
                                         "request": cel.Type.DYN,
                                         "variables": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)},
                              extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()])
        compile_ = self.env.compile
        self.levels = []
        for level in _levels(list(variables)):
            batch = compile_("{" + ", ".join(f"{json.dumps(v['name'])}: {v['expression']}"
                                             for v in level) + "}")
            self.levels.append((batch, [(v["name"], compile_(v["expression"])) for v in level]))
        validations = list(validations)
        self.checks = [(compile_(expression), compile_(message))
                       for expression, message in validations]
        self.batch = compile_("[" + ", ".join(
            f'(({expression}) == true) ? "" : ({message})'
            for expression, message in validations) + "]") if validations else None

    def messages(self, obj: dict, context: dict | None = None,
                 given: dict | None = None) -> list[str]:
        variables: dict = dict(given or {})
        data = {"object": obj, "variables": variables, **(context or {})}
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


@dataclass(frozen=True)
class Requester:
    """Who sends the request, as admission sees it (`request.userInfo`)."""

    username: str
    groups: tuple[str, ...]


def _requester(request: PodRequest, default: Requester) -> Requester:
    if request.requester is not None:
        return Requester(request.requester, tuple(request.requester_groups))
    return default


class RegoProgram:
    """Rego modules that answer queries on one input at a time, compiled once.

    By default for regorus' VM (RVM): the compiled program evaluates pspc's selection about
    four times faster than the interpreter walks the modules' syntax tree. The interpreter
    (`vm=False`; when the compiler refuses a module, as it does constructs it does not
    support yet, e.g. `with`; and from the first query the VM fails, e.g. past its limit of
    instructions per query) stays the reference the VM is tested against.
    """

    def __init__(self, modules: dict[str, str], entry_points: list[str],
                 vm: bool = True) -> None:
        import regorus

        self.modules = modules
        self.vm = self.engine = None
        self._input = self._data = None  # as JSON: what the interpreter gets if it takes over
        if vm:
            try:
                program = regorus.Program.compile_from_modules(
                    "{}", list(modules.items()), entry_points)
            except RuntimeError:
                pass  # a construct the compiler does not support: interpret
            else:
                self.vm = regorus.Rvm()
                self.vm.load_program(program)
        if self.vm is None:
            self._interpret()

    def _interpret(self) -> None:
        import regorus

        self.vm, self.engine = None, regorus.Engine()
        for path, module in self.modules.items():
            self.engine.add_policy(path, module)
        if self._data is not None:
            self.engine.add_data_json(self._data)
        if self._input is not None:
            self.engine.set_input_json(self._input)

    def set_data(self, data: dict) -> None:
        self._data = json.dumps(data)
        if self.vm is not None:
            self.vm.set_data_json(self._data)
        else:
            self.engine.clear_data()
            self.engine.add_data_json(self._data)

    def set_input(self, document: dict | str) -> None:
        """The input: a document, or its JSON."""
        self._input = document if isinstance(document, str) else json.dumps(document)
        (self.engine if self.vm is None else self.vm).set_input_json(self._input)

    def query(self, rule: str) -> list:
        """The value of a partial set rule (its members: [] when it has none)."""
        if self.vm is not None:
            try:
                value = json.loads(self.vm.execute_entry_point(rule))
            except RuntimeError:  # what the interpreter says decides, from now on
                self._interpret()
            else:
                return value if isinstance(value, list) else []  # the VM's "<undefined>"
        return json.loads(self.engine.eval_rule_as_json(rule))


class SelectionRegoEngine:
    """What pspc writes for Gatekeeper (`gatekeeper`: the template's Rego, with the
    admission review's userInfo) or conftest (`conftest`: rego/, given the manifest, and
    for a Pod the requester as `data.pspc_requester`), over all policies, in regorus (its
    VM unless `vm` is false: see RegoProgram)."""

    def __init__(self, analysis: Analysis, flavour: str, requester: Requester,
                 operation: str = "CREATE", vm: bool = True) -> None:
        self.name = "rego" if flavour == "conftest" else "gatekeeper"
        self.flavour = flavour
        self.requester = requester
        self.operation = operation
        parameters = analysis.parameters()
        modules = {"pspc.rego": analysis.rego_selection(flavour).main}
        if flavour == "conftest":
            modules["main.rego"] = CONFTEST_MAIN
            modules["policies.rego"] = rego_parameters(parameters)
        # serialised once: the constraint's parameters go into every review's input
        self._parameters = json.dumps(parameters)
        self.query = "data.pspc.violation" if flavour == "gatekeeper" else "data.main.deny"
        self.program = RegoProgram(modules, [self.query], vm)
        self._data: Requester | None = None

    def messages(self, request: PodRequest, old: dict | None = None) -> list[str]:
        requester = _requester(request, self.requester)
        if self.flavour == "gatekeeper":
            review = {"object": request.pod, "namespace": request.namespace,
                      "operation": self.operation,
                      "userInfo": {"username": requester.username,
                                   "groups": list(requester.groups)}}
            if old is not None:
                review["oldObject"] = old
            document = f'{{"review": {json.dumps(review)}, "parameters": {self._parameters}}}'
        else:
            # the manifest as conftest reads it, in the request's namespace (copied only
            # as deep as that changes it)
            document = dict(request.workload or request.pod)
            document["metadata"] = dict(document.get("metadata") or {},
                                        namespace=request.namespace)
            if request.workload is None and requester != self._data:
                self.program.set_data({"pspc_requester": {
                    "username": requester.username, "groups": list(requester.groups)}})
                self._data = requester
        self.program.set_input(document)
        values = self.program.query(self.query)
        return sorted(v if isinstance(v, str) else v["msg"] for v in values)

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request)
        return Verdict(not found, None, "; ".join(found) or None,
                       tuple((self.name, m) for m in found))


class SelectionCelEngine:
    """What pspc writes for ValidatingAdmissionPolicy and Kyverno (the same CEL), or with
    `gatekeeper`, Gatekeeper's K8sNativeValidation (the Constraint's parameters as
    `variables.params`): the selection over all policies, with `request.userInfo`,
    `request.namespace`, `request.operation` and `oldObject`; in optional syntax or with
    has() guards (`optionals`; by default what the runtime parses; Gatekeeper's has())."""

    def __init__(self, analysis: Analysis, requester: Requester, operation: str = "CREATE",
                 runtime: str | None = None, optionals: bool | None = None,
                 gatekeeper: bool = False) -> None:
        self.name = "gatekeeper-cel" if gatekeeper else "cel"
        self.requester = requester
        self.operation = operation
        self.runtime = runtime or cel_runtime()
        selection = (analysis.cel_library() if gatekeeper else
                     analysis.cel_selection(optional_syntax(self.runtime, optionals)))
        self.given = {"params": analysis.parameters()} if gatekeeper else None
        backend = {"cel-expr-python": _CelExpr, "cel-python": _CelPy}[self.runtime]
        self.backend = backend(list(selection.variables),
                               [(selection.expression, selection.message_expression)])

    def messages(self, request: PodRequest, old: dict | None = None) -> list[str]:
        requester = _requester(request, self.requester)
        context = {"oldObject": old, "request": {
            "namespace": request.namespace, "operation": self.operation,
            "userInfo": {"username": requester.username, "groups": list(requester.groups)}}}
        return self.backend.messages(request.pod, context, self.given)

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request)
        return Verdict(not found, None, "; ".join(found) or None,
                       tuple((self.name, m) for m in found))
