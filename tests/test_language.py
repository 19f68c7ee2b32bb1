"""pspc.model.language is complete: one row per statement class, every IR field stated by a row,
its PodSecurityPolicy names those the PSP target writes, and each applier changes only the
fields its row declares. The round trip print -> parse of every kind is in tests/test_fmt.py."""

from __future__ import annotations

from collections import Counter

import pytest
from test_fmt import EVERYTHING, meaning, parse

from pspc.diagnostics import Diagnostics
from pspc.model import ir, language
from pspc.model.intents import ROOT, State
from pspc.syntax import ast
from pspc.targets import psp

ROWS = language.INTENTS


def _statements():
    return [s for p in parse(EVERYTHING).policies for s in p.statements]


def test_every_statement_class_has_exactly_one_row():
    counts = Counter(row.node for row in ROWS)
    assert set(counts) == set(ast.STATEMENTS.values())
    assert [node for node, n in counts.items() if n != 1] == []


def test_every_ir_intent_field_is_stated_and_unparsed_by_a_row():
    assert {f for row in ROWS for f in row.fields} == set(ir.INTENT_FIELDS)
    assert {f for row in ROWS if row.unparse for f in row.fields} == set(ir.INTENT_FIELDS)
    assert {f for row in ROWS for f in row.also} <= set(ir.INTENT_FIELDS)


def test_the_corpus_states_every_kind():
    assert {type(s) for s in _statements()} == set(ast.STATEMENTS.values())


def test_rows_without_a_psp_field_are_the_intents_beyond_psp():
    for row in ROWS:
        assert len(row.psp_fields) == len(row.fields), row.node.kind
    beyond = {f for row in ROWS for f, name in zip(row.fields, row.psp_fields, strict=True)
              if name is None}
    assert beyond == set(ir.BEYOND_PSP)


def test_psp_field_names_are_those_the_psp_target_writes():
    (policy, _) = meaning(EVERYTHING)[0]
    named = {name if name.startswith("metadata.") else name.split(".")[0]
             for row in ROWS for name in row.psp_fields if name}
    spec = set(psp.spec(policy))
    notes = {f"metadata.annotations[{key}]" for key in psp.annotations(policy)
             if key not in dict(policy.annotations)}
    assert spec | notes | {"metadata.annotations", "metadata.labels"} == named


@pytest.mark.parametrize("stmt", _statements(), ids=lambda s: s.kind)
def test_each_applier_changes_only_the_fields_of_its_row(stmt):
    row = language.ROW[type(stmt)]
    state = State("p", dict(ROOT), {}, Diagnostics())
    language.apply_statement(state, stmt)
    assert set(state.origins) <= set(row.fields) | set(row.also)
    assert set(state.origins) & set(row.fields)
