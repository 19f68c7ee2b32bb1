"""The PodSecurityPolicy admission plugin: which requests it sees, which policy wins, and the
exact rejection message (docs/psp-admission.md#selection and
docs/psp-admission.md#rejection-message).

This is the "plugin only" pipeline of the golden data: v1 defaulting, then the mutating pass
(CREATE only), then the validating pass. Other admission plugins and the REST strategy do not
run, so the ServiceAccount token volume is not injected; `pipeline.Pipeline` adds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .authorizers import AllowAll, Authorizer, CanUse, as_can_use
from .fielderrors import FieldError, go_quote, render_list
from .jsonpatch import diff
from .pod import (
    PSP_ANNOTATION,
    annotations_of,
    default_pod,
    json_clone,
    only_gc_fields_changed,
    seccomp_annotation_for_field,
    semantically_equal,
)
from .provider import Provider
from .rbac import Identity, service_account_identity
from .strategies import SECCOMP_POD_ANNOTATION, ProviderError

CREATE = "CREATE"
UPDATE = "UPDATE"
ADMIT = "admit"
VALIDATE = "validate"
AUDIT_ADMIT_POLICY = "podsecuritypolicy.policy.k8s.io/admit-policy"
AUDIT_VALIDATE_POLICY = "podsecuritypolicy.policy.k8s.io/validate-policy"

PolicyErrors = list[tuple[str, list[FieldError]]]


@dataclass
class AdmissionResult:
    """The outcome of one request.

    `policy` is the policy recorded in `kubernetes.io/psp` on CREATE, or the one that
    validated an UPDATE. `policy_errors` holds the error list of each authorized policy that
    rejected the pod, in policy-name order; `message` concatenates them (upstream uses random
    map order). `patch` turns the request pod into `pod`, defaulting included. `mutated`
    says whether the admitting policy changed the pod's security settings, for the
    equivalence contract between PSP and the validating targets
    (docs/equivalence.md#refinements): copying the seccomp field into its legacy annotation,
    which every policy does, is no such change.
    """

    allowed: bool
    policy: str | None = None
    message: str | None = None
    violations: list[tuple[str, str]] = field(default_factory=list)
    pod: dict | None = None
    rejected_in: str | None = None
    patch: list[dict] = field(default_factory=list)
    policy_errors: PolicyErrors = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)
    evaluated: bool = True
    mutated: bool = False


class PodSecurityPolicyPlugin:
    """The plugin over a fixed set of PSPs, compiled once and reusable across requests.

    PSPs whose provider cannot be built are dropped, as upstream does; `skipped` maps their
    names to the reason. `legacy_wording` renders rejections the way releases before 1.19 did
    (`unable to validate against any pod security policy: [...]`, see
    docs/psp-admission.md#rejection-message).
    `ephemeral_containers` and `csi_inline_volume` are the feature gates the providers consult
    (see `Provider`); the defaults honour the objects as written.
    """

    def __init__(
        self,
        psps: Iterable[dict],
        authorizer: Authorizer | CanUse | None = None,
        *,
        legacy_wording: bool = False,
        ephemeral_containers: bool = True,
        csi_inline_volume: bool = True,
    ) -> None:
        providers = []
        self.skipped: dict[str, str] = {}
        for psp in psps:
            try:
                providers.append(
                    Provider(
                        psp,
                        ephemeral_containers=ephemeral_containers,
                        csi_inline_volume=csi_inline_volume,
                    )
                )
            except ProviderError as error:
                self.skipped[(psp.get("metadata") or {}).get("name", "")] = str(error)
        self.providers = tuple(sorted(providers, key=lambda provider: provider.name))
        self._can_use = as_can_use(authorizer if authorizer is not None else AllowAll())
        self.legacy_wording = legacy_wording

    def review(
        self,
        operation: str,
        pod: dict,
        *,
        user: Identity | None = None,
        namespace: str | None = None,
        old_pod: dict | None = None,
        subresource: str = "",
        resource: str = "pods",
        prepare_for_create: Callable[[dict], None] | None = None,
    ) -> AdmissionResult:
        """Run one API request for `pod` through the plugin (Admit, then Validate).

        On CREATE, `prepare_for_create` edits the admitted pod in place before the validating
        pass: it stands for the REST strategy step that sits between the two
        (docs/psp-admission.md#prepareforcreate), which the plugin-only pipeline leaves out.
        """
        if resource != "pods" or subresource or operation not in (CREATE, UPDATE):
            return AdmissionResult(True, pod=json_clone(pod), evaluated=False)
        current = default_pod(pod)
        if (
            operation == UPDATE
            and old_pod is not None
            and only_gc_fields_changed(current, default_pod(old_pod))
        ):
            return AdmissionResult(True, pod=current, patch=diff(pod, current), evaluated=False)

        if not self.providers:
            return self._no_providers(pod, ADMIT if operation == CREATE else VALIDATE)
        if namespace is None:
            namespace = (current.get("metadata") or {}).get("namespace", "")
        account = current["spec"].get("serviceAccountName")
        # the pod's service account is checked before the requesting user
        # (docs/psp-admission.md#usable-policies)
        identities = [service_account_identity(namespace, account)] if account else []
        if user is not None:
            identities.append(user)
        audit: dict[str, str] = {}
        policy = None
        mutated = False
        if operation == CREATE:
            before = current
            winner, current, failures = self._select(current, ADMIT, identities, namespace)
            if winner is None:
                return self._reject(pod, ADMIT, failures)
            mutated = not semantically_equal(before, _without_seccomp_mirror(before, current))
            current["metadata"].setdefault("annotations", {})[PSP_ANNOTATION] = winner.name
            audit[AUDIT_ADMIT_POLICY] = policy = winner.name
            if prepare_for_create is not None:
                prepare_for_create(current)
        winner, _, failures = self._select(current, VALIDATE, identities, namespace)
        if winner is None:
            return self._reject(pod, VALIDATE, failures)
        audit[AUDIT_VALIDATE_POLICY] = winner.name
        return AdmissionResult(
            True,
            policy=policy or winner.name,
            pod=current,
            patch=diff(pod, current),
            audit_annotations=audit,
            mutated=mutated,
        )

    def _select(
        self, pod: dict, phase: str, identities: list[Identity], namespace: str
    ) -> tuple[Provider | None, dict, PolicyErrors]:
        """One pass of upstream `computeSecurityContext`
        (docs/psp-admission.md#candidate-evaluation)."""
        providers = self.providers
        if phase == VALIDATE:
            hint = annotations_of(pod).get(PSP_ANNOTATION)
            if hint:
                hinted = [p for p in providers if p.name == hint]
                providers = (*hinted, *(p for p in providers if p.name != hint))

        def authorized(name: str) -> bool:
            return any(self._can_use(identity, name, namespace) for identity in identities)

        failures: PolicyErrors = []
        fallback: tuple[Provider, dict] | None = None
        for provider in providers:
            mutated, changed = provider.mutate(pod)
            errors = provider.validate(mutated)
            if errors:
                failures.append((provider.name, errors))
            elif changed and phase == VALIDATE:
                continue
            elif authorized(provider.name):
                if not changed:
                    return provider, mutated, []
                if fallback is None:
                    fallback = (provider, mutated)
        if fallback is not None:
            return (*fallback, [])
        visible = sorted((f for f in failures if authorized(f[0])), key=lambda f: f[0])
        return None, pod, visible

    def _forbidden(self, pod: dict, inner: str) -> str:
        metadata = pod.get("metadata") or {}
        name = metadata.get("name") or metadata.get("generateName") or "Unknown"
        return f"pods {go_quote(name)} is forbidden: {inner}"

    def _no_providers(self, pod: dict, phase: str) -> AdmissionResult:
        inner = "no providers available to validate pod request"
        if not self.legacy_wording:
            inner = "PodSecurityPolicy: " + inner
        return AdmissionResult(False, message=self._forbidden(pod, inner), rejected_in=phase)

    def _reject(self, pod: dict, phase: str, failures: PolicyErrors) -> AdmissionResult:
        errors = [error for _, block in failures for error in block]
        if self.legacy_wording:
            inner = "unable to validate against any pod security policy: "
        else:
            inner = f"PodSecurityPolicy: unable to {phase} pod: "
        return AdmissionResult(
            False,
            message=self._forbidden(pod, inner + render_list(errors)),
            violations=[(error.path, error.body()) for error in errors],
            rejected_in=phase,
            policy_errors=failures,
        )


def review(
    psps: Iterable[dict],
    operation: str,
    pod: dict,
    *,
    authorizer: Authorizer | CanUse | None = None,
    user: Identity | None = None,
    namespace: str | None = None,
    old_pod: dict | None = None,
    subresource: str = "",
    legacy_wording: bool = False,
) -> AdmissionResult:
    """One-shot form of `PodSecurityPolicyPlugin(psps, authorizer).review(...)`."""
    plugin = PodSecurityPolicyPlugin(psps, authorizer, legacy_wording=legacy_wording)
    return plugin.review(
        operation, pod, user=user, namespace=namespace, old_pod=old_pod, subresource=subresource
    )


def _without_seccomp_mirror(before: dict, after: dict) -> dict:
    """`after`, less a pod seccomp annotation that only mirrors the pod's seccomp field."""
    profile = (before["spec"].get("securityContext") or {}).get("seccompProfile")
    mirrored = after["metadata"].get("annotations", {}).get(SECCOMP_POD_ANNOTATION)
    if (
        not profile
        or annotations_of(before).get(SECCOMP_POD_ANNOTATION)
        or mirrored != seccomp_annotation_for_field(profile)
    ):
        return after
    trimmed = json_clone(after)
    original = (before["metadata"].get("annotations") or {})
    if SECCOMP_POD_ANNOTATION in original:
        trimmed["metadata"]["annotations"][SECCOMP_POD_ANNOTATION] = original[
            SECCOMP_POD_ANNOTATION]
    else:
        del trimmed["metadata"]["annotations"][SECCOMP_POD_ANNOTATION]
    return trimmed
