"""simulate end to end: a real SMTP server on loopback, summary.json, journal copies that are
byte-identical to what run/chase --as-of write on a fresh database, and the statuses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.smtpd import serve

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "aarshjul.yaml")

EXPECTED = {
    ("OEU", "handleplan"): "on_time",
    ("BUU", "handleplan"): "on_time",
    ("KFU", "handleplan"): "on_time",
    ("SUU", "handleplan"): "on_time",  # on the due date, 15:45
    ("SOU", "handleplan"): "missing",
    ("TMU", "handleplan"): "late",
    ("BIU", "handleplan"): "on_time",
    ("OEU", "redegoerelse"): "on_time",
    ("BUU", "redegoerelse"): "on_time",
    ("KFU", "redegoerelse"): "on_time",  # at the chase instant: registered first
    ("SUU", "redegoerelse"): "on_time",
    ("SOU", "redegoerelse"): "missing",
    ("TMU", "redegoerelse"): "late",
    ("BIU", "redegoerelse"): "on_time",
}


def _invoke(args: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return result


@pytest.mark.slow
def test_simulate_2012_over_smtp_matches_summary_and_live_journal(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a live SMTP URL and database that simulate must never touch
    live_db = tmp_path / "live.sqlite"
    monkeypatch.setenv("AARSHJUL_SMTP_URL", "smtp://127.0.0.1:9")
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{live_db}")
    out = tmp_path / "out"
    with serve() as smtp:
        r = _invoke(
            [
                "simulate",
                "--year",
                "2012",
                "--out",
                str(out),
                "--smtp",
                smtp.url,
                "--config",
                CONFIG,
            ]
        )
        assert r.exit_code == 0, r.output
        received = list(smtp.handler.received)
    assert not live_db.exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["year"] == 2012

    # statuses
    got = {(q["committee"], q["deliverable"]): q["status"] for q in summary["requests"]}
    assert got == EXPECTED
    for q in summary["requests"]:
        assert (q["received_at"] is None) == (q["status"] == "missing")
        assert q["due"] == ("2012-05-01" if q["deliverable"] == "handleplan" else "2012-05-15")

    # the server received exactly the e-mails of summary.json, one to one, in send order
    emails = summary["emails"]
    assert [m.message_id for m in received] == [e["message_id"] for e in emails]
    assert len({e["message_id"] for e in emails}) == len(emails)
    for m, e in zip(received, emails, strict=True):
        msg = m.message
        assert msg["X-Aarshjul-Kind"] == e["kind"]
        assert msg["X-Aarshjul-Committee"] == e["committee"]
        assert msg["X-Aarshjul-Slot"] == e["slot"]
        assert str(msg["Subject"]).strip() == e["subject"]  # a folded Subject: parses with a space
        assert sorted(m.rcpt_tos) == sorted(e["to"] + e["cc"])
        when = datetime.fromisoformat(e["date"])
        # Date is the simulated instant with the policy's offset on that day (DST: +02:00)
        summer = datetime(2012, 3, 25, 3) <= when.replace(tzinfo=None) < datetime(2012, 10, 28, 2)
        assert e["date"].endswith("+02:00" if summer else "+01:00"), e
    kinds = [e["kind"] for e in emails]
    assert kinds.count("letter") == 14  # opfordring + konference-invitation to 7 committees
    assert kinds.count("receipt") == 13
    assert kinds.count("escalation") == 2
    esc = [e for e in emails if e["kind"] == "escalation"]
    assert {e["committee"] for e in esc} == {"SOU"}
    assert all(e["to"] == ["koordinator@bif.kk.example"] for e in esc)
    assert emails[0]["date"] == "2012-01-20T09:00:00+01:00"
    # a letter carries the letter and, for the opfordring, the two forms
    first = emails[0]
    assert len(first["attachments"]) == 3 and all(a.endswith(".docx") for a in first["attachments"])
    # no reminder for SUU's handleplan after its on-due-date submission, none for KFU's
    # redegørelse at the chase of the instant it arrived
    for e in emails:
        if e["kind"] == "reminder" and (e["committee"], e["deliverable"]) == (
            "KFU",
            "redegoerelse",
        ):
            assert e["date"] < "2012-05-15", e
    # documents exist, paths relative to --out
    assert summary["documents"]
    for d in summary["documents"]:
        assert not d.startswith("/") and (out / d).is_file()
    for j in summary["journal"]:
        assert (out / j).is_file()

    # the same instants, live, on a fresh database: byte-identical journal copies
    live = tmp_path / "live"
    env = {
        "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}",
        "AARSHJUL_DATA_DIR": str(live),
        "AARSHJUL_SMTP_URL": "",
    }
    monkeypatch.delenv("AARSHJUL_SMTP_URL")
    _same_barometer_readings(env["AARSHJUL_DATABASE_URL"])
    r = _invoke(
        ["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00", "--config", CONFIG],
        env,
    )
    assert r.exit_code == 0, r.output
    r = _invoke(["chase", "--as-of", "2012-04-17T09:00", "--config", CONFIG], env)
    assert r.exit_code == 0, r.output
    copies = sorted((live / "journal").rglob("*.eml"))
    assert len(copies) == 14  # 7 letters (January, +01:00) and 7 before-14 (April, +02:00)
    for p in copies:
        twin = out / "journal" / p.relative_to(live / "journal")
        assert twin.is_file(), twin
        assert twin.read_bytes() == p.read_bytes(), p.name


def _same_barometer_readings(url: str) -> None:
    """The live database gets the scenario's readings (the letters print them)."""
    from sqlmodel import Session

    from flows import engine as E
    from flows.simulate import BUNDLED, load_scenario
    from models.config import load
    from models.state import BarometerReading
    from tests.flows.helpers import at

    sc = load_scenario(BUNDLED, load(CONFIG).wheel)
    db = E.open_database(url)
    with Session(db) as s:
        for r in sc.barometer:
            s.add(
                BarometerReading(
                    goal=r.goal,
                    period=r.period,
                    value=r.value,
                    source=r.source,
                    recorded_at=at("2012-01-10T09:00"),
                )
            )
        s.commit()
    db.dispose()


def test_submission_at_a_chase_instant_is_registered_first(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'submissions:\n  - {committee: OEU, deliverable: handleplan, at: "2012-04-30T09:00"}\n'
    )
    out = tmp_path / "out"
    r = _invoke(
        [
            "simulate",
            "--year",
            "2012",
            "--out",
            str(out),
            "--scenario",
            str(scenario),
            "--no-prefect",
            "--config",
            CONFIG,
        ]
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    oeu = [
        e for e in summary["emails"] if (e["committee"], e["deliverable"]) == ("OEU", "handleplan")
    ]
    assert [(e["kind"], e["slot"]) for e in oeu] == [
        ("reminder", "before-14"),
        ("reminder", "before-7"),
        ("receipt", None),
    ]
    status = {(q["committee"], q["deliverable"]): q["status"] for q in summary["requests"]}
    assert status[("OEU", "handleplan")] == "on_time"
    assert status[("BUU", "handleplan")] == "missing"
    # everyone else got the whole ladder, the escalation included
    buu = [
        e["slot"]
        for e in summary["emails"]
        if (e["committee"], e["deliverable"]) == ("BUU", "handleplan")
    ]
    assert buu == ["before-14", "before-7", "before-1", "after-1", "after-7", "escalate"]
    assert (out / "mailbox").is_dir()  # no --smtp: written to a directory, never sent


def test_a_bad_scenario_is_refused_with_lines(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "submissions:\n"
        '  - {committee: XYZ, deliverable: handleplan, at: "2012-04-30T09:00"}\n'
        '  - {committee: BUU, deliverable: handleplan, at: "2012-03-25T02:30"}\n'
        "barometer:\n"
        "  - {goal: HM2, period: 2011-H2, value: lots}\n"
    )
    r = CliRunner().invoke(
        app,
        [
            "simulate",
            "--year",
            "2012",
            "--out",
            str(tmp_path / "o"),
            "--scenario",
            str(scenario),
            "--no-prefect",
            "--config",
            CONFIG,
        ],
    )
    assert r.exit_code == 1
    err = r.stderr
    assert f"{scenario}:2 submissions[0].committee: 'XYZ' is not a committee" in err
    assert f"{scenario}:3 submissions[1].at:" in err and "does not exist" in err
    assert f"{scenario}:5 barometer[0].value" in err
    assert not (tmp_path / "o" / "summary.json").exists()
