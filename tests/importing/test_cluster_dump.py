"""Import of a cluster dump recovers the bindings the examples declare.

The dump is what `kubectl get psp,clusterrole,role,clusterrolebinding,rolebinding -A -o
yaml` prints for a cluster where an example's outputs were applied: one `kind: List`, the
objects with the API server's bookkeeping (uid, resourceVersion, managedFields, kubectl's
last-applied annotation), plus the default cluster-admin RBAC, whose `*` rules give every
policy to system:masters.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES, OUTPUTS, example_dirs

from pspc.diagnostics import Diagnostics
from pspc.engines.psp import BOOTSTRAP_RBAC
from pspc.importing.command import import_command
from pspc.model import ir
from pspc.model.resolve import compile_files
from pspc.syntax.parser import parse_text

# The bootstrap RBAC `pspc eval` assumes, plus more of a real cluster's wildcard roles.
CLUSTER_ADMIN = [
    *BOOTSTRAP_RBAC,
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "system:controller:clusterrole-aggregation-controller"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "system:controller:clusterrole-aggregation-controller"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "system:controller:clusterrole-aggregation-controller"},
     "subjects": [{"kind": "ServiceAccount", "name": "clusterrole-aggregation-controller",
                   "namespace": "kube-system"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "view"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
]
WILDCARD_SUBJECTS = (ir.Subject("Group", "system:masters"),
                     ir.Subject("ServiceAccount", "clusterrole-aggregation-controller",
                                "kube-system"))


def _as_served(obj: dict, number: int) -> dict:
    """The object as the API server returns it: bookkeeping metadata added."""
    obj = json.loads(json.dumps(obj))
    metadata = obj["metadata"]
    metadata.setdefault("annotations", {})[
        "kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(obj) + "\n"
    metadata.update(uid=f"00000000-0000-0000-0000-{number:012d}", resourceVersion=str(number),
                    creationTimestamp="2024-05-01T10:00:00Z",
                    managedFields=[{"manager": "kubectl", "operation": "Apply"}])
    if obj["kind"] == "PodSecurityPolicy":
        metadata["generation"] = 1
    return obj


def dump(example: str) -> str:
    """The cluster dump, `kind: List`, kubectl's order: psp, clusterrole, role, bindings."""
    paths = sorted((OUTPUTS / example).glob("**/psp/*.yaml")) + sorted(
        (OUTPUTS / example).glob("**/rbac/*.yaml"))
    objects = [doc for path in paths for doc in yaml.safe_load_all(path.read_text())]
    objects += CLUSTER_ADMIN
    order = ("PodSecurityPolicy", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
    objects = [o for o in objects if o["kind"] in order]
    objects.sort(key=lambda o: (order.index(o["kind"]), o["metadata"].get("namespace", ""),
                                o["metadata"]["name"]))
    items = [_as_served(o, i) for i, o in enumerate(objects)]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items,
                           "metadata": {"resourceVersion": ""}}, sort_keys=False)


def declared_bindings(example: str) -> dict[str, set[ir.Binding]]:
    diags = Diagnostics()
    files = [parse_text(p.read_text(), p.name, diags)
             for p in sorted((EXAMPLES / example).glob("*.pspc"))]
    program = compile_files(files, diags)
    return {p.name: set(p.bindings) for p in program.policies}


def imported_bindings(out) -> dict[str, set[ir.Binding]]:
    diags = Diagnostics()
    files = [parse_text(p.read_text(), p.name, diags) for p in sorted(out.glob("*.pspc"))]
    program = compile_files(files, diags)
    assert not diags.has_errors
    return {p.name: set(p.bindings) for p in program.policies}


@pytest.mark.parametrize("example", [p.name for p in example_dirs()])
def test_dump_import_recovers_the_examples_bindings(tmp_path, example):
    (tmp_path / "dump.yaml").write_text(dump(example))
    runner = CliRunner()
    result = runner.invoke(import_command, [str(tmp_path / "dump.yaml"), "-o",
                                            str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    declared = declared_bindings(example)
    assert imported_bindings(tmp_path / "out") == declared
    assert "warning[W203]" in result.output and "cluster-admin" in result.output

    result = runner.invoke(import_command, [str(tmp_path / "dump.yaml"), "-o",
                                            str(tmp_path / "all"),
                                            "--include-wildcard-bindings"])
    assert result.exit_code == 0, result.output
    wildcard = {ir.Binding(s, None) for s in WILDCARD_SUBJECTS}
    assert imported_bindings(tmp_path / "all") == {
        name: bindings | wildcard for name, bindings in declared.items()}
    for path in (tmp_path / "all").glob("*.pspc"):
        assert "#   ClusterRoleBinding cluster-admin -> ClusterRole cluster-admin\n" in \
            path.read_text()


def test_a_folder_of_outputs_imports_like_the_dump(tmp_path):
    example = OUTPUTS / "seed-004-shared-nfs"
    result = CliRunner().invoke(import_command, [
        str(example / "psp"), str(example / "rbac"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert imported_bindings(tmp_path / "out") == declared_bindings(example.name)
    assert "warning[W201]" in result.output  # psp/kustomization.yaml is skipped, named
    assert "Kustomization" in result.output


def test_a_json_dump_imports_like_the_yaml_one(tmp_path):
    example = "seed-001-psp-by-example"
    (tmp_path / "dump.json").write_text(json.dumps(yaml.safe_load(dump(example)), indent=2))
    result = CliRunner().invoke(import_command, [str(tmp_path / "dump.json"), "-o",
                                                 str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert imported_bindings(tmp_path / "out") == declared_bindings(example)


def test_the_command_registers_on_a_group(tmp_path):
    import click

    @click.group()
    def cli() -> None:
        """A stand-in for pspc's group."""

    cli.add_command(import_command)
    assert import_command.name == "import"
    result = CliRunner().invoke(cli, ["import", "--help"])
    assert result.exit_code == 0
    assert "--include-wildcard-bindings" in result.output and "-o, --output" in result.output
    (tmp_path / "dump.yaml").write_text(dump("seed-000-metakube"))
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "dump.yaml"), "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "psp-restricted.pspc").is_file()
