"""pspc's YAML emitter (pspc.output.render.dump_all) writes exactly what
yaml.dump_all(..., Dumper=_Dumper) writes: on random trees of the shapes pspc builds, with
the strings that stress quoting, folding and block styles, and on every golden file."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from pspc.output.render import _SETTINGS, _Dumper, dump_all

# Strings that resolve to other types, need quotes, fold at width 100, span lines, or
# carry characters the emitter must escape.
_TRICKY = st.sampled_from([
    "", " ", "true", "False", "yes", "no", "on", "null", "~", "0", "-1", "0x1f", "1e3", "1.5",
    ".inf", "2024-01-01", "=", "<<", "-", "- a", "? x", "a: b", "a #b", "#c", "*x", "&y",
    "!t", "|", ">", "'q'", '"d"', "%p", "@a", "`b", "[1]", "{a: 1}", "a,b", "x\ny",
    "x\n", "\ny", "trailing ", " leading", "tab\there", "é ü", "\u2028", "\x07bell",
    "\ufeffbom", "line\r\nbreak", "a" * 120, ("word " * 40).strip(), "x" * 99 + " y",
])
_TEXT = st.one_of(_TRICKY, st.text(max_size=40),
                  st.lists(_TRICKY | st.text(max_size=12), max_size=12).map(" ".join))
_SCALARS = st.one_of(_TEXT, st.integers(), st.booleans(), st.none())
_KEYS = st.one_of(_TEXT, st.integers(), st.booleans())
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=30)


def _reference(documents) -> str:
    return yaml.dump_all(documents, Dumper=_Dumper, explicit_start=len(documents) > 1,
                         **_SETTINGS)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_TREES, min_size=1, max_size=3))
def test_random_trees_are_written_as_pyyaml_writes_them(documents):
    assert dump_all(documents) == _reference(documents)


def test_every_golden_yaml_file_is_written_as_pyyaml_writes_it():
    files = sorted((REPO / "outputs").rglob("*.yaml"))
    assert files
    for path in files:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
        assert dump_all(documents) == _reference(documents), path


@pytest.mark.parametrize("value", [{1, 2}, frozenset({1}), 1.5j])
def test_a_value_that_is_no_pspc_tree_is_refused_not_written_differently(value):
    """pspc builds no sets (PyYAML would write a mapping) and nothing PyYAML refuses."""
    with pytest.raises((TypeError, yaml.YAMLError)):
        dump_all([{"a": value}])
