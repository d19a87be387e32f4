"""`barometer import` and `budget import` take the same files on SQLite and PostgreSQL: what
a column cannot hold (over its length, a NUL) is refused by the importer at its line, before
the database sees it (README "Submissions and imports")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from models.db import make_engine
from models.text import INITIATIVE_MAX, SOURCE_MAX
from tests.dbtools import BACKENDS, sqlite_url, temp_postgres
from tests.flows.helpers import ROOT

CONFIG = str(ROOT / "aarshjul.yaml")


@contextmanager
def backend(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_url(tmp)
    else:
        with temp_postgres() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with backend(request.param, tmp_path) as u:
        monkeypatch.setenv("AARSHJUL_DATABASE_URL", u)
        monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        yield u


def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--config", CONFIG], catch_exceptions=False)


def rows(url: str, table: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))]
    finally:
        engine.dispose()


def _csv(tmp: Path, name: str, body: str) -> Path:
    path = tmp / name
    path.write_text(body, encoding="utf-8")
    return path


def test_barometer_source_lengths_and_nul_are_checked_the_same_on_both(
    url: str, tmp_path: Path
) -> None:
    longest = "S" * SOURCE_MAX
    ok = _csv(tmp_path, "ok.csv", f"goal,period,value,source\nHM2,2011-H2,7.4,{longest}\n")
    r = cli("barometer", "import", str(ok))
    assert r.exit_code == 0, r.output
    before = rows(url, "barometer_readings")
    assert [row for row in before if longest in row]
    bad = _csv(tmp_path, "bad.csv",
               "goal,period,value,source\n"
               f"HM2,2011-H1,7.1,{'S' * (SOURCE_MAX + 1)}\n"
               "HM2,2012-H1,7.0,Danmarks\x00Statistik\n"
               "HM2,2012-H2,7.2,ok\n")
    r = cli("barometer", "import", str(bad))
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert r.stderr.splitlines()[:2] == [
        f"{bad}:2 source: is {SOURCE_MAX + 1:,} characters long; at most {SOURCE_MAX:,} are "
        "allowed",
        f"{bad}:3 source: contains a NUL character (\\x00): the file is damaged or not a CSV "
        "text file",
    ]
    assert rows(url, "barometer_readings") == before  # nothing stored


def test_budget_title_lengths_and_nul_are_checked_the_same_on_both(
    url: str, tmp_path: Path
) -> None:
    longest = "I" * INITIATIVE_MAX
    ok = _csv(tmp_path, "ok.csv", f"committee,initiative,funded\nBUU,{longest},ja\n")
    r = cli("budget", "import", "--year", "2012", str(ok))
    assert r.exit_code == 0, r.output
    before = rows(url, "budget_decisions")
    assert len(before) == 1
    bad = _csv(tmp_path, "bad.csv",
               "committee,initiative,funded\n"
               f"BUU,{'I' * (INITIATIVE_MAX + 1)},ja\n"
               "BUU,Sprog\x00kursus,nej\n"
               f"BUU,{'ﷺ' * 30},ja\n")  # 30 characters whose matching key has 540
    r = cli("budget", "import", "--year", "2012", str(bad))
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert r.stderr.splitlines()[:3] == [
        f"{bad}:2 initiative: is {INITIATIVE_MAX + 1:,} characters long; at most "
        f"{INITIATIVE_MAX:,} are allowed",
        f"{bad}:3 initiative: contains a NUL character (\\x00): the file is damaged or not a "
        "CSV text file",
        f"{bad}:4 initiative: its matching key is 540 characters long; at most "
        f"{INITIATIVE_MAX:,} are allowed",
    ]
    assert rows(url, "budget_decisions") == before
