"""simulate end to end: a real SMTP server on loopback, summary.json, journal copies that are
byte-identical to what run/chase --as-of write on a fresh database, and the statuses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests import ROOT
from tests.smtpd import serve

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


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return result


def _simulate(out: Path, scenario: Path | None = None, *, smtp: str | None = None) -> Any:
    """``aarshjul simulate`` of 2012 into ``out``: without Prefect, or through the SMTP
    server ``smtp`` (and Prefect)."""
    args = ["simulate", "--year", "2012", "--out", str(out),
            *(["--smtp", smtp] if smtp else ["--no-prefect"]), "--config", CONFIG]
    if scenario is not None:
        args += ["--scenario", str(scenario)]
    return _invoke(args)


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
        r = _simulate(out, smtp=smtp.url)
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
        # RFC 3834 and Exchange: every message of the year says it is automatic
        assert msg["Auto-Submitted"] == "auto-generated", e
        assert msg["X-Auto-Response-Suppress"] == "All", e
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
    from flows.services.setup import open_database
    from flows.services.storage import store_readings
    from flows.simulate.scenario import BUNDLED, load_scenario
    from models.barometer import Reading
    from models.config import load
    from tests.flows.helpers import at

    sc = load_scenario(BUNDLED, load(CONFIG).wheel)
    db = open_database(url)
    store_readings(db, [Reading(r.goal, r.period, r.value, r.source) for r in sc.barometer],
                   at("2012-01-10T09:00"))
    db.dispose()


def test_submission_at_a_chase_instant_is_registered_first(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'submissions:\n  - {committee: OEU, deliverable: handleplan, at: "2012-04-30T09:00"}\n'
    )
    out = tmp_path / "out"
    r = _simulate(out, scenario)
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
    r = _simulate(tmp_path / "o", scenario)
    assert r.exit_code == 1
    err = r.stderr
    assert f"{scenario}:2 submissions[0].committee: 'XYZ' is not a committee" in err
    assert f"{scenario}:3 submissions[1].at:" in err and "does not exist" in err
    assert f"{scenario}:5 barometer[0].value" in err
    assert not (tmp_path / "o" / "summary.json").exists()


@pytest.mark.parametrize(("body", "message"), [
    ('actions:\n  - {at: "2012-04-28T10:00", do: [extend], committee: TMU}\n',
     ":2 actions[0].do: expected one value, not a list"),
    ('actions:\n  - {at: "2012-04-28T10:00", do: extend, committee: TMU, deliverable: {a: 1},'
     ' until: "2012-05-11"}\n', ":2 actions[0].deliverable: expected one value, not a mapping"),
    ("barometer:\n  - {goal: [HM2], period: 2011-H2, value: 7.4}\n",
     ":2 barometer[0].goal: expected one value, not a list"),
    ('submissions:\n  - {committee: [BUU], deliverable: handleplan, at: "2012-04-20T10:00"}\n',
     ":2 submissions[0].committee: expected one value, not a list"),
    ("submissions: BUU\n", ":1 submissions: expected a list"),
    ("barometer: {goal: HM2}\n", ":1 barometer: expected a list"),
    ("submissions:\n  - {committee: BUU, goals: {[HM2]: x}}\n", ": not valid YAML"),
], ids=["do-list", "deliverable-mapping", "goal-list", "committee-list", "submissions-text",
        "barometer-mapping", "unhashable-key"])
def test_a_scenario_of_the_wrong_shape_is_refused_with_its_line(
    tmp_path: Path, body: str, message: str
) -> None:
    from flows.simulate.scenario import ScenarioError, load_scenario
    from models.config import load

    scenario = tmp_path / "bad.yaml"
    scenario.write_text(body, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario, load(CONFIG).wheel)
    assert f"{scenario}{message}" in str(info.value), info.value.problems


# --- realistic content: filled-in forms, budget decisions ------------------------------------


def _report(out: Path, folder: str) -> Any:
    """The report .docx of the event ``folder``, found through summary.json's documents."""
    import docx

    summary = json.loads((out / "summary.json").read_text())
    found = [d for d in summary["documents"]
             if d.startswith(f"documents/2012/{folder}/") and d.endswith(".docx")]
    assert len(found) == 1, summary["documents"]
    return docx.Document(str(out / found[0]))


def _text(doc: Any) -> str:
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _rows(doc: Any, first_header: str) -> list[list[str]]:
    """Body rows of every table whose header row starts with ``first_header``."""
    return [[c.text for c in r.cells] for t in doc.tables
            if t.rows and t.rows[0].cells[0].text == first_header for r in t.rows[1:]]


def test_bundled_year_reports_have_goal_texts_initiatives_and_budget(tmp_path: Path) -> None:
    from flows.simulate.forms import illustrative_goal_text
    from flows.simulate.scenario import BUNDLED, load_scenario
    from models.config import load
    from models.numbers import parse_dkk

    wheel = load(CONFIG).wheel
    sc = load_scenario(BUNDLED, wheel)
    assert sc.budget and {d.funded for d in sc.budget} == {"yes", "no", "partly"}
    out = tmp_path / "out"
    r = _simulate(out)
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    got = {(q["committee"], q["deliverable"]): q["status"] for q in summary["requests"]}
    assert got == EXPECTED

    status = _report(out, "statusrapport")
    text = _text(status)
    submitting = {s.committee for s in sc.submissions}
    assert submitting == {"OEU", "BUU", "KFU", "SUU", "TMU", "BIU"}
    for c in submitting:
        for g in wheel.goals_for(c):
            for d in ("handleplan", "redegoerelse"):
                goal_text = illustrative_goal_text(wheel, c, d, g.key, 2012)
                assert goal_text.startswith("(Illustrativ tekst) ")
                assert goal_text in text, (c, d, g.key)
    for s in sc.submissions:  # every initiative of the scenario is in the report
        for i in s.initiatives or ():
            assert i.title in text
    totals = dict((row[0], parse_dkk(row[1])) for row in _rows(status, "Finansiering af "
                                                                        "initiativerne"))
    assert (totals["Finansieret"] or 0) > 0, totals
    assert (totals["Ikke finansieret"] or 0) > 0, totals

    overview = _report(out, "budget")
    whole = [row for row in _rows(overview, "I alt") if row[0] == "Hele kommunen"]
    assert len(whole) == 1
    asked, granted = parse_dkk(whole[0][1]), parse_dkk(whole[0][2])
    assert granted is not None and asked is not None and 0 < granted < asked, whole
    # some funded, some partly, some not: the counts of the whole municipality
    assert [int(x) for x in whole[0][3:6]] == [3, 3, 3], whole
    assert "bevilget " + whole[0][2] in _text(overview)
    # the reports are one e-mail each, as before
    assert [e["kind"] for e in summary["emails"]].count("report") == 2


def test_explicit_goals_and_initiatives_are_exactly_what_the_report_shows(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "submissions:\n"
        "  - committee: OEU\n"
        "    deliverable: handleplan\n"
        '    at: "2012-04-26T14:30"\n'
        "    goals: {HM2: 'Økonomiforvaltningen samler jobindsatsen i én enhed.'}\n"
        "    initiatives:\n"
        "      - {title: Én indgang for virksomheder, goal: HM2, amount: '0,8 mio. kr.',"
        " financed: Nej}\n"
        "      - {title: Lederudvikling med mangfoldighed, goal: HM3,"
        " amount: '1.500.000 kr.', financed: ja}\n"
        "budget:\n"
        "  - {committee: OEU, initiative: én indgang for virksomheder, goal: HM2,"
        " amount: '300.000 kr.', funded: delvist}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    r = _simulate(out, scenario)
    assert r.exit_code == 0, r.output
    status = _report(out, "statusrapport")
    text = _text(status)
    assert "Økonomiforvaltningen samler jobindsatsen i én enhed." in text
    assert "(Illustrativ tekst)" not in text  # nothing made up when the scenario says it
    rows = [row[:4] for row in _rows(status, "Initiativ")]
    assert rows == [
        ["Én indgang for virksomheder", "HM2", "800.000 kr.", "nej"],
        ["Lederudvikling med mangfoldighed", "HM3", "1.500.000 kr.", "ja"],
    ]
    overview = _text(_report(out, "budget"))
    assert "bevilget 300.000 kr." in overview


def test_a_bad_budget_entry_is_refused_before_anything_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "bad-budget.yaml"
    scenario.write_text(
        "submissions:\n"
        '  - {committee: OEU, deliverable: handleplan, at: "2012-04-26T14:30",\n'
        "     initiatives: [{title: X, goal: HM1, amount: mange, financed: kanske}]}\n"
        "budget:\n"
        "  - {committee: OEU, initiative: Én indgang, goal: HM2, funded: ja}\n"
        "  - {committee: OEU, initiative: Én indgang 2, goal: HM2, funded: måske}\n"
        "  - {committee: OEU, initiative: Delvis, goal: HM2, funded: delvist}\n"
        "  - {committee: XYZ, titel: Noget, funded: ja}\n",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    r = _simulate(out, scenario)
    assert r.exit_code == 1
    err = r.stderr
    assert f"{scenario}:6 budget[1].funded: 'måske' is not ja, nej or delvist" in err
    assert f"{scenario}:7 budget[2].amount: a partly funded initiative needs the amount" in err
    assert f"{scenario}:8 budget[3]: unknown key(s) titel" in err
    assert f"{scenario}:8 budget[3].committee: unknown committee 'XYZ'" in err
    assert f"{scenario}:2 submissions[0].initiatives[0].goal: 'HM1' is not a goal of OEU" in err
    assert f"{scenario}:2 submissions[0].initiatives[0].amount: 'mange'" in err
    assert f"{scenario}:2 submissions[0].initiatives[0].financed: 'kanske'" in err
    assert "refused; nothing was simulated" in err
    assert not (out / "summary.json").exists() and not (out / "state.sqlite").exists()
