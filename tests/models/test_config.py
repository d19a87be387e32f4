"""The loader refuses broken wheel files with one exact line per problem.

Each file in ``broken/`` is a small wheel derived from ``aarshjul.yaml`` with one thing (or,
in ``multiple_problems.yaml``, several things) wrong. The expected problems are written in
the file itself, as comments next to the line they concern::

    due: "02-30"  # !! deliverables[0].due: '02-30' is not a date

means a problem on *this* line with key path ``deliverables[0].due`` whose message contains
the text after the colon. ``# !!+1`` / ``# !!-1`` point one line down / up, ``# !!@20`` at
line 20 (for lines that cannot carry a comment, e.g. inside an unclosed quote). Several
problems on one line are separated by two spaces and ``!!``. The test asserts that the
loader reports exactly these problems: the same lines and key paths, nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.config import load, loads
from models.problems import ConfigError, Problem

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))
MARK = re.compile(rb"#\s*!!(?P<where>[+-]\d+|@\d+)?\s+(?P<rest>.*)$")


def expected(path: Path) -> list[tuple[int, str, str]]:
    """(line, key path, message part) for every ``# !!`` marker in the file."""
    out = []
    for n, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        m = MARK.search(raw)
        if not m:
            continue
        where = (m.group("where") or b"").decode()
        line = int(where[1:]) if where.startswith("@") else n + int(where or 0)
        for item in m.group("rest").decode("utf-8", "replace").split("  !! "):
            key_path, _, message = item.partition(": ")
            out.append((line, key_path.strip(), message.strip()))
    return out


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert all(expected(p) for p in CASES), [p.name for p in CASES if not expected(p)]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_is_refused_with_exact_lines(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(path)
    problems: list[Problem] = info.value.problems
    want = expected(path)
    got = [(p.line, p.path) for p in problems]
    assert sorted(got) == sorted((line, key) for line, key, _ in want), "\n".join(
        map(str, problems)
    )
    for line, key, message in want:
        p = next(p for p in problems if (p.line, p.path) == (line, key))
        assert message in p.message, f"{p}\n  expected: {message}"
        assert p.file == str(path) and p.severity == "error"
        assert str(p) == f"{path}:{line} {key}: {p.message}"


def test_problems_come_in_file_order() -> None:
    with pytest.raises(ConfigError) as info:
        load(BROKEN / "multiple_problems.yaml")
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines) and len(lines) == 7


# --- the real file and small variations of it ------------------------------------------

# the corpus's base wheel, repaired: line numbers below are those of this text
BASE = re.sub(
    r"if_closd: next  #.*",
    "if_closed: next",
    (BROKEN / "unknown_key.yaml").read_text().replace("# Unknown key", "# Valid"),
)


def variant(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_the_copenhagen_wheel_loads_without_problems_or_warnings(wheel_file: Path) -> None:
    loaded = load(wheel_file)
    assert loaded.warnings == []
    w = loaded.wheel
    assert w.policy.owner == "BIU" and len(w.committees) == 7 and len(w.goals) == 6
    assert w.mail_domain == "bif.kk.example"


def test_the_base_of_the_corpus_is_valid() -> None:
    loaded = loads(BASE)
    assert loaded.warnings == []
    assert [c.key for c in loaded.wheel.committees] == ["OEU", "BUU", "BIU"]


@pytest.mark.parametrize(
    ("old", "new", "attr", "value"),
    [
        ("    name: Økonomiudvalget\n", "    name: NO\n", "name", "NO"),
        ("    name: Økonomiudvalget\n", "    name: on\n", "name", "on"),
        ("    name: Økonomiudvalget\n", "    name: yes\n", "name", "yes"),
        ("    name: Økonomiudvalget\n", "    name: 2012-04-20T10:00\n", "name", "2012-04-20T10:00"),
        ("    name: Økonomiudvalget\n", "    name: 2012-04-20\n", "name", "2012-04-20"),
        ("    name: Økonomiudvalget\n", "    name: 0x1F\n", "name", "0x1F"),
    ],
)
def test_values_stay_as_written(old: str, new: str, attr: str, value: str) -> None:
    committee = loads(variant(old, new)).wheel.committees[0]
    assert getattr(committee, attr) == value


def test_unquoted_month_day_and_clock_stay_strings() -> None:
    text = variant('    due: "05-01"\n', "    due: 05-01\n").replace(
        'send_time: "09:00"', "send_time: 09:00"
    )
    w = loads(text).wheel
    assert w.deliverables[0].due == "05-01" and w.deliverables[0].due_month_day == (5, 1)
    assert w.policy.send_time == "09:00"


def test_true_where_text_is_expected_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        loads(variant("    name: Økonomiudvalget\n", "    name: True\n"))
    [p] = info.value.problems
    assert (p.line, p.path) == (21, "committees[0].name")
    assert "must be text, got true" in p.message


def test_02_29_is_allowed_when_every_policy_year_is_a_leap_year() -> None:
    text = variant("  years: [2011, 2014]\n", "  years: [2012, 2012]\n").replace(
        '"12-31"]', '"02-29"]'
    )
    assert loads(text).wheel.policy.closed == ((12, 24), (2, 29))


def test_a_deliverable_no_event_opens_is_a_warning() -> None:
    loaded = loads(variant("    opens: [handleplan]\n", ""))
    [w] = loaded.warnings
    assert w.severity == "warning" and (w.line, w.path) == (45, "deliverables[0].key")
    assert str(w) == (
        "aarshjul.yaml:45 deliverables[0].key: warning: no event opens 'handleplan', "
        "so it is never requested, reminded or chased"
    )


def test_an_event_that_opens_after_the_due_date_is_a_warning() -> None:
    # 1 May is the deadline; a letter on 1 May 2011 (a Sunday) goes out Monday 2 May, after
    # the deadline only if the deadline stays on the Sunday: if_closed keep.
    text = variant('    date: "01-20"\n', '    date: "05-01"\n').replace(
        "    if_closed: next\n", "    if_closed: keep\n"
    )
    loaded = loads(text)
    [w] = loaded.warnings
    assert (w.line, w.path) == (62, "events[0].opens[0]")
    assert "after 'handleplan' is due in 2011:" in w.message  # 2012-2014: 1 May is a weekday
    late = loads(variant('    date: "01-20"\n', '    date: "06-01"\n'))
    assert "2011, 2012, 2013, 2014" in late.warnings[0].message


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("Økonomi\u2028udvalget", "must be one line"),
        ("Økonomi\x85udvalget", "must be one line"),
        ("Økonomi\tudvalget", "must be one line"),
        ("   ", "must not be empty"),
    ],
)
def test_header_unsafe_names_are_refused(name: str, needle: str) -> None:
    quoted = name.replace("\u2028", "\\u2028").replace("\x85", "\\x85").replace("\t", "\\t")
    with pytest.raises(ConfigError) as info:
        loads(variant("    name: Økonomiudvalget\n", f'    name: "{quoted}"\n'))
    [p] = info.value.problems
    assert p.path == "committees[0].name" and needle in p.message


def test_mail_domain_must_be_a_domain() -> None:
    send = '  send_time: "09:00"\n'
    ok = loads(variant(send, send + "  mail_domain: kk.example\n"))
    assert ok.wheel.mail_domain == "kk.example"
    with pytest.raises(ConfigError) as info:
        loads(variant(send, send + '  mail_domain: "kk example"\n'))
    assert [(p.line, p.path) for p in info.value.problems] == [(12, "policy.mail_domain")]


def test_the_schema_and_the_cross_checks_report_together() -> None:
    """A schema error in one section does not hide a cross-check in another."""
    text = variant("  country: DK\n", "  country: 45\n").replace(
        "    from: [OEU, BUU, BIU]\n", "    from: [OEU, BUU, BIV]\n"
    )
    with pytest.raises(ConfigError) as info:
        loads(text)
    assert [(p.line, p.path) for p in info.value.problems] == [
        (9, "policy.country"),
        (49, "deliverables[0].from[2]"),
    ]


def test_knock_on_reference_errors_are_not_reported_for_an_unreadable_list() -> None:
    text = variant("committees:\n", "committees: 7\nold_committees:\n")
    with pytest.raises(ConfigError) as info:
        loads(text)
    assert [p.path for p in info.value.problems] == ["committees", "old_committees"]


def test_file_level_problems(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load(missing)
    assert [str(p) for p in info.value.problems] == [f"{missing}:0 (file): the file does not exist"]
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2_100_000 + "\n")
    with pytest.raises(ConfigError) as info:
        load(big)
    assert "larger than 2 MB" in info.value.problems[0].message
    bom = tmp_path / "bom.yaml"
    bom.write_text("\ufeff" + BASE, encoding="utf-8")
    assert load(bom).wheel.policy.owner == "BIU"


def test_nesting_100000_deep_is_refused_without_a_crash() -> None:
    with pytest.raises(ConfigError) as info:
        loads("version: " + "[" * 100_000 + "]" * 100_000 + "\n")
    [p] = info.value.problems
    assert (p.line, p.path) == (1, "(syntax)") and "nested too deeply" in p.message


def test_the_country_check_agrees_with_the_holidays_package() -> None:
    import holidays

    from models.wheel import _supported_countries

    assert _supported_countries() == set(holidays.list_supported_countries())


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("børn@buf.kk.example", "is not an ASCII address"),
        ("buu@bøf.kk.example", "is not an ASCII address; write it as buu@xn--bf-lka.kk.example"),
        ("buu..x@buf.kk.example", "cannot have two periods in a row"),
        ('"b u"@buf.kk.example', "Quoting the part before the @-sign is not allowed"),
        ("buu@[127.0.0.1]", "A bracketed IP address"),
        ("buu@localhost", "It should have a period"),
        ("buu@buf.kk.example,x@y.example", "is not a valid e-mail address"),
    ],
)
def test_addresses_are_plain_ascii(address: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(variant("    to: [buu-sekretariat@buf.kk.example]\n", f"    to: ['{address}']\n"))
    [p] = info.value.problems
    assert (p.line, p.path) == (25, "committees[1].to[0]") and needle in p.message


@pytest.mark.parametrize(
    "address", ["buu@xn--bf-lka.kk.example", "BUU.Sekretariat@BUF.kk.example", "b+u@buf.kk.example"]
)
def test_addresses_that_pass(address: str) -> None:
    text = variant("    to: [buu-sekretariat@buf.kk.example]\n", f"    to: ['{address}']\n")
    assert loads(text).wheel.committees[1].to == (address,)


def test_equally_close_suggestions_are_all_named() -> None:
    with pytest.raises(ConfigError) as info:
        loads(variant("    from: [OEU, BUU, BIU]\n", "    from: [OEU, BUU, BUI]\n"))
    [p] = info.value.problems
    assert p.message == "unknown committee 'BUI'; did you mean 'BUU' or 'BIU'?"


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "message"),
    [
        # X | None fields: pydantic's union branches must not leak into path or message
        ("target: {value: 5.8, year: 2014}", 'target: "5,8 %"', 41,
         "focus_areas[0].goals[0].target", "must be a mapping of keys (key: value), got '5,8 %'"),
        ("target: {value: 5.8, year: 2014}", "target:\n          value: 5.8\n          year: x",
         43, "focus_areas[0].goals[0].target.year",
         "must be a whole number, got 'x' (a number is written without quotes)"),
        ("escalate_to: [direktion@buf.kk.example]", "escalate_to:\n      - 5", 28,
         "committees[1].escalate_to[0]",
         "must be text, got 5; put it in quotes if it is meant as text"),
        ("escalate_to: [direktion@buf.kk.example]",
         "escalate_to: [direktion@buf.kk.example, direktion@buf.kk.example]", 27,
         "committees[1].escalate_to[1]", "'direktion@buf.kk.example' is named twice; name it once"),
        ("    name: Økonomiudvalget\n", "    name: Økonomiudvalget\n    chair: [a, b]\n", 22,
         "committees[0].chair", "must be text, got a list"),
        ("from: [OEU, BUU, BIU]", "from: {OEU: yes}", 49, "deliverables[0].from",
         "must be a list, got a mapping"),
        ("      escalate_after: 14", "      escalate_after: true", 53,
         "deliverables[0].reminders.escalate_after",
         "must be a whole number, got true (a yes/no value)"),
        ("    letter: opfordringsskrivelse", "    letter: 7", 60, "events[0].letter",
         "must be text, got 7; put it in quotes if it is meant as text"),
        ("  owner: BIU", "  owner: [BIU]", 6, "policy.owner", "must be text, got a list"),
        ("version: 1", "version: 2", 2, "version", "must be 1, got 2"),
        ("    do: status_report", "    do: rapport", 66, "events[1].do",
         "must be letters, barometer, status_report, budget or meeting, got 'rapport'"),
    ],
)
def test_schema_messages_and_lines(old: str, new: str, line: int, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(variant(old, new))
    assert [(p.line, p.path, p.message) for p in info.value.problems] == [(line, path, message)]


def test_reply_from_is_optional_and_compared_without_case() -> None:
    text = variant("    to: [biu-sekretariat@bif.kk.example]\n",
                   "    to: [biu-sekretariat@bif.kk.example]\n"
                   "    reply_from: [Kontor.BIU@bif.kk.example]\n")
    loaded = loads(text)
    assert loaded.warnings == []
    biu, buu = loaded.wheel.committee["BIU"], loaded.wheel.committee["BUU"]
    assert biu.reply_from == ("Kontor.BIU@bif.kk.example",) and buu.reply_from == ()
    assert biu.sends_from("kontor.biu@BIF.kk.example")
    assert biu.sends_from("BIU-Sekretariat@bif.kk.example")
    assert not biu.sends_from("buu-sekretariat@buf.kk.example")
    assert buu.sends_from("integration-buf@buf.kk.example")  # its cc
    assert not buu.sends_from("kontor.biu@bif.kk.example")


def test_reply_from_naming_a_to_or_cc_is_a_warning() -> None:
    text = variant("    to: [biu-sekretariat@bif.kk.example]\n",
                   "    to: [biu-sekretariat@bif.kk.example]\n"
                   "    reply_from: [BIU-sekretariat@bif.kk.example, "
                   "integration-buf@buf.kk.example]\n")
    loaded = loads(text)
    assert [(w.line, w.path) for w in loaded.warnings] == [
        (31, "committees[2].reply_from[0]"), (31, "committees[2].reply_from[1]")]
    own, other = (w.message for w in loaded.warnings)
    assert own == ("'BIU-sekretariat@bif.kk.example' is already this committee's to or cc; "
                   "remove it from reply_from")
    assert other == ("'integration-buf@buf.kk.example' is committee 'BUU''s to or cc: mail "
                     "from it may then hand in for both committees")
