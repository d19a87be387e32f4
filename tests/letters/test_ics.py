"""The ICS of the year plan, parsed back with icalendar.

Expected dates and triggers are written by hand from a 2012 calendar: 20 January 2012 is a
Friday; 15 March (CET, +01:00) and 12 June (CEST, +02:00) are weekdays; 1 May 2012 is a
Tuesday, so the handleplan's before-14/7/1 reminders fall on 17, 24 and 30 April at 09:00,
i.e. 13 d 15 h, 6 d 15 h and 15 h before the deadline's midnight. 1 May 2011 was a Sunday
(the deadline moves to Monday 2 May 2011).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from letters.ics import build_calendar, calendar_bytes, slug, vtimezone
from models.config import load
from models.plan import year_plan
from models.wheel import Wheel
from tests import CPH, ROOT

STAMP = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
SUFFIX = ".koebenhavns-integrationspolitik-2011-2014@bif.kk.example"


def _parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def _events(cal: icalendar.Calendar) -> dict[str, Any]:
    return {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}


def _waves(wheel: Wheel, year: int) -> int:
    p = year_plan(wheel, year)
    return len({(r.deliverable, s.name) for r in p.requests for s in r.slots})


def test_calendar_header_and_counts(wheel: Wheel) -> None:
    data = calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)
    cal = _parse(data)
    assert cal["prodid"] == "-//aarshjul//aarshjul årshjul//DA"
    assert cal["version"] == "2.0"
    assert cal["calscale"] == "GREGORIAN"
    assert cal["method"] == "PUBLISH"
    assert cal["x-wr-calname"] == "Årshjul 2012: Københavns Integrationspolitik 2011-2014"
    assert cal["x-wr-timezone"] == "Europe/Copenhagen"
    evs = cal.walk("VEVENT")
    # 8 events + 2 deadlines + the reminder waves: per deliverable before-14/7/1,
    # after-1/7 and escalate = 6 each
    assert _waves(wheel, 2012) == 12
    assert len(evs) == 8 + 2 + 12
    without = _parse(calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP, waves=False))
    assert len(without.walk("VEVENT")) == 10
    for ev in evs:
        for prop in ("uid", "dtstamp", "dtstart", "dtend", "summary", "description"):
            assert prop in ev, (prop, ev.get("summary"))
        assert ev.decoded("dtstamp") == STAMP
    uids = [str(ev["uid"]) for ev in evs]
    assert len(set(uids)) == len(uids)
    assert all(u.endswith(SUFFIX) for u in uids)


def test_rfc5545_lines_crlf_and_folded(wheel: Wheel) -> None:
    data = calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare LF
    assert b"\r" not in data.replace(b"\r\n", b"")  # no bare CR
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # long lines are folded
    for line in lines:
        line.decode("utf-8")  # folding never splits a UTF-8 character


def test_uids_stable_and_output_identical_but_dtstamp(wheel: Wheel) -> None:
    plan = year_plan(wheel, 2012)
    a = calendar_bytes(wheel, plan, stamp=STAMP)
    b = calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)
    assert a == b  # same stamp: byte-identical
    c = calendar_bytes(wheel, plan, stamp=STAMP + timedelta(days=3, hours=1))
    assert a != c

    def strip(x: bytes) -> bytes:
        return re.sub(rb"DTSTAMP:\d{8}T\d{6}Z\r\n", b"", x)

    assert strip(a) == strip(c)
    assert set(_events(_parse(a))) == set(_events(_parse(c)))
    # the UID is a documented function of policy, year, kind and key
    expected = {
        "aarshjul-2012-begivenhed-opfordring" + SUFFIX,
        "aarshjul-2012-begivenhed-konference" + SUFFIX,
        "aarshjul-2012-frist-handleplan" + SUFFIX,
        "aarshjul-2012-frist-redegoerelse" + SUFFIX,
        "aarshjul-2012-udsendelse-handleplan-before-14" + SUFFIX,
        "aarshjul-2012-udsendelse-redegoerelse-escalate" + SUFFIX,
    }
    assert expected <= set(_events(_parse(a)))
    # another year: other UIDs
    other = set(_events(_parse(calendar_bytes(wheel, year_plan(wheel, 2013), stamp=STAMP))))
    assert not other & set(_events(_parse(a)))


def test_slug_folds_danish_letters() -> None:
    assert slug("Københavns Integrationspolitik 2011-2014") == (
        "koebenhavns-integrationspolitik-2011-2014"
    )
    assert slug("Ærø Å-plan") == "aeroe-aa-plan"
    assert slug("!!!") == "aarshjul"


def test_timed_entries_carry_tzid_and_right_offsets(wheel: Wheel) -> None:
    data = calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)
    text = data.decode()
    assert "DTSTART;TZID=Europe/Copenhagen:20120315T090000\r\n" in text  # winter
    assert "DTSTART;TZID=Europe/Copenhagen:20120612T090000\r\n" in text  # summer
    evs = _events(_parse(data))
    winter = evs["aarshjul-2012-begivenhed-konference" + SUFFIX]
    summer = evs["aarshjul-2012-begivenhed-borgmestersamtaler" + SUFFIX]
    start_w, start_s = winter.decoded("dtstart"), summer.decoded("dtstart")
    assert start_w.utcoffset() == timedelta(hours=1)
    assert start_w.astimezone(UTC) == datetime(2012, 3, 15, 8, 0, tzinfo=UTC)
    assert start_s.utcoffset() == timedelta(hours=2)
    assert start_s.astimezone(UTC) == datetime(2012, 6, 12, 7, 0, tzinfo=UTC)
    assert summer.decoded("dtend") - start_s == timedelta(hours=2)  # a meeting: 2 h
    # the VTIMEZONE itself (not the zone name) gives the same offsets
    vtz: Any = _parse(data).walk("VTIMEZONE")[0]
    assert vtz["tzid"] == "Europe/Copenhagen"
    assert "RDATE" not in vtz.to_ical().decode()  # Outlook misreads RDATE lists
    tz = vtz.to_tz(lookup_tzid=False)
    assert datetime(2012, 3, 15, 9, 0, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2012, 6, 12, 9, 0, tzinfo=tz).utcoffset() == timedelta(hours=2)
    # DST days 2012: 25 March and 28 October
    assert datetime(2012, 3, 25, 1, 59, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2012, 3, 25, 3, 0, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2012, 10, 28, 1, 59, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2012, 10, 28, 3, 0, tzinfo=tz).utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    "zone",
    ["Europe/Copenhagen", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC",
     "America/Sao_Paulo", "Pacific/Chatham"],
)
def test_vtimezone_exact_every_hour_of_the_policy_years(zone: str) -> None:
    tz = ZoneInfo(zone)
    vtz = vtimezone(tz, 2011, 2014)
    parsed = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + vtz.to_ical()
        + b"END:VCALENDAR\r\n"
    )
    parsed_tz: Any = parsed.walk("VTIMEZONE")[0]
    ours = parsed_tz.to_tz(lookup_tzid=False)
    # every 6 hours, and every 15 minutes within a day of each change
    instants = []
    t = datetime(2011, 1, 1, tzinfo=UTC)
    while t < datetime(2015, 1, 1, tzinfo=UTC):
        instants.append(t)
        nxt = t + timedelta(hours=6)
        if nxt.astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
            u = t - timedelta(hours=18)
            while u < nxt + timedelta(hours=18):
                instants.append(u)
                u += timedelta(minutes=15)
        t = nxt
    for t in instants:
        assert t.astimezone(ours).utcoffset() == t.astimezone(tz).utcoffset(), (zone, t)


def test_vtimezone_uses_yearly_rules_for_the_eu_zone() -> None:
    text = vtimezone(CPH, 2011, 2014).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in text
    assert "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200" in text
    assert "TZNAME:CEST" in text and "TZNAME:CET" in text


def test_letters_and_deadlines_are_all_day(wheel: Wheel) -> None:
    evs = _events(_parse(calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)))
    letter = evs["aarshjul-2012-begivenhed-opfordring" + SUFFIX]
    assert letter.decoded("dtstart") == date(2012, 1, 20)
    assert letter.decoded("dtend") == date(2012, 1, 21)
    deadline = evs["aarshjul-2012-frist-handleplan" + SUFFIX]
    assert deadline.decoded("dtstart") == date(2012, 5, 1)
    assert str(deadline["summary"]) == "Frist: Revideret handleplan"
    assert str(deadline["transp"]) == "TRANSPARENT"
    # 2011: 1 May was a Sunday, the deadline moves to Monday 2 May
    evs11 = _events(_parse(calendar_bytes(wheel, year_plan(wheel, 2011), stamp=STAMP)))
    moved = evs11["aarshjul-2011-frist-handleplan" + SUFFIX]
    assert moved.decoded("dtstart") == date(2011, 5, 2)
    assert "flyttet fra søndag den 1. maj 2011" in str(moved["description"])


def test_deadline_alarms_match_the_before_reminders(wheel: Wheel) -> None:
    evs = _events(_parse(calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)))
    deadline = evs["aarshjul-2012-frist-handleplan" + SUFFIX]
    alarms = deadline.walk("VALARM")
    assert [a.decoded("trigger") for a in alarms] == [
        -timedelta(hours=15),  # 30 April 09:00
        -timedelta(days=6, hours=15),  # 24 April 09:00
        -timedelta(days=13, hours=15),  # 17 April 09:00
    ]
    for a in alarms:
        assert str(a["action"]) == "DISPLAY"
        assert "Revideret handleplan" in str(a["description"])
    assert str(alarms[0]["description"]) == "Frist om 1 dag: Revideret handleplan (1. maj 2012)"
    # every deadline has alarms before it, none after it
    for ev in evs.values():
        if str(ev["uid"]).startswith("aarshjul-2012-frist-"):
            triggers = [a.decoded("trigger") for a in ev.walk("VALARM")]
            assert triggers and all(t < timedelta(0) for t in triggers)


def test_deliverable_without_before_reminders_gets_7_and_1_days(
    wheel: Wheel, tmp_path: Path
) -> None:
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    assert text.count("before: [14, 7, 1]") == 2
    path = tmp_path / "aarshjul.yaml"
    path.write_text(text.replace("before: [14, 7, 1]", "before: []"), encoding="utf-8")
    w = load(path).wheel
    cal = build_calendar(w, year_plan(w, 2012), stamp=STAMP)
    deadline = _events(cal)["aarshjul-2012-frist-handleplan" + SUFFIX]
    assert [a.decoded("trigger") for a in deadline.walk("VALARM")] == [
        -timedelta(hours=15),
        -timedelta(days=6, hours=15),
    ]


def test_danish_text_intact(wheel: Wheel) -> None:
    data = calendar_bytes(wheel, year_plan(wheel, 2012), stamp=STAMP)
    assert "æ".encode() in data and "ø".encode() in data and "å".encode() in data
    evs = _events(_parse(data))
    conf = evs["aarshjul-2012-begivenhed-konference" + SUFFIX]
    assert str(conf["summary"]) == "Årlig integrationskonference"
    letter = evs["aarshjul-2012-begivenhed-opfordring" + SUFFIX]
    desc = str(letter["description"])
    assert desc.startswith(
        "Brevene sendes 20. januar 2012 kl. 09.00 til 7 udvalg: Økonomiudvalget,"
    )
    assert "Integrationsredegørelse (frist 15. maj 2012)" in desc
    wave = evs["aarshjul-2012-udsendelse-handleplan-after-1" + SUFFIX]
    assert str(wave["summary"]) == "Rykker: Revideret handleplan (1 dag efter fristen)"
    assert wave.decoded("dtstart") == datetime(2012, 5, 2, 9, 0, tzinfo=CPH)


def test_naive_stamp_refused(wheel: Wheel) -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar_bytes(wheel, year_plan(wheel, 2012), stamp=datetime(2012, 1, 1))


def test_a_zone_without_dst_and_a_sparse_wheel() -> None:
    from models.config import loads

    text = (
        "version: 1\npolicy:\n  name: Lille politik\n  owner: A\n  years: [2013, 2013]\n"
        "  timezone: Asia/Tokyo\n  country: DK\n  send_time: \"09:00\"\n"
        "  sender: {name: Sekretariatet, email: sek@lille.example}\n"
        "  coordinator: {name: Koordinator, email: koord@lille.example}\n"
        "committees:\n  - {key: A, name: Udvalg A, to: [a@lille.example]}\n"
        "events:\n  - {key: m, title: Møde, date: \"06-03\", do: meeting}\n"
    )
    w = loads(text).wheel
    data = calendar_bytes(w, year_plan(w, 2013), stamp=STAMP)
    cal = _parse(data)
    (ev,) = cal.walk("VEVENT")
    assert str(ev["uid"]) == "aarshjul-2013-begivenhed-m.lille-politik@lille.example"
    assert "DTSTART;TZID=Asia/Tokyo:20130603T090000\r\n" in data.decode()
    vtz: Any = cal.walk("VTIMEZONE")[0]
    assert [c.name for c in vtz.subcomponents] == ["STANDARD"]
    assert "TZOFFSETTO:+0900" in vtz.to_ical().decode()
