"""Throughput of the Pod Security Admission model on the upstream conformance pods.

Prints (does not assert) two figures, best of several rounds on one core:

* evaluate: `evaluate_pod` calls per second, each fixture at its own level and version;
* engine: `PsaEngine.evaluate` requests per second, every fixture at restricted:latest
  (the most checks), message and field violations included.

Run from the repository root: `python bench/psa_engine.py [seconds-per-round]`. The fixtures
are read from `$PSPC_SHARED/conformance/psa` or `../shared/conformance/psa` beside the checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PSPC_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "conformance" / "psa"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_rate  # noqa: E402


def main() -> None:
    # Imported here so that the script runs from a checkout without installing pspc.
    sys.path.insert(0, str(REPO))
    from pspc.engines.psa import PsaEngine
    from pspc.pss import evaluate_pod
    from pspc.workloads import PodRequest

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    cases = [(path.parts[-4], path.parts[-3], yaml.safe_load(path.read_text(encoding="utf-8")))
             for path in sorted(FIXTURES.glob("*/*/*/*.yaml"))]
    if not cases:
        sys.exit(f"no fixtures under {FIXTURES}")
    engine = PsaEngine("restricted", "latest")
    requests = [PodRequest(pod, "default", None) for _, _, pod in cases]

    def evaluate_all() -> None:
        for level, version, pod in cases:
            evaluate_pod(pod, level, version)

    def engine_all() -> None:
        for request in requests:
            engine.evaluate(request)

    evaluate = best_rate(evaluate_all, len(cases), seconds)
    through_engine = best_rate(engine_all, len(requests), seconds)
    print(f"fixtures: {len(cases)} pods")
    print(f"evaluate: {evaluate:,.0f} PSA evaluations/s (each at its own level and version)")
    print(f"engine: {through_engine:,.0f} requests/s (restricted:latest, message and fields)")


if __name__ == "__main__":
    main()
