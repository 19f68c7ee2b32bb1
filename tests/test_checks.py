"""Every diagnostic code pspc can emit: code, severity, exact location, useful message and help;
and no errors for the stdlib and the examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, example_dirs

from pspc.compiler import Options, compile, compile_texts, read_sources
from pspc.diagnostics import Diagnostic, Diagnostics, Severity
from pspc.model.resolve import stdlib_sources
from pspc.syntax.parser import read_source

PATH = "t.pspc"
BOUND = "\nbind p to service accounts in namespace ns\n"


# -- helpers --------------------------------------------------------------------------------


def diagnose(source: str | bytes, path: str = PATH) -> list[Diagnostic]:
    """The whole front end: decode, parse, resolve, check."""
    diags = Diagnostics()
    data = source.encode() if isinstance(source, str) else source
    text = read_source(path, data, diags)
    if text is not None:
        compile_texts({path: text}, Options(targets=()), diags)
    return diags.items


def only(source: str | bytes, code: str) -> Diagnostic:
    found = [d for d in diagnose(source) if d.code == code]
    assert len(found) == 1, [f"{d.span} {d.code} {d.message}" for d in diagnose(source)]
    return found[0]


def codes(source: str) -> list[str]:
    return sorted(d.code for d in diagnose(source))


def stdlib_position(name: str, needle: str) -> tuple[str, int, int]:
    path = f"stdlib/{name}.pspc"
    for number, line in enumerate(stdlib_sources()[path].splitlines(), 1):
        if line.lstrip().startswith(needle):
            return path, number, len(line) - len(line.lstrip()) + 1
    raise AssertionError(f"{needle!r} not in {path}")


# -- one case per code and emission site ---------------------------------------------------------

E, W = Severity.ERROR, Severity.WARNING

CASES = [
    # id, source, code, severity, line, column, in message, in help
    ("E001-syntax", "policy p {\n  allow privileged\n  deny\n}\n",
     "E001", E, 4, 1, "unexpected `}`", "expected"),
    ("E002-utf8", b"policy p {\n\xfe}\n", "E002", E, 2, 1, "not valid UTF-8", "UTF-8"),
    ("E002-nul", "policy p {}\n\x00", "E002", E, 2, 1, "NUL", None),
    ("E003-twice", "policy p extends baseline {}\npolicy p extends restricted {}" + BOUND,
     "E003", E, 2, 8, "policy `p` is defined twice", "rename"),
    ("E004-undefined", "policy p extends basline {}" + BOUND,
     "E004", E, 1, 18, "extends `basline`, which is not defined", "did you mean `baseline`?"),
    ("E004-no-guess", "policy p extends zzzzzz {}" + BOUND,
     "E004", E, 1, 18, "not defined", "privileged, baseline and restricted"),
    ("E005-cycle", "policy a extends b {}\npolicy b extends a {}\n",
     "E005", E, 1, 18, "cycle: a -> b -> a", "remove one of the `extends`"),
    ("E006-policy-name", "policy Web_1 extends baseline {}\nbind Web_1 to all service accounts",
     "E006", E, 1, 8, "`Web_1` is not a valid policy name", "lower-case"),
    ("E006-namespace", "policy p extends baseline {}\nbind p to user a in namespace Prod",
     "E006", E, 2, 31, "`Prod` is not a valid namespace name", "DNS labels"),
    ("E006-sa-namespace", "policy p extends baseline {}\n"
     "bind p to service accounts in namespace Prod",
     "E006", E, 2, 41, "`Prod` is not a valid namespace name", None),
    ("E006-runtime-class", "policy p extends baseline {\n  allow runtime classes Kata_1\n}" + BOUND,
     "E006", E, 2, 25, "`Kata_1` is not a valid runtime class name", "DNS subdomains"),
    ("E006-default-runtime-class",
     "policy p extends baseline {\n  default runtime class Kata_1\n}" + BOUND,
     "E006", E, 2, 25, "`Kata_1` is not a valid runtime class name", None),
    ("E006-annotation-key", 'policy p extends baseline {\n  annotation "bad key!" "x"\n}' + BOUND,
     "E006", E, 2, 14, "`bad key!` is not a valid annotation key", None),
    ("E006-reserved-annotation", 'policy p extends baseline {\n  annotation '
     '"seccomp.security.alpha.kubernetes.io/defaultProfileName" "x"\n}' + BOUND,
     "E006", E, 2, 14, "is written by an intent", "seccomp, apparmor or description"),
    ("E007-min-above-max", "policy p extends baseline {\n  run as user 5..1\n}" + BOUND,
     "E007", E, 2, 15, "user ID range 5..1 has its minimum above its maximum", "1..5"),
    ("W110-port-limit", "policy p extends baseline {\n  allow host ports 80, 70000\n}" + BOUND,
     "W110", W, 2, 24, "port range 70000 goes beyond 0..65535", None),
    ("E007-port-int32", "policy p extends baseline {\n  allow host ports 2147483648\n}" + BOUND,
     "E007", E, 2, 20, "does not fit in a 32-bit integer", None),
    ("E007-negative-id", "policy p extends baseline {\n  fs group -1..5\n}" + BOUND,
     "E007", E, 2, 12, "group ID range -1..5 is negative", None),
    ("E007-id-limit", "policy p extends baseline {\n  fs group 1..9223372036854775808\n}" + BOUND,
     "E007", E, 2, 12, "group ID 1..9223372036854775808 is above the largest allowed, "
     "9223372036854775807",
     None),
    ("E024-user-if-set", "policy p extends baseline {\n  run as user 1000 if set\n}" + BOUND,
     "E024", E, 2, 3, "`if set` applies to groups only", "run as non-root"),
    ("E008-unknown-volume", "policy p extends baseline {\n  volumes configMap, secrets\n}" + BOUND,
     "E008", E, 2, 22, "unknown volume type `secrets`", "did you mean `secret`?"),
    ("E008-no-guess", "policy p extends baseline {\n  deny volumes zzzz\n}" + BOUND,
     "E008", E, 2, 16, "unknown volume type `zzzz`", "persistentVolumeClaim"),
    ("E008-pvc-via-pvc", "policy p extends baseline {\n  allow persistentVolumeClaim only via "
     "pvc\n}" + BOUND, "E008", E, 2, 9, "says nothing", "nfs"),
    ("E009-twice", "policy p extends baseline {\n  run as user any\n  run as non-root\n}" + BOUND,
     "E009", E, 3, 3, "policy `p` states `run as user` twice", "state it once"),
    ("E009-host-namespace", "policy p extends baseline {\n  allow host network\n"
     "  deny host namespaces\n}" + BOUND,
     "E009", E, 3, 3, "states `host network` twice", None),
    ("E009-selinux-field", "policy p extends baseline {\n  selinux type a_t type b_t\n}" + BOUND,
     "E009", E, 2, 25, "SELinux type is given twice", None),
    ("E010-volume", "policy p extends baseline {\n  allow volumes nfs\n  deny volumes nfs\n}"
     + BOUND, "E010", E, 3, 16, "volume type `nfs` is both allowed and denied", "keep one"),
    ("E010-host-paths", "policy p extends baseline {\n  allow host paths /var/log\n"
     "  deny host paths\n}" + BOUND,
     "E010", E, 3, 3, "volume type `hostPath` is both allowed and denied", "keep one"),
    ("E011-missing", "policy p {\n  deny privileged\n}" + BOUND,
     "E011", E, 1, 8, "does not say run as user, supplemental groups, fs group, selinux",
     "extend a stdlib policy"),
    ("E012-allowed", "policy p extends baseline {\n  allow capabilities NET_ADMIN\n"
     "  drop capabilities NET_ADMIN\n}" + BOUND,
     "E012", E, 2, 3, "`NET_ADMIN` is both required to be dropped and allowed", "keep one"),
    ("E012-default", "policy p extends baseline {\n  add capabilities SYS_TIME by default\n"
     "  drop capabilities SYS_TIME\n}" + BOUND,
     "E012", E, 2, 3, "`SYS_TIME` is both required to be dropped and added by default", None),
    ("E013-any-and-drops", "policy p extends baseline {\n  allow capabilities any\n"
     "  drop capabilities NET_RAW\n}" + BOUND,
     "E013", E, 2, 3, "cannot be combined with required drops (NET_RAW)",
     "`drop capabilities none`"),
    ("E014-default-allow", "policy p extends baseline {\n  deny privilege escalation\n"
     "  default allow privilege escalation\n}" + BOUND,
     "E014", E, 3, 3, "allowed by default but denied", "`default deny privilege escalation`"),
    ("W107-privileged", "policy p extends restricted {\n  allow privileged\n}" + BOUND,
     "W107", W, 2, 3, "no privileged pod is admitted", "`allow privilege escalation`"),
    ("E016-name", "policy p extends baseline {\n  deny sysctls net.core.somaxconn, Net/Core\n}"
     + BOUND, "E016", E, 2, 36, "`Net/Core` is not a sysctl name or pattern", "trailing *"),
    ("E016-star-and-more", "policy p extends baseline {\n  allow unsafe sysctls *, net.x\n}"
     + BOUND, "E016", E, 2, 24, "`*` already matches every sysctl", None),
    ("E017-overlap", "policy p extends baseline {\n  allow unsafe sysctls net.core.*\n"
     "  deny sysctls net.*\n}" + BOUND,
     "E017", E, 2, 3, "`net.core.*` is allowed but overlaps the denied `net.*`", "overlap"),
    ("W110-relative", "policy p extends baseline {\n  allow host paths /ok, var/log\n}" + BOUND,
     "W110", W, 2, 25, "host path `var/log` is relative", "/var/log"),
    ("E018-dotdot", "policy p extends baseline {\n  allow host paths /a/../etc\n}" + BOUND,
     "E018", E, 2, 20, "have `..`", "/var/log"),
    ("E019-invalid-seccomp", "policy p extends privileged {\n  allow seccomp profiles "
     "localhost/../x\n}" + BOUND,
     "E019", E, 2, 26, "`localhost/../x` is not a valid seccomp profile", "relative path"),
    ("E019-apparmor-star", "policy p extends privileged {\n  allow apparmor profiles *\n}" + BOUND,
     "E019", E, 2, 27, "`*` is not a valid apparmor profile", "runtime/default"),
    ("E019-apparmor-none", "policy p extends privileged {\n  allow apparmor profiles none\n}"
     + BOUND, "E019", E, 2, 3, "cannot forbid every AppArmor profile", "runtime/default"),
    ("E019-default-not-allowed", "policy p extends restricted {\n  default seccomp profile "
     "unconfined\n}" + BOUND,
     "W109", W, 2, 3, "default seccomp profile `unconfined` is not among the allowed",
     "add it to `allow seccomp profiles`"),
    ("E019-default-none-allowed", "policy p extends privileged {\n  allow seccomp profiles none\n"
     "  default seccomp profile runtime/default\n}" + BOUND,
     "W109", W, 3, 3, "is set but no seccomp profile is allowed",
     "`allow seccomp profiles runtime/default`"),
    ("E020-twice", "policy p extends baseline {\n  allow runtime classes kata, kata\n}" + BOUND,
     "E020", E, 2, 31, "runtime class `kata` is listed twice", None),
    ("E020-default-not-allowed", "policy p extends baseline {\n  allow runtime classes kata\n"
     "  default runtime class gvisor\n}" + BOUND,
     "E020", E, 3, 3, "default runtime class `gvisor` is not allowed", "allow runtime classes"),
    ("E021-unknown-policy", "policy web extends baseline {}\nbind wbe to user a\n",
     "E021", E, 2, 6, "names policy `wbe`, which is not defined", "did you mean `web`?"),
    ("E022-sa-reference", "policy p extends baseline {}\nbind p to service account ci-runner\n",
     "E022", E, 2, 27, "`ci-runner` is not a service account reference", "<namespace>/<name>"),
    ("E022-sa-namespace-twice", "policy p extends baseline {}\n"
     "bind p to service accounts in namespace a in namespace b\n",
     "E022", E, 2, 56, "already says where the binding applies", "drop the trailing"),
    ("E022-empty-user", 'policy p extends baseline {}\nbind p to all service accounts, user " "\n',
     "E022", E, 2, 38, "is not a valid user name", None),
    ("W110-capability", "policy p extends baseline {\n  allow capabilities CHOWN, bad-cap\n}"
     + BOUND, "W110", W, 2, 29, "`bad-cap` is not a capability name", None),
    ("W110-csi", "policy p extends baseline {\n  allow csi drivers Bad_Driver\n}" + BOUND,
     "W110", W, 2, 21, "`Bad_Driver` is not a CSI driver name", "DNS subdomains"),
    ("E023-flex-empty", "policy p extends baseline {\n  allow flex volumes \"\"\n}" + BOUND,
     "E023", E, 2, 22, "a flex volume driver name cannot be empty", None),
    ("W108-no-range", "policy p extends baseline {\n  fs group none\n}" + BOUND,
     "W108", W, 2, 3, "`fs group` has no range", "give a range"),
    ("W104-csi-unused", "policy p extends baseline {\n  allow csi drivers a.b\n"
     "  deny volumes csi\n}" + BOUND, "W104", W, 2, 3, "allowed CSI drivers have no effect",
     "allow csi volumes"),
    ("E023-drop-any", "policy p extends baseline {\n  drop capabilities any\n}" + BOUND,
     "E023", E, 2, 3, "`drop capabilities any` has no meaning", "ALL"),
    ("E006-namespace-declaration", "namespace Web enforce baseline\n",
     "E006", E, 1, 11, "`Web` is not a valid namespace name", "DNS labels"),
    ("E025-level", "namespace web enforce baseline audit strict\n",
     "E025", E, 1, 38, "`strict` is not a Pod Security Standards level",
     "did you mean `restricted`"),
    ("E026-version", "namespace web\n  enforce baseline version 1.30\n",
     "E026", E, 2, 28, "`1.30` is not a Pod Security Standards version",
     "v1.0 to v1.37, or latest"),
    ("E027-declared-twice", "namespace web enforce baseline\nnamespace web audit restricted\n",
     "E027", E, 2, 11, "namespace `web` is declared twice", "one `namespace` declaration"),
    ("E027-level-twice", "namespace web enforce baseline enforce restricted\n",
     "E027", E, 1, 40, "states its enforce level twice", "keep one"),
    ("E027-version-twice", "namespace web version v1.30 version latest\n",
     "E027", E, 1, 37, "states its version twice", "keep one"),
    ("E028-stricter", "policy p extends baseline {}" + BOUND + "namespace ns enforce restricted\n",
     "E028", E, 3, 22, "namespace `ns` enforces restricted, which rejects pods that `p` admits",
     "enforce baseline, tighten those policies, or add `force`"),
    ("W101-unbound", "# header\npolicy p extends baseline {}\n",
     "W101", W, 2, 1, "policy `p` is not bound to anyone", "bind p to service accounts"),
    ("W102-people-only", "policy p extends baseline {}\nbind p to user alice, group devs\n",
     "W102", W, 2, 23, "bound only to users or groups of people", "service accounts"),
    ("W103-cap-prefix", "policy p extends baseline {\n  drop capabilities CAP_NET_RAW\n}" + BOUND,
     "W103", W, 2, 21, "has a CAP_ prefix", "write `NET_RAW`"),
    ("W103-lower-case", "policy p extends baseline {\n  add capabilities chown by default\n}"
     + BOUND, "W103", W, 2, 20, "is not upper case", "write `CHOWN`"),
    ("W105-weaker", "policy p extends restricted {}" + BOUND + "namespace ns enforce baseline\n",
     "W105", W, 3, 22, "enforces baseline, but the policies usable there fit restricted",
     "say `enforce restricted`"),
    ("W106-force-not-needed", "policy p extends baseline {}" + BOUND
     + "namespace ns enforce baseline force\n",
     "W106", W, 3, 31, "`force` has no effect on namespace `ns`: baseline rejects no pod",
     "remove `force`"),
    ("W106-force-without-enforce", "namespace ns audit restricted force\n",
     "W106", W, 1, 31, "it declares no enforce level", "remove `force`"),
    ("W306-nothing-usable", "policy p extends baseline {}" + BOUND
     + "namespace web enforce baseline\n", "W306", W, 3, 11,
     "no policy is usable in namespace `web`", "bind a policy in it"),
    ("W104-host-paths-dead", "policy q extends baseline {\n  allow host paths /var/log\n}\n"
     "policy p extends q {\n  volumes configMap\n}" + BOUND + "bind q to all service accounts",
     "W104", W, 2, 3, "hostPath volumes are not allowed (inherited by `p` from `q`)",
     "allow hostPath volumes"),
]


@pytest.mark.parametrize(("source", "code", "severity", "line", "column", "message", "help_text"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnostic(source, code, severity, line, column, message, help_text):
    diag = only(source, code)
    assert diag.severity is severity
    assert (diag.span.file, diag.span.line, diag.span.column) == (PATH, line, column)
    assert diag.span.end_line >= diag.span.line
    assert diag.span.end_line > diag.span.line or diag.span.end_column > diag.span.column
    assert message in diag.message
    if help_text is None:
        assert diag.help is None or diag.help.strip()
    else:
        assert help_text in diag.help


def test_every_code_of_the_front_end_has_a_case():
    import re

    emitted = set()
    front_end = [REPO / "pspc" / "compiler.py", *(REPO / "pspc" / "syntax").glob("*.py"),
                 *(REPO / "pspc" / "model").glob("*.py")]
    for path in front_end:
        emitted |= set(re.findall(r'"([EW]\d{3})"', path.read_text(encoding="utf-8")))
    assert emitted <= {c[2] for c in CASES}


def test_error_notes_point_at_the_other_statement():
    diag = only("policy p extends baseline {}\npolicy p extends restricted {}" + BOUND, "E003")
    ((note, span),) = diag.notes
    assert "first defined here" in note and (span.line, span.column) == (1, 8)
    diag = only("policy p extends baseline {\n  allow volumes nfs\n  deny volumes nfs\n}" + BOUND,
                "E010")
    ((note, span),) = diag.notes
    assert (span.line, span.column) == (2, 17)
    diag = only("policy p extends baseline {\n  fs group any\n  fs group 1\n}" + BOUND, "E009")
    ((note, span),) = diag.notes
    assert "first stated here" in note and (span.line, span.column) == (2, 3)


def test_inherited_problem_points_at_the_parent_and_names_the_child():
    diag = only("policy p extends privileged {\n  drop capabilities ALL\n}" + BOUND, "E013")
    assert (diag.span.file, diag.span.line, diag.span.column) == stdlib_position(
        "privileged", "allow capabilities any")
    assert "(inherited by `p` from `stdlib:privileged`)" in diag.message


def test_inherited_problem_is_named_when_the_policy_reuses_the_stdlib_name():
    diag = only("policy baseline extends baseline {\n  allow seccomp profiles none\n}\n"
                "bind baseline to all service accounts\n", "W109")
    assert (diag.span.file, diag.span.line, diag.span.column) == stdlib_position(
        "baseline", "default seccomp profile")
    assert "inherited" in diag.message


def test_unreadable_file_is_e002(tmp_path: Path):
    diags = Diagnostics()
    assert read_sources([tmp_path / "missing.pspc"], diags) == {}
    (diag,) = diags.items
    assert (diag.code, diag.severity, diag.span.line, diag.span.column) == ("E002", E, 1, 1)
    assert "cannot read the file" in diag.message


def test_a_syntax_error_stops_before_resolving():
    assert codes("policy p extends nope {\n  volumes bogus\n  deny\n}\n") == ["E001"]


def test_errors_in_a_parent_do_not_cascade_into_children():
    found = codes("policy a extends nope {}\npolicy b extends a {}\n"
                  "bind a to all service accounts\nbind b to all service accounts\n")
    assert found == ["E004"]


# -- what must not be reported ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["privileged", "baseline", "restricted"])
def test_stdlib_policies_have_no_errors(name):
    text = stdlib_sources()[f"stdlib/{name}.pspc"]
    found = [(d.code, d.message) for d in diagnose(text + f"\nbind {name} to all service accounts")]
    assert found == []


EXPECTED_WARNINGS = {
    "seed-000-metakube": [],
    "seed-001-psp-by-example": [],
    "seed-002-ack": [],
    "seed-003-use-psp": ["W102"],  # the example's comment says so
    "seed-004-shared-nfs": ["W101"],  # `restricted` is only a parent of `shared-nfs`
}


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_examples_have_no_errors(example):
    path = example / "policies.pspc"
    found = diagnose(path.read_bytes(), str(path))
    assert [d for d in found if d.severity is E] == []
    if example.name in EXPECTED_WARNINGS:
        assert sorted(d.code for d in found) == EXPECTED_WARNINGS[example.name]


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_examples_compile_through_the_pipeline(example, in_repo):
    compilation = compile([str(example.relative_to(REPO))])
    assert not compilation.diagnostics.has_errors
    assert compilation.program is not None
    assert compilation.program.policies


def test_a_clean_policy_gets_no_diagnostics():
    assert diagnose("policy p extends restricted {\n  fs group any\n}" + BOUND) == []


@pytest.mark.parametrize("body", [
    "allow capabilities any\ndrop capabilities none",
    "allow unsafe sysctls net.core.*\ndeny sysctls kernel.*",
    "allow unsafe sysctls kernel.shm_rmid_forced\ndeny sysctls kernel.msgmax",
    "allow runtime classes any\ndefault runtime class gvisor",
    "allow seccomp profiles docker/default\ndefault seccomp profile runtime/default",
    "allow seccomp profiles any\ndefault seccomp profile localhost/x/y.json",
    "allow apparmor profiles any\ndefault apparmor profile localhost/anything",
    "deny privilege escalation\ndefault deny privilege escalation",
    "allow host paths /var/log\nallow volumes nfs\ndeny volumes gitRepo",
])
def test_valid_combinations_are_not_errors(body):
    found = diagnose(f"policy p extends baseline {{\n{body}\n}}" + BOUND)
    # W111: some of these leave the baseline level, which is a warning, not an error
    assert [d.code for d in found if d.code != "W111"] == []


# -- Kubernetes would reject these PodSecurityPolicies (spec section 7): pspc must say so -------


@pytest.mark.parametrize(("statement", "why"), [
    ("run as user 1000 if set", "runAsUser has no MayRunAs rule"),
    ("allow runtime classes *, gvisor", "'*' must not be listed with other runtime classes"),
    ('allow flex volumes ""', "an empty flex driver is a required-value error"),
])
def test_policies_the_api_rejects_are_errors(statement, why):
    found = diagnose(f"policy p extends restricted {{\n  {statement}\n}}" + BOUND)
    errors = [d for d in found if d.severity is E]
    assert [(d.span.file, d.span.line) for d in errors] == [(PATH, 2)], why
