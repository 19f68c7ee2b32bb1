"""The imported source is idiomatic: the closest stdlib policy plus the smallest diff."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO

from pspc.diagnostics import Diagnostics
from pspc.importing.idiom import base_intents, choose, diff
from pspc.model import ir
from pspc.model.resolve import compile_files
from pspc.syntax.parser import parse_text

from .helpers import build, import_ok, psp

SEED_PSPS = yaml.safe_load((REPO / "tests" / "fixtures" / "seed-psps.yaml").read_text())
STDLIB = {p.stem: p.read_text() for p in sorted((REPO / "stdlib").glob("*.pspc"))}


def stdlib_psp(name: str, **changes) -> dict:
    """The stdlib policy's PodSecurityPolicy under the name p, with spec changes."""
    (built,) = [o for o in build({f"{name}.pspc": STDLIB[name]})
                if o["kind"] == "PodSecurityPolicy" and o["metadata"]["name"] == name]
    built["metadata"] = {"name": "p", "annotations": {
        k: v for k, v in built["metadata"]["annotations"].items()
        if k != "kubernetes.io/description"}}
    built["spec"].update(changes)
    return built


def source(document: dict, *others: dict) -> str:
    return import_ok(document, *others)[document["metadata"]["name"]].text


def _reset(name: str) -> str:
    """What an import over `name` says first: the stdlib levels conform to a Pod Security
    Standards level, which no PodSecurityPolicy states (importing never tightens)."""
    return "" if name == "privileged" else "  no pod security standard\n"


@pytest.mark.parametrize("name", sorted(STDLIB))
def test_a_stdlib_policy_is_its_stdlib_policy(name):
    assert source(stdlib_psp(name)) == f"policy p extends {name} {{\n{_reset(name)}}}\n"


@pytest.mark.parametrize("name", sorted(STDLIB))
def test_an_import_over_a_stdlib_level_builds_no_level_requirement(name):
    from pspc.validation.requirements import requirements

    policy = import_ok(stdlib_psp(name))["p"]
    diags = Diagnostics()
    program = compile_files([parse_text(policy.text, "p.pspc", diags)], diags)
    compiled = {p.name: p for p in program.policies}["p"]
    assert compiled.pod_security_standard is None
    assert all(c.intent != "pod_security_standard" for c in requirements(compiled))


def test_the_stdlib_itself_extends_itself_with_its_description():
    psps = [o for o in build({f"{n}.pspc": t for n, t in STDLIB.items()})
            if o["kind"] == "PodSecurityPolicy"]
    imported = import_ok(*psps)
    assert imported["restricted"].text == (
        "policy restricted extends restricted {\n"
        '  description "Restricted Pod Security Standard: hardened, non-root workloads"\n'
        "  no pod security standard\n}\n")


@pytest.mark.parametrize(("name", "changes", "statements"), [
    ("restricted", {"readOnlyRootFilesystem": True}, ["require read-only root filesystem"]),
    ("restricted", {"hostNetwork": True, "hostPID": True}, ["allow host network, pid"]),
    ("baseline", {"hostNetwork": True, "hostPID": True, "hostIPC": True},
     ["allow host namespaces"]),
    ("privileged", {"hostIPC": False, "hostNetwork": False}, ["deny host network, ipc"]),
    ("privileged", {"allowedCapabilities": ["CHOWN"], "hostPorts": [{"min": 80, "max": 80}]},
     ["allow host ports 80", "allow capabilities CHOWN"]),
    ("restricted", {"volumes": ["configMap", "secret"]}, ["volumes configMap, secret"]),
    ("restricted", {"volumes": ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                "persistentVolumeClaim", "projected", "secret", "nfs"]},
     ["allow volumes nfs"]),
    ("baseline", {"volumes": [v for v in __import__("pspc.vocabulary").vocabulary
                              .VOLUME_TYPES if v not in ("hostPath", "gitRepo")]},
     ["deny volumes gitRepo"]),
    ("baseline", {"volumes": ["hostPath", "secret"],
                  "allowedHostPaths": [{"pathPrefix": "/var/log", "readOnly": True}]},
     ["volumes secret", "allow host paths /var/log read-only"]),
    ("restricted", {"runAsGroup": {"rule": "RunAsAny"}}, ["run as group any"]),
    ("restricted", {"runAsGroup": {"rule": "MayRunAs", "ranges": [{"min": 1, "max": 9}]}},
     ["run as group 1..9 if set"]),
    ("restricted", {"requiredDropCapabilities": []}, ["drop capabilities none"]),
    ("baseline", {"defaultAllowPrivilegeEscalation": False},
     ["default deny privilege escalation"]),
])
def test_one_change_from_a_stdlib_policy_is_one_statement(name, changes, statements):
    text = source(stdlib_psp(name, **changes))
    assert text == f"policy p extends {name} {{\n" + _reset(name) + "".join(
        f"  {s}\n" for s in statements) + "}\n"


def test_a_base_whose_inherited_values_cannot_be_taken_back_is_not_used():
    # restricted sets `default apparmor profile runtime/default`, which no statement unsets
    document = stdlib_psp("restricted")
    del document["metadata"]["annotations"]["apparmor.security.beta.kubernetes.io/"
                                            "defaultProfileName"]
    policy = import_ok(document)["p"].policy
    assert diff(policy, base_intents("restricted")) is None
    assert "extends restricted" not in source(document)


def test_a_policy_far_from_every_stdlib_policy_extends_nothing():
    document = psp(volumes=["secret"], runAsUser={"rule": "MustRunAsNonRoot"})
    assert source(document) == ("policy p {\n  allow privilege escalation\n  volumes secret\n"
                                "  run as non-root\n"
                                "  supplemental groups any\n  fs group any\n  selinux any\n}\n")


def test_run_as_group_absent_and_run_as_any_stay_distinct():
    absent = import_ok(psp())["p"]
    any_group = import_ok(psp(runAsGroup={"rule": "RunAsAny"}))["p"]
    assert absent.policy.run_as_group is None
    assert any_group.policy.run_as_group == ir.IdPolicy(ir.Rule.RUN_AS_ANY)
    assert "run as group" not in absent.text
    assert "  run as group any\n" in any_group.text
    assert "runAsGroup" not in build({"p.pspc": absent.text})[0]["spec"]
    assert build({"p.pspc": any_group.text})[0]["spec"]["runAsGroup"] == {"rule": "RunAsAny"}


def test_an_imported_policy_named_like_a_stdlib_policy_is_not_extended_by_others():
    # `extends baseline` beside an imported policy named baseline would mean that one
    local = psp("baseline", volumes=["secret"])
    other = stdlib_psp("baseline")
    other["metadata"]["name"] = "web"
    imported = import_ok(local, other)
    assert imported["web"].idiom.base != "baseline"
    assert "extends baseline" not in imported["web"].text


def test_a_policy_named_like_a_stdlib_policy_extends_it():
    document = stdlib_psp("restricted", readOnlyRootFilesystem=True)
    document["metadata"]["name"] = "restricted"
    assert source(document) == ("policy restricted extends restricted {\n"
                                "  no pod security standard\n"
                                "  require read-only root filesystem\n}\n")


def test_ties_go_to_the_stdlib():
    policy = import_ok(psp())["p"].policy
    assert choose(policy).base is None  # ROOT plus four statements is shortest
    assert choose(policy, taken=()).statements == choose(policy).statements


@pytest.mark.parametrize("entry", SEED_PSPS, ids=lambda e: f"{e['seed']}-"
                         f"{e['psp']['metadata']['name']}")
def test_seed_policies_are_written_from_their_closest_stdlib_policy(entry):
    item = import_ok(entry["psp"])[entry["psp"]["metadata"]["name"]]
    expected = {"psp-restricted": "restricted", "100-psp": "restricted",
                "200-psp": "privileged"}.get(item.policy.name)
    assert item.idiom.base == expected
    assert item.idiom.changes <= 6


def test_the_files_are_formatted_as_pspc_fmt_would(tmp_path):
    from click.testing import CliRunner

    from pspc.cli import main

    for entry in SEED_PSPS:
        item = import_ok(entry["psp"])[entry["psp"]["metadata"]["name"]]
        Path(tmp_path / f"{entry['seed']}-{item.path}").write_text(item.text)
    result = CliRunner().invoke(main, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 0, result.output
