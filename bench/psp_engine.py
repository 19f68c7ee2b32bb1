"""Throughput of the PSP admission simulator on the golden pods and policies.

Prints (does not assert) two figures, best of several rounds on one core:

* engine: pod x policy evaluations per second (one provider's MutatePod plus ValidatePod);
* review: whole requests per second through `PodSecurityPolicyPlugin.review`, which adds
  defaulting, both passes, authorization, the annotation and the JSON patch.

Run from the repository root: `python bench/psp_engine.py [seconds-per-round]`. The golden file
is read from `$PSPC_SHARED/spec` or `../shared/spec` beside the checkout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PSPC_SHARED", REPO.parent / "shared"))
GOLDEN = SHARED / "spec" / "psp-admission-golden.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_rate  # noqa: E402


def main() -> None:
    # Imported here so that the script runs from a checkout without installing pspc.
    sys.path.insert(0, str(REPO))
    from pspc.admission import AllowAll, GrantList, Identity, PodSecurityPolicyPlugin
    from pspc.admission.pod import default_pod

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]

    pairs = []
    requests = []
    for case in cases:
        grants = case["authorization"]
        authorizer = AllowAll() if grants["allowAll"] else GrantList(grants["useGrants"])
        plugin = PodSecurityPolicyPlugin(case["psps"], authorizer)
        pod = default_pod(case["pod"])
        pairs.extend((provider, pod) for provider in plugin.providers)
        user = Identity(case["user"]["name"], case["user"]["groups"])
        requests.append((plugin, case, user))

    def evaluate_all() -> None:
        for provider, pod in pairs:
            provider.validate(provider.mutate(pod)[0])

    def review_all() -> None:
        for plugin, case, user in requests:
            plugin.review(
                case["operation"],
                case["pod"],
                user=user,
                namespace=case["namespace"],
                old_pod=case.get("oldPod"),
            )

    engine = best_rate(evaluate_all, len(pairs), seconds)
    review = best_rate(review_all, len(requests), seconds)
    print(f"golden data: {len(cases)} cases, {len(pairs)} pod x policy pairs")
    print(f"engine: {engine:,.0f} pod x policy evaluations/s (mutate + validate)")
    print(f"review: {review:,.0f} requests/s (defaulting, admit, validate, authz, patch)")


if __name__ == "__main__":
    main()
