"""Kubernetes names, limits and aliases, in one place for the compiler, the PSS model and
the targets (the admission simulator keeps its own copies: it is an independent oracle)."""

from __future__ import annotations

import re

VOLUME_TYPES = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephFS", "cinder", "configMap", "csi",
    "downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk",
    "gitRepo", "glusterfs", "hostPath", "iscsi", "nfs", "persistentVolumeClaim",
    "photonPersistentDisk", "portworxVolume", "projected", "quobyte", "rbd", "scaleIO", "secret",
    "storageos", "vsphereVolume",
)
ALL = "*"
# The list of the files pspc generated in an output folder (pspc.output.writer); a folder
# holding one is pspc's output, never an input found by walking a folder.
OUTPUT_MANIFEST = ".pspc-manifest"

MAX_ID = 2**31 - 1
MAX_PORT = 65535
MAX_INT64 = 2**63 - 1
MIN_INT32, MAX_INT32 = -(2**31), 2**31 - 1

DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SYSCTL_PATTERN = re.compile(
    r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?\.)*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]"
)
CAPABILITY = re.compile(r"[A-Za-z0-9_]+")
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
)

SECCOMP_ALLOWED = "seccomp.security.alpha.kubernetes.io/allowedProfileNames"
SECCOMP_DEFAULT = "seccomp.security.alpha.kubernetes.io/defaultProfileName"
APPARMOR_ALLOWED = "apparmor.security.beta.kubernetes.io/allowedProfileNames"
APPARMOR_DEFAULT = "apparmor.security.beta.kubernetes.io/defaultProfileName"
DESCRIPTION = "kubernetes.io/description"
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
RESERVED_ANNOTATIONS = (SECCOMP_ALLOWED, SECCOMP_DEFAULT, APPARMOR_ALLOWED, APPARMOR_DEFAULT,
                        DESCRIPTION)

ANNOTATION_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
RESERVED_LABELS = ("app.kubernetes.io/managed-by",)
"""Labels pspc writes on what it builds (pspc.targets.MANAGED_BY)."""


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and DNS1123_SUBDOMAIN.fullmatch(name) is not None


def is_label(name: str) -> bool:
    return len(name) <= 63 and DNS1123_LABEL.fullmatch(name) is not None


_RESERVED_FILE_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                        *(f"lpt{i}" for i in range(1, 10))}


def is_reserved_file_name(name: str) -> bool:
    """Names Windows refuses for files whatever the extension (`con.yaml` included)."""
    return name.split(".")[0] in _RESERVED_FILE_NAMES


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and LABEL_VALUE.fullmatch(value) is not None


def file_stem(name: str) -> str:
    """The name of a policy's files: the name itself, unless Windows reserves it for a
    device (`con`, `nul.example.com`) or it is too long for a file name (over 200
    characters, leaving room for suffixes such as `.values.yaml` in 255 bytes); then the
    name shortened and a hash of the full name, so that two policies never share files."""
    if not is_reserved_file_name(name) and len(name.encode("utf-8")) <= 200:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    first, dot, rest = name[:190].partition(".")
    return f"{first}-{digest}{dot}{rest}".rstrip(".-")


def is_annotation_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_subdomain(prefix):
        return False
    return len(name) <= 63 and ANNOTATION_NAME.fullmatch(name) is not None


def suggest(word: str, choices: tuple[str, ...]) -> str | None:
    """The closest known spelling, for `did you mean` help lines."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


# The legacy name `docker/default` is the runtime's default seccomp profile, as
# `runtime/default` is (the kubelet and PSP treat them as one profile).
RUNTIME_DEFAULT = "runtime/default"
DOCKER_DEFAULT = "docker/default"
RUNTIME_DEFAULT_PROFILES = frozenset({RUNTIME_DEFAULT, DOCKER_DEFAULT})
LOCALHOST_PREFIX = "localhost/"

# A pod's container lists, in the order Kubernetes validates and reports them.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def iter_containers(spec: dict):
    """Yield `(path, container)` for init, regular, then ephemeral containers."""
    for key in CONTAINER_LISTS:
        for index, container in enumerate(spec.get(key) or ()):
            yield f"spec.{key}[{index}]", container


def profile_field(profile: str) -> dict | None:
    """A seccomp or AppArmor profile name as its securityContext field (the two share the
    forms), or None for a name without one (empty, unknown, `localhost/` alone)."""
    if profile in RUNTIME_DEFAULT_PROFILES:
        return {"type": "RuntimeDefault"}
    if profile == "unconfined":
        return {"type": "Unconfined"}
    name = profile.removeprefix(LOCALHOST_PREFIX)
    if profile.startswith(LOCALHOST_PREFIX) and name:
        return {"type": "Localhost", "localhostProfile": name}
    return None


def same_profile(a: str, b: str) -> bool:
    """Whether two profile names mean the same profile (the docker/default alias)."""
    return a == b or {a, b} <= RUNTIME_DEFAULT_PROFILES


# The Pod Security Standards: their levels, least strict first, and their versions.
LEVELS = ("privileged", "baseline", "restricted")
LATEST = "latest"
NEWEST = (1, 37)

# The Pod Security Standards version pspc analyses policies at, without a cluster profile, and
# writes into the `*-version` labels, unless a `namespace ... version` declaration says otherwise
# (a profile: its cluster's). v1.30 is the first Kubernetes release with ValidatingAdmissionPolicy
# as GA (admissionregistration.k8s.io/v1), which pspc's vap/ output needs, so every cluster that
# can run all of pspc's outputs understands it; a pinned version (unlike `latest`) means the same
# checks after every upgrade, as the Kubernetes documentation recommends; and it predates the
# probe/lifecycle host check (v1.34) that no PodSecurityPolicy can express.
DEFAULT_VERSION = "v1.30"


def known_versions() -> tuple[str, ...]:
    """Every Pod Security Standards version with its own rules, oldest first, then `latest`."""
    return tuple(f"v1.{minor}" for minor in range(NEWEST[1] + 1)) + (LATEST,)
