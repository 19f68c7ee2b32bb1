"""Hypothesis strategies for PodSecurityPolicy objects, over every field of the spec.

`representable_psps()` draws objects that the API accepts and pspc can express exactly
(every combination of every field, within those limits); `api_valid_psps()` also draws what
the API accepts but pspc cannot say (ranges under RunAsAny, [Unmasked] alone, ...).
"""

from __future__ import annotations

from hypothesis import strategies as st

from pspc import vocabulary as voc

MAX_ID = voc.MAX_ID
CAPABILITIES = ("ALL", "CHOWN", "NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN",
                "SYS_TIME", "SETUID", "net_admin", "any")
SYSCTLS = ("kernel.msgmax", "kernel.shm_rmid_forced", "net.core.somaxconn", "net.core.*",
           "net.ipv4.*", "kernel.sem", "vm.swappiness", "any")
SECCOMP = ("runtime/default", "docker/default", "unconfined", "localhost/profiles/a.json",
           "localhost/b")
APPARMOR = ("runtime/default", "unconfined", "localhost/k8s-apparmor-example")
NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?(\.[a-z0-9]{1,5})?", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
               | st.sampled_from('\n\t"\\#,{} '), max_size=30)


def _subset(items, min_size: int = 0, max_size: int | None = None):
    if not items:
        return st.just([])
    return st.lists(st.sampled_from(items), unique=True, min_size=min_size, max_size=max_size)


def _ranges(limit: int, min_size: int = 1):
    def ordered(pair):
        low, high = sorted(pair)
        return {"min": low, "max": high}

    bound = st.one_of(st.integers(0, min(70000, limit)), st.integers(0, limit))
    return st.lists(st.tuples(bound, bound).map(ordered), min_size=min_size, max_size=3)


def _strategy(rules: tuple[str, ...]):
    @st.composite
    def draw(draw):
        rule = draw(st.sampled_from(rules))
        if rule in ("MustRunAs", "MayRunAs"):
            return {"rule": rule, "ranges": draw(_ranges(MAX_ID))}
        return {"rule": rule}

    return draw()


def _selinux():
    options = st.dictionaries(st.sampled_from(("level", "role", "type", "user")),
                              st.sampled_from(("s0:c1,c2", "container_t", "system_u", "",
                                               "object_r", "with space")), min_size=1)
    return st.one_of(st.just({"rule": "RunAsAny"}),
                     options.map(lambda o: {"rule": "MustRunAs", "seLinuxOptions": o}))


@st.composite
def _capabilities(draw) -> dict:
    spec: dict = {}
    drop = draw(_subset(CAPABILITIES, max_size=3))
    rest = [c for c in CAPABILITIES if c not in drop]
    if not drop and draw(st.booleans()):
        spec["allowedCapabilities"] = ["*"]
    else:
        spec["allowedCapabilities"] = draw(_subset(rest, max_size=4))
    spec["defaultAddCapabilities"] = draw(_subset(rest, max_size=2))
    spec["requiredDropCapabilities"] = drop
    return {k: v for k, v in spec.items() if v or draw(st.booleans())}


@st.composite
def _volumes(draw) -> dict:
    spec: dict = {}
    if draw(st.booleans()):
        spec["allowedHostPaths"] = [
            {"pathPrefix": p, **({"readOnly": ro} if ro is not None else {})}
            for p, ro in zip(draw(_subset(("/", "/var/log", "/data", "/a b", "/etc/"),
                                          min_size=1)),
                             draw(st.lists(st.sampled_from((True, False, None)), min_size=5)),
                             strict=False)]
    if draw(st.booleans()):
        spec["allowedFlexVolumes"] = [{"driver": d} for d in draw(_subset(
            ("example.com/lvm", "cifs", "k8s/nfs driver"), min_size=1))]
    if draw(st.booleans()):
        spec["allowedCSIDrivers"] = [{"name": d} for d in draw(_subset(
            ("secrets-store.csi.k8s.io", "ebs.csi.aws.com", "Disk.CSI"), min_size=1))]
    if draw(st.booleans()):
        spec["volumes"] = ["*"]
    else:
        needed = {"allowedHostPaths": "hostPath", "allowedFlexVolumes": "flexVolume",
                  "allowedCSIDrivers": "csi"}
        volumes = draw(_subset(voc.VOLUME_TYPES))
        volumes += [v for k, v in needed.items() if k in spec and v not in volumes]
        spec["volumes"] = draw(st.permutations(volumes))
    return spec


@st.composite
def _sysctls(draw) -> dict:
    forbidden = draw(st.one_of(st.just(["*"]), _subset(SYSCTLS, max_size=3)))

    def overlaps(a: str, b: str) -> bool:
        return a.startswith(b.rstrip("*")) if b.endswith("*") else (
            b.startswith(a.rstrip("*")) if a.endswith("*") else a == b)

    free = [s for s in SYSCTLS if not any(overlaps(s, f) or overlaps(f, s) for f in forbidden)]
    allowed = draw(_subset(free, max_size=3))
    if not forbidden and draw(st.booleans()):
        allowed = ["*"]
    return {k: v for k, v in (("allowedUnsafeSysctls", allowed),
                              ("forbiddenSysctls", forbidden)) if v}


@st.composite
def _runtime_class(draw) -> dict:
    if draw(st.booleans()):
        return {}
    names = draw(st.one_of(st.just(["*"]), _subset(("gvisor", "kata", "runc.v2", "none"))))
    runtime: dict = {"allowedRuntimeClassNames": names}
    choices = [n for n in names if n != "*"] or (["gvisor", "kata"] if names else [])
    if choices and draw(st.booleans()):
        runtime["defaultRuntimeClassName"] = draw(st.sampled_from(choices))
    return {"runtimeClass": runtime}


@st.composite
def _escalation(draw, privileged: bool) -> dict:
    allow = True if privileged else draw(st.sampled_from((True, False, None)))
    spec: dict = {} if allow is None else {"allowPrivilegeEscalation": allow}
    defaults = (None, False, True) if allow in (True, None) else (None, False)
    default = draw(st.sampled_from(defaults))
    if default is not None:
        spec["defaultAllowPrivilegeEscalation"] = default
    return spec


def _same(a: str, b: str) -> bool:
    return a == b or {a, b} <= {"docker/default", "runtime/default"}


@st.composite
def _annotations(draw) -> dict:
    notes: dict = {}
    if draw(st.booleans()):
        notes["kubernetes.io/description"] = draw(TEXT)
    seccomp = draw(st.one_of(st.none(), st.just(["*"]),
                             st.permutations(SECCOMP).flatmap(
                                 lambda p: st.integers(1, len(p)).map(lambda n: p[:n]))))
    if seccomp is not None:
        notes["seccomp.security.alpha.kubernetes.io/allowedProfileNames"] = ",".join(seccomp)
        choices = [p for p in SECCOMP if seccomp == ["*"] or any(_same(p, s) for s in seccomp)]
        if draw(st.booleans()):
            notes["seccomp.security.alpha.kubernetes.io/defaultProfileName"] = draw(
                st.sampled_from(choices))
    apparmor = draw(st.one_of(st.none(), st.permutations(APPARMOR).flatmap(
        lambda p: st.integers(1, len(p)).map(lambda n: p[:n]))))
    if apparmor is not None:
        notes["apparmor.security.beta.kubernetes.io/allowedProfileNames"] = ",".join(apparmor)
        if draw(st.booleans()):
            notes["apparmor.security.beta.kubernetes.io/defaultProfileName"] = draw(
                st.sampled_from(apparmor))
    elif draw(st.booleans()):
        notes["apparmor.security.beta.kubernetes.io/defaultProfileName"] = draw(
            st.sampled_from(APPARMOR))
    for key in draw(_subset(("example.com/owner", "team", "a.b/c-d_e.f"), max_size=2)):
        notes[key] = draw(TEXT)
    return notes


@st.composite
def representable_psps(draw, api: str | None = None) -> dict:
    """A PodSecurityPolicy that pspc can express exactly, fields in a random order."""
    privileged = draw(st.booleans())
    spec: dict = {
        "privileged": privileged,
        "hostNetwork": draw(st.booleans()),
        "hostPID": draw(st.booleans()),
        "hostIPC": draw(st.booleans()),
        "hostPorts": draw(_ranges(voc.MAX_PORT, min_size=0)),
        "runAsUser": draw(_strategy(("MustRunAs", "MustRunAsNonRoot", "RunAsAny"))),
        "runAsGroup": draw(_strategy(("MustRunAs", "MayRunAs", "RunAsAny"))),
        "supplementalGroups": draw(_strategy(("MustRunAs", "MayRunAs", "RunAsAny"))),
        "fsGroup": draw(_strategy(("MustRunAs", "MayRunAs", "RunAsAny"))),
        "seLinux": draw(_selinux()),
        "readOnlyRootFilesystem": draw(st.booleans()),
        "allowedProcMountTypes": draw(st.sampled_from(
            ([], ["Default"], ["Default", "Unmasked"], ["Unmasked", "Default"]))),
        **draw(_escalation(privileged)),
        **draw(_capabilities()),
        **draw(_volumes()),
        **draw(_sysctls()),
        **draw(_runtime_class()),
    }
    optional = ("privileged", "hostNetwork", "hostPID", "hostIPC", "hostPorts", "runAsGroup",
                "readOnlyRootFilesystem", "allowedProcMountTypes")
    dropped = draw(_subset(optional))
    spec = {k: v for k, v in spec.items() if k not in dropped}
    order = draw(st.permutations(sorted(spec)))
    metadata: dict = {"name": draw(NAMES)}
    if notes := draw(_annotations()):
        metadata["annotations"] = notes
    return {"apiVersion": api or draw(st.sampled_from(("policy/v1beta1",
                                                       "extensions/v1beta1"))),
            "kind": "PodSecurityPolicy", "metadata": metadata,
            "spec": {k: spec[k] for k in order}}


UNREPRESENTABLE = (
    ("spec", "runAsUser", {"rule": "RunAsAny", "ranges": [{"min": 1, "max": 2}]}),
    ("spec", "runAsUser", {"rule": "MustRunAsNonRoot", "ranges": [{"min": 1, "max": 2}]}),
    ("spec", "fsGroup", {"rule": "MustRunAs"}),
    ("spec", "supplementalGroups", {"rule": "RunAsAny", "ranges": [{"min": 1, "max": 2}]}),
    ("spec", "seLinux", {"rule": "RunAsAny", "seLinuxOptions": {"type": "t"}}),
    ("spec", "seLinux", {"rule": "MustRunAs"}),
    ("spec", "allowedProcMountTypes", ["Unmasked"]),
    ("spec", "volumes", ["*", "secret"]),
    ("spec", "volumes", ["secret", "secret"]),
    ("spec", "hostPorts", [{"min": 10, "max": 5}]),
    ("spec", "hostPorts", [{"min": 1, "max": 70000}]),
    ("spec", "runAsUser", {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 2**40}]}),
    ("spec", "requiredDropCapabilities", ["ALL", "ALL"]),
    ("spec", "allowedHostPaths", [{"pathPrefix": "relative"}]),
    ("metadata", "labels", {"app": "x"}),
)


@st.composite
def api_valid_psps(draw) -> tuple[dict, tuple[str, str] | None]:
    """A PodSecurityPolicy the API accepts, and the field pspc cannot express (or None)."""
    psp = draw(representable_psps())
    if draw(st.booleans()):
        return psp, None
    part, key, value = draw(st.sampled_from(UNREPRESENTABLE))
    psp[part] = {**psp[part], key: value}
    if key in ("allowedHostPaths",):
        psp["spec"]["volumes"] = ["*"]
    return psp, (part, key)
