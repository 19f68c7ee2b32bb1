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


class NamespacePsaEngine:
    """PSA as pspc's labels set it up: each namespace at the levels of psa/namespaces.yaml.

    `level` (and `version`) force one level everywhere, as `pspc eval --level` does. A
    namespace pspc does not label gets what PSA gives it on a stock API server: privileged
    (the AdmissionConfiguration default, at `latest`); the verdict says so. Warnings are
    what PSA's warn mode returns for an admitted pod, as `kubectl` prints them.
    """

    name = "psa"

    def __init__(self, labelled: dict[str, tuple[str, str, str]], level: str | None = None,
                 version: str | None = None) -> None:
        self.labelled = labelled  # namespace -> (enforce, warn, version)
        self.level = check_level(level) if level else None
        self.version = version
        if version is not None:
            parse_version(version)

    def settings(self, namespace: str) -> tuple[str, str | None, str, bool]:
        """(enforce, warn or None, version, labelled by pspc) for a namespace."""
        from pspc.pss.levels import DEFAULT_VERSION

        if self.level is not None:
            return self.level, None, self.version or DEFAULT_VERSION, namespace in self.labelled
        if namespace in self.labelled:
            enforce, warn, version = self.labelled[namespace]
            return enforce, warn, self.version or version, True
        return "privileged", None, self.version or "latest", False

    def evaluate(self, request: PodRequest) -> Verdict:
        enforce, warn, version, labelled = self.settings(request.namespace)
        verdict = PsaEngine(enforce, version).evaluate(request)
        warnings: tuple[str, ...] = ()
        if verdict.allowed and warn is not None and warn != enforce:
            found = evaluate(request.pod, warn, version)
            if found:
                warnings = (f"would violate PodSecurity {go_quote(f'{warn}:{version}')}: "
                            + ", ".join(str(v) for v in found),)
        note = None if labelled or self.level is not None else (
            f"namespace {request.namespace} is not labelled by pspc: PSA's default applies")
        return Verdict(verdict.allowed, verdict.policy, verdict.message, verdict.violations,
                       warnings=warnings, note=note)
