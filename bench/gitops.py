"""Generate a synthetic GitOps repository of N policies that use every intent.

Each policy extends a stdlib policy or stands alone, states each intent of the language
with values that vary with its index, and is bound in several namespaces, so that every
target has real work. Used by bench/build.py; run alone to write a repository:

    python bench/gitops.py 1000 /tmp/policies
"""

from __future__ import annotations

import sys
from pathlib import Path

POLICIES_PER_FILE = 50


def policy(index: int) -> str:
    """One policy text; shapes rotate with the index so that files differ."""
    uid = 1000 + index
    namespace = f"team-{index % 97}"
    parent = ("baseline", "restricted", "privileged")[index % 3]
    body = [
        f'description "synthetic policy {index}"',
        "deny privileged",
        "deny privilege escalation",
        "default deny privilege escalation",
        "deny host network, pid",
        "allow host ipc" if index % 5 == 0 else "deny host ipc",
        f"allow host ports {8000 + index % 100}..{8100 + index % 100}, 9090",
        "volumes configMap, emptyDir, projected, secret, downwardAPI, persistentVolumeClaim",
        "allow nfs only via pvc",
        f"allow host paths /var/log/app-{index} read-only, /data/{index}",
        "allow flex volumes example.com/lvm",
        "allow csi drivers secrets-store.csi.k8s.io",
        f"run as user {uid}..{uid + 100}, {uid + 1000}",
        f"run as group {uid}..{uid + 10}",
        f"supplemental groups {uid}..{uid + 10} if set",
        f"fs group {uid}",
        "require read-only root filesystem",
        "allow capabilities NET_BIND_SERVICE, CHOWN",
        "add capabilities CHOWN by default",
        "drop capabilities ALL",
        'selinux level "s0:c1,c2" type container_t',
        "allow selinux types container_t",
        "require explicit non-root",
        "deny unmasked proc mount",
        f"allow unsafe sysctls net.core.somaxconn, kernel.msg{index % 7}*",
        "deny sysctls kernel.shm_rmid_forced",
        "allow runtime classes gvisor, kata",
        "default runtime class gvisor",
        "allow seccomp profiles runtime/default, localhost/app.json",
        "default seccomp profile runtime/default",
        "allow apparmor profiles runtime/default",
        "default apparmor profile runtime/default",
        f'annotation "example.com/owner" "team-{index % 97}"',
    ]
    name = f"app-{index:05d}"
    lines = [f"policy {name} extends {parent} {{", *(f"  {b}" for b in body), "}", "",
             f"bind {name} to service accounts in namespace {namespace}",
             f"bind {name} to user dev-{index} in namespaces {namespace}, staging",
             f"bind {name} to service account {namespace}/deployer in namespace {namespace}", ""]
    return "\n".join(lines)


def write_repository(count: int, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, POLICIES_PER_FILE):
        text = "\n".join(policy(i) for i in range(start, min(count, start + POLICIES_PER_FILE)))
        (root / f"policies-{start // POLICIES_PER_FILE:04d}.pspc").write_text(text)
    return root


if __name__ == "__main__":
    write_repository(int(sys.argv[1]), Path(sys.argv[2]))
