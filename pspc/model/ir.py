"""The IR: one frozen, fully resolved meaning per policy. Every target reads only this.

Field names follow PodSecurityPolicy policy/v1beta1 so that the PSP target is a plain
mapping, while other targets (Rego, CEL, PSA) read the same values. Lists whose order has
no meaning are sorted at resolve time; lists whose order matters to Kubernetes (ID ranges,
whose first minimum is the default; host ports and profile lists, which appear in
admission messages) keep the order the author wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pspc.diagnostics import Span


class Rule(str, Enum):
    RUN_AS_ANY = "RunAsAny"
    MUST_RUN_AS = "MustRunAs"
    MAY_RUN_AS = "MayRunAs"
    MUST_RUN_AS_NON_ROOT = "MustRunAsNonRoot"


@dataclass(frozen=True)
class IdRange:
    min: int
    max: int


@dataclass(frozen=True)
class IdPolicy:
    """runAsUser / runAsGroup / supplementalGroups / fsGroup strategy."""

    rule: Rule
    ranges: tuple[IdRange, ...] = ()


@dataclass(frozen=True)
class HostPath:
    prefix: str
    read_only: bool


@dataclass(frozen=True)
class SELinux:
    rule: Rule
    level: str | None = None
    role: str | None = None
    type: str | None = None
    user: str | None = None
    no_options: bool = False
    """MustRunAs without seLinuxOptions (admission cannot build the strategy: the policy
    admits no pod). MustRunAs with every option None is `seLinuxOptions: {}`."""


@dataclass(frozen=True)
class RuntimeClass:
    allowed: tuple[str, ...]
    default: str | None = None


@dataclass(frozen=True)
class Standard:
    """`conform to pod security standard LEVEL [VERSION]`: pods must pass the Pod Security
    Standards `level` at `version`. A version of None is the build's: a cluster profile's
    Kubernetes version when one provides it, else pspc's default (pspc.pss.levels
    DEFAULT_VERSION); see pspc.validation.standards.standard_version."""

    level: str  # privileged | baseline | restricted
    version: str | None = None  # v1.N or latest, as written


@dataclass(frozen=True)
class Subject:
    kind: str  # "User" | "Group" | "ServiceAccount"
    name: str
    namespace: str | None = None

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)

    @property
    def text(self) -> str:
        """As messages and plans name it: `service account ns/sa`, `group g`, `user u`."""
        kind = "service account" if self.kind == "ServiceAccount" else self.kind.lower()
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True)
class Binding:
    """Who may `use` a policy; namespace None means cluster-wide."""

    subject: Subject
    namespace: str | None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Origin:
    """Where an intent's value was set: the policy that said it and the span."""

    policy: str
    span: Span


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    span: Span = field(compare=False)
    description: str | None
    privileged: bool
    host_network: bool
    host_pid: bool
    host_ipc: bool
    host_ports: tuple[IdRange, ...]
    volumes: tuple[str, ...]
    allowed_host_paths: tuple[HostPath, ...]
    allowed_flex_volumes: tuple[str, ...]
    allowed_csi_drivers: tuple[str, ...]
    run_as_user: IdPolicy
    run_as_group: IdPolicy | None
    supplemental_groups: IdPolicy
    fs_group: IdPolicy
    read_only_root_filesystem: bool
    allow_privilege_escalation: bool
    default_allow_privilege_escalation: bool | None
    allowed_capabilities: tuple[str, ...]
    default_add_capabilities: tuple[str, ...]
    required_drop_capabilities: tuple[str, ...]
    selinux: SELinux
    selinux_types: tuple[str, ...] | None
    require_explicit_non_root: bool
    pod_security_standard: Standard | None
    allowed_proc_mount_types: tuple[str, ...]
    allowed_unsafe_sysctls: tuple[str, ...]
    forbidden_sysctls: tuple[str, ...]
    runtime_class: RuntimeClass | None
    seccomp_allowed: tuple[str, ...] | None
    seccomp_default: str | None
    apparmor_allowed: tuple[str, ...] | None
    apparmor_default: str | None
    annotations: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...] = ()
    extends: tuple[str, ...] = ()
    bindings: tuple[Binding, ...] = ()
    # With a pod_security_standard: the intent fields that only shape the PodSecurityPolicy
    # output (what the policy inherits unchanged from the stdlib, and closed defaults it never
    # stated); the validating targets leave them to the standard's controls
    # (pspc.validation.standards).
    psp_only: tuple[str, ...] = ()
    origins: dict[str, Origin] = field(default_factory=dict, compare=False, hash=False)

    def namespaces(self) -> list[str] | None:
        """Where the policy's bindings apply: their namespaces ([] when it is unbound), or
        None when a binding is cluster-wide. Targets that match by namespace read this."""
        if any(b.namespace is None for b in self.bindings):
            return None
        return sorted({b.namespace for b in self.bindings})


@dataclass(frozen=True)
class Namespace:
    """Explicit Pod Security Admission settings for a namespace (a `namespace` statement)."""

    name: str
    levels: dict[str, str] = field(hash=False)  # enforce / audit / warn -> level
    version: str | None
    force: bool
    span: Span = field(compare=False)
    # where each setting was written: "name", "enforce", "audit", "warn", "version", "force"
    spans: dict[str, Span] = field(default_factory=dict, compare=False, hash=False)


# Intents a PodSecurityPolicy cannot enforce; the validating targets and PSA do.
BEYOND_PSP = ("selinux_types", "require_explicit_non_root", "pod_security_standard")
INTENT_FIELDS = tuple(
    f for f in Policy.__dataclass_fields__
    if f not in ("name", "source", "span", "extends", "bindings", "origins", "psp_only")
)


@dataclass(frozen=True)
class Program:
    """The IR root: every local policy of one compile, the declared namespaces and the
    source texts behind them (for diagnostics)."""

    policies: tuple[Policy, ...]
    sources: dict[str, str]
    namespaces: tuple[Namespace, ...] = ()  # declared PSA settings, sorted by name
