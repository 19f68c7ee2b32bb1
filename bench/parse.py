"""Parsing speed: the synthetic GitOps repository (bench/gitops.py) through parse_sources.

For each size, prints the files and lines parsed and the wall time of
`pspc.compiler.parse_sources` (what `pspc build` runs: source texts in, ASTs out): of the
first round, as in a `pspc build` process, and the best of a few rounds in the same process.
The Lark parser is built once per process before, untimed. Each round ends every file with a
different comment, so that the parse cache, keyed by text, cannot answer. The cyclic
garbage collector is off, as the CLI keeps it while compiling (pspc/cli.py): on, at CPython's
default thresholds, its rescans of the growing heap would take as long as the parsing.
Printed, never asserted:

    python bench/parse.py [--sizes 1000,10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from gitops import POLICIES_PER_FILE, policy  # noqa: E402

from pspc.compiler import parse_sources  # noqa: E402
from pspc.diagnostics import Diagnostics  # noqa: E402
from pspc.syntax.parser import parse_text  # noqa: E402


def repository(count: int) -> dict[str, str]:
    """The texts of bench/gitops.py's repository of `count` policies, by file name."""
    return {f"policies-{start // POLICIES_PER_FILE:04d}.pspc":
            "\n".join(policy(i) for i in range(start, min(count, start + POLICIES_PER_FILE)))
            for start in range(0, count, POLICIES_PER_FILE)}


def round_seconds(texts: dict[str, str], rounds: int) -> list[float]:
    """The wall time of each round of parsing `texts`."""
    seconds = []
    for round_ in range(rounds):
        fresh = {name: f"{text}\n# round {round_}\n" for name, text in texts.items()}
        diags = Diagnostics()
        start = time.perf_counter()
        files = parse_sources(fresh, diags)
        seconds.append(time.perf_counter() - start)
        if len(files) != len(texts) or diags.items:
            raise SystemExit("the synthetic repository does not parse")
    return seconds


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sizes", default="1000", help="policy counts, comma-separated")
    args.add_argument("--rounds", type=int, default=5)
    options = args.parse_args()
    gc.disable()  # as pspc/cli.py does while compiling
    parse_text("policy warm {}", "warm.pspc", Diagnostics())  # builds the parser
    print(f"{'policies':>9} {'files':>6} {'lines':>8} {'first s':>8} {'best s':>8} "
          f"{'lines/s':>10}")
    for count in (int(n) for n in options.sizes.split(",")):
        texts = repository(count)
        lines = sum(text.count("\n") + 1 for text in texts.values())
        seconds = round_seconds(texts, options.rounds)
        print(f"{count:>9} {len(texts):>6} {lines:>8} {seconds[0]:>8.3f} {min(seconds):>8.3f} "
              f"{lines / min(seconds):>10.0f}")


if __name__ == "__main__":
    main()
