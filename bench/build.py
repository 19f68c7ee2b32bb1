"""Build speed and memory on synthetic GitOps repositories, against the floor.

For N = 100, 1,000 and 10,000 policies (bench/gitops.py), prints the wall time and peak
memory of `pspc build` (all targets) into an empty folder, of `pspc build --check` on the
up-to-date result, and of two floors: the I/O floor, what any build must do (read the
sources, write the same bytes into the same files of an empty folder), and the PyYAML
floor (read the sources, dump the same output objects with PyYAML's C dumper: what a build
costs that writes its YAML through yaml.dump_all, before anything is compiled). Each
command runs in its own process (peak memory is that process's maximum resident set),
best of a few runs. Printed, never asserted:

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

# The I/O floor: with the output bytes already in memory, read the sources and write each
# file (folders made as needed) into an empty folder; timed inside the process.
IO_FLOOR = """
import os, sys, time
from pathlib import Path
sources, out, fresh = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
files = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
start = time.perf_counter()
data = b"".join(p.read_bytes() for p in sorted(sources.glob("*.pspc")))
for name, content in files.items():
    (fresh / name).parent.mkdir(parents=True, exist_ok=True)
    (fresh / name).write_bytes(content)
print(time.perf_counter() - start)
"""

# The PyYAML floor: with the output objects already in memory, read the sources and dump
# the objects with the C dumper; timed inside the process (loading the objects is set-up).
YAML_FLOOR = """
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


def inside(program: str, args: list[Path], runs: int, before=None) -> float:
    """The best of the seconds `program` prints (it times itself, after its set-up)."""
    seconds = []
    for _ in range(runs):
        if before:
            before()
        seconds.append(float(measure([sys.executable, "-c", program, *map(str, args)])[2]))
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pspc = [sys.executable, "-m", "pspc"]
    print(f"{'N':>6} {'build s':>8} {'MiB':>6} {'check s':>8} {'MiB':>6} {'floor s':>8} "
          f"{'yaml s':>7} {'build/floor':>11} {'files':>7} {'MB':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            sources = write_repository(size, Path(scratch) / "policies")
            out = Path(scratch) / "out"
            runs = 1 if size >= 10000 else args.runs

            def empty_output(out=out):
                shutil.rmtree(out, ignore_errors=True)

            build = best([*pspc, "build", str(sources), "-o", str(out)], runs, empty_output)
            check = best([*pspc, "build", str(sources), "-o", str(out), "--check"], runs)
            fresh = Path(scratch) / "fresh"

            def empty_fresh(fresh=fresh):
                shutil.rmtree(fresh, ignore_errors=True)

            floor = inside(IO_FLOOR, [sources, out, fresh], runs, empty_fresh)
            dump = inside(YAML_FLOOR, [sources, out], runs)
            written = [p.stat().st_size for p in out.rglob("*") if p.is_file()]
        print(f"{size:>6} {build[0]:>8.2f} {build[1]:>6.0f} {check[0]:>8.2f} {check[1]:>6.0f} "
              f"{floor:>8.2f} {dump:>7.2f} {build[0] / floor:>11.1f} {len(written):>7} "
              f"{sum(written) / 1e6:>6.0f}")


if __name__ == "__main__":
    main()
