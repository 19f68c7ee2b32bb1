"""YAML that Kubernetes accepts is accepted: go-yaml (sigs.k8s.io/yaml) allows tabs as
separators after `:` and before comments, where PyYAML alone refuses them."""

from __future__ import annotations

import re

from click.testing import CliRunner
from conftest import REPO

from pspc.cli import main
from pspc.diagnostics import Diagnostics
from pspc.manifests import parse_manifests

NFS_PSP = REPO / "tests" / "fixtures" / "imports" / "seed-004-shared-nfs.yaml"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web\t# the name
  namespace: default
spec:
  containers:
  - name:\tweb
    image: nginx\t# comment
    args: ["a\\tb", 'c\td']\t\t
    command:\t[sh,\t-c]
    securityContext: {runAsNonRoot:\ttrue}
"""


def _tabbed(text: str) -> str:
    """Every `key: value` separated by a tab and followed by a tab-separated comment."""
    return re.sub(r"^(\s*(?:- )?[\w.-]+):( .+)$",
                  lambda m: f"{m[1]}:\t{m[2][1:]}\t# note", text, flags=re.M)


def test_tab_separators_read_as_spaces():
    diags = Diagnostics()
    [pod] = parse_manifests(POD, "pod.yaml", diags)
    assert not diags.items
    container = pod.object["spec"]["containers"][0]
    assert pod.object["metadata"]["name"] == "web"
    assert container == {"name": "web", "image": "nginx", "args": ["a\tb", "c\td"],
                         "command": ["sh", "-c"], "securityContext": {"runAsNonRoot": True}}


def test_tabs_in_indentation_are_still_a_located_error():
    diags = Diagnostics()
    assert parse_manifests("kind: Pod\nspec:\n\tcontainers: []\n", "pod.yaml", diags) == []
    [error] = diags.items
    assert (error.code, error.span.line, error.span.column) == ("E030", 3, 1)


def test_eval_reads_tabbed_pods(tmp_path):
    plain, tabbed = tmp_path / "plain.yaml", tmp_path / "tabbed.yaml"
    plain.write_text(POD.replace("\t#", " #").replace("\t", " ").replace("a\\ b", "a\\tb"))
    tabbed.write_text(_tabbed(POD))
    results = [CliRunner().invoke(main, ["eval", "-f", str(f), "--format", "json"])
               for f in (plain, tabbed)]
    assert results[1].exit_code == results[0].exit_code, results[1].output
    assert "E030" not in results[1].output
    assert results[1].output.replace("tabbed.yaml", "plain.yaml") == results[0].output


def test_import_reads_tabbed_psps(tmp_path):
    source = NFS_PSP.read_text()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "psp.yaml").write_text(source)
    (tmp_path / "b" / "psp.yaml").write_text(_tabbed(source))
    assert "\t" in _tabbed(source)
    trees = []
    for name in ("a", "b"):
        result = CliRunner().invoke(main, ["import", str(tmp_path / name / "psp.yaml"),
                                           "-o", str(tmp_path / f"out-{name}")])
        assert result.exit_code == 0, result.output
        trees.append({p.name: p.read_text().replace(f"/{name}/", "/") for p in
                      sorted((tmp_path / f"out-{name}").iterdir())})
    assert trees[0] == trees[1]
