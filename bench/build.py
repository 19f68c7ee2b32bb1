"""Build speed and memory on synthetic GitOps repositories, against the floor.

For N = 100, 1,000 and 10,000 policies (bench/gitops.py), prints the wall time and peak
memory of `pspc build` (all targets) into an empty folder, of `pspc build --check` on the
up-to-date result, and of the floor: reading the sources and dumping the same output
objects with PyYAML's C dumper. Each command runs in its own process (peak memory is that
process's maximum resident set), best of a few runs. Printed, never asserted:

    python bench/build.py [--sizes 100,1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gitops import write_repository  # noqa: E402

# The floor: with the output objects already in memory, read the sources and dump the
# objects with the C dumper; timed inside the process (loading the objects is set-up).
FLOOR = """
import sys, time, yaml
from pathlib import Path
sources, out = Path(sys.argv[1]), Path(sys.argv[2])
documents = [list(yaml.load_all(p.read_bytes(), Loader=yaml.CSafeLoader))
             for p in sorted(out.rglob("*.yaml"))]
texts = [p.read_text() for p in sorted(out.rglob("*")) if p.suffix in (".rego", ".md", ".json")]
start = time.perf_counter()
data = b"".join(p.read_bytes() for p in sorted(sources.glob("*.pspc")))
for docs in documents:
    yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False)
print(time.perf_counter() - start)
"""


def measure(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of one run of `command` in a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024, stdout


def best(command: list[str], runs: int, before=None) -> tuple[float, float, str]:
    results = []
    for _ in range(runs):
        if before:
            before()
        results.append(measure(command))
    return min(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pspc = [sys.executable, "-m", "pspc"]
    print(f"{'N':>6} {'build s':>8} {'MiB':>6} {'check s':>8} {'MiB':>6} {'floor s':>8} "
          f"{'MiB':>6} {'build/floor':>11} {'files':>7}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            sources = write_repository(size, Path(scratch) / "policies")
            out = Path(scratch) / "out"
            runs = 1 if size >= 10000 else args.runs

            def empty_output(out=out):
                shutil.rmtree(out, ignore_errors=True)

            build = best([*pspc, "build", str(sources), "-o", str(out)], runs, empty_output)
            check = best([*pspc, "build", str(sources), "-o", str(out), "--check"], runs)
            floor_run = best([sys.executable, "-c", FLOOR, str(sources), str(out)], runs)
            floor = (float(floor_run[2]), floor_run[1])
            files = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"{size:>6} {build[0]:>8.2f} {build[1]:>6.0f} {check[0]:>8.2f} {check[1]:>6.0f} "
              f"{floor[0]:>8.2f} {floor[1]:>6.0f} {build[0] / floor[0]:>11.1f} {files:>7}")


if __name__ == "__main__":
    main()
