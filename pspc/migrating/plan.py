"""The per-namespace analysis of a cluster dump.

For each workload (the top of each ownership chain, pspc.migrating.dump) and each bare pod:

* its Pod Security Standards level: the strictest of baseline / restricted its pod passes
  (the workload's template, as its controller sends it; a bare pod as it runs), with PSA's
  reasons for each level it fails (`pspc.pss.evaluate_pod`);
* the PodSecurityPolicies its pods name in `kubernetes.io/psp`: each one is run on the
  template through the PSP simulator, as the only policy there is and usable by anyone. A
  policy that admits the template only after changing it filled fields in; the simulator's
  patch, less what the API server's own defaulting changes (the same template through a
  policy that changes nothing) and less a seccomp or AppArmor annotation that copies a field
  the pod sets, is the list of fields the template must now set;
* whether PodSecurityPolicy admits its next pod today: the template through the simulator
  with every policy and the RBAC (the dump's, or the sources' when PATHS are given), as
  the controller's service account creates it.

Per namespace: the level every workload passes (restricted when nothing runs), the level
the policies usable there imply (pspc's analysis: pspc.analysis, of the sources, or of
the dump's PodSecurityPolicies imported in memory with pspc.importing), and the labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pspc.analysis import Analysis
from pspc.apitypes import field_path
from pspc.diagnostics import Diagnostics
from pspc.engines.psp import BOOTSTRAP_RBAC, PspEngine, PspOptions
from pspc.manifests import Manifest
from pspc.migrating.dump import ClusterDump, Owners, Ref, namespace_of
from pspc.pss import evaluate_pod
from pspc.pss.namespaces import LABEL_PREFIX, least_strict, next_stricter
from pspc.workloads import WORKLOADS, NoPodTemplateError, pod_request

CANDIDATES = ("baseline", "restricted")
PSP_ANNOTATION = "kubernetes.io/psp"
_RBAC = "rbac.authorization.k8s.io"
# Anyone may use any policy: with one policy in the simulator, "only that one is usable".
USE_ANY = (
    {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": "pspc:use-any"},
     "rules": [{"apiGroups": ["policy"], "resources": ["podsecuritypolicies"],
                "verbs": ["use"]}]},
    {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "pspc:use-any"},
     "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": "pspc:use-any"},
     "subjects": [{"apiGroup": _RBAC, "kind": "Group", "name": "system:authenticated"},
                  {"apiGroup": _RBAC, "kind": "Group", "name": "system:serviceaccounts"}]},
)
# A policy that admits everything and fills nothing in: what it changes is the API
# server's defaulting, not a policy's.
NEUTRAL_PSP = {
    "apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy",
    "metadata": {"name": "pspc-neutral", "annotations": {
        "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "*"}},
    "spec": {"privileged": True, "allowPrivilegeEscalation": True, "allowedCapabilities": ["*"],
             "hostNetwork": True, "hostPID": True, "hostIPC": True,
             "hostPorts": [{"min": 0, "max": 65535}], "volumes": ["*"],
             "allowedUnsafeSysctls": ["*"], "allowedProcMountTypes": ["Default", "Unmasked"],
             "runAsUser": {"rule": "RunAsAny"}, "seLinux": {"rule": "RunAsAny"},
             "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}},
}
_SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"
_APPARMOR_CONTAINER = "container.apparmor.security.beta.kubernetes.io/"


@dataclass(frozen=True)
class FieldToSet:
    field: str  # e.g. spec.template.spec.containers[0].securityContext.runAsUser
    value: object  # None: the policy removes the field

    def to_json(self) -> dict:
        return {"field": self.field, "value": self.value}

    def __str__(self) -> str:
        return f"{self.field}: {json.dumps(self.value)}"


@dataclass(frozen=True)
class PolicyDefaults:
    """What one PodSecurityPolicy, named by the workload's pods, does to its template."""

    policy: str
    pods: int  # pods of the workload that name it
    found: bool  # the policy is in the dump (or the sources)
    admitted: bool  # it admits the template, changed or not
    fields: tuple[FieldToSet, ...] = ()  # what it fills in: the template must set these
    violations: tuple[str, ...] = ()  # why it rejects the template

    def to_json(self) -> dict:
        return {"policy": self.policy, "pods": self.pods, "found": self.found,
                "admitted": self.admitted, "fields": [f.to_json() for f in self.fields],
                "violations": list(self.violations)}


@dataclass(frozen=True)
class PspToday:
    """PodSecurityPolicy's verdict on the workload's next pod, with every policy."""

    allowed: bool
    policy: str | None
    mutated: bool
    message: str | None

    def to_json(self) -> dict:
        return {"allowed": self.allowed, "policy": self.policy, "mutated": self.mutated,
                "message": self.message}


@dataclass(frozen=True)
class WorkloadReport:
    kind: str
    name: str
    namespace: str
    template: str  # where its pod template is (`spec.template`); "" for a pod
    pods: int  # running pods it owns (1 for a pod)
    level: str  # the strictest level its pod passes
    reasons: dict[str, tuple[str, ...]]  # candidate level -> PSA's reasons (empty: passes)
    defaults: tuple[PolicyDefaults, ...]
    psp_today: PspToday | None  # None for a pod: who creates it is not known
    owner_missing: str | None  # the controller its pods name that the dump lacks

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def relies_on_defaults(self) -> bool:
        return any(d.fields for d in self.defaults)

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "template": self.template or None,
                "pods": self.pods, "level": self.level,
                "reasons": {level: list(found) for level, found in self.reasons.items()},
                "defaults": [d.to_json() for d in self.defaults],
                "psp_today": self.psp_today.to_json() if self.psp_today else None,
                "owner_missing": self.owner_missing}


@dataclass(frozen=True)
class UsablePolicy:
    name: str
    level: str  # the level pspc's analysis gives it at the plan's version
    scope: str  # "namespace" (bound here) or "cluster" (bound cluster-wide only)
    subjects: tuple[str, ...]  # whom its bindings here and cluster-wide name

    def to_json(self) -> dict:
        return {"name": self.name, "level": self.level, "scope": self.scope,
                "subjects": list(self.subjects)}


def _subject(binding) -> str:
    return binding.subject.text + (" (cluster-wide)" if binding.namespace is None else "")


@dataclass(frozen=True)
class NamespaceReport:
    name: str
    version: str
    in_dump: bool  # the Namespace object is in the dump
    current_labels: dict[str, str]  # its pod-security.kubernetes.io labels today
    workloads: tuple[WorkloadReport, ...]
    level: str  # the strictest level every workload passes
    policies: tuple[UsablePolicy, ...] | None  # None: the policies are not known
    policy_level: str | None  # least strict level of the usable policies; None: none

    @property
    def bound(self) -> bool:
        """Whether a policy is bound in this namespace (cluster-wide ones aside)."""
        return any(p.scope == "namespace" for p in self.policies or ())

    @property
    def unbound(self) -> bool:
        """Workloads run here, and no policy is bound here."""
        return bool(self.workloads) and self.policies is not None and not self.bound

    @property
    def labels(self) -> dict[str, str]:
        """enforce: the level every workload passes; audit and warn: the next stricter."""
        return {"enforce": self.level, "audit": next_stricter(self.level),
                "warn": next_stricter(self.level)}

    def rejected(self, level: str) -> list[WorkloadReport]:
        return [w for w in self.workloads if w.reasons.get(level)]

    def commands(self) -> list[str]:
        """`kubectl label` in dry-run order: audit and warn, a server-side dry run of
        enforce (it prints the pods that would violate it), then enforce."""
        labels, version = self.labels, self.version

        def pairs(*modes: str) -> str:
            return " ".join(f"{LABEL_PREFIX}{m}={labels[m]} {LABEL_PREFIX}{m}-version={version}"
                            for m in modes)

        head = "kubectl label --overwrite namespace"
        return [f"{head} {self.name} {pairs('audit', 'warn')}",
                f"kubectl label --dry-run=server --overwrite namespace {self.name} "
                f"{pairs('enforce')}",
                f"{head} {self.name} {pairs('enforce')}"]

    def to_json(self) -> dict:
        return {
            "name": self.name, "in_dump": self.in_dump, "current_labels": self.current_labels,
            "level": self.level, "policy_level": self.policy_level,
            "policies": [p.to_json() for p in self.policies] if self.policies is not None
            else None,
            "bound": self.bound, "unbound": self.unbound,
            "labels": {**self.labels, "version": self.version},
            "commands": self.commands(),
            "rejected": {level: [{"kind": w.kind, "name": w.name, "reasons": list(w.reasons[level])}
                                 for w in self.rejected(level)] for level in CANDIDATES},
            "workloads": [w.to_json() for w in self.workloads],
        }


@dataclass(frozen=True)
class ClusterPlan:
    version: str
    dumps: tuple[str, ...]
    policy_source: str  # "sources", "dump" or "none"
    policy_note: str | None  # why the policies' levels are unknown, when they are
    namespaces: tuple[NamespaceReport, ...]
    ignored: dict[str, int]

    def to_json(self) -> dict:
        return {"version": self.version, "dumps": list(self.dumps),
                "policies": {"source": self.policy_source, "note": self.policy_note},
                "namespaces": [n.to_json() for n in self.namespaces],
                "ignored": dict(sorted(self.ignored.items()))}


# -- fields a policy fills in ------------------------------------------------------------------


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _leaves(tokens: tuple[str, ...], value: object) -> list[tuple[tuple[str, ...], object]]:
    """An added object as the fields it sets; an empty object sets nothing."""
    if isinstance(value, dict):
        return [leaf for key, inner in value.items() for leaf in _leaves(tokens + (key,), inner)]
    return [(tokens, value)]


def _changes(patch: tuple[dict, ...]) -> dict[tuple[str, ...], object]:
    found: dict[tuple[str, ...], object] = {}
    for op in patch:
        tokens = tuple(_unescape(t) for t in op["path"].split("/")[1:])
        if op["op"] == "remove":
            found[tokens] = None
        else:
            found.update(_leaves(tokens, op.get("value")))
    return found


def _get(value: object, *keys: str | int) -> object:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return None
    return value


def _profile(annotation: object) -> dict | None:
    """The seccomp / AppArmor field an annotation value stands for."""
    if not isinstance(annotation, str):
        return None
    if annotation in ("runtime/default", "docker/default"):
        return {"type": "RuntimeDefault"}
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": annotation[len("localhost/"):]}
    return None


def _copies_a_field(pod: dict, tokens: tuple[str, ...], value: object) -> bool:
    """A seccomp or AppArmor annotation the policy adds for a profile the pod already sets
    in its field: the API server keeps the two in step, so there is nothing to set."""
    if len(tokens) != 3 or tokens[:2] != ("metadata", "annotations"):
        return False
    key, wanted = tokens[2], _profile(value)
    if wanted is None:
        return False
    spec = pod.get("spec") or {}
    containers = {c.get("name"): c for c in (spec.get("containers") or []) +
                  (spec.get("initContainers") or []) if isinstance(c, dict)}
    if key == _SECCOMP_POD:
        return _get(spec, "securityContext", "seccompProfile") == wanted
    for prefix, name in ((_SECCOMP_CONTAINER, "seccompProfile"),
                         (_APPARMOR_CONTAINER, "appArmorProfile")):
        if key.startswith(prefix):
            container = containers.get(key[len(prefix):])
            own = _get(container, "securityContext", name)
            return (own or _get(spec, "securityContext", name)) == wanted
    return False


def _path(prefix: tuple[str, ...], tokens: tuple[str, ...]) -> str:
    steps: list[str | int] = list(prefix)
    for depth, token in enumerate(tokens):
        under_map = depth and tokens[depth - 1] in ("annotations", "labels")
        steps.append(int(token) if token.isdigit() and not under_map else token)
    return field_path(tuple(steps))


def fields_to_set(pod: dict, patch: tuple[dict, ...], neutral: tuple[dict, ...],
                  prefix: tuple[str, ...]) -> tuple[FieldToSet, ...]:
    """The fields a policy's patch sets that the template must now set itself."""
    api_defaults = _changes(neutral)
    found = []
    for tokens, value in _changes(patch).items():
        if tokens == ("metadata", "annotations", PSP_ANNOTATION):
            continue
        if tokens in api_defaults and api_defaults[tokens] == value:
            continue
        if _copies_a_field(pod, tokens, value):
            continue
        found.append(FieldToSet(_path(prefix, tokens), value))
    return tuple(found)


# -- the analysis ------------------------------------------------------------------------------


@dataclass
class Policies:
    """What the plan knows of the policies: PodSecurityPolicy and RBAC objects for the
    simulator, and pspc's analysis of them (None when the policies could not be analysed)."""

    source: str  # "sources", "dump" or "none"
    psps: list[dict]
    rbac: list[dict]
    analysis: Analysis | None
    note: str | None = None


def _template_prefix(kind: str) -> tuple[str, ...]:
    workload = WORKLOADS.get(kind)
    return workload.template_path if workload else ()


class _Evaluator:
    def __init__(self, dump: ClusterDump, policies: Policies, version: str) -> None:
        self.version = version
        self.by_name = {m.name: m.object for m in dump.psps}
        for psp in policies.psps:  # the sources' policies, for names the dump lacks
            self.by_name.setdefault(psp["metadata"]["name"], psp)
        self.today = PspEngine(policies.psps, policies.rbac + list(BOOTSTRAP_RBAC),
                               PspOptions()) if policies.psps else None
        self.neutral = PspEngine([NEUTRAL_PSP], list(USE_ANY), PspOptions())
        self.single: dict[str, PspEngine] = {}

    def _alone(self, name: str) -> PspEngine:
        if name not in self.single:
            self.single[name] = PspEngine([self.by_name[name]], list(USE_ANY), PspOptions())
        return self.single[name]

    def workload(self, manifest: Manifest, pods: list[Manifest],
                 missing: Ref | None) -> WorkloadReport:
        request = pod_request(manifest.object, namespace_of(manifest))
        reasons = {level: tuple(evaluate_pod(request.pod, level, self.version))
                   for level in CANDIDATES}
        level = next((lv for lv in reversed(CANDIDATES) if not reasons[lv]), "privileged")
        named: dict[str, int] = {}
        for pod in pods:
            annotations = (pod.object.get("metadata") or {}).get("annotations") or {}
            if isinstance(annotations.get(PSP_ANNOTATION), str):
                named[annotations[PSP_ANNOTATION]] = named.get(annotations[PSP_ANNOTATION], 0) + 1
        prefix = _template_prefix(manifest.kind)
        defaults = tuple(self._defaults(request, name, count, prefix)
                         for name, count in sorted(named.items()))
        today = None
        if self.today is not None and manifest.kind != "Pod":
            verdict = self.today.evaluate(request)
            today = PspToday(verdict.allowed, verdict.policy, verdict.mutated, verdict.message)
        return WorkloadReport(manifest.kind, manifest.name, namespace_of(manifest),
                              ".".join(prefix), len(pods), level, reasons, defaults, today,
                              str(missing) if missing else None)

    def _defaults(self, request, name: str, pods: int,
                  prefix: tuple[str, ...]) -> PolicyDefaults:
        if name not in self.by_name:
            return PolicyDefaults(name, pods, False, False)
        verdict = self._alone(name).evaluate(request)
        if not verdict.allowed:
            return PolicyDefaults(name, pods, True, False, (), tuple(
                f"{field}: {message}" for field, message in verdict.violations))
        if not verdict.mutated:
            return PolicyDefaults(name, pods, True, True)
        neutral = self.neutral.evaluate(request)
        base = neutral.patch if neutral.allowed else ()
        return PolicyDefaults(name, pods, True, True,
                              fields_to_set(request.pod, verdict.patch, base, prefix))


def _usable(analysis: Analysis, namespace: str, version: str) -> tuple[UsablePolicy, ...]:
    found = analysis.levels_for(namespace)
    return tuple(UsablePolicy(policy.name, analysis.level(policy, version).level,
                              "namespace" if any(b.namespace == namespace
                                                 for b in policy.bindings) else "cluster",
                              tuple(sorted({_subject(b) for b in policy.bindings
                                            if b.namespace in (None, namespace)})))
                 for policy, _ in found.policies)


def analyse(dump: ClusterDump, policies: Policies, version: str,
            diags: Diagnostics) -> ClusterPlan:
    """The plan of every namespace of the dump (those with a Namespace object and those
    whose objects name them), by name. A workload without a pod template is an error
    (E031)."""
    owners = Owners([*dump.pods, *dump.workloads])
    owned: dict[int, list[Manifest]] = {}  # top object -> the pods that lead to it
    tops: dict[int, tuple[Manifest, Ref | None]] = {}
    for manifest in [*dump.workloads, *dump.pods]:
        resolution = owners.resolve(manifest)
        top = resolution.top
        tops.setdefault(id(top), (top, resolution.missing))
        if manifest.kind == "Pod":
            owned.setdefault(id(top), []).append(manifest)
    evaluator = _Evaluator(dump, policies, version)
    by_namespace: dict[str, list[WorkloadReport]] = {name: [] for name in dump.namespaces}
    for key, (top, missing) in tops.items():
        try:
            report = evaluator.workload(top, owned.get(key, []), missing)
        except NoPodTemplateError as exc:
            diags.error("E031", str(exc), top.span)
            continue
        by_namespace.setdefault(report.namespace, []).append(report)
    namespaces = []
    for name in sorted(by_namespace):
        workloads = tuple(sorted(by_namespace[name], key=lambda w: (w.kind, w.name)))
        level = least_strict([w.level for w in workloads]) if workloads else "restricted"
        usable = _usable(policies.analysis, name, version) if policies.analysis else None
        policy_level = least_strict([p.level for p in usable]) if usable else None
        namespace = dump.namespaces.get(name)
        labels = ((namespace.object.get("metadata") or {}).get("labels") or {}) \
            if namespace else {}
        current = {k: v for k, v in sorted(labels.items()) if k.startswith(LABEL_PREFIX)}
        namespaces.append(NamespaceReport(name, version, namespace is not None, current,
                                          workloads, level, usable, policy_level))
    return ClusterPlan(version, tuple(dump.files), policies.source, policies.note,
                       tuple(namespaces), dict(dump.ignored))
