"""Objects too large to apply: the cluster-wide outputs hold every policy in one object.

The validating targets carry PodSecurityPolicy's selection rule, which needs every policy at
once, so a ValidatingAdmissionPolicy, a Kyverno ClusterPolicy or a Gatekeeper constraint
grows with the policies. Two limits of a stock cluster bite first, and a build says so
(W310) rather than leave it to `kubectl apply` to fail:

* client-side `kubectl apply` (kustomize's `kubectl apply -k` included) stores the whole
  object in its `kubectl.kubernetes.io/last-applied-configuration` annotation, and an
  object's annotations hold 256 KiB at most (apimachinery's TotalAnnotationSizeLimitB);
  `kubectl apply --server-side` keeps no such copy;
* etcd refuses a request over 1.5 MiB unless its `--max-request-bytes` is raised.

An object's size is that of its compact JSON, as the API server receives and stores it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pspc.targets import target

if TYPE_CHECKING:
    from pspc.compiler import Build

ANNOTATIONS_LIMIT = 256 * 1024
ETCD_LIMIT = 3 * 512 * 1024


def _size(document: dict) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def report_object_sizes(build: Build) -> None:
    """W310 for each object of the build's manifests that a stock cluster cannot take, at
    the profile that builds it (no source line asks for the size of all policies)."""
    profile = build.profile
    folder, span = (f"{profile.name}/", profile.span) if profile else ("", None)
    for name in build.options.targets:
        if not target(name).manifests:
            continue
        for file in build.files(name):
            for document in file.documents:
                size = _size(document)
                if size <= ANNOTATIONS_LIMIT:
                    continue
                what = (f"{folder}{file.path}: {document['kind']}/"
                        f"{document['metadata']['name']} is {size:,} bytes")
                if size > ETCD_LIMIT:
                    build.diagnostics.warning(
                        "W310", f"{what}; etcd refuses requests over 1,572,864 (1.5 MiB) "
                        "unless its --max-request-bytes is raised, and client-side `kubectl "
                        "apply` objects over 262,144 (256 KiB)", span,
                        help="raise etcd's --max-request-bytes and apply with `kubectl apply "
                        "--server-side`, or build fewer policies into one cluster")
                else:
                    build.diagnostics.warning(
                        "W310", f"{what}; client-side `kubectl apply` copies an object into "
                        "an annotation, and annotations hold 262,144 (256 KiB) at most", span,
                        help="apply it with `kubectl apply --server-side`")
