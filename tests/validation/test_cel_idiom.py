"""The CEL that pspc writes (VAP and Kyverno) reads as Kubernetes CEL is written today:
optional syntax where the cluster's Kubernetes accepts it, variables named for what they
hold, every policy's variables citing the source lines that ask for them, and expressions
of several lines as YAML block literals."""

from __future__ import annotations

import re
from types import SimpleNamespace

import yaml
from conftest import OUTPUTS, REPO

from pspc import profiles
from pspc.compiler import Options, compile, compile_texts
from pspc.profiles import Profile
from pspc.validation.render import HOISTED
from pspc.validation.selection import cel_identifiers

# the variables of the selection that no policy names (pspc.validation.selection)
FIXED = {"containers", "serviceAccount", "names", "groups", "superuser", "annotations",
         "oldAnnotations", "unchanged", "usable", *HOISTED.values()}
LEVEL = re.compile(r"pss_(baseline|restricted)_v1_\d+_violations")
CITATION = re.compile(r"^\s*// (\S+):(\d+) (.*)$")


def _cel_files() -> list:
    return sorted(p for target in ("vap", "kyverno") for p in OUTPUTS.rglob(f"{target}/pspc.yaml"))


def _variables(document: dict) -> list[dict]:
    if document["kind"] == "ClusterPolicy":
        return document["spec"]["rules"][0]["validate"]["cel"]["variables"]
    return document["spec"]["variables"]


def _policy_documents():
    for path in _cel_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] in ("ValidatingAdmissionPolicy", "ClusterPolicy"):
                yield path, document


def _policy_names(path) -> list[str]:
    """The policies of the example whose output `path` is (its description lists them)."""
    example = REPO / "examples" / path.relative_to(OUTPUTS).parts[0]
    return [p.name for p in compile([str(example.relative_to(REPO))]).program.policies]


def test_no_variable_is_named_by_a_counter():
    """Each name is fixed, or says what it holds for one policy: `usable_<policy>`,
    `violations_<policy>` (the policy's identifier, pspc.validation.selection), or for a
    level at a version: `pss_restricted_v1_33_violations`."""
    checked = 0
    for path, document in _policy_documents():
        idents = cel_identifiers(SimpleNamespace(name=n) for n in _policy_names(path)).values()
        allowed = FIXED | {f"{kind}_{i}" for i in idents for kind in ("usable", "violations")}
        names = [v["name"] for v in _variables(document)]
        levels = {n for n in names if LEVEL.fullmatch(n)}
        assert set(names) - levels <= allowed, (path, set(names) - allowed)
        assert not any(re.fullmatch(r"[a-z_]*\d+", n) for n in names if n in FIXED)
        checked += 1
    assert checked >= 8


def test_every_policy_variable_cites_its_source_lines():
    """`usable_*` cites the bindings, `violations_*` the statement behind each check (a
    level's controls: the statement stating the level); each citation is a real line of
    the file it names, quoted. The derived variables say what they hold."""
    citations = 0
    for _, document in _policy_documents():
        for variable in _variables(document):
            name, lines = variable["name"], variable["expression"].splitlines()
            if name in HOISTED.values() or name.startswith("pss_"):
                assert lines[0].startswith("// "), name
            if not name.startswith(("usable_", "violations_")) or lines == ["[]"]:
                continue
            first = next(line for line in lines if not line.endswith("["))  # a list's start
            assert CITATION.match(first) or first.startswith("// no binding"), (name, first)
            for line in lines:
                found = CITATION.match(line)
                if found is None:
                    continue
                citations += 1
                file, number, text = found.group(1), int(found.group(2)), found.group(3)
                source = " ".join((REPO / file).read_text().splitlines()[number - 1].split())
                if text.startswith("policy "):  # an intent left at the policy's default
                    assert source.startswith(text.split(",")[0]), (file, number, text)
                else:
                    assert source.startswith(text[:40]), (file, number, text)
    assert citations > 50


def test_expressions_of_several_lines_are_block_literals():
    for path in _cel_files():
        text = path.read_text()
        assert "\\n" not in text, path  # no escaped line breaks in a quoted scalar
        multiline = [s for _, d in _policy_documents() for s in
                     (v["expression"] for v in _variables(d)) if "\n" in s]
        assert multiline
        assert "expression: |-" in text


def test_optional_syntax_where_the_cluster_accepts_it(tmp_path):
    def profile(minor: int) -> Profile:
        return Profile("c", (1, minor), ("vap",))

    assert not profiles.cel_optionals(profile(28))  # compatibility version 1.27
    assert profiles.cel_optionals(profile(29))  # compatibility version 1.28
    assert profiles.cel_optionals(None)  # admissionregistration.k8s.io/v1: 1.30+
    source = "policy web extends restricted {}\nbind web to service accounts in namespace web\n"
    (tmp_path / ".git").mkdir()
    (tmp_path / "policies.pspc").write_text(source)
    for minor, optional in ((28, False), (29, True), (33, True)):
        (tmp_path / "pspc.toml").write_text(
            f'[profiles.c]\nkubernetes = "1.{minor}"\nenforce = ["vap", "kyverno"]\n')
        outputs = compile([str(tmp_path / "policies.pspc")]).outputs()
        vap_text = outputs.get("c/vap/pspc.yaml", b"").decode()
        assert vap_text, sorted(outputs)
        assert (".orValue(" in vap_text) == optional
        assert ("has(" in vap_text) or optional
        # Kyverno's CEL environment has optionals whatever the cluster's version
        assert ".orValue(" in outputs["c/kyverno/pspc.yaml"].decode()


def test_messages_name_the_container_and_the_field():
    from pspc.engines.validators import CelEngine

    build = compile_texts({"p.pspc": "policy web extends restricted {}\n"}, Options(targets=()))
    (policy,) = build.program.policies
    pod = {"metadata": {"name": "x"}, "spec": {
        "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "containers": [{"name": "app", "securityContext": {"privileged": True}}]}}
    for runtime in ("cel-expr-python", "cel-python"):
        (message,) = CelEngine(policy, runtime).messages(pod)
        assert message.startswith("web (Pod Security Standards restricted v1.30): ")
        assert "container app must not set securityContext.privileged=true;" in message
        # a list's offending item is named, not the list the check allows
        assert "pod sysctl kernel.msgmax is not allowed;" in message


def test_a_binding_statement_is_cited_once_however_many_namespaces_it_names():
    source = ("policy web extends restricted {}\n"
              "bind web to group devs in namespaces shop, staging\n")
    build = compile_texts({"p.pspc": source}, Options(("vap",)))
    (usable,) = [v["expression"] for v in build.analysis.cel_selection(True).variables
                 if v["name"] == "usable_web"]
    assert usable.count("// p.pspc:2 bind web") == 1, usable


def _selection(source: str) -> dict[str, str]:
    build = compile_texts({"p.pspc": source}, Options(("vap",)))
    selection = build.analysis.cel_selection(True)
    return {v["name"]: v["expression"] for v in selection.variables} | {
        "": selection.expression, "message": selection.message_expression}


def test_only_the_variables_some_expression_reads_are_defined():
    """A binding to the service accounts of a namespace needs neither the requester's
    names nor its groups: the pod's service account, in the request's namespace, has the
    group `system:serviceaccounts:<namespace>`. One policy is spelt out in the validation
    (no `usable` list), and a level one policy states is that policy's own variable."""
    found = _selection("policy web extends restricted {}\n"
                       "bind web to service accounts in namespace web\n")
    assert found["usable_web"].splitlines()[-1] == \
        'variables.superuser || request.namespace == "web"'
    assert not {"names", "groups", "usable"} & set(found), sorted(found)
    assert not any(LEVEL.fullmatch(name) for name in found), sorted(found)
    assert found[""] == ("variables.unchanged || variables.usable_web && "
                         "size(variables.violations_web) == 0")
    # another namespace's service accounts, a user: who asks is read
    found = _selection("policy web extends restricted {}\n"
                       "bind web to group system:serviceaccounts:api in namespace web\n"
                       "bind web to user jane\n")
    assert {"names", "groups"} <= set(found)
    # two policies stating one level share its controls
    found = _selection("policy a extends restricted {}\npolicy b extends restricted {}\n")
    assert [n for n in found if LEVEL.fullmatch(n)] == ["pss_restricted_v1_30_violations"]
    assert {"usable", "violations_a", "violations_b"} <= set(found)


def test_checks_of_one_scope_are_written_once_per_container():
    """The containers' checks are one list of messages per container, named once; a lone
    check of a scope is one filter."""
    found = _selection("policy web extends restricted {}\n")["violations_web"]
    assert found.count("variables.containers.map(c, [") == 1
    assert found.count('"container " + c.name') == 1
    assert "variables.containers.filter(" not in found
    found = _selection("policy web extends privileged {}\n")["violations_web"]  # procMount
    assert "variables.containers.filter(c, " in found and ".map(c, [" not in found, found
