"""Semantic equality of PodSecurityPolicy specs: what the API server would store.

Applies the API defaults (allowPrivilegeEscalation true when absent), drops fields equal
to their zero value (also inside host path, flex volume and CSI driver entries: `readOnly:
false` is no `readOnly`), and sorts the lists whose order has no meaning (runtime class
names included). Lists whose order Kubernetes shows or uses (ID ranges: the first minimum
is the default; host ports and profile lists, which appear in admission messages) are
compared in order.
"""

from __future__ import annotations

_UNORDERED = ("volumes", "allowedCapabilities", "defaultAddCapabilities",
              "requiredDropCapabilities", "allowedUnsafeSysctls", "forbiddenSysctls",
              "allowedProcMountTypes")
_UNORDERED_OBJECTS = ("allowedHostPaths", "allowedFlexVolumes", "allowedCSIDrivers")
_PROFILE_KEYS = ("seccomp.security.alpha.kubernetes.io/allowedProfileNames",
                 "seccomp.security.alpha.kubernetes.io/defaultProfileName",
                 "apparmor.security.beta.kubernetes.io/allowedProfileNames",
                 "apparmor.security.beta.kubernetes.io/defaultProfileName")


def _empty(value) -> bool:
    return value is False or value == [] or value == {} or value is None


def normal_spec(spec: dict) -> dict:
    """Also what admission reads the same way (docs/psp-admission.md#normalised-on-import):
    list entries once each, `*` alone among volumes, one host path entry per prefix (a
    writable one wins), and no empty seLinuxOptions under RunAsAny."""
    out = {k: v for k, v in spec.items() if not _empty(v)}
    out.setdefault("allowPrivilegeEscalation", True)
    for key in _UNORDERED:
        if key in out:
            out[key] = sorted(set(out[key]))
    if "*" in out.get("volumes", ()):
        out["volumes"] = ["*"]
    for key in _UNORDERED_OBJECTS:
        if key in out:
            objects = [{k: v for k, v in o.items() if not _empty(v)} for o in out[key]]
            unique = {tuple(sorted(o.items())): o for o in objects}
            out[key] = sorted(unique.values(), key=lambda o: sorted(o.items()))
    if "allowedHostPaths" in out:
        writable = {p["pathPrefix"] for p in out["allowedHostPaths"] if not p.get("readOnly")}
        out["allowedHostPaths"] = [p for p in out["allowedHostPaths"] if not (
            p.get("readOnly") and p["pathPrefix"] in writable)]
    for key in ("runAsUser", "runAsGroup", "supplementalGroups", "fsGroup"):
        if key in out and not out[key].get("ranges", True):
            out[key] = {k: v for k, v in out[key].items() if k != "ranges"}
    selinux = out.get("seLinux")
    if selinux and selinux.get("rule") == "RunAsAny" and selinux.get("seLinuxOptions") == {}:
        out["seLinux"] = {"rule": "RunAsAny"}
    # admission only tests membership (docs/psp-admission.md#runtime-class)
    if "runtimeClass" in out:
        runtime = dict(out["runtimeClass"])
        runtime["allowedRuntimeClassNames"] = sorted(runtime.get("allowedRuntimeClassNames")
                                                     or [])
        out["runtimeClass"] = {k: v for k, v in runtime.items() if v is not None}
    if out.get("allowedProcMountTypes") == ["Default"]:
        del out["allowedProcMountTypes"]
    return out


def profiles(psp: dict) -> dict:
    """The seccomp/AppArmor annotations, the part of PSP semantics kept in metadata."""
    notes = psp.get("metadata", {}).get("annotations", {}) or {}
    return {k: notes[k] for k in _PROFILE_KEYS if k in notes}
