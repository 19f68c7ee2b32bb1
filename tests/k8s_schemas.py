"""Validate manifests against real Kubernetes JSON schemas (kubernetes-validate --strict).

Only kubernetes-validate 1.24.x still ships PodSecurityPolicy schemas, and it cannot be
installed beside the current release, so the README's test command installs it with
`pip install --target .test-deps/kv124`; it is run in a subprocess with that folder on
PYTHONPATH. Every other kind is checked with the current release, imported normally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KV124 = Path(os.environ.get("PSPC_KV124", REPO / ".test-deps" / "kv124"))

_RUNNER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import kubernetes_validate as kv
problems = []
for doc in json.load(sys.stdin):
    try:
        kv.validate(doc, "1.24.0", strict=True)
    except Exception as exc:
        problems.append("%s/%s: %s" % (doc.get("kind"), doc.get("metadata", {}).get("name"),
                                       getattr(exc, "message", exc)))
json.dump({"version": kv.__version__, "problems": problems}, sys.stdout)
"""


def validate_v124(documents: list[dict]) -> list[str]:
    """Problems found by kubernetes-validate 1.24.x against Kubernetes 1.24 schemas."""
    if not (KV124 / "kubernetes_validate").is_dir():
        pytest.skip(f"kubernetes-validate 1.24.1 is not installed in {KV124}; "
                    "run the test command from README.md")
    env = {**os.environ, "PYTHONPATH": str(KV124)}
    result = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(documents),
                            capture_output=True, text=True, env=env, check=True)
    report = json.loads(result.stdout)
    assert report["version"].startswith("1.24."), report["version"]
    return report["problems"]


def validate_current(documents: list[dict]) -> list[str]:
    """Problems found by the installed (current) kubernetes-validate, newest schemas."""
    import kubernetes_validate as kv

    problems = []
    for doc in documents:
        try:
            kv.validate(doc, kv.utils.latest_version(), strict=True)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding to report
            problems.append(f"{doc.get('kind')}/{doc['metadata'].get('name')}: "
                            f"{getattr(exc, 'message', exc)}")
    return problems


def validate_at(documents: list[dict], version: str) -> list[str]:
    """Problems found by the installed (current) kubernetes-validate against Kubernetes
    `version` (`1.N`, 1.25 or newer)."""
    import kubernetes_validate as kv

    problems = []
    for doc in documents:
        try:
            kv.validate(doc, f"{version}.0", strict=True)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding to report
            problems.append(f"{doc.get('kind')}/{doc['metadata'].get('name')}: "
                            f"{getattr(exc, 'message', exc)}")
    return problems
