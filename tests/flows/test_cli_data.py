"""``barometer import`` and ``budget import`` through the CLI (CliRunner) on a real SQLite store:
line-numbered refusals store nothing (exit 1); valid files are stored idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows import cli_data
from models.budget_state import BudgetDecision
from models.state import BarometerReading
from tests.flows.helpers import CONFIG, cli_env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_env(tmp_path, monkeypatch)


def app() -> typer.Typer:
    a = typer.Typer()
    a.command("noop")(lambda: None)  # a group, so the sub-apps keep their names
    cli_data.register(a)
    return a


def cli(*args: str) -> Any:
    return CliRunner().invoke(app(), [*args, "--config", CONFIG], catch_exceptions=False)


def rows(tmp: Path, table: type) -> list[Any]:
    path = tmp / "state.sqlite"
    if not path.exists():
        return []
    eng = create_engine(f"sqlite:///{path}")
    try:
        with Session(eng) as s:
            return list(s.exec(select(table)).all())
    except Exception:  # the table does not exist: nothing was stored
        return []
    finally:
        eng.dispose()


def test_barometer_import_refuses_with_line_numbers_and_stores_nothing(env: Path) -> None:
    f = env / "b.csv"
    f.write_text("goal,period,value,source\nHM2,2011-H2,7.4,x\nHM7,2011-H3,abc,x\n"
                 "HM2,2011-H2,7.5,x\n", encoding="utf-8")
    r = cli("barometer", "import", str(f))
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert f"{f}:3 goal: unknown goal 'HM7'" in lines[0]
    assert any(x.startswith(f"{f}:3 period:") for x in lines)
    assert any(x.startswith(f"{f}:3 value:") for x in lines)
    assert any(x.startswith(f"{f}:4 period: HM2 2011-H2 is given twice (first on line 2)")
               for x in lines)
    assert lines[-1] == f"{f}: refused, 4 problems; nothing was stored."
    assert rows(env, BarometerReading) == []


def test_barometer_import_is_idempotent_on_goal_and_period(env: Path) -> None:
    f = env / "b.csv"
    f.write_text("goal;period;value;source;illustrativ\nHM2;2011-H1;7,4;Illustrative tal;ja\n"
                 "HM2;2011-H2;7,1;Illustrative tal;ja\n", encoding="utf-8")
    r = cli("barometer", "import", str(f))
    assert r.exit_code == 0, r.output
    assert "2 readings" in r.stdout and "2 new, 0 updated, 0 unchanged" in r.stdout
    assert "illustrative" in r.stdout
    r = cli("barometer", "import", str(f))
    assert "0 new, 0 updated, 2 unchanged" in r.stdout
    f.write_text("goal;period;value;source\nHM2;2011-H2;6,9;Danmarks Statistik\n",
                 encoding="utf-8")
    r = cli("barometer", "import", str(f))
    assert "0 new, 1 updated, 0 unchanged" in r.stdout
    got = sorted((x.goal, x.period, x.value, x.source) for x in rows(env, BarometerReading))
    assert got == [("HM2", "2011-H1", 7.4, "Illustrative tal"),
                   ("HM2", "2011-H2", 6.9, "Danmarks Statistik")]


def _refused_budget(env: Path, body: str) -> tuple[Path, list[str]]:
    """Import a budget file of ``body`` below the header for 2012: it is refused (exit 1) and
    nothing is stored. The file and the lines of the refusal."""
    f = env / "budget.csv"
    f.write_text("committee,initiative,goal,amount,funded\n" + body, encoding="utf-8")
    r = cli("budget", "import", str(f), "--year", "2012")
    assert r.exit_code == 1
    assert rows(env, BudgetDecision) == []
    return f, r.stderr.splitlines()


def test_budget_import_refuses_with_line_numbers_and_stores_nothing(env: Path) -> None:
    f, refusal = _refused_budget(env, "BUU,Mentorordning,HM1,,ja\n"
                                      "BUU,Lektiecafe,HM1,mange penge,ja\n"
                                      "TMU,Cykelstier,,,kanske\n")
    assert refusal == [
        f"{f}:3 amount: 'mange penge' is not an amount in kroner (write 1.500.000 kr. or "
        "1,5 mio. kr.)",
        f"{f}:4 funded: 'kanske' is not ja, nej or delvist",
        f"{f}: refused, 2 problems; nothing was stored.",
    ]


def test_budget_import_refuses_an_implausible_amount_without_a_crash(env: Path) -> None:
    f, refusal = _refused_budget(
        env, "BUU,Mentorordning,HM1,99999999999999999999999999 mia. kr.,delvist\n")
    assert refusal == [
        f"{f}:2 amount: '99999999999999999999999999 mia. kr.' is not a plausible amount: "
        "more than 1.000 mia. kr.",
        f"{f}: refused, 1 problem; nothing was stored.",
    ]


def test_budget_import_stores_per_year_idempotently(env: Path) -> None:
    f = env / "budget.csv"
    f.write_text("udvalg;initiativ;hovedmål;beløb;finansieret\n"
                 "BUU;Mentorordning;HM1;1.500.000 kr.;ja\n"
                 "SOU;Brobyggere;HM6;0,8 mio. kr.;delvist\n",
                 encoding="utf-8")
    r = cli("budget", "import", str(f), "--year", "2012")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"budget 2012: 2 decisions from {f}: 2 new, 0 updated, 0 unchanged."
    r = cli("budget", "import", str(f), "--year", "2012")
    assert "0 new, 0 updated, 2 unchanged" in r.stdout
    f.write_text("udvalg;initiativ;hovedmål;beløb;finansieret\nBUU;mentorordning;HM1;;nej\n",
                 encoding="utf-8")
    assert "0 new, 1 updated, 0 unchanged" in cli("budget", "import", str(f), "--year",
                                                   "2012").stdout
    got = sorted((x.year, x.committee, x.initiative, x.amount_dkk, x.funded, x.source)
                 for x in rows(env, BudgetDecision))
    assert got == [(2012, "BUU", "mentorordning", 0, "no", "budget.csv"),
                   (2012, "SOU", "Brobyggere", 800_000, "partly", "budget.csv")]


def test_budget_import_refuses_a_year_outside_the_policy_and_non_utf8(env: Path) -> None:
    f = env / "budget.csv"
    f.write_bytes("committee,initiative,funded\nBUU,Mentorordning,ja\nBUU,Sprogstøtte,ja\n"
                  .encode("latin-1"))
    r = cli("budget", "import", str(f), "--year", "2020")
    assert r.exit_code == 1 and "2020 is not a cycle year" in r.stderr
    r = cli("budget", "import", str(f), "--year", "2012")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [f"{f}:3 (file): not UTF-8 text (save the file as CSV UTF-8)."
                                     " Nothing was stored."]


def test_the_verbs_are_named_as_the_contract_says() -> None:
    from flows.cli import app as main

    r = CliRunner().invoke(main, ["barometer", "import", "--help"])
    assert r.exit_code == 0 and "barometer import" in r.stdout and "file" in r.stdout
    r = CliRunner().invoke(main, ["budget", "import", "--help"])
    assert r.exit_code == 0 and "--year" in r.stdout
    assert CliRunner().invoke(main, ["budget", "import"]).exit_code == 2
