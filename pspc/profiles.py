"""Cluster profiles: which targets a cluster runs, and the values that depend on it.

A profile (declared in pspc.toml, read by pspc.config) names a Kubernetes version, the
targets that enforce on that cluster, the CI-side targets, and a rollout mode. Every value
of a target that depends on the cluster is decided here, once, from a `Profile` or from
None (a build without a config: every target, as for the newest clusters):

* the ValidatingAdmissionPolicy apiVersion (v1 from 1.30; v1beta1 on 1.28-1.29);
* the rollout mode per target: VAP validationActions, Gatekeeper enforcementAction,
  Kyverno's failure action (and where it goes), the PSA modes written;
* Gatekeeper's generateVAP, and the annotations that order templates before constraints;
* the Pod Security Standards version the PSA labels may pin (at most the cluster's);
* whether the Helm values may use the appArmorProfile field (1.30+).

Kubernetes facts, from the Kubernetes sources and release notes: PodSecurityPolicy is served
up to 1.24 (removed in 1.25); ValidatingAdmissionPolicy is v1alpha1 in 1.26-1.27, v1beta1 in
1.28-1.29 (off by default: the ValidatingAdmissionPolicy feature gate and
--runtime-config=admissionregistration.k8s.io/v1beta1=true), v1 from 1.30 (on by default);
MutatingAdmissionPolicy is v1alpha1 in 1.32-1.33 and v1beta1 in 1.34-1.35, off by default in
both (the MutatingAdmissionPolicy feature gate, and --runtime-config for that version), v1
from 1.36; Pod Security Admission is beta and on by default from 1.23, GA in 1.25; the
appArmorProfile securityContext field is GA in 1.30 (the container annotation before).
"""

from __future__ import annotations

from dataclasses import dataclass

from pspc.diagnostics import Span
from pspc.vocabulary import DEFAULT_VERSION

Version = tuple[int, int]

# Targets that enforce on a cluster, and the CI-side ones; rbac comes with psp.
MUTATING_TARGETS = ("map", "gatekeeper-mutation", "kyverno-mutation")
ENFORCE_TARGETS = ("psp", "gatekeeper", "vap", "kyverno", "psa", *MUTATING_TARGETS)
CI_TARGETS = ("rego", "report", "migration", "helm")
DEFAULT_CI = CI_TARGETS
MODES = ("deny", "warn", "audit")
DEFAULT_MODE = "deny"

OLDEST: Version = (1, 19)  # the seccompProfile field, which the Helm values use
PSP_UNTIL: Version = (1, 24)
PSA_SINCE: Version = (1, 23)
VAP_BETA_SINCE: Version = (1, 28)
VAP_SINCE: Version = (1, 30)
APPARMOR_FIELD_SINCE: Version = (1, 30)
MAP_ALPHA_SINCE: Version = (1, 32)
MAP_BETA_SINCE: Version = (1, 34)
MAP_SINCE: Version = (1, 36)
KYVERNO_CEL_SINCE: Version = (1, 25)  # Kyverno 1.11 (validate.cel) supports 1.25+
KYVERNO_RULE_ACTION_SINCE: Version = (1, 28)  # Kyverno 1.13+ (rule failureAction): 1.28+
# CEL optionals (`.?field`, `orValue`) in admission CEL: k8s.io/apiserver
# pkg/cel/environment/base.go adds cel.OptionalTypes() with IntroducedVersion 1.28, and an
# API server compiles new expressions at its compatibility version, one minor below its own
# (DefaultCompatibilityVersion: n-1). So 1.29 is the first that accepts them in a new VAP.
CEL_OPTIONALS_SINCE: Version = (1, 29)


@dataclass(frozen=True)
class Profile:
    """One cluster: its name (the output folder), Kubernetes version, the targets that
    enforce there, the CI-side targets, the rollout mode, and where it is declared."""

    name: str
    kubernetes: Version
    enforce: tuple[str, ...]
    ci: tuple[str, ...] = DEFAULT_CI
    mode: str = DEFAULT_MODE
    span: Span | None = None

    @property
    def version(self) -> str:
        return f"{self.kubernetes[0]}.{self.kubernetes[1]}"

    def builds(self, target: str) -> bool:
        """Does the profile build `target`? (rbac comes with psp.)"""
        return target in self.enforce or target in self.ci or (
            target == "rbac" and "psp" in self.enforce)


def unsupported(target: str, version: Version) -> str | None:
    """Why Kubernetes `version` cannot run `target` (None when it can)."""
    shown = f"{version[0]}.{version[1]}"
    if target == "psp" and version > PSP_UNTIL:
        return f"Kubernetes {shown} has no PodSecurityPolicy (removed in 1.25)"
    if target == "vap" and version < VAP_BETA_SINCE:
        return (f"Kubernetes {shown} has no ValidatingAdmissionPolicy pspc can write (v1beta1 "
                "from 1.28, v1 from 1.30)")
    if target == "map" and version < MAP_ALPHA_SINCE:
        return (f"Kubernetes {shown} has no MutatingAdmissionPolicy (v1alpha1 from 1.32, "
                "v1beta1 from 1.34, v1 from 1.36)")
    if target == "psa" and version < PSA_SINCE:
        return f"Kubernetes {shown} has no Pod Security Admission on by default (beta in 1.23)"
    return None


def caveat(target: str, version: Version) -> str | None:
    """What running `target` on `version` needs beyond a stock cluster (None: nothing)."""
    if target == "vap" and VAP_BETA_SINCE <= version < VAP_SINCE:
        return ("ValidatingAdmissionPolicy is beta (v1beta1) before 1.30 and off by default: "
                "the API server needs --feature-gates=ValidatingAdmissionPolicy=true and "
                "--runtime-config=admissionregistration.k8s.io/v1beta1=true")
    if target == "map" and version < MAP_SINCE:
        api = map_api_version(version)
        return (f"MutatingAdmissionPolicy is {api} before 1.36 and off by default: the API "
                "server needs --feature-gates=MutatingAdmissionPolicy=true and "
                f"--runtime-config=admissionregistration.k8s.io/{api}=true")
    if target == "kyverno" and version < KYVERNO_CEL_SINCE:
        return ("the Kyverno policies use CEL rules (Kyverno 1.11+), and Kyverno's "
                "compatibility matrix starts 1.11 at Kubernetes 1.25; prefer gatekeeper here")
    return None


# -- values per target ------------------------------------------------------------------------

def _mode(profile: Profile | None) -> str:
    return profile.mode if profile else DEFAULT_MODE


def vap_api(profile: Profile | None) -> str:
    if profile and profile.kubernetes < VAP_SINCE:
        return "admissionregistration.k8s.io/v1beta1"
    return "admissionregistration.k8s.io/v1"


def map_api_version(version: Version) -> str:
    """The MutatingAdmissionPolicy version a cluster serves (from 1.32)."""
    return "v1alpha1" if version < MAP_BETA_SINCE else "v1beta1" if version < MAP_SINCE else "v1"


def map_api(profile: Profile | None) -> str:
    """Without a profile, the GA version (a build without a cluster is for the newest)."""
    return "admissionregistration.k8s.io/" + (
        map_api_version(profile.kubernetes) if profile else "v1")


def validation_actions(profile: Profile | None) -> list[str]:
    return {"deny": ["Deny"], "warn": ["Warn", "Audit"], "audit": ["Audit"]}[_mode(profile)]


def enforcement_action(profile: Profile | None) -> str:
    """Gatekeeper's Constraint enforcementAction."""
    return {"deny": "deny", "warn": "warn", "audit": "dryrun"}[_mode(profile)]


def kyverno_action(profile: Profile | None) -> tuple[str, str]:
    """Kyverno's failure action, and where it goes: `rule` (validate.failureAction, Kyverno
    1.13+, which deprecates the other) unless the profile's cluster is older than any
    Kyverno 1.13 supports; there `spec` (validationFailureAction, every release)."""
    action = "Enforce" if _mode(profile) == "deny" else "Audit"
    place = "spec" if profile and profile.kubernetes < KYVERNO_RULE_ACTION_SINCE else "rule"
    return action, place


def cel_optionals(profile: Profile | None) -> bool:
    """May the VAP's CEL use optionals (pspc.validation.cel)? From 1.29 on; without a
    profile yes: the VAP is then admissionregistration.k8s.io/v1, served from 1.30."""
    return profile is None or profile.kubernetes >= CEL_OPTIONALS_SINCE


def generate_vap(profile: Profile | None, targets: tuple[str, ...]) -> bool | None:
    """Gatekeeper's generateVAP for a template: False where the build also writes vap/ (no
    duplicates) or the cluster has no v1 ValidatingAdmissionPolicy; otherwise None (the
    Gatekeeper installation's --default-create-vap-for-templates decides)."""
    if "vap" in targets or (profile and profile.kubernetes < VAP_SINCE):
        return False
    return None


# Gatekeeper constraints are instances of the CRD their template creates: applied before
# it, they fail. Argo CD: sync wave 1 (templates are in wave 0) and no dry run while the
# kind is missing. Flux: separate Kustomizations (gatekeeper/templates, then
# gatekeeper/constraints with dependsOn). `kubectl apply -k`: apply twice.
CONSTRAINT_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true",
    "argocd.argoproj.io/sync-wave": "1",
}


def psa_modes(profile: Profile | None) -> tuple[str, ...]:
    """The PSA labels written: all three when denying; audit and warn only (no enforce)
    when warning; audit only when auditing."""
    return {"deny": ("enforce", "audit", "warn"), "warn": ("audit", "warn"),
            "audit": ("audit",)}[_mode(profile)]


def pss_cap(profile: Profile | None) -> str | None:
    """The newest Pod Security Standards version the cluster knows (`v1.N`), or None."""
    return f"v{profile.version}" if profile else None


def pss_version(profile: Profile | None) -> str:
    """The Pod Security Standards version pspc analyses at and pins in `*-version` labels:
    a profile's cluster's own (the standards it enforces), else pspc's default (v1.30,
    which every cluster that runs all of pspc's outputs knows)."""
    return pss_cap(profile) or DEFAULT_VERSION


def capped(version: str, cap: str | None) -> str:
    """`version` (`v1.N` or `latest`), or `cap` when it is newer than the cluster: a
    `*-version` label may not name a version the cluster's PSA does not know. `latest`
    means the cluster's own, so it stays."""
    if cap is None or not version.startswith("v1."):
        return version
    return cap if int(version[3:]) > int(cap[3:]) else version


def apparmor_field(profile: Profile | None) -> bool:
    """May Helm values set securityContext.appArmorProfile (GA in 1.30)?"""
    return profile is None or profile.kubernetes >= APPARMOR_FIELD_SINCE
