"""The per-field strategies a PSP compiles into (upstream `pkg/security/podsecuritypolicy/*`).

Each strategy knows its default (used by mutation) and appends its validation errors, in the
upstream order and wording, to a caller-supplied list so that passing checks allocate nothing.
"""

from __future__ import annotations

from .fielderrors import (
    FieldError,
    IDRange,
    capability_slice,
    forbidden,
    format_ranges,
    go_quote,
    int64_slice,
    invalid,
    required,
)
from .pod import seccomp_annotation_for_field

MUST_RUN_AS = "MustRunAs"
MAY_RUN_AS = "MayRunAs"
RUN_AS_ANY = "RunAsAny"
MUST_RUN_AS_NON_ROOT = "MustRunAsNonRoot"

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
SECCOMP_ALLOWED_ANNOTATION = "seccomp.security.alpha.kubernetes.io/allowedProfileNames"
SECCOMP_DEFAULT_ANNOTATION = "seccomp.security.alpha.kubernetes.io/defaultProfileName"
APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
APPARMOR_ALLOWED_ANNOTATION = "apparmor.security.beta.kubernetes.io/allowedProfileNames"
APPARMOR_DEFAULT_ANNOTATION = "apparmor.security.beta.kubernetes.io/defaultProfileName"

_RUNTIME_DEFAULT_ALIASES = frozenset({"runtime/default", "docker/default"})

SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
)


class ProviderError(ValueError):
    """A PSP the API accepts but the plugin cannot compile; the plugin skips it
    (docs/psp-admission.md#unusable-policies)."""


def _ranges(options: dict) -> tuple[IDRange, ...]:
    return tuple(IDRange(r.get("min", 0), r.get("max", 0)) for r in options.get("ranges") or ())


def _in_ranges(value: int, ranges: tuple[IDRange, ...]) -> bool:
    return any(value in r for r in ranges)


class UserStrategy:
    """`runAsUser`: MustRunAs (ranges), MustRunAsNonRoot or RunAsAny."""

    __slots__ = ("rule", "ranges")

    def __init__(self, options: dict) -> None:
        self.rule = options.get("rule", "")
        self.ranges = _ranges(options)
        if self.rule not in (MUST_RUN_AS, MUST_RUN_AS_NON_ROOT, RUN_AS_ANY):
            raise ProviderError(f"Unrecognized RunAsUser strategy type {self.rule}")
        if self.rule == MUST_RUN_AS and not self.ranges:
            raise ProviderError("MustRunAs requires at least one range")

    def default(self) -> int | None:
        return self.ranges[0].min if self.rule == MUST_RUN_AS else None

    def check(
        self, errors: list[FieldError], sc_path: str, non_root: bool | None, uid: int | None
    ) -> None:
        if self.rule == MUST_RUN_AS:
            if uid is None:
                errors.append(required(sc_path + ".runAsUser"))
            elif not _in_ranges(uid, self.ranges):
                detail = f"must be in the ranges: {format_ranges(self.ranges)}"
                errors.append(invalid(sc_path + ".runAsUser", uid, detail))
        elif self.rule == MUST_RUN_AS_NON_ROOT:
            if non_root is None and uid is None:
                errors.append(required(sc_path + ".runAsNonRoot", "must be true"))
            elif non_root is False:
                errors.append(invalid(sc_path + ".runAsNonRoot", False, "must be true"))
            elif uid == 0:
                detail = "running with the root UID is forbidden"
                errors.append(invalid(sc_path + ".runAsUser", uid, detail))


class GroupStrategy:
    """`fsGroup`, `supplementalGroups` and `runAsGroup`: MustRunAs, MayRunAs or RunAsAny."""

    __slots__ = ("rule", "ranges")

    def __init__(self, options: dict, field: str) -> None:
        self.rule = options.get("rule", "")
        self.ranges = _ranges(options)
        if self.rule not in (MUST_RUN_AS, MAY_RUN_AS, RUN_AS_ANY):
            raise ProviderError(f"Unrecognized {field} strategy type {self.rule}")
        if self.rule != RUN_AS_ANY and not self.ranges:
            raise ProviderError(f"ranges must be supplied for {self.rule}")

    def default(self) -> int | None:
        return self.ranges[0].min if self.rule == MUST_RUN_AS else None

    def check(self, errors: list[FieldError], path: str, groups: list[int] | None) -> None:
        """Validate a group list; `None` is a nil slice, `[]` an explicit empty one."""
        if self.rule == RUN_AS_ANY:
            return
        if not groups and self.rule == MUST_RUN_AS:
            detail = "unable to validate empty groups against required ranges"
            errors.append(invalid(path, int64_slice(groups), detail))
        for group in groups or ():
            if not _in_ranges(group, self.ranges):
                detail = f"group {group} must be in the ranges: {format_ranges(self.ranges)}"
                errors.append(invalid(path, int64_slice(groups), detail))

    def check_single(self, errors: list[FieldError], path: str, group: int | None) -> None:
        if self.rule != RUN_AS_ANY:
            self.check(errors, path, None if group is None else [group])


class SELinuxStrategy:
    """`seLinux`: MustRunAs with fixed options, or RunAsAny."""

    __slots__ = ("options",)

    def __init__(self, options: dict) -> None:
        rule = options.get("rule", "")
        if rule not in (MUST_RUN_AS, RUN_AS_ANY):
            raise ProviderError(f"Unrecognized SELinuxContext strategy type {rule}")
        self.options: dict | None = None
        if rule == MUST_RUN_AS:
            selinux = options.get("seLinuxOptions")
            if selinux is None:
                raise ProviderError("MustRunAs requires SELinuxOptions")
            self.options = {key: value for key, value in selinux.items() if value}

    def check(self, errors: list[FieldError], path: str, actual: dict | None) -> None:
        if self.options is None:
            return
        if actual is None:
            errors.append(required(path))
            return
        expected_level = self.options.get("level", "")
        level = actual.get("level", "")
        if not _equal_levels(expected_level, level):
            errors.append(invalid(path + ".level", level, f"must be {expected_level}"))
        for key in ("role", "type", "user"):
            expected = self.options.get(key, "")
            value = actual.get(key, "")
            if value != expected:
                errors.append(invalid(f"{path}.{key}", value, f"must be {expected}"))


def _equal_levels(expected: str, actual: str) -> bool:
    """MLS levels match when equal, or same sensitivity and same sorted category list."""
    if expected == actual:
        return True
    expected_sensitivity, has_categories, expected_categories = expected.partition(":")
    actual_sensitivity, actual_has_categories, actual_categories = actual.partition(":")
    return (
        bool(has_categories and actual_has_categories)
        and expected_sensitivity == actual_sensitivity
        and sorted(expected_categories.split(",")) == sorted(actual_categories.split(","))
    )


class SeccompStrategy:
    """Seccomp from the PSP annotations: without an allow-list, no profile may be set."""

    __slots__ = ("default", "allowed", "allowed_string", "allow_any", "restrict_all")

    def __init__(self, annotations: dict) -> None:
        self.default = annotations.get(SECCOMP_DEFAULT_ANNOTATION, "")
        raw = annotations.get(SECCOMP_ALLOWED_ANNOTATION)
        self.allowed_string = raw or ""
        self.allow_any = False
        allowed: set[str] = set()
        for name in raw.split(",") if raw is not None else ():
            if name == "*":
                self.allow_any = True
                continue
            if name in _RUNTIME_DEFAULT_ALIASES:
                allowed |= _RUNTIME_DEFAULT_ALIASES
            allowed.add(name)
        self.allowed = frozenset(allowed)
        self.restrict_all = not self.allow_any and not allowed

    def generate(self, annotations: dict, pod_sc: dict) -> str:
        """The pod annotation value mutation should hold (empty: leave it alone)."""
        current = annotations.get(SECCOMP_POD_ANNOTATION)
        if current:
            return current
        field = pod_sc.get("seccompProfile")
        return self.default if field is None else seccomp_annotation_for_field(field)

    def check_pod(self, errors: list[FieldError], annotations: dict, pod_sc: dict) -> None:
        profile = annotations.get(SECCOMP_POD_ANNOTATION, "")
        if not profile and pod_sc.get("seccompProfile") is not None:
            profile = seccomp_annotation_for_field(pod_sc["seccompProfile"])
        self._check(errors, SECCOMP_POD_ANNOTATION, profile)

    def check_container(
        self,
        errors: list[FieldError],
        annotations: dict,
        pod_sc: dict,
        name: str,
        container_sc: dict,
    ) -> None:
        key = SECCOMP_CONTAINER_PREFIX + name
        if container_sc.get("seccompProfile") is not None:
            profile = seccomp_annotation_for_field(container_sc["seccompProfile"])
        elif key in annotations:
            profile = annotations[key]
        elif pod_sc.get("seccompProfile") is not None:
            profile = seccomp_annotation_for_field(pod_sc["seccompProfile"])
        else:
            profile = annotations.get(SECCOMP_POD_ANNOTATION, "")
        self._check(errors, key, profile)

    def _check(self, errors: list[FieldError], key: str, profile: str) -> None:
        if self.restrict_all:
            if profile:
                path = f"pod.metadata.annotations[{key}]"
                errors.append(forbidden(path, "seccomp may not be set"))
        elif not self.allow_any and profile not in self.allowed:
            detail = (
                f"{profile} is not an allowed seccomp profile. "
                f"Valid values are {self.allowed_string}"
            )
            errors.append(forbidden(f"pod.metadata.annotations[{key}]", detail))


class AppArmorStrategy:
    """AppArmor from the PSP annotations: without an allow-list, every profile is allowed."""

    __slots__ = ("default", "allowed", "allowed_string")

    def __init__(self, annotations: dict) -> None:
        self.default = annotations.get(APPARMOR_DEFAULT_ANNOTATION, "")
        raw = annotations.get(APPARMOR_ALLOWED_ANNOTATION)
        self.allowed = None if raw is None else frozenset(raw.split(","))
        self.allowed_string = raw or ""

    def check(self, errors: list[FieldError], annotations: dict, name: str) -> None:
        if self.allowed is None:
            return
        key = APPARMOR_CONTAINER_PREFIX + name
        profile = annotations.get(key, "")
        if not profile:
            errors.append(
                forbidden(f"pod.metadata.annotations[{key}]", "AppArmor profile must be set")
            )
        elif profile not in self.allowed:
            detail = (
                f"{profile} is not an allowed profile. "
                f"Allowed values: {go_quote(self.allowed_string)}"
            )
            errors.append(forbidden(f"pod.metadata.annotations[{key}]", detail))


def _split_patterns(patterns: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split sysctl patterns into exact names and the prefixes of `*`-suffixed entries."""
    exact = frozenset(p for p in patterns if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    return exact, prefixes


class SysctlStrategy:
    """Sysctls: forbidden beats safe, safe beats allowed-unsafe, anything else is unsafe."""

    __slots__ = ("forbidden_exact", "forbidden_prefixes", "unsafe_exact", "unsafe_prefixes", "safe")

    def __init__(self, allowed_unsafe: list[str], forbidden_sysctls: list[str]) -> None:
        self.forbidden_exact, self.forbidden_prefixes = _split_patterns(forbidden_sysctls)
        self.unsafe_exact, self.unsafe_prefixes = _split_patterns(allowed_unsafe)
        self.safe = frozenset(name for name in SAFE_SYSCTLS if not self._forbidden(name))

    def _forbidden(self, name: str) -> bool:
        return name.startswith(self.forbidden_prefixes) or name in self.forbidden_exact

    def check(self, errors: list[FieldError], sysctls: list[dict] | None) -> None:
        for index, sysctl in enumerate(sysctls or ()):
            name = sysctl.get("name", "")
            if self._forbidden(name):
                detail = f"sysctl {go_quote(name)} is not allowed"
            elif (
                name in self.safe
                or name in self.unsafe_exact
                or name.startswith(self.unsafe_prefixes)
            ):
                continue
            else:
                detail = f"unsafe sysctl {go_quote(name)} is not allowed"
            errors.append(forbidden(f"pod.spec.securityContext.sysctls[{index}]", detail))


class CapabilitiesStrategy:
    """`defaultAddCapabilities`, `requiredDropCapabilities` and `allowedCapabilities`."""

    __slots__ = ("default_add", "required_drop", "required_drop_set", "allowed", "allow_all")

    def __init__(self, spec: dict) -> None:
        self.default_add = frozenset(spec.get("defaultAddCapabilities") or ())
        self.required_drop = tuple(spec.get("requiredDropCapabilities") or ())
        self.required_drop_set = frozenset(self.required_drop)
        self.allowed = frozenset(spec.get("allowedCapabilities") or ())
        self.allow_all = "*" in self.allowed

    def generate(self, capabilities: dict | None) -> dict | None:
        """Return `capabilities` itself when nothing must change, else a new sorted object."""
        if not self.default_add and not self.required_drop_set:
            return capabilities
        add = set((capabilities or {}).get("add") or ())
        drop = set((capabilities or {}).get("drop") or ())
        combined_add = (self.default_add - drop) | add
        combined_drop = self.required_drop_set | drop
        if len(combined_add) == len(add) and len(combined_drop) == len(drop):
            return capabilities
        result = {}
        if combined_add:
            result["add"] = sorted(combined_add)
        if combined_drop:
            result["drop"] = sorted(combined_drop)
        return result

    def check(self, errors: list[FieldError], path: str, capabilities: dict | None) -> None:
        if capabilities is None:
            if self.default_add or self.required_drop:
                detail = "required capabilities are not set on the securityContext"
                errors.append(invalid(path, None, detail))
            return
        if self.allow_all:
            return
        for capability in capabilities.get("add") or ():
            if capability not in self.default_add and capability not in self.allowed:
                errors.append(invalid(path + ".add", capability, "capability may not be added"))
        drops = capabilities.get("drop")
        present = frozenset(drops or ())
        for capability in self.required_drop:
            if capability not in present:
                detail = f"{capability} is required to be dropped but was not found"
                errors.append(invalid(path + ".drop", capability_slice(drops), detail))
