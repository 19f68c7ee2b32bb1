"""A seeded generator of PodSecurityPolicies the API server accepts, over every field.

It follows upstream `ValidatePodSecurityPolicy` (pkg/apis/policy/validation) and the
object-meta rules, and draws what those rules let through with real probability, however
odd: ranges under RunAsAny, MustRunAs without ranges (runAsUser, supplementalGroups,
fsGroup: only runAsGroup requires them), int64 IDs, host ports never validated (negative,
min > max, above 65535), SELinux MustRunAs without or with empty options, options under
RunAsAny, entries written twice, `*` beside other volume types, host paths and drivers
without their volume type, capability names Kubernetes does not check (spaces, dashes,
`*` in drop and default-add lists), relative host path prefixes, empty and `localhost/`
profile names, defaults outside their allowed list, labels, upper-case annotation key
prefixes, names up to 253 characters or reserved by Windows, strings with line
separators and control characters, and the API server's bookkeeping.

What it keeps out is what the API refuses: invalid names and label values, negative or
inverted ID ranges, runAsGroup RunAsAny with ranges or MustRunAs/MayRunAs without,
unknown rules and volume types, `*` among allowed capabilities with required drops, a
capability both dropped and allowed or added, default privilege escalation without
allowing it, empty or `..` host paths, empty flex drivers, invalid sysctl patterns, `*`
beside other sysctls, overlapping allowed and forbidden sysctls, invalid or repeated
runtime classes and a default runtime class not allowed, seccomp profiles that are not
runtime/default, docker/default, unconfined or localhost/<relative path without ..>
(an empty entry only as the whole value), AppArmor profiles that are not runtime/default,
unconfined, localhost/... or empty.
"""

from __future__ import annotations

import random

from pspc import vocabulary as voc

INT64 = 2**63 - 1
INT32 = 2**31 - 1
ODD_TEXT = ("", " ", "a b", "x\u2028y", "p\u2029q", "n\u0085l", "v\x0bf\x0c", "\x1c\x1d\x1e",
            "del\x7f", "c1\x80\x9f", "nul\x00", 'q"uote\\', "# not a comment", "ünï,{}",
            "line\nbreak\ttab\r", "any", "none", "unset", "*")
CAPABILITIES = ("ALL", "CHOWN", "NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN",
                "SETUID", "net_admin", "CAP_KILL", "any", "none", "NET ADMIN", "x-y", "", "*")
SYSCTLS = ("kernel.msgmax", "kernel.shm_rmid_forced", "net.core.somaxconn", "net.core.*",
           "net.ipv4.*", "kernel.sem", "vm.swappiness", "a_b.c-d", "kernel.*")
SECCOMP = ("runtime/default", "docker/default", "unconfined", "localhost/profiles/a.json",
           "localhost/b", "localhost/", "*")
APPARMOR = ("runtime/default", "unconfined", "localhost/k8s-apparmor-example", "localhost/",
            "")
HOST_PATHS = ("/", "/var/log", "/data", "/a b", "/etc/", "relative/dir", "x", "/x\u2028y")
DRIVERS = ("example.com/lvm", "cifs", "k8s/nfs driver", "Ünï", "d\u0085")
CSI = ("secrets-store.csi.k8s.io", "ebs.csi.aws.com", "Disk.CSI", "not a name", "")
RUNTIME_CLASSES = ("gvisor", "kata", "runc.v2", "none", "any")
LABEL_KEYS = ("app", "eks.amazonaws.com/component", "kubernetes.io/cluster-service",
              "helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/name",
              "A.b-c_d")
LABEL_VALUES = ("", "pod-security-policy", "Helm", "true", "x-1.2.3", "a_b.C")
ANNOTATION_KEYS = ("example.com/owner", "team", "Example.COM/Owner", "a.b/c-d_e.f",
                   "meta.helm.sh/release-name", "meta.helm.sh/release-namespace")


class Draw:
    """random.Random with the few shapes the generator needs."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def chance(self, p: float = 0.5) -> bool:
        return self.r.random() < p

    def pick(self, items):
        return self.r.choice(items)

    def some(self, items, most: int = 4, repeat: float = 0.15) -> list:
        """A few items, in a random order, sometimes one written twice."""
        found = self.r.sample(items, self.r.randint(0, min(most, len(items))))
        if found and self.chance(repeat):
            found.append(self.pick(found))
        self.r.shuffle(found)
        return found

    def integer(self, low: int, high: int) -> int:
        bound = self.pick((high, min(high, 70000), min(high, 2000)))
        return self.r.randint(low, max(low, bound))


def _name(d: Draw) -> str:
    roll = d.r.random()
    if roll < 0.05:
        return d.pick(("con", "nul.example.com", "aux", "com1.x", "lpt9"))
    if roll < 0.1:  # long names: up to 253 characters, labels of at most 63
        length = d.r.randint(200, 253)
        labels, total = [], 0
        while total < length:
            size = min(63, length - total)
            labels.append("".join(d.pick("abcdefghij0123456789") for _ in range(size)))
            total += size + 1
        name = ".".join(labels)[:length].strip(".")
        return name if not name.endswith("-") else name + "a"
    size = d.r.randint(1, 20)
    body = "".join(d.pick("abcdefghijklmnopqrstuvwxyz0123456789-.") for _ in range(size))
    parts = [p.strip("-") for p in body.split(".")]
    return ".".join(p for p in parts if p) or "p"


def _ranges(d: Draw, low: int, high: int, most: int = 3) -> list[dict]:
    out = []
    for _ in range(d.r.randint(0, most)):
        a, b = d.integer(low, high), d.integer(low, high)
        if low >= 0:  # ID ranges: the API checks min <= max
            a, b = sorted((a, b))
        out.append({"min": a, "max": b})
    return out


def _ids(d: Draw, rules: tuple[str, ...], group: bool = False) -> dict:
    rule = d.pick(rules)
    strategy: dict = {"rule": rule}
    ranges = _ranges(d, 0, INT64 if d.chance(0.2) else 100000)
    if group and rule == "RunAsAny":
        ranges = []
    elif group and not ranges:
        ranges = _ranges(d, 0, 100000) or [{"min": 1, "max": 1}]
    if ranges or d.chance(0.2):
        strategy["ranges"] = ranges
    return strategy


def _selinux(d: Draw) -> dict:
    out: dict = {"rule": d.pick(("RunAsAny", "MustRunAs"))}
    roll = d.r.random()
    if roll < 0.3:
        return out
    options = {k: d.pick(("s0:c1,c2", "container_t", "system_u", "", "object_r", "with space",
                          "a\u2028b"))
               for k in d.some(("level", "role", "type", "user"), repeat=0)}
    out["seLinuxOptions"] = options
    return out


def _capabilities(d: Draw, spec: dict) -> None:
    drop = d.some(CAPABILITIES)
    rest = [c for c in CAPABILITIES if c not in drop]
    allowed = d.some(rest if drop else rest, most=5)
    if drop:
        allowed = [c for c in allowed if c != "*"]
    for key, value in (("requiredDropCapabilities", drop), ("allowedCapabilities", allowed),
                       ("defaultAddCapabilities", d.some(rest, most=2))):
        if value or d.chance(0.1):
            spec[key] = value


def _volumes(d: Draw, spec: dict) -> None:
    volumes = d.some(voc.VOLUME_TYPES, most=6)
    if d.chance(0.2):
        volumes = ["*"] + (d.some(voc.VOLUME_TYPES, most=2) if d.chance(0.3) else [])
    if volumes or d.chance(0.3):
        spec["volumes"] = volumes
    if d.chance(0.3):
        spec["allowedHostPaths"] = [
            {"pathPrefix": p, **({"readOnly": d.pick((True, False))} if d.chance() else {})}
            for p in d.some(HOST_PATHS, most=3)]
    if d.chance(0.2):
        spec["allowedFlexVolumes"] = [{"driver": x} for x in d.some(DRIVERS, most=2)]
    if d.chance(0.2):
        spec["allowedCSIDrivers"] = [{"name": x} for x in d.some(CSI, most=2)]


def _overlaps(a: str, b: str) -> bool:
    if a.endswith("*") and b.endswith("*"):
        return a[:-1].startswith(b[:-1]) or b[:-1].startswith(a[:-1])
    if a.endswith("*"):
        return b.startswith(a[:-1])
    if b.endswith("*"):
        return a.startswith(b[:-1])
    return a == b


def _sysctls(d: Draw, spec: dict) -> None:
    forbidden = ["*"] if d.chance(0.1) else d.some(SYSCTLS, most=3)
    free = [s for s in SYSCTLS if not any(_overlaps(s, f) for f in forbidden)]
    allowed = d.some(free, most=3)
    if not forbidden and d.chance(0.1):
        allowed = ["*"]
    for key, value in (("allowedUnsafeSysctls", allowed), ("forbiddenSysctls", forbidden)):
        if value or d.chance(0.1):
            spec[key] = value


def _runtime_class(d: Draw, spec: dict) -> None:
    if d.chance(0.7):
        return
    names = ["*"] if d.chance(0.2) else d.some(RUNTIME_CLASSES, repeat=0)
    runtime: dict = {"allowedRuntimeClassNames": names}
    choices = [n for n in names if n != "*"] or (list(RUNTIME_CLASSES) if names else [])
    if choices and d.chance():
        runtime["defaultRuntimeClassName"] = d.pick(choices)
    spec["runtimeClass"] = runtime


def _escalation(d: Draw, spec: dict) -> None:
    allow = d.pick((True, False, None))
    if allow is not None:
        spec["allowPrivilegeEscalation"] = allow
    default = d.pick((None, False, True) if allow in (True, None) else (None, False))
    if default is not None:
        spec["defaultAllowPrivilegeEscalation"] = default


def _profiles(d: Draw, notes: dict) -> None:
    seccomp_key = voc.SECCOMP_ALLOWED
    roll = d.r.random()
    if roll < 0.1:
        notes[seccomp_key] = ""
    elif roll < 0.5:
        notes[seccomp_key] = ",".join(d.some(SECCOMP, most=3) or ["*"])
    if d.chance(0.3):
        notes[voc.SECCOMP_DEFAULT] = d.pick((*SECCOMP[:-1], ""))
    if d.chance(0.4):
        notes[voc.APPARMOR_ALLOWED] = ",".join(d.some(APPARMOR, most=3))
    if d.chance(0.3):
        notes[voc.APPARMOR_DEFAULT] = d.pick(APPARMOR)


def _metadata(d: Draw) -> dict:
    metadata: dict = {"name": _name(d)}
    notes: dict = {}
    if d.chance(0.4):
        notes[voc.DESCRIPTION] = d.pick(ODD_TEXT)
    _profiles(d, notes)
    for key in d.some(ANNOTATION_KEYS, most=2, repeat=0):
        notes[key] = d.pick(ODD_TEXT)
    if d.chance(0.1):
        notes["kubectl.kubernetes.io/last-applied-configuration"] = "{}\n"
    if notes or d.chance(0.1):
        metadata["annotations"] = notes
    if d.chance(0.3):
        metadata["labels"] = {k: d.pick(LABEL_VALUES) for k in d.some(LABEL_KEYS, repeat=0)}
    if d.chance(0.3):
        metadata.update(uid="0c5d", resourceVersion="42", generation=3,
                        creationTimestamp="2020-01-01T00:00:00Z",
                        managedFields=[{"manager": "kubectl", "operation": "Apply"}])
    if d.chance(0.1):
        metadata.update(finalizers=["example.com/keep"], ownerReferences=[
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "1"}])
    return metadata


def psp(seed: int) -> dict:
    """The PodSecurityPolicy of one seed."""
    d = Draw(seed)
    spec: dict = {}
    for key in ("privileged", "hostNetwork", "hostPID", "hostIPC", "readOnlyRootFilesystem"):
        if d.chance(0.6):
            spec[key] = d.chance()
    if d.chance(0.4):
        spec["hostPorts"] = _ranges(d, -(2**31), INT32 if d.chance(0.2) else 70000)
    spec["runAsUser"] = _ids(d, ("MustRunAs", "MustRunAsNonRoot", "RunAsAny"))
    if d.chance(0.5):
        spec["runAsGroup"] = _ids(d, ("MustRunAs", "MayRunAs", "RunAsAny"), group=True)
    spec["supplementalGroups"] = _ids(d, ("MustRunAs", "MayRunAs", "RunAsAny"))
    spec["fsGroup"] = _ids(d, ("MustRunAs", "MayRunAs", "RunAsAny"))
    spec["seLinux"] = _selinux(d)
    if d.chance(0.4):
        spec["allowedProcMountTypes"] = d.some(("Default", "Unmasked"), repeat=0.3)
    _escalation(d, spec)
    _capabilities(d, spec)
    _volumes(d, spec)
    _sysctls(d, spec)
    _runtime_class(d, spec)
    keys = list(spec)
    d.r.shuffle(keys)
    out = {"apiVersion": d.pick(("policy/v1beta1", "extensions/v1beta1")),
           "kind": "PodSecurityPolicy", "metadata": _metadata(d),
           "spec": {k: spec[k] for k in keys}}
    if d.chance(0.1):
        out["status"] = {}
    return out


def corpus(count: int, start: int = 0) -> list[dict]:
    """`count` policies with distinct names (a repeated name gets a numbered prefix)."""
    found, names = [], set()
    for seed in range(start, start + count):
        policy = psp(seed)
        name = policy["metadata"]["name"]
        if name in names:
            policy["metadata"]["name"] = f"g{seed}-{name}"[:253].rstrip(".-")
        names.add(policy["metadata"]["name"])
        found.append(policy)
    return found
