"""A Pod Security Standards level as requirements: `conform to pod security standard L V`.

Each control of pspc.pss.controls (one upstream check id), as pspc.pss.levels selects it for
a level and version, becomes requirements in the expression tree the validating targets
render (pspc.validation.expr): VAP, Gatekeeper (Rego and CEL), conftest and Kyverno then
admit a pod exactly when PSA at that level and version does, by construction. A pod passes
the level when it passes every requirement; the messages are pspc's, the verdict PSA's.

**What a policy that states a level requires.** Its validating outputs require the level's
controls, plus the intents the policy's own sources state differently from the stdlib policy
it extends. What it inherits from the stdlib unchanged (the stdlib's PodSecurityPolicy
approximation of the level: fsGroup and supplementalGroups ranges, AppArmor and seccomp
annotations and defaults, the capability and volume lists the level already covers) and
the closed defaults of intents it never states shape only the PodSecurityPolicy output
(ir.Policy.psp_only, computed when the policy is resolved). So `policy web extends
restricted { run as user 1000 }` requires restricted and UID 1000, and `extends restricted
{}` admits exactly what PSA restricted admits. Why not the alternatives:

* rendering every field as well would make the level a floor that the PSP approximation
  tightens, which is the bug this replaces (the stdlib rejected every PSA pass fixture);
* marking statements `psp only` in the stdlib would make authors repeat that marking in
  every policy that states a level and approximates it for PSP;
* a stated intent can only add requirements: one looser than the level (`allow privilege
  escalation` in a policy extending restricted) loosens the PodSecurityPolicy output but
  not the validating outputs, which still require the level.

**Version.** The statement's version, else the build's: a cluster profile may provide one
(`profile_version`, the hook for the Kubernetes version of a profile), else pspc's default,
pspc.pss.levels.DEFAULT_VERSION (v1.30).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from pspc import vocabulary as voc
from pspc.model import ir
from pspc.pss import controls
from pspc.pss.controls import Rules
from pspc.pss.levels import Version, checks_for, parse_version, rules_for, standard_version
from pspc.validation import expr as e
from pspc.validation.expr import (
    FALSE,
    TRUE,
    All,
    Concat,
    Expr,
    Has,
    In,
    Items,
    Keys,
    Lit,
    Path,
    Val,
    Var,
    and_,
    eq,
    ne,
    not_,
    or_,
    param,
    path,
)
from pspc.validation.requirements import (
    ANNOTATIONS,
    PSC,
    SC,
    SPEC,
    C,
    Family,
    Requirement,
    V,
    require,
    requirement_families,
)

INTENT = "pod_security_standard"
# The fields a stated requirement reads beside its own intent (pspc.validation.requirements).
_READS = {
    "allowed_capabilities": ("allowed_capabilities", "default_add_capabilities"),
    "allowed_unsafe_sysctls": ("allowed_unsafe_sysctls", "forbidden_sysctls"),
    "seccomp_allowed": ("seccomp_allowed", "seccomp_default"),
    "apparmor_allowed": ("apparmor_allowed", "apparmor_default"),
    "host_ports": ("host_ports", "host_network"),
}
_VALID_TYPES = ["Localhost", "RuntimeDefault"]
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("postStart", "preStop")


def _user_namespace() -> Expr:
    return eq(Val(path(SPEC, "hostUsers"), TRUE), False)


def _windows() -> Expr:
    return eq(Val(path(SPEC, "os", "name"), Lit("")), "windows")


def _exempt(flag: str, condition: Expr, ok: Expr) -> Expr:
    """`ok`, or `condition` where the version's rules exempt it (parameter `flag`)."""
    return or_(and_(eq(param(flag), True), condition), ok)


def _typed(profile: Path) -> Expr:
    """A seccomp or AppArmor profile, when set, of type RuntimeDefault or Localhost."""
    return or_(not_(Has(profile)), In(Val(profile / "type", Lit("")), Lit(_VALID_TYPES)))


def _control(check: str, scope: str, ok: Expr, text: str, part: str = "",
             key: str | None = None) -> Family:
    """A control's family; its parameter is `pss` + the check id (`pssRunAsNonRoot`),
    shared by the control's pod and container checks."""
    name = key or check
    return Family(f"pss{name[0].upper()}{name[1:]}", f"pss.{check}{part}", INTENT, scope, ok,
                  f"{text} (Pod Security Standards: {check})")


def _annotation_profile_ok() -> Expr:
    key = Var("key")
    value = Val(ANNOTATIONS / Concat((key,)), Lit(""))
    annotation_ok = or_(not_(e.StartsWith(key, Lit(controls.APPARMOR_CONTAINER_PREFIX))),
                        In(value, Lit(["", "runtime/default"])),
                        e.StartsWith(value, Lit("localhost/")))
    return All(key, Keys(ANNOTATIONS), annotation_ok)


def _selinux_ok(options: Path) -> Expr:
    return or_(not_(Has(options)), and_(
        In(Val(options / "type", Lit("")), param("types")),
        eq(Val(options / "user", Lit("")), ""), eq(Val(options / "role", Lit("")), "")))


def _seccomp_annotation_ok(key: Path) -> Expr:
    value = Val(key, Lit(""))
    return or_(not_(Has(key)), In(value, Lit(sorted(voc.RUNTIME_DEFAULT_PROFILES))),
               e.StartsWith(value, Lit(voc.LOCALHOST_PREFIX)))


def _host_process_ok(context: Path) -> Expr:
    return ne(Val(context / "windowsOptions" / "hostProcess", FALSE), True)


_PORT, _CAP, _SYSCTL = Var("port"), Var("cap"), Var("sysctl")
_APPARMOR_TEXT = "must not set an AppArmor profile other than RuntimeDefault or Localhost"
_SECCOMP_FIELD_TEXT = "must not set a seccomp profile type other than RuntimeDefault or Localhost"
_SECCOMP_ANNOTATION_TEXT = ("must not annotate a seccomp profile other than runtime/default or "
                            "localhost/*")
_HOST_PROCESS_TEXT = "must not set securityContext.windowsOptions.hostProcess=true"
_PROC_MOUNT_TEXT = "must not set securityContext.procMount other than Default"
_RUN_AS_USER_TEXT = "must not set runAsUser=0"
_SECCOMP_RESTRICTED_TEXT = ("must set securityContext.seccompProfile.type to RuntimeDefault or "
                            "Localhost")
_POD_SECCOMP, _SECCOMP = PSC / "seccompProfile", SC / "seccompProfile"
_CONTAINER_SECCOMP_KEY = ANNOTATIONS / Concat((Lit(controls.SECCOMP_CONTAINER_PREFIX),
                                               Val(path(C, "name"), Lit(""))))
_HANDLERS_READ = [path(C, probe) for probe in _PROBES] + [
    path(C, "lifecycle", handler) for handler in _HANDLERS]
# every control variant, by the name of the _Standard method that requires it
CONTROLS: dict[str, tuple[Family, ...]] = {
    "privileged": (_control("privileged", "container", ne(Val(SC / "privileged", FALSE), True),
                            "must not set securityContext.privileged=true"),),
    "hostNamespaces": (_control("hostNamespaces", "pod", and_(*(
        ne(Val(path(SPEC, key), FALSE), True) for key in ("hostNetwork", "hostPID", "hostIPC"))),
        "must not set hostNetwork, hostPID or hostIPC to true"),),
    "hostPorts": (_control("hostPorts", "container", All(
        _PORT, Items(path(C, "ports")), eq(Val(path(_PORT, "hostPort"), Lit(0)), 0)),
        "must not set a hostPort"),),
    "hostPathVolumes": (_control("hostPathVolumes", "volume", not_(Has(path(V, "hostPath"))),
                                 "must not be a hostPath volume"),),
    "capabilities_baseline": (_control("capabilities_baseline", "container", All(
        _CAP, Items(SC / "capabilities" / "add"),
        In(_CAP, Lit(sorted(controls.BASELINE_CAPABILITIES)))),
        "must add only capabilities of the baseline set", key="capabilitiesBaseline"),),
    "appArmorProfile": (
        _control("appArmorProfile", "pod", and_(_typed(PSC / "appArmorProfile"),
                                                _annotation_profile_ok()), _APPARMOR_TEXT),
        _control("appArmorProfile", "container", _typed(SC / "appArmorProfile"), _APPARMOR_TEXT,
                 ".container")),
    "seLinuxOptions": (
        _control("seLinuxOptions", "pod", _selinux_ok(PSC / "seLinuxOptions"),
                 "must set no SELinux type but the allowed ones, and no SELinux user or role"),
        _control("seLinuxOptions", "container", _selinux_ok(SC / "seLinuxOptions"),
                 "must set no SELinux type but the allowed ones, and no SELinux user or role",
                 ".container")),
    "procMount": (_control("procMount", "container", _exempt(
        "userNamespaces", _user_namespace(), eq(Val(SC / "procMount", Lit("Default")), "Default")),
        _PROC_MOUNT_TEXT + " (except with hostUsers: false where the version allows it)"),),
    "seccompProfile_baseline": (
        _control("seccompProfile_baseline", "pod", _typed(_POD_SECCOMP), _SECCOMP_FIELD_TEXT,
                 key="seccompProfileBaseline"),
        _control("seccompProfile_baseline", "container", _typed(_SECCOMP), _SECCOMP_FIELD_TEXT,
                 ".container", key="seccompProfileBaseline")),
    "seccompAnnotations_baseline": (
        _control("seccompProfile_baseline", "pod", _seccomp_annotation_ok(
            ANNOTATIONS / controls.SECCOMP_POD_ANNOTATION), _SECCOMP_ANNOTATION_TEXT,
            key="seccompAnnotationsBaseline"),
        _control("seccompProfile_baseline", "container",
                 _seccomp_annotation_ok(_CONTAINER_SECCOMP_KEY), _SECCOMP_ANNOTATION_TEXT,
                 ".container", key="seccompAnnotationsBaseline")),
    "sysctls": (_control("sysctls", "pod", All(_SYSCTL, Items(PSC / "sysctls"), In(
        Val(path(_SYSCTL, "name"), Lit("")), param("sysctls"))),
        "must set only the allowed sysctls"),),
    "windowsHostProcess": (
        _control("windowsHostProcess", "pod", _host_process_ok(PSC), _HOST_PROCESS_TEXT),
        _control("windowsHostProcess", "container", _host_process_ok(SC), _HOST_PROCESS_TEXT,
                 ".container")),
    "hostProbesAndHostLifecycle": (_control("hostProbesAndHostLifecycle", "container", and_(*(
        eq(Val(handler / kind / "host", Lit("")), "")
        for handler in _HANDLERS_READ for kind in ("httpGet", "tcpSocket"))),
        "must not set a host in a probe or lifecycle handler"),),
    "restrictedVolumes": (_control("restrictedVolumes", "volume", or_(
        *(Has(path(V, kind)) for kind in sorted(controls.RESTRICTED_VOLUME_SOURCES)),
        e.OnlyKeys(V, ("name",))), "must be of a volume type the restricted level allows"),),
    "runAsNonRoot": (
        _control("runAsNonRoot", "pod", _exempt("userNamespaces", _user_namespace(), ne(
            Val(PSC / "runAsNonRoot", TRUE), False)),
            "must not set securityContext.runAsNonRoot=false"),
        _control("runAsNonRoot", "container", _exempt("userNamespaces", _user_namespace(), eq(
            Val(SC / "runAsNonRoot", Val(PSC / "runAsNonRoot", FALSE)), True)),
            "must set securityContext.runAsNonRoot=true (or the pod must)", ".container")),
    "runAsUser": (
        _control("runAsUser", "pod", _exempt("userNamespaces", _user_namespace(), ne(
            Val(PSC / "runAsUser", Lit(1)), 0)), _RUN_AS_USER_TEXT),
        _control("runAsUser", "container", _exempt("userNamespaces", _user_namespace(), ne(
            Val(SC / "runAsUser", Lit(1)), 0)), _RUN_AS_USER_TEXT, ".container")),
    "allowPrivilegeEscalation": (_control("allowPrivilegeEscalation", "container", _exempt(
        "windows", _windows(), eq(Val(SC / "allowPrivilegeEscalation", TRUE), False)),
        "must set securityContext.allowPrivilegeEscalation=false"),),
    "capabilities_restricted": (_control("capabilities_restricted", "container", _exempt(
        "windows", _windows(), and_(In(Lit("ALL"), Items(SC / "capabilities" / "drop")), All(
            _CAP, Items(SC / "capabilities" / "add"), eq(_CAP, "NET_BIND_SERVICE")))),
        "must drop ALL capabilities and add only NET_BIND_SERVICE",
        key="capabilitiesRestricted"),),
    "seccompProfile_restricted": (
        _control("seccompProfile_restricted", "pod", _exempt(
            "windows", _windows(), _typed(_POD_SECCOMP)), _SECCOMP_RESTRICTED_TEXT,
            key="seccompProfileRestricted"),
        _control("seccompProfile_restricted", "container", _exempt("windows", _windows(), or_(
            and_(Has(_SECCOMP), In(Val(_SECCOMP / "type", Lit("")), Lit(_VALID_TYPES))),
            and_(not_(Has(_SECCOMP)), Has(_POD_SECCOMP)))),
            _SECCOMP_RESTRICTED_TEXT + " (or the pod must)", ".container",
            key="seccompProfileRestricted")),
    "procMount_restricted": (_control("procMount_restricted", "container", eq(
        Val(SC / "procMount", Lit("Default")), "Default"), _PROC_MOUNT_TEXT,
        key="procMountRestricted"),),
}


class _Standard:
    """The requirements of one level at one version: each control's families with the
    version's values; the wording names the level and version."""

    def __init__(self, level: str, version: Version, label: str) -> None:
        self.level, self.version, self.label = level, version, label
        self.rules: Rules = rules_for(version)

    def params(self, control: str) -> tuple[str, dict]:
        """The variant of the control at this version, and its parameters."""
        rules = self.rules
        if control == "seccompProfile_baseline" and not rules.seccomp_fields:
            control = "seccompAnnotations_baseline"
        found: dict = {}
        if control in ("procMount", "runAsNonRoot", "runAsUser"):
            found["userNamespaces"] = bool(rules.user_namespace_relaxation)
        if control in ("allowPrivilegeEscalation", "capabilities_restricted",
                       "seccompProfile_restricted"):
            found["windows"] = bool(rules.windows_exemption)
        if control == "seLinuxOptions":
            found["types"] = sorted(rules.selinux_types)
        if control == "sysctls":
            found["sysctls"] = sorted(rules.sysctls)
        return control, found

    def wording(self, control: str, params: dict, family: Family) -> str:
        """The requirement with the version's values, as the level names it."""
        text = family.text.removesuffix(f" (Pod Security Standards: {family.id[4:].split('.')[0]})")
        if control == "procMount":
            text = _PROC_MOUNT_TEXT + (" (except with hostUsers: false)"
                                       if params["userNamespaces"] else "")
        return f"{text} (Pod Security Standards {self.label}: {family.id[4:].split('.')[0]})"

    def requirements(self) -> list[Requirement]:
        """Every control of the level at the version, in upstream's order."""
        found = []
        for spec in checks_for(self.level, self.version):
            control, params = self.params(spec.id)
            found.extend(require(family, params, self.wording(control, params, family))
                         for family in CONTROLS[control])
        return found


@cache
def standard_requirements(level: str, version: str) -> tuple[Requirement, ...]:
    """The requirements that a pod passes exactly when PSA `level` at `version` admits it;
    computed once per level and version, which many policies share."""
    parsed = parse_version(version)
    label = f"{level} {version}"
    return tuple(r for r in _Standard(level, parsed, label).requirements() if r.ok != TRUE)


def policy_requirements(policy: ir.Policy, stated: list[Requirement],
                        profile_version: str | None = None) -> list[Requirement]:
    """A policy's requirements: with a level, the level's controls and the requirements of
    the intents it states beyond its stdlib base (not ir.Policy.psp_only); without one,
    `stated` (every intent, as PodSecurityPolicy validates it)."""
    standard = policy.pod_security_standard
    if standard is None:
        return stated
    version = standard_version(policy, profile_version)
    psp_only = set(policy.psp_only)
    own = [r for r in stated if not set(_READS.get(r.intent, (r.intent,))) <= psp_only]
    filled = psp_defaults(policy)
    level = [replace(r, default=filled[r.id]) if r.id in filled else r
             for r in standard_requirements(standard.level, version)]
    return level + own


def psp_defaults(policy: ir.Policy) -> dict[str, str]:
    """The level's requirements that a pod may leave to the policy's PodSecurityPolicy,
    which fills the field in (docs/psp-admission.md#defaulting), by requirement id: what it
    fills. The validating outputs reject such a pod (they cannot change it) and say which
    field to set; W301 and the migration plan list them, as for any PSP default."""
    found: dict[str, str] = {}
    if not policy.allow_privilege_escalation or policy.default_allow_privilege_escalation is False:
        found["pss.allowPrivilegeEscalation"] = "allowPrivilegeEscalation false"
    if "ALL" in policy.required_drop_capabilities:
        found["pss.capabilities_restricted"] = "capabilities.drop ALL"
    if policy.run_as_user is not None and policy.run_as_user.rule == ir.Rule.MUST_RUN_AS_NON_ROOT:
        found["pss.runAsNonRoot.container"] = "runAsNonRoot true"
    if policy.seccomp_default is not None and policy.seccomp_default != "unconfined":
        for check in ("pss.seccompProfile_restricted", "pss.seccompProfile_restricted.container"):
            found[check] = f"seccomp profile {policy.seccomp_default}"
    return found



def families() -> tuple[Family, ...]:
    """Every check family, PodSecurityPolicy's intents' and the levels' controls': what the
    Gatekeeper template and the conftest module render, whatever the policies."""
    return (*requirement_families(), *(f for found in CONTROLS.values() for f in found))
