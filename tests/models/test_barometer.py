"""Barometer CSV import: readings, and every problem with its line number."""

from __future__ import annotations

import pytest

from models.barometer import (
    Reading,
    for_goal,
    is_illustrative,
    parse_csv,
    parse_period,
    parse_value,
    period_label,
)
from models.wheel import Wheel
from tests.models.csvtools import refusals

problems = refusals(parse_csv)


def test_comma_separated_with_dot_and_quoted_comma_decimals(wheel: Wheel) -> None:
    text = (
        "goal,period,value,source,illustrative\n"
        "HM2,2011-H1,7.4,Illustrative tal,ja\n"
        'HM2,2011-H2,"7,1",Illustrative tal,ja\n'
        "\n"
        "# a comment line\n"
        "HM6,2012-h1,-0.5,,\n"
    )
    assert parse_csv(text, wheel) == [
        Reading("HM2", "2011-H1", 7.4, "Illustrative tal", True),
        Reading("HM2", "2011-H2", 7.1, "Illustrative tal", True),
        Reading("HM6", "2012-H1", -0.5, None),
    ]


def test_danish_excel_semicolons_bom_crlf_and_danish_headers(wheel: Wheel) -> None:
    text = (
        "\ufeffMål;Periode;Værdi;Kilde\r\n"
        "HM2;2011-H2;7,4;Danmarks Statistik\r\n"
        "HM1;2012-H1;12,5 %;\r\n"
    )
    assert parse_csv(text, wheel) == [
        Reading("HM2", "2011-H2", 7.4, "Danmarks Statistik"),
        Reading("HM1", "2012-H1", 12.5, None),
    ]


def test_columns_in_any_order_and_source_optional(wheel: Wheel) -> None:
    assert parse_csv("value,goal,period\n3,HM4,2013-H2\n", wheel) == [
        Reading("HM4", "2013-H2", 3.0, None)
    ]


def test_every_problem_is_reported_with_its_line(wheel: Wheel) -> None:
    text = (
        "goal,period,value,source\n"          # 1
        "HM2,2011-H2,7.4,x\n"                 # 2 fine
        "hm2,2012-H1,7.0,x\n"                 # 3 case
        "HM9,2012-H1,7.0,x\n"                 # 4 unknown
        "HM2,2012-H3,7.0,x\n"                 # 5 bad period
        "HM2,2012,7.0,x\n"                    # 6 bad period
        "HM2,2012-H2,syv,x\n"                 # 7 not a number
        "HM2,2011-H2,7.5,x\n"                 # 8 duplicate of line 2
        "HM2,2013-H1,7,4,x\n"                 # 9 unquoted decimal comma
        "HM2,2013-H2,,x\n"                    # 10 missing value
        ",2014-H1,1,x\n"                      # 11 missing goal
        "HM2,2014-H2,nan,x\n"                 # 12 nan
        "HM2\n"                               # 13 too few
    )
    assert problems(text, wheel) == [
        "b.csv:3 goal: unknown goal 'hm2' (did you mean HM2?); the goals are HM1, HM2, HM3, "
        "HM4, HM5, HM6",
        "b.csv:4 goal: unknown goal 'HM9' (did you mean HM6?); the goals are HM1, HM2, HM3, "
        "HM4, HM5, HM6",
        "b.csv:5 period: '2012-H3' is not a half-year period such as 2011-H2 (year, '-H', "
        "then 1 or 2)",
        "b.csv:6 period: '2012' is not a half-year period such as 2011-H2 (year, '-H', "
        "then 1 or 2)",
        "b.csv:7 value: 'syv' is not a number (write 7,4 or 7.4)",
        "b.csv:8 period: HM2 2011-H2 is given twice (first on line 2)",
        "b.csv:9 (row): 5 fields, expected 4 (goal,period,value,source); a decimal comma must "
        "be quoted (\"7,4\") or use ';' as the separator",
        "b.csv:10 value: the value is missing",
        "b.csv:11 goal: the goal is missing",
        "b.csv:12 value: 'nan' is not a number (write 7,4 or 7.4)",
        "b.csv:13 (row): 1 field, expected 4 (goal,period,value,source)",
    ]


def test_line_numbers_count_quoted_newlines_and_blank_lines(wheel: Wheel) -> None:
    text = 'goal;period;value;source\n\nHM2;2011-H2;7,4;"kilde\nover to linjer"\nHM2;2012-H1;x;\n'
    assert problems(text, wheel) == ["b.csv:5 value: 'x' is not a number (write 7,4 or 7.4)"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "b.csv:1 (header): the file is empty"),
    ("goal,period\nHM2,2011-H2\n", "b.csv:1 (header): missing column value"),
    ("goal,periode,value,sorce\n", "b.csv:1 (header): unknown column 'sorce' (did you mean "
                                   "source?)"),
    ("goal,period,value,goal\n", "b.csv:1 (header): column goal is named twice"),
    ("goal,period,value\n", "b.csv:1 (file): no readings"),
    ("goal,period,value\nHM2;2011-H2;7,4\n", "b.csv:2 (row): 2 fields, expected 3 "
                                             "(goal,period,value); the header is separated by "
                                             "',' but this line by ';'"),
])
def test_file_level_problems(wheel: Wheel, text: str, message: str) -> None:
    found = problems(text, wheel)
    assert found[0].startswith(message), found


def test_header_messages_name_every_column_and_which_are_optional(wheel: Wheel) -> None:
    assert problems("# nothing\n", wheel) == [
        "b.csv:1 (header): the file is empty: expected a header row "
        "goal,period,value,source,illustrative and one reading per line"]
    assert problems("goal,sorce,period\n", wheel) == [
        "b.csv:1 (header): missing column value: the header row must be "
        "goal,period,value,source,illustrative (source and illustrative are optional)",
        "b.csv:1 (header): unknown column 'sorce' (did you mean source?); the columns are "
        "goal, period, value, source and illustrative"]


def test_helpers() -> None:
    assert parse_period(" 2011-h2 ") == "2011-H2"
    assert parse_period("1800-H1") is None
    assert period_label("2011-H2") == "2. halvår 2011"
    assert parse_value("7,4") == 7.4
    assert parse_value("inf") is None
    assert parse_value("1.234,5") is None
    rs = [Reading("HM2", "2012-H1", 7.0), Reading("HM2", "2011-H2", 7.4, "Illustrative tal", True),
          Reading("HM1", "2011-H1", 1.0)]
    assert [r.period for r in for_goal(rs, "HM2")] == ["2011-H2", "2012-H1"]
    assert is_illustrative(rs)
    assert not is_illustrative(rs[:1])
    assert rs[1].order == 2011.5


def test_illustrative_is_a_column_not_a_word_in_the_source(wheel: Wheel) -> None:
    text = ("goal;period;value;kilde;illustrativ\n"
            "HM2;2011-H1;7,4;Danmarks Statistik;nej\n"
            "HM2;2011-H2;7,1;illustrativt eksempel;\n"
            "HM3;2011-H2;3,1;Eksempeldata;ja\n")
    got = parse_csv(text, wheel)
    assert [r.illustrative for r in got] == [False, False, True]
    assert not is_illustrative(got[:2]) and is_illustrative(got)
    bad = text.replace("Eksempeldata;ja", "Eksempeldata;måske")
    assert problems(bad, wheel) == ["b.csv:4 illustrative: 'måske' is not ja or nej"]
