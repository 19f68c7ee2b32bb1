"""Shared by the benchmark scripts: the best rate of repeated calls."""

from __future__ import annotations

import time

ROUNDS = 5


def best_rate(work, units_per_call: int, seconds: float) -> float:
    """Highest units/second over ROUNDS rounds of repeated `work()` calls."""
    best = 0.0
    for _ in range(ROUNDS):
        calls = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            work()
            calls += 1
        best = max(best, calls * units_per_call / elapsed)
    return best
