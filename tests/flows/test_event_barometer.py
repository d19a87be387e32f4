"""The barometer event: one chart per goal and a Danish snapshot written, an artifact published
under Prefect, no e-mail. Real readings in a real SQLite store, real PNG files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from flows import runs
from flows.services.setup import Setup
from models.state import BarometerReading
from tests.dbtools import database
from tests.flows.helpers import at, flow_at, mailbox, make_setup, run_artifact

PNG = b"\x89PNG\r\n\x1a\n"
READINGS = [  # (goal, period, value, source)
    ("HM2", "2010-H2", 7.9, "Illustrative tal"),
    ("HM2", "2011-H1", 7.4, "Illustrative tal"),
    ("HM2", "2011-H2", 7.1, "Illustrative tal"),
    ("HM1", "2011-H1", 61.0, "Illustrative tal"),
    ("HM1", "2011-H2", 63.5, "Illustrative tal"),
    ("HM2", "2012-H1", 6.6, "Illustrative tal"),  # not yet ended on 10 January 2012
]


@pytest.fixture
def st(tmp_path: Path):
    with database("sqlite", tmp_path) as eng:
        yield make_setup(eng, tmp_path, documents=tmp_path / "documents")


def add_readings(st: Setup, readings: list[tuple[str, str, float, str]] = READINGS) -> None:
    with Session(st.db) as s:
        for goal, period, value, source in readings:
            s.add(
                BarometerReading(
                    goal=goal,
                    period=period,
                    value=value,
                    source=source,
                    illustrative="Illustrative" in source,
                    recorded_at=datetime(2012, 1, 2, tzinfo=UTC),
                )
            )
        s.commit()


def test_one_chart_per_goal_and_a_snapshot_no_mail(st: Setup, tmp_path: Path) -> None:
    add_readings(st)
    report = runs.event(st, "barometer-januar", 2012, at("2012-01-10T09:00"))
    folder = tmp_path / "documents" / "2012" / "barometer-januar"
    goals = [g.key for g in st.wheel.goals]
    charts = sorted(folder.glob("*.png"))
    assert [p.name for p in charts] == sorted(f"barometer-{g}.png" for g in goals)
    for p in charts:
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 5_000
    assert sorted(report.documents) == sorted(
        [f"2012/barometer-januar/barometer-{g}.png" for g in goals]
        + ["2012/barometer-januar/barometer.md"]
    )
    assert report.messages == [] and mailbox(tmp_path) == []
    [note] = report.notes
    assert f"{len(goals)} grafer" in note and "målinger for 2 af" in note
    assert "seneste periode 2. halvår 2011" in note and "illustrative" in note
    md = (folder / "barometer.md").read_text(encoding="utf-8")
    assert "| Hovedmål | Udgangspunkt | Seneste måling | Mål | Vurdering |" in md
    hm2 = next(line for line in md.splitlines() if line.startswith("| HM2 "))
    # baseline 2010-H2, latest 2011-H2 (2012-H1 has not ended on 10 January 2012)
    assert "7,9 % (2. halvår 2010)" in hm2 and "7,1 % (2. halvår 2011)" in hm2
    assert "5,8 % i 2014" in hm2 and "bedre end udgangspunktet" in hm2
    hm1 = next(line for line in md.splitlines() if line.startswith("| HM1 "))
    assert "mål ikke fastsat" in hm1
    assert "**Illustrative tal:**" in md
    assert md.count("`barometer-") == len(goals)  # an alt text per chart


def test_the_july_snapshot_includes_the_first_half_and_a_reached_target(
    st: Setup, tmp_path: Path
) -> None:
    add_readings(st, [*READINGS[:-1], ("HM2", "2012-H1", 5.5, "Danmarks Statistik")])
    runs.event(st, "barometer-juli", 2012, at("2012-07-10T09:00"))
    md = (tmp_path / "documents" / "2012" / "barometer-juli" / "barometer.md").read_text()
    hm2 = next(line for line in md.splitlines() if line.startswith("| HM2 "))
    assert "5,5 % (1. halvår 2012)" in hm2 and "målet er nået" in hm2


def test_charts_differ_with_and_without_a_target_and_the_illustrative_label(
    st: Setup, tmp_path: Path
) -> None:
    """The chart is drawn from the readings: no readings and illustrative ones differ."""
    runs.event(st, "barometer-januar", 2012, at("2012-01-10T09:00"))
    folder = tmp_path / "documents" / "2012" / "barometer-januar"
    empty = (folder / "barometer-HM2.png").read_bytes()
    md = (folder / "barometer.md").read_text()
    assert "ingen målinger i barometeret" in md and "ingen måling endnu" in md
    add_readings(st)
    runs.event(st, "barometer-januar", 2012, at("2012-01-10T09:00"))
    assert (folder / "barometer-HM2.png").read_bytes() != empty


def test_dry_run_writes_into_the_preview_folder_only(st: Setup, tmp_path: Path) -> None:
    add_readings(st)
    preview = tmp_path / "preview"
    report = runs.event(
        st, "barometer-januar", 2012, at("2012-01-10T09:00"), dry_run=True, preview_dir=preview
    )
    assert len(list(preview.glob("barometer-*.png"))) == len(st.wheel.goals)
    assert not (tmp_path / "documents").exists()
    assert report.dry_run and "barometer.md" in report.documents


def test_the_flow_publishes_the_snapshot_artifact(prefect_harness, st: Setup) -> None:
    from flows import workflows as W

    add_readings(st)
    state = flow_at(W.event_flow, st, "2012-01-10T09:00", year=2012, event="barometer-januar",
                    return_state=True)
    snap = run_artifact(state, "aarshjul-2012-barometer-januar")
    assert snap.type == "markdown"
    assert "| Hovedmål | Udgangspunkt | Seneste måling | Mål | Vurdering |" in str(snap.data)
    assert "7,1 % (2. halvår 2011)" in str(snap.data)
