"""W310: a cluster-wide object that a stock cluster cannot take as it is applied."""

from __future__ import annotations

import json

import pytest

from pspc.compiler import Options, compile_texts
from pspc.targets import object_sizes


def _policies(count: int) -> str:
    return "".join(
        f"policy p{i} extends restricted {{\n  run as user {1000 + i}..{2000 + i}\n"
        f"  allow host paths /data/{i} read-only\n}}\n"
        f"bind p{i} to service accounts in namespace team-{i}\n" for i in range(count))


def _w310(count: int, targets=("vap", "kyverno", "gatekeeper")) -> list[str]:
    build = compile_texts({"p.pspc": _policies(count)}, Options(targets))
    assert not build.diagnostics.has_errors
    return [d.message for d in build.diagnostics.items if d.code == "W310"]


def test_a_small_build_fits():
    assert _w310(2) == []


def test_an_object_over_256_kib_needs_server_side_apply():
    build = compile_texts({"p.pspc": _policies(60)}, Options(("vap",)))
    (document,) = [d for f in build.files("vap") for d in f.documents
                   if d["kind"] == "ValidatingAdmissionPolicy"]
    size = len(json.dumps(document, separators=(",", ":")))
    assert object_sizes.ANNOTATIONS_LIMIT < size < object_sizes.ETCD_LIMIT
    (message,) = [d.message for d in build.diagnostics.items if d.code == "W310"]
    assert message.startswith(
        f"vap/pspc.yaml: ValidatingAdmissionPolicy/pspc is {size:,} bytes; client-side")
    assert [d.help for d in build.diagnostics.items if d.code == "W310"] == [
        "apply it with `kubectl apply --server-side`"]


def test_an_object_over_etcds_limit_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(object_sizes, "ETCD_LIMIT", object_sizes.ANNOTATIONS_LIMIT)
    messages = _w310(60)
    assert {"vap/pspc.yaml", "kyverno/pspc.yaml"} <= {m.split(":")[0] for m in messages}
    assert all("etcd refuses requests over 1,572,864 (1.5 MiB)" in m for m in messages)


def test_a_profile_is_named_and_cited(tmp_path):
    (tmp_path / "p.pspc").write_text(_policies(60))
    (tmp_path / "pspc.toml").write_text(
        '[profiles.prod]\nkubernetes = "1.31"\nenforce = ["vap", "psa"]\n')
    from pspc.compiler import compile

    build = compile([str(tmp_path)], Options())
    (found,) = [d for d in build.diagnostics.items if d.code == "W310"]
    assert found.message.startswith("prod/vap/pspc.yaml: ValidatingAdmissionPolicy/pspc is ")
    assert found.span is not None and found.span.file.endswith("pspc.toml")
