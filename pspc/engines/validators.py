"""Engines that run pspc's validating outputs in real evaluators: Rego in regorus (the
conftest module and the Gatekeeper module) and CEL in cel-python.

They evaluate one policy each, as a validating admission engine would: a pod is admitted
when no check fails. regorus and cel-python are optional (the `test` extra): they are
imported only when an engine is built.
"""

from __future__ import annotations

import json

from pspc.engines import Verdict
from pspc.model import ir
from pspc.validation.render import cel_validations, cel_variables, package_name, rego_module
from pspc.workloads import PodRequest


class RegoEngine:
    """The generated Rego (`conftest` or `gatekeeper` flavour) in regorus."""

    def __init__(self, policy: ir.Policy, flavour: str) -> None:
        import regorus

        self.name = "rego" if flavour == "conftest" else "gatekeeper"
        self.flavour = flavour
        self.policy = policy
        self.engine = regorus.Engine()
        self.engine.add_policy(f"{policy.name}.rego", rego_module(policy, flavour))
        base = "pspc" if flavour == "conftest" else "pspc.gatekeeper"
        self.query = f"data.{base}.{package_name(policy)}." + (
            "deny" if flavour == "conftest" else "violation")

    def messages(self, obj: dict) -> list[str]:
        document = obj if self.flavour == "conftest" else {"review": {"object": obj}}
        self.engine.set_input_json(json.dumps(document))
        result = json.loads(self.engine.eval_query_as_json(self.query))
        values = result["result"][0]["expressions"][0]["value"] if result.get("result") else []
        return sorted(v if isinstance(v, str) else v["msg"] for v in values)

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request.pod)
        return Verdict(not found, self.policy.name, "; ".join(found) or None,
                       tuple((self.name, m) for m in found))


class CelEngine:
    """The generated CEL validations in cel-python, with Kubernetes' `join` for lists."""

    name = "cel"

    def __init__(self, policy: ir.Policy) -> None:
        import celpy

        self.policy = policy
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

    def evaluate(self, request: PodRequest) -> Verdict:
        found = self.messages(request.pod)
        return Verdict(not found, self.policy.name, "; ".join(found) or None,
                       tuple(("cel", m) for m in found))


def _join(items, separator=None):
    import celpy

    return celpy.celtypes.StringType(str(separator or "").join(str(i) for i in items))
