"""Sizes of the generated validating outputs, per policy set and per target, in bytes.

Rows: each stdlib policy extended by a one-line policy with one binding (`policy web
extends restricted {}`, bound to the service accounts of namespace web) — what a user
writes to adopt a level — and each example repository (examples/*, each profile of one
with a pspc.toml on its own). Columns: the files of each target's folder in COLUMNS (a target
folder's kustomization.yaml is not counted). Printed, never asserted:

    python bench/sizes.py

To add a column, add its name, its target and the folder of its files to COLUMNS.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pspc.compiler import Options, compile, compile_texts  # noqa: E402
from pspc.diagnostics import Diagnostics  # noqa: E402

# column -> (target, the folder of its files in a build's output)
COLUMNS = {"vap": ("vap", "vap/"), "kyverno": ("kyverno", "kyverno/"),
           "gk template": ("gatekeeper", "gatekeeper/templates/"),
           "gk constraint": ("gatekeeper", "gatekeeper/constraints/"),
           "conftest": ("rego", "rego/")}
TARGETS = tuple(dict.fromkeys(target for target, _ in COLUMNS.values()))
STDLIB = ("privileged", "baseline", "restricted")


def target_sizes(outputs: dict[str, bytes], prefix: str = "") -> dict[str, int]:
    """The bytes of each column's files among `outputs` (paths under `prefix`)."""
    sizes = dict.fromkeys(COLUMNS, 0)
    for path, data in outputs.items():
        for name, (_, folder) in COLUMNS.items():
            if path.startswith(prefix + folder) and not path.endswith("kustomization.yaml"):
                sizes[name] += len(data)
    return sizes


def stdlib_rows() -> list[tuple[str, dict[str, int]]]:
    rows = []
    for level in STDLIB:
        source = (f"policy web extends {level} {{}}\n"
                  "bind web to service accounts in namespace web\n")
        build = compile_texts({"policies.pspc": source}, Options(targets=TARGETS),
                              Diagnostics())
        rows.append((f"web extends {level}", target_sizes(build.outputs())))
    return rows


def example_rows() -> list[tuple[str, dict[str, int]]]:
    rows = []
    for example in sorted(p for p in (REPO / "examples").iterdir() if p.is_dir()):
        build = compile([str(example.relative_to(REPO))], Options(label=example.name))
        outputs = build.outputs()
        count = len(build.program.policies) if build.program else 0
        if not build.profiles:
            rows.append((f"{example.name} ({count} policies)", target_sizes(outputs)))
        for profile in build.profiles:
            rows.append((f"{example.name}/{profile.name} ({count} policies)",
                         target_sizes(outputs, profile.name + "/")))
    return rows


def main() -> None:
    rows = stdlib_rows() + example_rows()
    width = max(len(name) for name, _ in rows)
    print(f"{'policies':<{width}}  " + "  ".join(f"{t:>13}" for t in COLUMNS))
    for name, sizes in rows:
        print(f"{name:<{width}}  " + "  ".join(
            f"{sizes[t] / 1024:>10.1f} KB" if sizes[t] else f"{'-':>13}" for t in COLUMNS))


if __name__ == "__main__":
    import os

    os.chdir(REPO)  # example paths in headers are relative to the repository
    main()
