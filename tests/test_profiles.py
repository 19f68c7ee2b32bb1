"""Cluster profiles (pspc.toml): discovery, --config and --profile, located errors, the rollout
mode of every target, what each Kubernetes version serves, and the per-profile warning that
replaces E303; every golden profile folder validates against its own Kubernetes version and
renders with a real `kubectl kustomize`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, OUTPUTS, run
from k8s_schemas import validate_at, validate_v124

from pspc import config as pspc_config
from pspc.compiler import Options, compile
from pspc.diagnostics import Diagnostics

POLICY = """\
policy web extends restricted {}
bind web to service accounts in namespace shop
"""
FLEET = EXAMPLES / "profiles-fleet"
FLEET_OUT = OUTPUTS / "profiles-fleet"


def repo(tmp_path: Path, toml: str | None, policy: str = POLICY) -> Path:
    """A repository (with .git) holding policies/web.pspc and, when given, pspc.toml."""
    (tmp_path / ".git").mkdir(parents=True)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "web.pspc").write_text(policy)
    if toml is not None:
        (tmp_path / "pspc.toml").write_text(toml)
    return tmp_path


def diagnostics(tmp_path: Path, toml: str) -> list[dict]:
    """pspc check's diagnostics, run in the repository (files named relative to it)."""
    import os

    root = repo(tmp_path, toml)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = run("check", "policies", "--format", "json")
    finally:
        os.chdir(cwd)
    return json.loads(result.output)["diagnostics"]


def codes(found: list[dict]) -> list[str]:
    return [d["code"] for d in found]


# -- discovery, --config, --profile -----------------------------------------------------------


def test_config_is_found_upward_to_the_repository_root(tmp_path):
    root = repo(tmp_path / "r", '[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap"]\n')
    assert pspc_config.find([str(root / "policies")]) == root / "pspc.toml"
    assert pspc_config.find([str(root / "policies" / "web.pspc")]) == root / "pspc.toml"
    # above the repository root is not looked at
    inner = repo(tmp_path / "r2" / "inner", None)
    (tmp_path / "r2" / "pspc.toml").write_text("garbage")
    assert pspc_config.find([str(inner / "policies")]) is None


def test_build_writes_one_folder_per_profile_and_profile_picks_one(tmp_path):
    root = repo(tmp_path, '[profiles.old]\nkubernetes = "1.24"\nenforce = ["psp", "psa"]\n'
                '[profiles.new]\nkubernetes = "1.33"\nenforce = ["vap", "psa"]\nci = []\n')
    out = tmp_path / "out"
    result = run("build", str(root / "policies"), "-o", str(out))
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "old/psp/web.yaml" in files and "old/rbac/web.yaml" in files
    assert "new/vap/pspc.yaml" in files and "new/psa/namespaces.yaml" in files
    assert "old/migration.md" in files and "new/migration.md" not in files  # ci = []
    assert not any(f.startswith("new/psp") or f.startswith("old/vap") for f in files)
    assert "kustomization.yaml" not in files  # no kustomization mixing the two clusters
    only = tmp_path / "only"
    result = run("build", str(root / "policies"), "-o", str(only), "--profile", "new")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in only.iterdir() if p.is_dir()) == ["new"]


def test_one_profile_updates_only_its_folder(tmp_path):
    """Per-cluster CI jobs share one OUTPUT: `--profile` neither deletes nor reports the
    other profiles' files, and a profile that builds none of the targets asked for is an
    error, not an empty folder."""
    root = repo(tmp_path, '[profiles.old]\nkubernetes = "1.24"\nenforce = ["psp", "psa"]\n'
                '[profiles.new]\nkubernetes = "1.33"\nenforce = ["vap", "psa"]\n')
    out = tmp_path / "out"
    assert run("build", str(root / "policies"), "-o", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for extra in ([], ["--check"]):
        result = run("build", str(root / "policies"), "-o", str(out), "--profile", "new", *extra)
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    (root / "policies" / "web.pspc").write_text(POLICY.replace("restricted", "baseline"))
    result = run("build", str(root / "policies"), "-o", str(out), "--profile", "new")
    assert result.exit_code == 0 and "0 deleted" in result.output, result.output
    old_psp = out / "old" / "psp" / "web.yaml"
    assert old_psp.read_bytes() == before[old_psp]
    listed = (out / ".pspc-manifest").read_text()
    assert "old/psp/web.yaml" in listed and "new/vap/pspc.yaml" in listed
    empty = run("build", str(root / "policies"), "-o", str(out), "--profile", "new",
                "--target", "psp")
    assert empty.exit_code == 2 and "builds none of the targets" in empty.output
    assert (out / "new" / "vap" / "pspc.yaml").is_file()


def test_explicit_config_and_usage_errors(tmp_path):
    root = repo(tmp_path, None)
    other = tmp_path / "elsewhere.toml"
    other.write_text('[profiles.x]\nkubernetes = "1.30"\nenforce = ["psa"]\n')
    out = tmp_path / "out"
    result = run("build", str(root / "policies"), "-o", str(out), "--config", str(other))
    assert result.exit_code == 0, result.output
    assert (out / "x" / "psa" / "namespaces.yaml").is_file()
    assert run("build", str(root / "policies"), "--profile", "x").exit_code == 2  # no config
    bad = run("build", str(root / "policies"), "--config", str(other), "--profile", "y")
    assert bad.exit_code == 2 and "declares x" in bad.output
    assert run("check", str(root / "policies"), "--config", str(tmp_path / "no.toml")
               ).exit_code == 2


def test_check_reports_what_build_reports(tmp_path):
    root = repo(tmp_path, '[profiles.old]\nkubernetes = "1.24"\nenforce = ["psp"]\n')
    check = run("check", str(root / "policies"))
    build = run("build", str(root / "policies"), "-o", str(tmp_path / "out"))
    assert check.exit_code == build.exit_code == 0
    assert "warning[W304]" in check.output
    assert check.output.strip() in build.output


def test_w304_in_warn_mode_says_the_mode_not_to_build_more(tmp_path):
    found = [d for d in diagnostics(tmp_path, '[profiles.p]\nkubernetes = "1.24"\n'
                                    'enforce = ["psp", "gatekeeper"]\nmode = "warn"\n')
             if d["code"] == "W304"]
    assert found, "the level is enforced by nothing: gatekeeper only warns"
    assert all("(gatekeeper only warn in its warn mode)" in d["message"] and
               'mode = "deny"' in d["help"] for d in found)


# -- located errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "code", "line", "column", "words"), [
    ('[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap"]\nmdoe = "warn"\n',
     "E051", 4, 1, "unknown key `mdoe`"),
    ('[profile.a]\nkubernetes = "1.33"\n', "E051", 1, 1, "unknown key `profile`"),
    ('[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap", "kyvreno"]\n',
     "E053", 3, 19, "unknown target `kyvreno`"),
    ('[profiles.a]\nkubernetes = "1.33"\nenforce = ["rego"]\n', "E053", 3, 12, "belongs in ci"),
    ('[profiles.a]\nkubernetes = 1.30\nenforce = ["vap"]\n', "E052", 2, 14,
     "as a string (TOML reads 1.30 as the number 1.3)"),
    ('[profiles.a]\nkubernetes = 1.31  # prod\nenforce = ["vap"]\n', "E052", 2, 14,
     "as a string (TOML reads 1.31 as the number 1.31)"),
    ('[profiles.a]\nkubernetes = "1.99"\nenforce = ["vap"]\n', "E052", 2, 14, "1.19 to 1.37"),
    ('[profiles.a]\nkubernetes = "one"\nenforce = ["vap"]\n', "E052", 2, 14, "not a Kubernetes"),
    ('[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap"]\nmode = "loud"\n',
     "E052", 4, 8, "unknown mode"),
    ('[profiles.a]\nenforce = ["vap"]\n', "E052", 1, 1, "Kubernetes version"),
    ('[profiles.A_b]\nkubernetes = "1.33"\nenforce = ["vap"]\n', "E052", 1, 1, "DNS label"),
    ('[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap"\n', "E050", 4, 1, "invalid TOML"),
    ('[profiles.legacy]\nkubernetes = "1.33"\nenforce = ["psp"]\n',
     "E054", 3, 12, "profile `legacy` enforces psp, but Kubernetes 1.33 has no "
     "PodSecurityPolicy"),
    ('[profiles.old]\nkubernetes = "1.27"\nenforce = ["psa", "vap"]\n',
     "E054", 3, 19, "profile `old` enforces vap"),
    ('[profiles.old]\nkubernetes = "1.22"\nenforce = ["psa"]\n',
     "E054", 3, 12, "no Pod Security Admission"),
])
def test_config_errors_are_located(tmp_path, toml, code, line, column, words):
    errors = [d for d in diagnostics(tmp_path, toml) if d["severity"] == "error"]
    found = [d for d in errors if d["code"] == code]
    assert len(found) == 1 and len(errors) <= 2, errors
    assert (found[0]["file"], found[0]["line"], found[0]["column"]) == ("pspc.toml", line, column)
    assert words in found[0]["message"]


def test_config_errors_render_with_their_line(tmp_path, monkeypatch):
    root = repo(tmp_path, '[profiles.a]\nkubernetes = "1.33"\nenforce = ["vap", "kyvreno"]\n')
    monkeypatch.chdir(root)
    result = run("build", "policies", "-o", "out")
    assert result.exit_code == 1
    assert "pspc.toml:3:19: error[E053] profile `a`: unknown target `kyvreno` in enforce" \
        in result.output
    assert '3 | enforce = ["vap", "kyvreno"]' in result.output
    assert "did you mean `kyverno`?" in result.output
    assert not (root / "out").exists()


# -- what each version serves, and the rollout mode -------------------------------------------


def _build(tmp_path: Path, toml: str, policy: str = POLICY) -> dict[str, list[dict]]:
    root = repo(tmp_path, toml, policy)
    build = compile([str(root / "policies")], Options())
    assert build.ok, build.diagnostics.rendered()
    return {path: list(yaml.safe_load_all(data)) for path, data in build.outputs().items()
            if path.endswith(".yaml")}


@pytest.mark.parametrize(("mode", "vap", "gatekeeper", "kyverno", "psa"), [
    ("deny", ["Deny"], "deny", "Enforce", ["enforce", "audit", "warn"]),
    ("warn", ["Warn", "Audit"], "warn", "Audit", ["audit", "warn"]),
    ("audit", ["Audit"], "dryrun", "Audit", ["audit"]),
])
def test_rollout_mode_per_target(tmp_path, mode, vap, gatekeeper, kyverno, psa):
    files = _build(tmp_path, f'[profiles.c]\nkubernetes = "1.33"\nmode = "{mode}"\n'
                   'enforce = ["gatekeeper", "vap", "kyverno", "psa"]\n')
    binding = files["c/vap/pspc.yaml"][1]
    assert binding["spec"]["validationActions"] == vap
    assert files["c/gatekeeper/constraints/pspc.yaml"][0]["spec"]["enforcementAction"] == gatekeeper
    policy = files["c/kyverno/pspc.yaml"][0]
    assert policy["spec"]["rules"][0]["validate"]["failureAction"] == kyverno
    assert "validationFailureAction" not in policy["spec"]  # deprecated by Kyverno 1.13
    labels = files["c/psa/namespaces.yaml"][0]["metadata"]["labels"]
    prefix = "pod-security.kubernetes.io/"
    assert [k[len(prefix):] for k in labels if not k.endswith("-version")] == psa
    assert set(labels[prefix + m] for m in psa) == {"restricted"}  # the level enforce would have
    template = files["c/gatekeeper/templates/pspc.yaml"][0]
    assert template["spec"]["targets"][0]["code"][0]["source"]["generateVAP"] is False


def test_each_version_gets_the_apis_it_serves(tmp_path):
    policy = POLICY + "namespace shop version v1.31\n"
    files = _build(tmp_path, '[profiles.old]\nkubernetes = "1.24"\nenforce = ["psp", "psa", '
                   '"gatekeeper"]\n[profiles.beta]\nkubernetes = "1.28"\nenforce = ["vap"]\n'
                   '[profiles.new]\nkubernetes = "1.30"\nenforce = ["vap", "gatekeeper", '
                   '"kyverno"]\n', policy)
    assert files["beta/vap/pspc.yaml"][0]["apiVersion"] == "admissionregistration.k8s.io/v1beta1"
    assert files["new/vap/pspc.yaml"][1]["apiVersion"] == "admissionregistration.k8s.io/v1"
    labels = files["old/psa/namespaces.yaml"][0]["metadata"]["labels"]
    assert {v for k, v in labels.items() if k.endswith("-version")} == {"v1.24"}
    assert "appArmorProfile" not in files["old/helm/web.values.yaml"][0]["securityContext"]
    assert "appArmorProfile" in files["new/helm/web.values.yaml"][0]["securityContext"]
    # gatekeeper beside vap/ does not generate duplicates; on 1.24 there is no VAP to generate
    for name in ("old", "new"):
        source = files[f"{name}/gatekeeper/templates/pspc.yaml"][0]["spec"]["targets"][0]
        assert source["code"][0]["source"]["generateVAP"] is False
    constraint = files["new/gatekeeper/constraints/pspc.yaml"][0]["metadata"]["annotations"]
    assert constraint["argocd.argoproj.io/sync-wave"] == "1"
    assert files["new/gatekeeper/kustomization.yaml"][0]["resources"] == ["templates",
                                                                          "constraints"]
    # 1.28+: Kyverno 1.13+, where the failure action belongs to the rule
    assert files["new/kyverno/pspc.yaml"][0]["spec"]["rules"][0]["validate"]["failureAction"] \
        == "Enforce"


def test_version_warnings(tmp_path):
    policy = POLICY + "namespace shop version v1.31\n"
    root = repo(tmp_path, '[profiles.beta]\nkubernetes = "1.29"\nenforce = ["vap", "psa"]\n'
                '[profiles.old]\nkubernetes = "1.24"\nenforce = ["psp", "kyverno", "psa"]\n'
                'mode = "warn"\n', policy)
    found = json.loads(run("check", str(root / "policies"), "--format", "json").output)
    by_code = {d["code"]: d for d in found["diagnostics"]}
    assert found["errors"] == 0
    assert "v1beta1" in by_code["W401"]["message"] or "Kyverno" in by_code["W401"]["message"]
    assert {d["message"].split(":")[0] for d in found["diagnostics"] if d["code"] == "W401"} \
        == {"profile `beta` enforces vap on Kubernetes 1.29", "profile `old` enforces kyverno on "
            "Kubernetes 1.24"}
    assert by_code["W402"]["line"] == 3 and "pin v1.24" in by_code["W402"]["message"]
    assert by_code["W403"]["file"].endswith("restricted.pspc")
    assert by_code["W404"]["file"] == "pspc.toml" or by_code["W404"]["file"].endswith("pspc.toml")


def test_mutating_targets_have_no_rollout_mode_and_a_cluster_runs_one(tmp_path):
    root = repo(tmp_path, '[profiles.prod]\nkubernetes = "1.36"\n'
                'enforce = ["vap", "map", "kyverno-mutation"]\nmode = "warn"\n')
    found = json.loads(run("check", str(root / "policies"), "--format", "json").output)
    by_code = {d["code"]: d for d in found["diagnostics"]}
    assert "map, kyverno-mutation have no such mode" in by_code["W404"]["message"]
    assert by_code["W405"]["message"].startswith("profile `prod` enforces map, kyverno-mutation")
    assert by_code["W405"]["line"] == 3


# -- an intent beyond PSP: a warning for one profile, not a failed build ----------------------


BEYOND_PSP = ("policy web extends restricted {\n  require explicit non-root\n}\n"
              "bind web to service accounts in namespace shop\n")


def test_a_profile_whose_gatekeeper_enforces_what_psp_cannot_says_so(tmp_path):
    root = repo(tmp_path, '[profiles.legacy]\nkubernetes = "1.24"\n'
                'enforce = ["psp", "gatekeeper"]\n', BEYOND_PSP)
    result = run("build", str(root / "policies"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (line,) = [w for w in result.output.splitlines() if "W303" in w]
    assert line.endswith("; gatekeeper does") and "no target" not in line, line


def test_psp_only_profile_warns_where_a_build_without_profiles_fails(tmp_path):
    root = repo(tmp_path, '[profiles.legacy]\nkubernetes = "1.24"\nenforce = ["psp"]\n'
                '[profiles.prod]\nkubernetes = "1.33"\nenforce = ["vap"]\n', BEYOND_PSP)
    result = run("build", str(root / "policies"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "warning[W305] profile `legacy`: policy `web`: the PodSecurityPolicy cannot " \
           "enforce" in result.output
    assert "note: profile `legacy` (Kubernetes 1.24, enforce psp) is declared here " \
           "(pspc.toml:1:1)" in result.output.replace(str(root) + "/", "")
    assert "W305] profile `prod`" not in result.output
    # the same sources without the config, PSP only: E303 fails the build
    (root / "pspc.toml").unlink()
    result = run("build", str(root / "policies"), "-o", str(tmp_path / "out2"), "--target", "psp")
    assert result.exit_code == 1 and "error[E303]" in result.output


# -- without a config: one kustomization per deployable unit ---------------------------------


def test_without_config_each_unit_has_its_own_kustomization(tmp_path):
    root = repo(tmp_path, None)
    build = compile([str(root / "policies")], Options())
    files = build.outputs()
    kustomizations = sorted(p for p in files if p.endswith("kustomization.yaml"))
    assert kustomizations == [
        "gatekeeper/constraints/kustomization.yaml", "gatekeeper/kustomization.yaml",
        "gatekeeper/templates/kustomization.yaml", "kyverno/kustomization.yaml",
        "psa/kustomization.yaml", "psp/kustomization.yaml", "rbac/kustomization.yaml",
        "vap/kustomization.yaml"]
    assert yaml.safe_load(files["psp/kustomization.yaml"])["resources"] == ["web.yaml", "../rbac"]


# -- the golden profiles apply cleanly on their versions --------------------------------------


def _profiles() -> list[tuple[str, str]]:
    diags = Diagnostics()
    loaded = pspc_config.load(FLEET / "pspc.toml", diags)
    assert loaded is not None, diags.rendered()
    return [(p.name, p.version) for p in loaded.profiles]


CUSTOM = ("templates.gatekeeper.sh/", "constraints.gatekeeper.sh/", "kyverno.io/")


def _profile_documents(name: str) -> tuple[list[dict], list[str]]:
    """The profile folder's manifests the Kubernetes schemas know (custom resources are
    skipped: tests/test_schemas.py checks their shape), plus a Pod per Helm values file."""
    documents, skipped = [], []
    for path in sorted((FLEET_OUT / name).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if path.name == "kustomization.yaml":
                continue
            if path.parent.name == "helm":
                documents.append({"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": path.name.split(".")[0]},
                                  "spec": {"securityContext": doc["podSecurityContext"],
                                           "containers": [{"name": "app", "image": "nginx",
                                                           "securityContext":
                                                           doc["securityContext"]}]}})
            elif doc["apiVersion"].startswith(CUSTOM):
                skipped.append(doc["kind"])
            else:
                documents.append(doc)
    return documents, skipped


@pytest.mark.parametrize(("name", "version"), _profiles())
def test_every_profile_manifest_validates_against_its_kubernetes_version(name, version):
    documents, skipped = _profile_documents(name)
    assert documents
    problems = validate_v124(documents) if version == "1.24" else validate_at(documents, version)
    assert problems == []
    if skipped:  # Gatekeeper and Kyverno custom resources are not in the Kubernetes schemas
        kinds = ", ".join(sorted(set(skipped)))
        print(f"{name}: skipped {len(skipped)} custom resources ({kinds})")


def test_a_psp_fails_validation_on_a_current_version():
    documents, _ = _profile_documents("legacy")
    psp = [d for d in documents if d["kind"] == "PodSecurityPolicy"]
    assert psp and validate_at(psp, "1.33") != []


def _kustomize_roots(name: str) -> list[Path]:
    return sorted(p.parent for p in (FLEET_OUT / name).rglob("kustomization.yaml"))


@pytest.mark.parametrize(("name", "version"), _profiles())
def test_every_profile_kustomization_renders_with_kubectl(name, version, tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (Debian: apt-get install kubernetes-client); "
                    "`kubectl kustomize` renders the profile folders")
    for root in _kustomize_roots(name):
        result = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, f"{root}: {result.stderr}"
        assert list(yaml.safe_load_all(result.stdout))
    top = subprocess.run([kubectl, "kustomize", str(FLEET_OUT / name)], capture_output=True,
                         text=True, timeout=120, check=True)
    kinds = {d["kind"] for d in yaml.safe_load_all(top.stdout)}
    if version == "1.24":
        assert "PodSecurityPolicy" in kinds and "ValidatingAdmissionPolicy" not in kinds
    else:
        assert "PodSecurityPolicy" not in kinds and "ValidatingAdmissionPolicy" in kinds


def test_every_unit_kustomization_without_config_renders_with_kubectl():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (Debian: apt-get install kubernetes-client); "
                    "`kubectl kustomize` renders the unit folders")
    roots = sorted(p.parent for p in (OUTPUTS / "seed-004-shared-nfs").rglob("kustomization.yaml"))
    assert len(roots) == 8
    for root in roots:
        result = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, f"{root}: {result.stderr}"
        kinds = {d["kind"] for d in yaml.safe_load_all(result.stdout)}
        assert not ({"PodSecurityPolicy", "ValidatingAdmissionPolicy"} <= kinds)


def test_a_profiles_report_has_the_targets_it_builds():
    build = compile([str(FLEET)], Options())
    outputs = build.outputs()
    for profile in build.profiles:
        chosen = set(build.for_profile(profile).options.targets)
        report = json.loads(outputs[f"{profile.name}/report.json"])
        declared = {name for item in report["policies"] for name in item["targets"]}
        assert declared and declared <= chosen, (profile.name, declared - chosen)


WIDE = """\
policy apps extends restricted {}
policy cni extends privileged {}
bind apps to service accounts in namespace shop
bind apps to service accounts in namespace payments
bind cni to group system:nodes
bind cni to service accounts in namespace kube-system
"""


def test_a_cluster_wide_binding_that_lowers_namespaces_levels_is_named(tmp_path):
    (tmp_path / "p.pspc").write_text(WIDE)
    build = compile([str(tmp_path)], Options())
    (found,) = [d for d in build.diagnostics.items if d.code == "W311"]
    assert found.message.startswith("policy `cni` is bound cluster-wide (to group system:nodes)")
    assert "labels 2 namespaces privileged" in found.message
    assert found.message.endswith("payments (restricted), shop (restricted)")
    assert (found.span.line, found.span.column) == (5, 13)
    labels = {f.name: f.enforce for f in build.analysis.namespace_levels()}
    assert labels == {"kube-system": "privileged", "payments": "privileged",
                      "shop": "privileged"}  # PSP's semantics: the labels are right
    (tmp_path / "p.pspc").write_text(WIDE.replace("to group system:nodes",
                                                  "to group system:nodes in namespace kube-system"))
    build = compile([str(tmp_path)], Options())
    assert not [d for d in build.diagnostics.items if d.code == "W311"]
