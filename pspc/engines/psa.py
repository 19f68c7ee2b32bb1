"""The `psa` engine: Pod Security Admission enforcing one `level:version` on a namespace.

Only pod creation is modelled, which is what `pspc eval` sends. The message is the one the
API server returns for a namespace labelled `pod-security.kubernetes.io/enforce=<level>` and
`enforce-version=<version>`, so PSA verdicts can be read next to the PSP simulator's.
"""

from __future__ import annotations

from pspc.admission.fielderrors import go_quote
from pspc.engines import Verdict
from pspc.pss.levels import check_level, evaluate, parse_version
from pspc.workloads import PodRequest


class PsaEngine:
    name = "psa"

    def __init__(self, level: str, version: str = "latest") -> None:
        check_level(level)
        parse_version(version)  # reject a bad version now, not on the first pod
        self.level = level
        self.version = version
        self.policy = f"{level}:{version}"

    def evaluate(self, request: PodRequest) -> Verdict:
        found = evaluate(request.pod, self.level, self.version)
        if not found:
            return Verdict(True, self.policy)
        reasons = ", ".join(str(v) for v in found)
        message = (f"{_forbidden_pods(request.pod)} violates PodSecurity "
                   f"{go_quote(self.policy)}: {reasons}")
        violations = tuple((field, str(v)) for v in found for field in v.fields)
        return Verdict(False, self.policy, message, violations)


def _forbidden_pods(pod: dict) -> str:
    """apimachinery's NewForbidden prefix; a generated name shows as its prefix."""
    metadata = pod.get("metadata") or {}
    name = metadata.get("name") or metadata.get("generateName")
    return f"pods {go_quote(name)} is forbidden:" if name else "pods is forbidden:"
