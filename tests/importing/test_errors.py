"""Bad input to `pspc import`: a clear error with the file, line, column and document
index, exit code 1, and nothing written. Usage errors exit with 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pspc import manifests
from pspc.importing.command import import_command

PSP = """\
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: {name}
spec:
  runAsUser: {{rule: RunAsAny}}
  seLinux: {{rule: RunAsAny}}
  supplementalGroups: {{rule: RunAsAny}}
  fsGroup: {{rule: RunAsAny}}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run in tmp_path, so that messages name files as `in.yaml`."""
    monkeypatch.chdir(tmp_path)


def run(tmp_path, content: str | bytes, *options: str, name: str = "in.yaml"):
    """Import one file (written into tmp_path) into tmp_path/out."""
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(import_command, [name, "-o", "out", *options])
    return result, out


def failed(tmp_path, content: str | bytes, name: str = "in.yaml") -> str:
    result, out = run(tmp_path, content, name=name)
    assert result.exit_code == 1, result.output
    assert not out.exists(), "nothing may be written on an error"
    assert "nothing written: fix the errors above" in result.output
    return result.output


def test_not_yaml(tmp_path):
    output = failed(tmp_path, "apiVersion: v1\nkind: [PodSecurityPolicy\nmetadata: {}\n")
    assert "in.yaml:3:9: error[E030] invalid YAML:" in output


def test_prose_is_not_an_object(tmp_path):
    output = failed(tmp_path, "This file is a README, not a manifest.\n")
    assert "in.yaml:1:1: error[E030] document 0 is a str, not a Kubernetes object" in output


def test_not_utf8(tmp_path):
    output = failed(tmp_path, b"kind: PodSecurityPolicy\nname: \xff\xfe\n")
    assert "in.yaml:1:1: error[E002] file is not valid UTF-8" in output


def test_no_podsecuritypolicy_at_all(tmp_path):
    output = failed(tmp_path, CONFIGMAP)
    assert "error[E041] no PodSecurityPolicy in the input" in output
    assert "in.yaml:1:1: warning[W201] skipped what is neither a PodSecurityPolicy nor RBAC: 1 " \
        "ConfigMap" in output


def test_an_empty_file_has_no_podsecuritypolicy(tmp_path):
    assert "error[E041]" in failed(tmp_path, "# nothing here\n")


def test_wrong_api_version(tmp_path):
    text = CONFIGMAP + "---\n" + PSP.format(name="p").replace("policy/v1beta1", "policy/v1")
    output = failed(tmp_path, text)
    assert ("in.yaml:6:13: error[E042] document 1 (PodSecurityPolicy p): apiVersion: "
            "unsupported apiVersion 'policy/v1' for a PodSecurityPolicy") in output


@pytest.mark.parametrize(("line", "replacement", "where", "message"), [
    ("  runAsUser: {rule: RunAsAny}", "  runAsUser: RunAsAny", "6:14",
     "spec.runAsUser: must be a mapping, not a string 'RunAsAny'"),
    ("  seLinux: {rule: RunAsAny}", "  seLinux: {rule: Whatever}", "7:19",
     "spec.seLinux.rule: unsupported value 'Whatever': supported values are MustRunAs, "
     "RunAsAny"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  privileged: 'yes'", "10:15",
     "spec.privileged: must be true or false, not a string 'yes'"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  hostPorts: [{min: 1.5, max: "
     "2}]", "10:21", "spec.hostPorts[0].min: must be an integer, not a number 1.5"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  hostPorts: [{min: true, "
     "max: 2}]", "10:21", "spec.hostPorts[0].min: must be an integer, not a boolean True"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: MustRunAs, ranges: [{min: -1, max: 2}]}",
     "9:45", "spec.fsGroup.ranges[0].min: -1 cannot be negative"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: MustRunAs, ranges: [{min: 5, max: 2}]}",
     "9:45", "spec.fsGroup.ranges[0].min: min 5 is greater than max 2"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  volumes: secret", "10:12",
     "spec.volumes: must be a list, not a string 'secret'"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  volumes: [secret, 3]",
     "10:21", "spec.volumes[1]: must be a string, not an integer 3"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  hostnetwork: true", "10:3",
     "spec.hostnetwork: unknown field `hostnetwork`"),
    ("  fsGroup: {rule: RunAsAny}", "", "6:3", "spec.fsGroup: is required"),
    ("  fsGroup: {rule: RunAsAny}", "  fsGroup: {rule: RunAsAny}\n  privileged: true\n"
     "  privileged: false", "11:3", "spec.privileged: key written twice"),
    ("  name: p", "  name: P_1", "4:9", "metadata.name: 'P_1' is not a valid "
     "PodSecurityPolicy name"),
    ("  name: p", "  name: p\n  nickname: default", "5:3",
     "metadata.nickname: unknown field `nickname`"),
    ("  name: p", "  name: p\n  annotations: {a: 1}", "5:20",
     "metadata.annotations[a]: must be a string, not an integer 1"),
])
def test_wrong_field_types_name_document_field_and_line(tmp_path, line, replacement, where,
                                                        message):
    text = CONFIGMAP + "---\n" + PSP.format(name="p").replace(line, replacement)
    output = failed(tmp_path, text)
    row, column = map(int, where.split(":"))
    assert f"in.yaml:{row + 5}:{column}: error[E04" in output
    name = "P_1" if "P_1" in replacement else "p"
    assert f"document 1 (PodSecurityPolicy {name}): {message}" in output


def test_every_problem_of_a_document_is_reported_at_once(tmp_path):
    text = PSP.format(name="p") + "  privileged: 1\n  hostIPC: 'no'\n"
    output = failed(tmp_path, text)
    assert "spec.privileged: must be true or false" in output
    assert "spec.hostIPC: must be true or false" in output
    assert "2 errors, 0 warnings" in output


def test_duplicate_names(tmp_path):
    text = PSP.format(name="p") + "---\n" + CONFIGMAP + "---\n" + PSP.format(name="p")
    output = failed(tmp_path, text)
    assert ("in.yaml:16:1: error[E045] document 2 (PodSecurityPolicy p): PodSecurityPolicy p "
            "is defined twice") in output
    assert "note: first defined here (in.yaml:1:1)" in output


def test_duplicate_names_across_files_and_lists(tmp_path):
    (tmp_path / "a.yaml").write_text(PSP.format(name="p"))
    items = PSP.format(name="p").replace("\n", "\n    ")
    (tmp_path / "b.yaml").write_text(f"apiVersion: v1\nkind: List\nitems:\n  - {items}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(import_command, [str(tmp_path), "-o", str(out)])
    assert result.exit_code == 1
    assert "b.yaml:4:5: error[E045] document 0, item 0 (PodSecurityPolicy p)" in result.output
    assert not out.exists()


def test_alias_bomb(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    output = failed(tmp_path, PSP.format(name="p") + "---\n" + bomb)
    assert "in.yaml:12:8: error[E030] invalid YAML: YAML aliases are not accepted" in output


def test_deeply_nested_document(tmp_path):
    output = failed(tmp_path, "[" * 50000 + "]" * 50000 + "\n")
    assert "error[E030] invalid YAML" in output


def test_absurdly_large_file(tmp_path, monkeypatch):
    monkeypatch.setattr(manifests, "MAX_MANIFEST_BYTES", 4096)
    output = failed(tmp_path, PSP.format(name="p") + "#" * 5000 + "\n")
    assert "in.yaml:1:1: error[E002] file is larger than 4096 bytes" in output


def test_errors_in_several_documents_are_all_reported_and_nothing_is_written(tmp_path):
    text = (PSP.format(name="ok") + "---\n" + PSP.format(name="bad").replace(
        "{rule: RunAsAny}\n  seLinux", "{rule: Nope}\n  seLinux"))
    output = failed(tmp_path, text)
    assert "document 1 (PodSecurityPolicy bad): spec.runAsUser.rule" in output


def test_other_kinds_are_skipped_with_a_warning_counting_them(tmp_path):
    pod = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\n"
    namespace = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nstatus: {}\n"
    result, out = run(tmp_path, CONFIGMAP + "---\n" + PSP.format(name="p") + pod + namespace)
    assert result.exit_code == 0, result.output
    assert ("in.yaml:1:1: warning[W201] skipped what is neither a PodSecurityPolicy nor RBAC: "
            "1 ConfigMap") in result.output
    assert "1 Pod" not in result.output.split("imported")[0]  # a dump's pods: only counted
    assert "skipped 3 other objects: 1 ConfigMap, 1 Namespace, 1 Pod" in result.output
    assert (out / "p.pspc").is_file()


def test_an_object_without_kind_is_an_error(tmp_path):
    output = failed(tmp_path, PSP.format(name="p") + "---\nmetadata: {name: x}\n")
    assert "in.yaml:11:1: error[E043] document 1 (object x): kind: an object needs a kind" \
        in output


def test_bad_rbac_is_an_error_naming_its_field(tmp_path):
    rbac = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
            "rules:\n- verbs: use\n")
    output = failed(tmp_path, PSP.format(name="p") + "---\n" + rbac)
    assert ("in.yaml:15:10: error[E043] document 1 (ClusterRole r): rules[0].verbs: must be a "
            "list, not a string 'use'") in output


def test_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(import_command, [str(tmp_path / "nope.yaml"), "-o",
                                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_folder_without_yaml_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = CliRunner().invoke(import_command, [str(tmp_path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no YAML files" in result.output


def test_output_is_required(tmp_path):
    (tmp_path / "a.yaml").write_text(PSP.format(name="p"))
    result = CliRunner().invoke(import_command, [str(tmp_path / "a.yaml")])
    assert result.exit_code == 2


def test_an_output_that_cannot_be_written_is_a_usage_error(tmp_path):
    (tmp_path / "out").write_text("a file")
    result, _ = run(tmp_path, PSP.format(name="p"))
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_files_pspc_did_not_write_are_never_overwritten(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "p.pspc").write_text("# mine\n")
    result, out = run(tmp_path, PSP.format(name="p"))
    assert result.exit_code == 2
    assert "was not generated by pspc" in result.output
    assert (out / "p.pspc").read_text() == "# mine\n"
