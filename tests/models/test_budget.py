"""Budget CSV import: decisions, and every problem with its line number."""

from __future__ import annotations

from models.budget import Decision, parse_csv, parse_funded, title_key
from models.wheel import Wheel
from tests.models.csvtools import refusals

problems = refusals(parse_csv)


def test_comma_and_semicolon_files_with_danish_amounts(wheel: Wheel) -> None:
    text = (
        "\ufeffcommittee,initiative,goal,amount,funded\n"
        "BUU,Mentorordning for tosprogede elever,HM1,1.500.000 kr.,ja\n"
        "\n"
        "# comment\n"
        'SOU,Brobyggere,HM6,"0,8 mio. kr.",Delvist\n'
        "BIU,Virksomhedspraktik,,,nej\n"
    )
    assert parse_csv(text, wheel) == [
        Decision("BUU", "Mentorordning for tosprogede elever", "HM1", 1_500_000, "yes", 2),
        Decision("SOU", "Brobyggere", "HM6", 800_000, "partly", 5),
        Decision("BIU", "Virksomhedspraktik", None, 0, "no", 6),
    ]
    danish = "udvalg;initiativ;hovedmål;beløb;finansieret\nKFU;Bland dig i Byen;HM4;;ja\n"
    assert parse_csv(danish, wheel) == [
        Decision("KFU", "Bland dig i Byen", "HM4", None, "yes", 2)]


def test_an_implausible_amount_is_a_problem_not_a_crash(wheel: Wheel) -> None:
    text = ("committee,initiative,goal,amount,funded\n"
            "BUU,Mentorordning,HM1,99999999999999999999999999 mia. kr.,delvist\n"
            "BUU,Lektiecafe,HM1,1.000 mia. kr.,ja\n")
    assert problems(text, wheel) == [
        "b.csv:2 amount: '99999999999999999999999999 mia. kr.' is not a plausible amount: "
        "more than 1.000 mia. kr."]


def test_every_problem_has_its_line_number(wheel: Wheel) -> None:
    text = (
        "committee,initiative,goal,amount,funded\n"
        "BUU,Mentorordning,HM1,1.500.000 kr.,ja\n"
        "XYZ,Noget,HM1,100 kr.,ja\n"
        "buu,Noget,HM9,se bilag,måske\n"
        "SOU,,HM6,,\n"
        "SOU,Brobyggere,HM6,,delvist\n"
        "BUU,mentorordning,HM1,,nej\n"
        "BUU,Lektiecafe,HM1,1,5 mio. kr.,ja\n"
    )
    assert problems(text, wheel) == [
        "b.csv:3 committee: unknown committee 'XYZ'; the committees are OEU, BUU, KFU, SUU, "
        "SOU, TMU, BIU",
        "b.csv:4 amount: 'se bilag' is not an amount in kroner (write 1.500.000 kr. or "
        "1,5 mio. kr.)",
        "b.csv:4 committee: unknown committee 'buu' (did you mean BUU?); the committees are "
        "OEU, BUU, KFU, SUU, SOU, TMU, BIU",
        "b.csv:4 funded: 'måske' is not ja, nej or delvist",
        "b.csv:4 goal: unknown goal 'HM9' (did you mean HM6?); the goals are HM1, HM2, HM3, HM4, "
        "HM5, HM6",
        "b.csv:5 funded: funded is missing: write ja, nej or delvist",
        "b.csv:5 initiative: the initiative's title is missing",
        "b.csv:6 amount: a partly funded initiative needs the amount granted",
        "b.csv:7 initiative: BUU 'mentorordning' is given twice (first on line 2)",
        "b.csv:8 (row): 6 fields, expected 5; an amount with a comma must be quoted "
        "(\"1,5 mio. kr.\") or use ';' as the separator",
    ]


def test_header_and_empty_files(wheel: Wheel) -> None:
    assert problems("", wheel) == [
        "b.csv:1 (header): the file is empty: expected a header row "
        "committee,initiative,goal,amount,funded and one initiative per line"]
    assert problems("# only\ncommittee,initiative,funded\n", wheel) == [
        "b.csv:2 (file): no decisions: the file has a header row only"]
    got = problems("udvalg,initativ,beløb\nBUU,x,1\n", wheel)
    assert got == [
        "b.csv:1 (header): missing columns initiative, funded: the header row must be "
        "committee,initiative,goal,amount,funded (goal and amount are optional)",
        "b.csv:1 (header): unknown column 'initativ' (did you mean initiative?); the columns "
        "are committee, initiative, goal, amount and funded",
    ]


def test_funded_words_and_title_matching() -> None:
    assert [parse_funded(x) for x in ("Ja", "NEJ", "delvis", "partly", "x", "?")] == [
        "yes", "no", "partly", "partly", "yes", None]
    assert title_key("  Sprogstøtte i  dagtilbud. ") == title_key("sprogstøtte i dagtilbud")
    assert title_key("Bland dig i Byen!") == "bland dig i byen"
