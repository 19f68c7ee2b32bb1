"""Wall time and peak memory of `pspc eval` on a large cluster dump, per engine and for all.

Generates (seeded) a dump of N pods and workloads — Deployments, Pods, DaemonSets and
CronJobs with varied security contexts, across the examples' namespaces — and evaluates it
against the policies of examples/ (copied side by side, the two policies named
`restricted` renamed so that they do not clash). Each engine runs in its own subprocess;
peak memory is that process's maximum resident set size (with both Rego engines and another,
`pspc eval` forks a worker for the Rego engines: the figure is then the larger of the two
processes', whose sum is at most twice that, less the pages they share). CPU time is both
processes'.

Run from the repository root: `python bench/eval.py [--pods 10000] [--engines psp,all]
[--code DIR]`. `--code` runs another checkout's pspc (e.g. an older commit) on the same
inputs.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ENGINES = ("psp", "rego", "gatekeeper", "cel", "psa", "all")
RENAMES = {"seed-003-use-psp": "use-psp-restricted", "seed-004-shared-nfs": "nfs-restricted"}
NAMESPACES = ("default", "default", "default", "kube-system", "ack-restrictive",
              "ack-all-restrictive", "mynamespace", "research", "research", "batch", "web")
IMAGES = ("nginx:1.25", "busybox:1.36", "registry.k8s.io/pause:3.9", "redis:7", "python:3.12")


def write_policies(folder: Path) -> None:
    """The examples' policies, each example in its own file, without name clashes."""
    for example in sorted((REPO / "examples").glob("seed-*")):  # the seeds' clusters
        text = (example / "policies.pspc").read_text(encoding="utf-8")
        if example.name in RENAMES:
            text = re.sub(r"\b(policy|extends|bind) restricted\b",
                          rf"\1 {RENAMES[example.name]}", text)
        (folder / f"{example.name}.pspc").write_text(text, encoding="utf-8")


def _security_context(rng: random.Random) -> dict | None:
    style = rng.choice(("none", "none", "restricted", "restricted", "nonroot", "root",
                        "privileged", "caps", "escalation", "nfs-user"))
    if style == "none":
        return None
    if style == "restricted":
        return {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    if style == "nonroot":
        return {"runAsNonRoot": True, "runAsUser": rng.choice((1000, 65534, 32767))}
    if style == "root":
        return {"runAsUser": 0}
    if style == "privileged":
        return {"privileged": True}
    if style == "caps":
        return {"capabilities": {"add": rng.sample(["NET_ADMIN", "SYS_TIME", "CHOWN",
                                                    "NET_BIND_SERVICE"], 2)}}
    if style == "escalation":
        return {"allowPrivilegeEscalation": True, "readOnlyRootFilesystem": True}
    return {"runAsUser": 32767, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}}


def _container(rng: random.Random, name: str) -> dict:
    container = {"name": name, "image": rng.choice(IMAGES)}
    if rng.random() < 0.3:
        container["ports"] = [{"containerPort": rng.choice((80, 443, 8080))}]
        if rng.random() < 0.1:
            container["ports"][0]["hostPort"] = container["ports"][0]["containerPort"]
    context = _security_context(rng)
    if context is not None:
        container["securityContext"] = context
    return container


def _volumes(rng: random.Random) -> list[dict]:
    choices = (
        {"name": "data", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "creds", "secret": {"secretName": "app-creds"}},
        {"name": "claim", "persistentVolumeClaim": {"claimName": "shared"}},
        {"name": "host", "hostPath": {"path": "/var/log"}},
        {"name": "nfs", "nfs": {"server": "nfs.example", "path": "/export"}},
    )
    return rng.sample(choices, rng.randint(0, 2))


def pod_spec(rng: random.Random) -> dict:
    spec: dict = {"containers": [_container(rng, f"c{i}") for i in range(rng.randint(1, 3))]}
    if rng.random() < 0.2:
        spec["initContainers"] = [_container(rng, "init")]
    pod_context: dict = {}
    if rng.random() < 0.4:
        pod_context["runAsNonRoot"] = rng.random() < 0.8
    if rng.random() < 0.3:
        pod_context["fsGroup"] = rng.choice((1, 2000, 32767))
        pod_context["supplementalGroups"] = [pod_context["fsGroup"]]
    if rng.random() < 0.3:
        pod_context["seccompProfile"] = {"type": rng.choice(("RuntimeDefault", "Unconfined"))}
    if rng.random() < 0.05:
        pod_context["sysctls"] = [{"name": "kernel.shm_rmid_forced", "value": "1"}]
    if pod_context:
        spec["securityContext"] = pod_context
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if rng.random() < 0.04:
            spec[field] = True
    volumes = _volumes(rng)
    if volumes:
        spec["volumes"] = volumes
    if rng.random() < 0.2:
        spec["serviceAccountName"] = rng.choice(("ack-dev", "ack-tester", "importer", "app"))
    return spec


def workload(rng: random.Random, number: int) -> dict:
    kind = rng.choices(("Deployment", "Pod", "DaemonSet", "CronJob"), (50, 25, 10, 15))[0]
    name = f"app-{number:05d}"
    metadata: dict = {"name": name, "namespace": rng.choice(NAMESPACES),
                      "labels": {"app": name}}
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec(rng)}
    if rng.random() < 0.1:
        template["metadata"]["annotations"] = {
            "container.apparmor.security.beta.kubernetes.io/c0": "runtime/default"}
    if kind == "Pod":
        metadata.update(template["metadata"])
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                "spec": template["spec"]}
    if kind == "CronJob":
        template["spec"]["restartPolicy"] = "OnFailure"
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata,
                "spec": {"schedule": "0 3 * * *",
                         "jobTemplate": {"spec": {"template": template}}}}
    spec = {"selector": {"matchLabels": {"app": name}}, "template": template}
    if kind == "Deployment":
        spec["replicas"] = rng.randint(1, 5)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": spec}


def write_dump(path: Path, count: int, seed: int = 16) -> None:
    rng = random.Random(seed)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump_all((workload(rng, i) for i in range(count)), out, Dumper=dumper,
                      sort_keys=False)


def measure(code: Path, policies: Path, dump: Path,
            engine: str) -> tuple[float, float, float, int]:
    """(seconds, CPU seconds, peak RSS in MiB, exit code) of one `pspc eval` in its own
    process. CPU time is the steadier figure on a shared machine."""
    env = dict(os.environ, PYTHONPATH=str(code))
    command = [sys.executable, "-m", "pspc", "eval", str(policies), "-f", str(dump),
               "--engine", engine]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=code)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose pspc to run")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pspc-bench-eval-") as tmp:
        policies = Path(tmp) / "policies"
        policies.mkdir()
        write_policies(policies)
        dump = Path(tmp) / "pods.yaml"
        write_dump(dump, args.pods, args.seed)
        print(f"{args.pods:,} objects ({dump.stat().st_size / 2**20:.1f} MiB of YAML), "
              f"policies of examples/, pspc from {args.code}")
        print("| engine | wall time | CPU time | peak RSS | exit |\n|---|---:|---:|---:|---:|")
        for engine in args.engines.split(","):
            seconds, cpu, rss, code = measure(args.code, policies, dump, engine)
            print(f"| {engine} | {seconds:.1f} s | {cpu:.1f} s | {rss:.0f} MiB | {code} |",
                  flush=True)


if __name__ == "__main__":
    main()
