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
    path,
)
from pspc.validation.requirements import ANNOTATIONS, PSC, SC, SPEC, C, Requirement, V

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


def _exempt(condition: Expr | None, ok: Expr) -> Expr:
    return ok if condition is None else or_(condition, ok)


def _typed(profile: Path) -> Expr:
    """A seccomp or AppArmor profile, when set, of type RuntimeDefault or Localhost."""
    return or_(not_(Has(profile)), In(Val(profile / "type", Lit("")), Lit(_VALID_TYPES)))


class _Standard:
    """The requirements of one level at one version; `requirement` words each one."""

    def __init__(self, level: str, version: Version, label: str) -> None:
        self.level, self.version, self.label = level, version, label
        self.rules: Rules = rules_for(version)
        self.ids = {spec.id for spec in checks_for(level, version)}

    def make(self, check: str, scope: str, ok: Expr, text: str, part: str = "") -> Requirement:
        return Requirement(f"pss.{check}{part}", INTENT, scope, ok,
                           f"{text} (Pod Security Standards {self.label}: {check})")

    # -- baseline -----------------------------------------------------------------------

    def privileged(self) -> list[Requirement]:
        return [self.make("privileged", "container", ne(Val(SC / "privileged", FALSE), True),
                          "must not set securityContext.privileged=true")]

    def hostNamespaces(self) -> list[Requirement]:  # noqa: N802 - the upstream check id
        ok = and_(*(ne(Val(path(SPEC, key), FALSE), True)
                    for key in ("hostNetwork", "hostPID", "hostIPC")))
        return [self.make("hostNamespaces", "pod", ok,
                          "must not set hostNetwork, hostPID or hostIPC to true")]

    def hostPorts(self) -> list[Requirement]:  # noqa: N802
        port = Var("port")
        return [self.make("hostPorts", "container", All(
            port, Items(path(C, "ports")), eq(Val(path(port, "hostPort"), Lit(0)), 0)),
            "must not set a hostPort")]

    def hostPathVolumes(self) -> list[Requirement]:  # noqa: N802
        return [self.make("hostPathVolumes", "volume", not_(Has(path(V, "hostPath"))),
                          "must not be a hostPath volume")]

    def capabilities_baseline(self) -> list[Requirement]:
        cap = Var("cap")
        allowed = sorted(controls.BASELINE_CAPABILITIES)
        return [self.make("capabilities_baseline", "container", All(
            cap, Items(SC / "capabilities" / "add"), In(cap, Lit(allowed))),
            "must add only capabilities of the baseline set (" + ", ".join(allowed) + ")")]

    def appArmorProfile(self) -> list[Requirement]:  # noqa: N802
        key = Var("key")
        value = Val(ANNOTATIONS / Concat((key,)), Lit(""))
        annotation_ok = or_(not_(e.StartsWith(key, Lit(controls.APPARMOR_CONTAINER_PREFIX))),
                            In(value, Lit(["", "runtime/default"])),
                            e.StartsWith(value, Lit("localhost/")))
        text = "must not set an AppArmor profile other than RuntimeDefault or Localhost"
        return [self.make("appArmorProfile", "pod", and_(
                    _typed(PSC / "appArmorProfile"), All(key, Keys(ANNOTATIONS), annotation_ok)),
                    text),
                self.make("appArmorProfile", "container", _typed(SC / "appArmorProfile"), text,
                          ".container")]

    def seLinuxOptions(self) -> list[Requirement]:  # noqa: N802
        types = sorted(self.rules.selinux_types)

        def ok(options: Path) -> Expr:
            return or_(not_(Has(options)), and_(
                In(Val(options / "type", Lit("")), Lit(types)),
                eq(Val(options / "user", Lit("")), ""), eq(Val(options / "role", Lit("")), "")))

        text = ("must set no SELinux type but " + ", ".join(t for t in types if t)
                + ", and no SELinux user or role")
        return [self.make("seLinuxOptions", "pod", ok(PSC / "seLinuxOptions"), text),
                self.make("seLinuxOptions", "container", ok(SC / "seLinuxOptions"), text,
                          ".container")]

    def _default_proc_mount(self, check: str, exemption: Expr | None) -> list[Requirement]:
        return [self.make(check, "container", _exempt(
            exemption, eq(Val(SC / "procMount", Lit("Default")), "Default")),
            "must not set securityContext.procMount other than Default"
            + (" (except with hostUsers: false)" if exemption is not None else ""))]

    def procMount(self) -> list[Requirement]:  # noqa: N802
        relaxed = self.rules.user_namespace_relaxation
        return self._default_proc_mount("procMount", _user_namespace() if relaxed else None)

    def seccompProfile_baseline(self) -> list[Requirement]:  # noqa: N802
        if self.rules.seccomp_fields:
            text = "must not set a seccomp profile type other than RuntimeDefault or Localhost"
            return [self.make("seccompProfile_baseline", "pod", _typed(PSC / "seccompProfile"),
                              text),
                    self.make("seccompProfile_baseline", "container",
                              _typed(SC / "seccompProfile"), text, ".container")]

        def ok(key: Path) -> Expr:
            value = Val(key, Lit(""))
            return or_(not_(Has(key)), In(value, Lit(sorted(voc.RUNTIME_DEFAULT_PROFILES))),
                       e.StartsWith(value, Lit(voc.LOCALHOST_PREFIX)))

        text = "must not annotate a seccomp profile other than runtime/default or localhost/*"
        container_key = ANNOTATIONS / Concat((Lit(controls.SECCOMP_CONTAINER_PREFIX),
                                              Val(path(C, "name"), Lit(""))))
        return [self.make("seccompProfile_baseline", "pod",
                          ok(ANNOTATIONS / controls.SECCOMP_POD_ANNOTATION), text),
                self.make("seccompProfile_baseline", "container", ok(container_key), text,
                          ".container")]

    def sysctls(self) -> list[Requirement]:
        sysctl = Var("sysctl")
        allowed = sorted(self.rules.sysctls)
        return [self.make("sysctls", "pod", All(sysctl, Items(PSC / "sysctls"), In(
            Val(path(sysctl, "name"), Lit("")), Lit(allowed))),
            "must set only the sysctls " + ", ".join(allowed))]

    def windowsHostProcess(self) -> list[Requirement]:  # noqa: N802
        text = "must not set securityContext.windowsOptions.hostProcess=true"

        def ok(context: Path) -> Expr:
            return ne(Val(context / "windowsOptions" / "hostProcess", FALSE), True)

        return [self.make("windowsHostProcess", "pod", ok(PSC), text),
                self.make("windowsHostProcess", "container", ok(SC), text, ".container")]

    def hostProbesAndHostLifecycle(self) -> list[Requirement]:  # noqa: N802
        handlers = [path(C, probe) for probe in _PROBES] + [
            path(C, "lifecycle", handler) for handler in _HANDLERS]
        ok = and_(*(eq(Val(handler / kind / "host", Lit("")), "")
                    for handler in handlers for kind in ("httpGet", "tcpSocket")))
        return [self.make("hostProbesAndHostLifecycle", "container", ok,
                          "must not set a host in a probe or lifecycle handler")]

    # -- restricted ---------------------------------------------------------------------

    def restrictedVolumes(self) -> list[Requirement]:  # noqa: N802
        kinds = sorted(controls.RESTRICTED_VOLUME_SOURCES)
        ok = or_(*(Has(path(V, kind)) for kind in kinds), e.OnlyKeys(V, ("name",)))
        return [self.make("restrictedVolumes", "volume", ok,
                          "must be of a restricted volume type (" + ", ".join(kinds) + ")")]

    def _relaxed(self, ok: Expr) -> Expr:
        return _exempt(_user_namespace() if self.rules.user_namespace_relaxation else None, ok)

    def _windows_exempt(self, ok: Expr) -> Expr:
        return _exempt(_windows() if self.rules.windows_exemption else None, ok)

    def runAsNonRoot(self) -> list[Requirement]:  # noqa: N802
        pod = ne(Val(PSC / "runAsNonRoot", TRUE), False)
        container = eq(Val(SC / "runAsNonRoot", Val(PSC / "runAsNonRoot", FALSE)), True)
        return [self.make("runAsNonRoot", "pod", self._relaxed(pod),
                          "must not set securityContext.runAsNonRoot=false"),
                self.make("runAsNonRoot", "container", self._relaxed(container),
                          "must set securityContext.runAsNonRoot=true (or the pod must)",
                          ".container")]

    def runAsUser(self) -> list[Requirement]:  # noqa: N802
        text = "must not set runAsUser=0"
        return [self.make("runAsUser", "pod", self._relaxed(
                    ne(Val(PSC / "runAsUser", Lit(1)), 0)), text),
                self.make("runAsUser", "container", self._relaxed(
                    ne(Val(SC / "runAsUser", Lit(1)), 0)), text, ".container")]

    def allowPrivilegeEscalation(self) -> list[Requirement]:  # noqa: N802
        ok = eq(Val(SC / "allowPrivilegeEscalation", TRUE), False)
        return [self.make("allowPrivilegeEscalation", "container", self._windows_exempt(ok),
                          "must set securityContext.allowPrivilegeEscalation=false")]

    def capabilities_restricted(self) -> list[Requirement]:
        cap = Var("cap")
        ok = and_(In(Lit("ALL"), Items(SC / "capabilities" / "drop")),
                  All(cap, Items(SC / "capabilities" / "add"), eq(cap, "NET_BIND_SERVICE")))
        return [self.make("capabilities_restricted", "container", self._windows_exempt(ok),
                          "must drop ALL capabilities (securityContext.capabilities.drop) "
                          "and add nothing but NET_BIND_SERVICE")]

    def seccompProfile_restricted(self) -> list[Requirement]:  # noqa: N802
        pod_profile, profile = PSC / "seccompProfile", SC / "seccompProfile"
        container = or_(and_(Has(profile), In(Val(profile / "type", Lit("")),
                                              Lit(_VALID_TYPES))),
                        and_(not_(Has(profile)), Has(pod_profile)))
        text = "must set securityContext.seccompProfile.type to RuntimeDefault or Localhost"
        return [self.make("seccompProfile_restricted", "pod",
                          self._windows_exempt(_typed(pod_profile)), text),
                self.make("seccompProfile_restricted", "container",
                          self._windows_exempt(container), text + " (or the pod must)",
                          ".container")]

    def procMount_restricted(self) -> list[Requirement]:  # noqa: N802
        return self._default_proc_mount("procMount_restricted", None)

    def requirements(self) -> list[Requirement]:
        """Every control of the level at the version, in upstream's order."""
        return [found for spec in checks_for(self.level, self.version)
                for found in getattr(self, spec.id)()]


def standard_requirements(level: str, version: str) -> list[Requirement]:
    """The requirements that a pod passes exactly when PSA `level` at `version` admits it."""
    parsed = parse_version(version)
    label = f"{level} {version}"
    return [r for r in _Standard(level, parsed, label).requirements() if r.ok != TRUE]


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

