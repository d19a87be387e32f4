"""The meeting event: a valid .ics invitation (parsed back with icalendar) with the event's
committees as attendees, a stable UID, the policy's zone; an artifact under Prefect; no e-mail."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from flows import runs
from flows.services.setup import Setup
from letters.ics import calendar_bytes
from models.config import loads
from models.plan import year_plan
from tests import CPH
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, flow_at, mailbox, make_setup, run_artifact


@pytest.fixture
def st(tmp_path: Path):
    with database("sqlite", tmp_path) as eng:
        yield make_setup(eng, tmp_path, documents=tmp_path / "documents")


def the_event(cal: Calendar) -> object:
    [ev] = [c for c in cal.walk("VEVENT")]
    return ev


def test_invitation_parses_back_with_attendees_uid_and_zone(st: Setup, tmp_path: Path) -> None:
    report = runs.event(st, "konference", 2012, at("2012-03-15T09:00"))
    path = tmp_path / "documents" / "2012" / "konference" / "Årlig integrationskonference 2012.ics"
    assert report.documents == ["2012/konference/Årlig integrationskonference 2012.ics"]
    assert report.messages == [] and mailbox(tmp_path) == []
    raw = path.read_bytes()
    assert b"\r\n" in raw
    cal = Calendar.from_ical(raw)
    assert str(cal["method"]) == "REQUEST" and str(cal["version"]) == "2.0"
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["tzid"]) == "Europe/Copenhagen"
    ev = the_event(cal)
    start, end = ev.decoded("dtstart"), ev.decoded("dtend")  # type: ignore[attr-defined]
    assert start == datetime(2012, 3, 15, 9, 0, tzinfo=CPH)
    assert start.tzinfo is not None and "Europe/Copenhagen" in str(ev["dtstart"].params["tzid"])  # type: ignore[index]
    assert end - start == timedelta(hours=2)
    assert str(ev["summary"]) == "Årlig integrationskonference"  # type: ignore[index]
    assert str(ev["organizer"]) == "mailto:" + st.wheel.policy.coordinator.email  # type: ignore[index]
    atts = ev["attendee"]  # type: ignore[index]
    atts = atts if isinstance(atts, list) else [atts]
    got = {str(a).removeprefix("mailto:"): a.params for a in atts}
    wanted = {}
    for key in ("OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"):
        c = st.wheel.committee[key]
        for addr in c.to:
            wanted[addr] = ("REQ-PARTICIPANT", c.name)
        for addr in c.cc:
            wanted.setdefault(addr, ("OPT-PARTICIPANT", c.name))
    assert {k: (str(p["role"]), str(p["cn"])) for k, p in got.items()} == wanted
    assert all(
        str(p["rsvp"]) == "TRUE" and str(p["partstat"]) == "NEEDS-ACTION" for p in got.values()
    )
    # the same UID as the year calendar's entry for the event: one meeting, stable
    year_cal = Calendar.from_ical(
        calendar_bytes(st.wheel, year_plan(st.wheel, 2012), stamp=at("2012-01-01T00:00"))
    )
    entry = next(e for e in year_cal.walk("VEVENT") if str(e["summary"]) == str(ev["summary"]))  # type: ignore[index]
    assert str(entry["uid"]) == str(ev["uid"])  # type: ignore[index]
    [note] = report.notes
    assert "Ingen e-mail er sendt" in note


def test_rerun_at_the_same_instant_writes_the_same_bytes_and_uid_is_stable(
    st: Setup, tmp_path: Path
) -> None:
    folder = tmp_path / "documents" / "2012" / "borgmestersamtaler"
    runs.event(st, "borgmestersamtaler", 2012, at("2012-06-12T09:00"))
    [first] = folder.glob("*.ics")
    one = first.read_bytes()
    runs.event(st, "borgmestersamtaler", 2012, at("2012-06-12T09:00"))
    assert first.read_bytes() == one
    runs.event(st, "borgmestersamtaler", 2012, at("2012-06-13T09:00"))
    later = Calendar.from_ical(first.read_bytes())
    assert str(the_event(later)["uid"]) == str(the_event(Calendar.from_ical(one))["uid"])  # type: ignore[index]
    # no `to` on the event: every committee but the owner (BIU)
    atts = the_event(later)["attendee"]  # type: ignore[index]
    names = {str(a.params["cn"]) for a in atts}
    assert st.wheel.committee["BIU"].name not in names
    assert names == {st.wheel.committee[k].name for k in st.wheel.default_committees()}


def test_moved_meeting_day_and_a_zone_other_than_copenhagen(tmp_path: Path) -> None:
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    text = text.replace("timezone: Europe/Copenhagen", "timezone: America/New_York")
    loaded = loads(text)
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path, loaded)
        ny = ZoneInfo("America/New_York")
        # 15 March 2014 is a Saturday: the meeting moves to Monday 17 March
        runs.event(st, "konference", 2014, datetime(2014, 3, 17, 9, tzinfo=ny))
        [p] = (tmp_path / "data" / "documents" / "2014" / "konference").glob("*.ics")
        cal = Calendar.from_ical(p.read_bytes())
        ev = the_event(cal)
        assert ev.decoded("dtstart") == datetime(2014, 3, 17, 9, 0, tzinfo=ny)  # type: ignore[attr-defined]
        assert "America/New_York" in str(ev["dtstart"].params["tzid"])  # type: ignore[index]
        assert [str(t["tzid"]) for t in cal.walk("VTIMEZONE")] == ["America/New_York"]
        assert "Flyttet fra 15. marts 2014" in str(ev["description"])  # type: ignore[index]


def test_dry_run_writes_into_the_preview_folder(st: Setup, tmp_path: Path) -> None:
    preview = tmp_path / "preview"
    report = runs.event(
        st, "konference", 2012, at("2012-03-15T09:00"), dry_run=True, preview_dir=preview
    )
    assert [p.name for p in preview.glob("*.ics")] == ["Årlig integrationskonference 2012.ics"]
    assert not (tmp_path / "documents").exists() and report.dry_run


def test_the_flow_publishes_the_meeting_artifact(prefect_harness, st: Setup) -> None:
    from flows import workflows as W

    state = flow_at(W.event_flow, st, "2012-03-15T09:00", year=2012, event="konference",
                    return_state=True)
    art = run_artifact(state, "aarshjul-2012-konference")
    md = str(art.data)
    assert "METHOD:REQUEST" in md and "| BUU | Børne- og Ungdomsudvalget |" in md
    assert "15. marts 2012" in md
