"""Go-compatible rendering of field errors and bad values (docs/psp-admission.md#field-errors)."""

from __future__ import annotations

import pytest

from pspc.admission.fielderrors import (
    IDRange,
    capability_slice,
    duplicate,
    forbidden,
    format_ranges,
    go_quote,
    go_value,
    id_range_slice,
    int64_slice,
    invalid,
    not_supported,
    render_list,
    required,
    string_slice,
)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("hostPath", '"hostPath"'),
        ("", '""'),
        ('say "hi"', r'"say \"hi\""'),
        ("a\\b", r'"a\\b"'),
        ("tab\there\n", r'"tab\there\n"'),
        ("\a\b\f\r\v", r'"\a\b\f\r\v"'),
        ("\x01\x7f", r'"\x01\x7f"'),
        ("café ✓ 🙂", '"café ✓ 🙂"'),
        ("\u00a0", r'"\u00a0"'),
        ("\ue000", r'"\ue000"'),
        ("\U0010ffff", r'"\U0010ffff"'),
    ],
)
def test_go_quote(text: str, quoted: str):
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        (None, '"null"'),
        (True, "true"),
        (False, "false"),
        (8080, "8080"),
        (0, "0"),
        ("Unmasked", '"Unmasked"'),
        (int64_slice([1, 550]), "[]int64{1, 550}"),
        (int64_slice([]), "[]int64{}"),
        (int64_slice(None), "[]int64(nil)"),
        (capability_slice(["NET_RAW"]), '[]core.Capability{"NET_RAW"}'),
        (capability_slice(["ALL", "NET_RAW"]), '[]core.Capability{"ALL", "NET_RAW"}'),
        (capability_slice(None), "[]core.Capability(nil)"),
        (
            id_range_slice((IDRange(1, 2), IDRange(5, 6))),
            "[]policy.IDRange{policy.IDRange{Min:1, Max:2}, policy.IDRange{Min:5, Max:6}}",
        ),
        (id_range_slice(None), "[]policy.IDRange(nil)"),
        (string_slice(["*", "gvisor"]), '[]string{"*", "gvisor"}'),
    ],
)
def test_go_value(value, rendered: str):
    assert go_value(value) == rendered


def test_ranges_in_detail_text_use_percent_v():
    assert format_ranges((IDRange(1000, 2000), IDRange(5000, 6000))) == "[{1000 2000} {5000 6000}]"
    assert format_ranges(()) == "[]"


def test_error_kinds():
    assert str(invalid("spec.runtimeClassName", "kata")) == (
        'spec.runtimeClassName: Invalid value: "kata"'
    )
    assert str(invalid("a.b", True, "Privileged containers are not allowed")) == (
        "a.b: Invalid value: true: Privileged containers are not allowed"
    )
    assert str(invalid("a.b", None, "must be set")) == 'a.b: Invalid value: "null": must be set'
    assert str(required("a.runAsUser")) == "a.runAsUser: Required value"
    assert str(required("a.runAsNonRoot", "must be true")) == (
        "a.runAsNonRoot: Required value: must be true"
    )
    assert (
        str(forbidden("a[k]", "seccomp may not be set"))
        == "a[k]: Forbidden: seccomp may not be set"
    )
    assert str(not_supported("spec.fsGroup.rule", "Bogus", ["MayRunAs", "MustRunAs"])) == (
        'spec.fsGroup.rule: Unsupported value: "Bogus": supported values: "MayRunAs", "MustRunAs"'
    )
    assert str(duplicate("x[1]", "gvisor")) == 'x[1]: Duplicate value: "gvisor"'


def test_forbidden_keeps_double_space_for_empty_profile():
    error = forbidden("p", " is not an allowed seccomp profile. Valid values are runtime/default")
    assert error.body() == (
        "Forbidden:  is not an allowed seccomp profile. Valid values are runtime/default"
    )


def test_render_list_joins_with_single_spaces():
    errors = [invalid("a", 1, "x"), forbidden("b", "y")]
    assert render_list(errors) == "[a: Invalid value: 1: x b: Forbidden: y]"
    assert render_list([]) == "[]"
