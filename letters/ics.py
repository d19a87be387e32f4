"""The year plan as an iCalendar file (RFC 5545) for Outlook, Google and the rest.

One VCALENDAR (METHOD:PUBLISH) per cycle year, built from :func:`models.plan.year_plan`
only:

- every **event** of the wheel: letters as an all-day entry on the day they go out;
  meetings at their instant for :data:`MEETING_DURATION`; barometer, status report and
  budget at their instant for :data:`TASK_DURATION`;
- every **deadline** (frist) as an all-day entry on the moved due date, with one VALARM
  per ``before`` reminder slot of the plan (the same days the committees are reminded,
  at ``send_time``); a deliverable without ``before`` reminders gets alarms 7 days and
  1 day before;
- optionally the **reminder waves**: one short entry per (deliverable, slot) when the
  påmindelser, rykkere and the eskalering go out, naming the committees.

Timed entries carry ``TZID=<policy.timezone>`` and the calendar carries a VTIMEZONE for
that zone built from RRULEs (Outlook misreads RDATE-only VTIMEZONEs; see
:func:`vtimezone`). UIDs are stable across runs: ``aarshjul-<year>-<kind>-<key>.<policy
slug>@<mail_domain>``. DTSTAMP is the ``stamp`` the caller passes (the CLI: the clock,
or ``--stamp``); everything else is a pure function of the wheel and the year, so two
runs with the same stamp give byte-identical files. icalendar writes CRLF line endings
and folds lines at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from models.dates import dansk_dato, dansk_tid, dansk_ugedag_dato
from models.plan import PlannedEvent, Slot, YearPlan, require_aware
from models.text import markdown_text

if TYPE_CHECKING:
    from icalendar import Calendar, Event, Timezone

    from models.wheel import Wheel

PRODID = "-//aarshjul//aarshjul årshjul//DA"
MEETING_DURATION = timedelta(hours=2)
TASK_DURATION = timedelta(hours=1)
WAVE_DURATION = timedelta(minutes=15)
DEFAULT_ALARM_DAYS = (7, 1)

DO_DA = {
    "letters": "Breve",
    "barometer": "Integrationsbarometer",
    "status_report": "Statusrapport",
    "budget": "Budget",
    "meeting": "Møde",
}
SLOT_DA = {"before": "Påmindelse", "after": "Rykker", "escalate": "Eskalering"}


# --- names ------------------------------------------------------------------------------

_DANISH_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa"})


def slug(text: str) -> str:
    """ASCII, lower case, words joined by '-': ``koebenhavns-integrationspolitik-2011-2014``."""
    folded = unicodedata.normalize("NFKD", text.translate(_DANISH_FOLD))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "aarshjul"


def uid(wheel: Wheel, year: int, kind: str, key: str) -> str:
    """A UID stable across runs: the same policy, year, kind and key give the same UID."""
    return f"aarshjul-{year}-{kind}-{key}.{slug(wheel.policy.name)}@{wheel.mail_domain}"


def _days(n: int) -> str:
    return "1 dag" if n == 1 else f"{n} dage"


def _committee_names(wheel: Wheel, keys: Iterable[str]) -> str:
    return ", ".join(wheel.committee[k].name for k in keys)


# --- the time zone ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    local: datetime  # wall-clock time just before the change (naive, in the old offset)
    before: timedelta
    after: timedelta
    name: str  # TZNAME after the change


def _transitions(tz: ZoneInfo, year: int) -> list[_Transition]:
    """The offset changes of ``tz`` in ``year``, to the minute."""
    found: list[_Transition] = []
    start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=14)
    step = timedelta(days=1)
    t = start
    off = t.astimezone(tz).utcoffset()
    while t < datetime(year + 1, 1, 1, tzinfo=UTC) - timedelta(hours=14):
        nxt = t + step
        noff = nxt.astimezone(tz).utcoffset()
        if noff != off:
            lo, hi = t, nxt  # the change is in (lo, hi]
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    mid = lo + timedelta(minutes=1)
                if mid.astimezone(tz).utcoffset() == off:
                    lo = mid
                else:
                    hi = mid
            assert off is not None and noff is not None
            local = (hi + off).replace(tzinfo=None)
            found.append(_Transition(local, off, noff, hi.astimezone(tz).tzname() or ""))
            off = noff
        t = nxt
    return found


def _offset(td: timedelta) -> str:
    sign = "-" if td < timedelta(0) else "+"
    minutes = abs(int(td.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _byday_rules(d: date) -> set[str]:
    """The BYDAY values that name ``d`` within its month: ``2SU``, ``-1SU``."""

    wd = _WEEKDAYS[d.weekday()]
    rules = {f"{(d.day - 1) // 7 + 1}{wd}"}
    if d.day + 7 > calendar.monthrange(d.year, d.month)[1]:
        rules.add(f"-1{wd}")
    return rules


def vtimezone(tz: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``tz`` that is exact in ``first_year - 1 .. last_year + 1``.

    Yearly rules (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``) when the zone's changes
    follow one in every year of the range, as Google writes them (Outlook misreads
    VTIMEZONEs made of RDATE lists and shifts summer events by an hour); a zone without
    changes gets one STANDARD observance; anything else (Brazil's carnival-bound rule,
    say) falls back to RDATE lists for the range.
    """
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    years = range(first_year - 1, last_year + 2)
    per_year = [_transitions(tz, y) for y in years]
    counts = {len(ts) for ts in per_year}
    vtz = Timezone()
    vtz.add("tzid", tz.key)
    vtz.add("x-lic-location", tz.key)
    if counts == {0}:
        at = datetime(years[0], 1, 1, tzinfo=tz)
        std = TimezoneStandard()
        std.add("dtstart", datetime(years[0], 1, 1))
        off = at.utcoffset() or timedelta(0)
        std.add("tzoffsetfrom", off)
        std.add("tzoffsetto", off)
        std.add("tzname", at.tzname() or tz.key)
        vtz.add_component(std)
        return vtz
    rules: list[tuple[_Transition, str]] = []
    if len(counts) == 1:
        for i in range(counts.pop()):
            column = [ts[i] for ts in per_year]
            first = column[0]
            shape = {(t.local.month, t.local.time(), t.before, t.after, t.name) for t in column}
            common = set.intersection(*(_byday_rules(t.local.date()) for t in column))
            if len(shape) != 1 or not common:
                rules = []
                break
            # prefer "last Sunday" over "4th Sunday" (the EU rule), else the nth
            byday = sorted(common, key=lambda r: (not r.startswith("-"), r))[0]
            rules.append((first, byday))
    if not rules:
        return _rdate_timezone(tz, years, per_year)
    for first, byday in rules:
        daylight = first.after > first.before
        comp = TimezoneDaylight() if daylight else TimezoneStandard()
        comp.add("dtstart", first.local)
        comp.add("tzoffsetfrom", first.before)
        comp.add("tzoffsetto", first.after)
        comp.add("tzname", first.name)
        comp.add("rrule", {"freq": "yearly", "bymonth": first.local.month, "byday": byday})
        vtz.add_component(comp)
    return vtz


def _rdate_timezone(tz: ZoneInfo, years: range, per_year: list[list[_Transition]]) -> Timezone:
    """Every change of ``years`` as RDATEs, one observance per kind of change, and the
    offset in force on 1 January of the first year as the first observance."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    vtz = Timezone()
    vtz.add("tzid", tz.key)
    vtz.add("x-lic-location", tz.key)
    start = datetime(years[0], 1, 1, tzinfo=tz)
    off = start.utcoffset() or timedelta(0)
    first = TimezoneStandard()
    first.add("dtstart", datetime(years[0], 1, 1))
    first.add("tzoffsetfrom", off)
    first.add("tzoffsetto", off)
    first.add("tzname", start.tzname() or tz.key)
    vtz.add_component(first)
    groups: dict[tuple[timedelta, timedelta, str], list[datetime]] = {}
    for ts in per_year:
        for t in ts:
            groups.setdefault((t.before, t.after, t.name), []).append(t.local)
    for (before, after, name), locals_ in groups.items():
        comp = TimezoneDaylight() if after > before else TimezoneStandard()
        comp.add("dtstart", locals_[0])
        comp.add("tzoffsetfrom", before)
        comp.add("tzoffsetto", after)
        comp.add("tzname", name)
        if locals_[1:]:
            comp.add("rdate", locals_[1:])
        vtz.add_component(comp)
    return vtz


# --- the calendar -----------------------------------------------------------------------


def _new_event(
    wheel: Wheel, year: int, kind: str, key: str, stamp: datetime, categories: list[str]
) -> Event:
    from icalendar import Event

    # No ORGANIZER: with one, Outlook and Google import an entry as someone else's meeting
    # that the coordinator cannot edit (RFC 5545 does not require it).
    ev = Event()
    ev.add("uid", uid(wheel, year, kind, key))
    ev.add("dtstamp", stamp)
    ev.add("categories", ["Årshjul", *categories])
    ev.add("class", "PUBLIC")
    ev.add("status", "CONFIRMED")
    ev.add("sequence", 0)
    return ev


def _all_day(ev: Event, day: date) -> None:
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    ev.add("transp", "TRANSPARENT")


def _timed(ev: Event, at: datetime, length: timedelta, busy: bool) -> None:
    ev.add("dtstart", at)
    ev.add("dtend", (at + length).astimezone(at.tzinfo))
    ev.add("transp", "OPAQUE" if busy else "TRANSPARENT")


def _moved(nominal: date, actual: date) -> str:
    if nominal == actual:
        return ""
    return f"Flyttet fra {dansk_ugedag_dato(nominal)}, som ikke er en arbejdsdag."


def _event_component(wheel: Wheel, plan: YearPlan, pe: PlannedEvent, stamp: datetime) -> Event:
    kind_da = DO_DA[pe.do]
    ev = _new_event(wheel, plan.year, "begivenhed", pe.key, stamp, [kind_da])
    ev.add("summary", pe.title)
    lines: list[str] = []
    clock = pe.at.strftime("%H.%M")
    if pe.do == "letters":
        _all_day(ev, pe.day)
        lines.append(f"Brevene sendes {dansk_dato(pe.day)} kl. {clock} "
                     f"til {len(pe.to)} udvalg: {_committee_names(wheel, pe.to)}.")
        if pe.opens:
            asked = ", ".join(
                f"{d.title} (frist {dansk_dato(d.due)})"
                for d in (plan.deliverable(k) for k in pe.opens)
            )
            lines.append(f"Brevet anmoder om: {asked}.")
    elif pe.do == "meeting":
        _timed(ev, pe.at, MEETING_DURATION, busy=True)
        lines.append(f"Møde med {_committee_names(wheel, pe.to)}.")
        lines.append("Tidspunkt og varighed er årshjulets standard; ret dem i kalenderen.")
    else:
        _timed(ev, pe.at, TASK_DURATION, busy=False)
        lines.append({
            "barometer": "Integrationsbarometeret opdateres.",
            "status_report": "Den samlede statusrapport sendes til "
                             f"{wheel.committee[wheel.policy.owner].name} og koordinatoren.",
            "budget": "Overblikket over integrationsindsatsen til budgetvedtagelsen sendes til "
                      f"{wheel.committee[wheel.policy.owner].name} og koordinatoren.",
        }[pe.do])
    moved = _moved(pe.nominal, pe.day)
    if moved:
        lines.append(moved)
    lines.append(f"Årshjul {plan.year}: {wheel.policy.name}.")
    ev.add("description", "\n".join(lines))
    return ev


def _before_slots(plan: YearPlan, deliverable: str) -> list[Slot]:
    """The ``before-*`` slots of the deliverable's requests, one per slot name."""
    seen: dict[str, Slot] = {}
    for r in plan.requests:
        if r.deliverable == deliverable:
            for s in r.slots:
                if s.kind == "before":
                    seen.setdefault(s.name, s)
    return sorted(seen.values(), key=lambda s: s.at, reverse=True)


def _deadline_component(wheel: Wheel, plan: YearPlan, key: str, stamp: datetime) -> Event:
    from icalendar import Alarm

    d = plan.deliverable(key)
    ev = _new_event(wheel, plan.year, "frist", key, stamp, ["Frist"])
    ev.add("summary", f"Frist: {d.title}")
    _all_day(ev, d.due)
    lines = [f"{d.title} afleveres af {len(d.from_)} udvalg: "
             f"{_committee_names(wheel, d.from_)}.",
             f"Fristen er {dansk_ugedag_dato(d.due)}."]
    if d.due != d.nominal:
        lines.append(f"Fristen er flyttet fra {dansk_ugedag_dato(d.nominal)}, "
                     "som ikke er en arbejdsdag.")
    waves: dict[str, list[Slot]] = {}
    for r in plan.requests:
        if r.deliverable == key:
            for s in r.slots:
                waves.setdefault(s.kind, [])
                if s not in waves[s.kind]:
                    waves[s.kind].append(s)
    labels = (("before", "Påmindelser"), ("after", "Rykkere"), ("escalate", "Eskalering"))
    for kind, label in labels:
        if waves.get(kind):
            days = ", ".join(dansk_dato(s.day) for s in sorted(waves[kind], key=lambda s: s.at))
            lines.append(f"{label} sendes {days} kl. {wheel.policy.send_time.replace(':', '.')}.")
    lines.append(f"Årshjul {plan.year}: {wheel.policy.name}.")
    ev.add("description", "\n".join(lines))

    midnight = datetime.combine(d.due, time(0))
    alarms: list[tuple[timedelta, int]] = []
    for s in _before_slots(plan, key):
        alarms.append((s.at.replace(tzinfo=None) - midnight, s.days))
    if not alarms:
        send = wheel.policy.send_clock
        for n in DEFAULT_ALARM_DAYS:
            at = datetime.combine(d.due - timedelta(days=n), send)
            alarms.append((at - midnight, n))
    # the nearest alarm first: Outlook keeps a single reminder per entry
    alarms.sort(key=lambda a: -a[0])
    for trigger, n in alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", trigger)
        alarm.add("description", f"Frist om {_days(n)}: {d.title} ({dansk_dato(d.due)})")
        ev.add_component(alarm)
    return ev


def _wave_components(wheel: Wheel, plan: YearPlan, stamp: datetime) -> list[Event]:
    waves: dict[tuple[str, str], tuple[Slot, list[str]]] = {}
    for r in plan.requests:
        for s in r.slots:
            _, committees = waves.setdefault((r.deliverable, s.name), (s, []))
            committees.append(r.committee)
    out = []
    for (dkey, name), (s, committees) in waves.items():
        d = plan.deliverable(dkey)
        ev = _new_event(wheel, plan.year, "udsendelse", f"{dkey}-{name}", stamp, [SLOT_DA[s.kind]])
        when = {
            "before": f"{_days(s.days)} før fristen",
            "after": f"{_days(s.days)} efter fristen",
            "escalate": f"{_days(s.days)} efter fristen",
        }[s.kind]
        ev.add("summary", f"{SLOT_DA[s.kind]}: {d.title} ({when})")
        _timed(ev, s.at, WAVE_DURATION, busy=False)
        if s.kind == "before":
            what = "Påmindelsen sendes"
        elif s.kind == "after":
            what = "Rykkeren sendes"
        else:
            what = "Eskaleringen sendes"
        lines = [
            f"{what} kl. {s.at.strftime('%H.%M')} til de udvalg, der endnu ikke har afleveret: "
            f"{d.title} (frist {dansk_dato(d.due)}). "
            f"Udvalg: {_committee_names(wheel, committees)}.",
        ]
        if s.kind == "escalate":
            lines.append("Eskaleringen går til udvalgets eskaleringsmodtagere, "
                         "med udvalget i kopi.")
        if s.merged:
            lines.append(f"Samme dag som: {', '.join(s.merged)}.")
        lines.append(f"Årshjul {plan.year}: {wheel.policy.name}.")
        ev.add("description", "\n".join(lines))
        out.append(ev)
    return out


def _start_key(ev: Event) -> tuple[datetime, str]:
    start: Any = ev.decoded("dtstart")
    if not isinstance(start, datetime):
        start = datetime.combine(start, time(0), tzinfo=UTC)
    return (start.astimezone(UTC), str(ev["uid"]))


def build_calendar(
    wheel: Wheel, plan: YearPlan, *, stamp: datetime, waves: bool = True
) -> Calendar:
    """The calendar of ``plan`` (see the module text). ``stamp`` is every DTSTAMP."""
    from icalendar import Calendar

    require_aware(stamp, "stamp")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    tz = wheel.policy.tz
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Årshjul {plan.year}: {wheel.policy.name}")
    cal.add("x-wr-caldesc", f"Begivenheder, frister og påmindelser i årshjulet for "
                            f"{wheel.policy.name}, {plan.year}.")
    cal.add("x-wr-timezone", tz.key)
    cal.add_component(vtimezone(tz, *wheel.policy.years))
    entries: list[Event] = [_event_component(wheel, plan, pe, stamp) for pe in plan.events]
    entries += [_deadline_component(wheel, plan, d.key, stamp) for d in plan.deliverables]
    if waves:
        entries += _wave_components(wheel, plan, stamp)
    for ev in sorted(entries, key=_start_key):
        cal.add_component(ev)
    return cal


def calendar_bytes(wheel: Wheel, plan: YearPlan, *, stamp: datetime, waves: bool = True) -> bytes:
    """The ICS file's bytes: UTF-8, CRLF line endings, lines folded at 75 octets."""
    return build_calendar(wheel, plan, stamp=stamp, waves=waves).to_ical()



# --- a meeting invitation (the ``meeting`` event) ------------------------------------------

METHOD_REQUEST = "REQUEST"
REQUIRED, OPTIONAL = "REQ-PARTICIPANT", "OPT-PARTICIPANT"
ROLE_DA = {REQUIRED: "deltager", OPTIONAL: "kopi (valgfri)"}


@dataclass(frozen=True)
class Attendee:
    committee: str  # key
    name: str  # the committee's name (CN)
    address: str
    role: str  # REQUIRED | OPTIONAL


def attendees(wheel: Wheel, committees: Iterable[str]) -> list[Attendee]:
    """One attendee per invited address, in order: a committee's ``to`` as required
    participants, its ``cc`` as optional; an address named twice is invited once, with its
    strongest role."""
    out: dict[str, Attendee] = {}
    for key in committees:
        c = wheel.committee[key]
        for addr in c.to:
            prev = out.get(addr.lower())
            if prev is None or prev.role != REQUIRED:
                out[addr.lower()] = Attendee(c.key, c.name, addr, REQUIRED)
        for addr in c.cc:
            out.setdefault(addr.lower(), Attendee(c.key, c.name, addr, OPTIONAL))
    return list(out.values())


def _invitation_description(wheel: Wheel, pe: PlannedEvent, year: int) -> str:
    names = ", ".join(wheel.committee[k].name for k in pe.to)
    lines = [
        f"{pe.title}, {dansk_dato(pe.day)}.",
        f"Deltagere: {names}.",
        "Tidspunkt og varighed er årshjulets standard; ret dem, før invitationen sendes.",
        f"Årshjul {year}: {wheel.policy.name}.",
    ]
    if pe.nominal != pe.day:
        lines.insert(1, f"Flyttet fra {dansk_dato(pe.nominal)}, som ikke er en arbejdsdag.")
    return "\n".join(lines)


def invitation(wheel: Wheel, pe: PlannedEvent, year: int, stamp: datetime) -> Calendar:
    """The invitation to a ``meeting`` event (iTIP, RFC 5546): ``METHOD:REQUEST`` with the
    coordinator as ORGANIZER and one ATTENDEE per address of the event's committees
    (``CUTYPE=GROUP``: they are secretariat mailboxes, ``RSVP=TRUE``). The UID is the one the
    year calendar gives the event, so the invitation and the calendar entry are one meeting;
    DTSTAMP is ``stamp``, so a rerun at the same instant writes the same bytes."""
    from icalendar import Calendar, Event, vCalAddress, vText

    require_aware(stamp, "stamp")
    tz = wheel.policy.tz
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", METHOD_REQUEST)
    cal.add_component(vtimezone(tz, year, year))
    ev = Event()
    ev.add("uid", uid(wheel, year, "begivenhed", pe.key))
    ev.add("dtstamp", stamp.astimezone(UTC).replace(microsecond=0))
    ev.add("sequence", 0)
    ev.add("status", "CONFIRMED")
    ev.add("class", "PUBLIC")
    ev.add("transp", "OPAQUE")
    ev.add("categories", ["Årshjul", "Møde"])
    ev.add("summary", pe.title)
    start = pe.at.astimezone(tz)
    ev.add("dtstart", start)
    ev.add("dtend", (start + MEETING_DURATION).astimezone(tz))
    coord = wheel.policy.coordinator
    organizer = vCalAddress(f"mailto:{coord.email}")
    organizer.params["cn"] = vText(coord.name)
    ev.add("organizer", organizer)
    for a in attendees(wheel, pe.to):
        addr = vCalAddress(f"mailto:{a.address}")
        addr.params["cn"] = vText(a.name)
        addr.params["cutype"] = vText("GROUP")
        addr.params["role"] = vText(a.role)
        addr.params["partstat"] = vText("NEEDS-ACTION")
        addr.params["rsvp"] = vText("TRUE")
        ev.add("attendee", addr, encode=False)
    ev.add("description", _invitation_description(wheel, pe, year))
    cal.add_component(ev)
    return cal


def invitation_markdown(wheel: Wheel, pe: PlannedEvent, year: int, file: str, *,
                        dry_run: bool) -> str:
    """The Danish artifact that goes with an invitation: when, who, the file, the UID."""

    start = pe.at.astimezone(wheel.policy.tz)
    end = (start + MEETING_DURATION).astimezone(wheel.policy.tz)
    coord = wheel.policy.coordinator
    lines = [f"# {markdown_text(pe.title)} {year}", ""]
    if dry_run:
        lines += ["**Prøvekørsel:** invitationen er skrevet til prøvemappen.", ""]
    lines += [
        f"Mødeinvitation (iCalendar, METHOD:{METHOD_REQUEST}) fra {markdown_text(coord.name)} "
        f"<{coord.email}>.",
        "",
        f"- **Tidspunkt:** {dansk_tid(start)} – {end.strftime('%H.%M')} ({wheel.policy.timezone})",
        f"- **Fil:** `{file}`",
        f"- **UID:** `{uid(wheel, year, 'begivenhed', pe.key)}`",
        "- Der er ikke sendt e-mail: send eller importér invitationen fra kalenderen.",
        "",
        "| Udvalg | Navn | Adresse | Rolle |",
        "|---|---|---|---|",
    ]
    lines += [f"| {markdown_text(a.committee)} | {markdown_text(a.name)} | "
              f"{markdown_text(a.address)} | {ROLE_DA[a.role]} |"
              for a in attendees(wheel, pe.to)]
    return "\n".join(lines) + "\n"
