"""Untrusted YAML through `pspc eval`: every input ends in a diagnostic or a verdict, with
exit code 0, 1 or 2 — never a traceback, never a hang (inputs are bounded)."""

from __future__ import annotations

import yaml
from click.testing import CliRunner
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pspc.cli import main

POLICIES = str(EXAMPLES / "seed-004-shared-nfs")
BASE_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
    "securityContext": {"runAsUser": 1, "sysctls": [{"name": "a", "value": "b"}]},
    "containers": [{"name": "c", "image": "i", "securityContext": {"privileged": False},
                    "ports": [{"containerPort": 80}],
                    "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
    "volumes": [{"name": "v", "hostPath": {"path": "/x"}}]}}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PATHS = [p for p in _paths(BASE_POD) if p]


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


def _run(tmp_path, text: str, *args: str):
    target = tmp_path / "input.yaml"
    target.write_text(text)
    result = CliRunner().invoke(main, ["eval", POLICIES, "-f", str(target), *args])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit), result.exception
    return result


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), new=values)
def test_any_field_of_any_type(tmp_path, path, new):
    pod = _replace(BASE_POD, path, new)
    _run(tmp_path, yaml.safe_dump(pod))


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text(tmp_path, text):
    _run(tmp_path, text)


def test_malformed_and_hostile_yaml(tmp_path):
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
    for text in (bomb, "kind: Pod\nspec: [\n", "- 1\n- 2\n", "!!python/object:os.system x",
                 "kind: List\nitems: 5\n", "kind: Pod\nmetadata: 7\n", "\x00\x01", "[" * 3000):
        result = _run(tmp_path, text)
        assert result.exit_code in (1, 2)
        assert "error[" in result.output


def test_null_fields_are_unset(tmp_path):
    pod = _replace(BASE_POD, ("spec", "securityContext"), None)
    result = _run(tmp_path, yaml.safe_dump(pod), "--as", "alice")
    assert "not a valid pod" not in result.output
