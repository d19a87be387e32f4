"""The year plan: the single source of when things happen in one cycle year.

Pure functions of the wheel and a year: every event's instant, every deliverable's due
date (moved by ``if_closed``), and each request's reminder slots as if it were opened by
its letter. The CLI (plan, calendar, wheel), the scheduler and the flows all read it.
Every instant is an aware datetime in ``policy.timezone``; none is naive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.calendar import BusinessCalendar
from models.kinds import EventKind, SlotKind
from models.wheel import Deliverable, Event, Wheel


def local_instant(tz: ZoneInfo, day: date, clock: time) -> datetime:
    """``day`` at ``clock`` in ``tz``; an ambiguous local time takes its first occurrence.

    A local time that does not exist (a spring-forward gap; the loader refuses such a
    ``send_time``) is given as the real instant it denotes with the offset before the
    change, written in the new offset: 02:30 on 25 March 2012 becomes 03:30+02:00.
    """
    value = datetime.combine(day, clock, tzinfo=tz).replace(fold=0)
    real = value.astimezone(UTC).astimezone(tz)
    return value if real.replace(tzinfo=None) == value.replace(tzinfo=None) else real


def is_after(a: datetime, b: datetime) -> bool:
    """``a`` is a later instant than ``b``, compared in UTC.

    Python compares two datetimes that share a tzinfo by wall clock, ignoring ``fold``:
    in an ambiguous hour 23:30 (first occurrence) would count as later than 23:15
    (second occurrence). Comparing in UTC avoids that.
    """
    return require_aware(a).astimezone(UTC) > require_aware(b).astimezone(UTC)


def require_aware(instant: datetime, what: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{what} {instant.isoformat()} has no UTC offset (naive datetimes are refused)"
        )
    return instant


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is local to ``tz`` (first occurrence if ambiguous).

    A local time that does not exist (inside a spring-forward gap) is refused.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant (e.g. 2012-04-30T09:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz, fold=0)
        back = value.astimezone(UTC).astimezone(tz)
        if back.replace(tzinfo=None) != value.replace(tzinfo=None):
            raise ValueError(f"{text} does not exist in {tz.key} (the clocks skip it)")
        return value
    return value.astimezone(tz)


@dataclass(frozen=True)
class Slot:
    name: str  # before-N, after-N or escalate
    kind: SlotKind
    days: int  # N (escalate: escalate_after)
    day: date  # local day, moved to a business day
    at: datetime  # send_time on that day, in the policy's zone
    merged: tuple[str, ...] = ()  # other reminder slots that fell on the same day

    @property
    def is_reminder(self) -> bool:
        return self.kind != SlotKind.ESCALATE


@dataclass(frozen=True)
class PlannedEvent:
    key: str
    title: str
    do: EventKind
    nominal: date  # MM-DD in the year
    day: date  # moved to the next business day when needed
    at: datetime
    letter: str | None
    to: tuple[str, ...]
    opens: tuple[str, ...]


@dataclass(frozen=True)
class PlannedDeliverable:
    key: str
    title: str
    nominal: date
    due: date  # moved by if_closed
    if_closed: str
    from_: tuple[str, ...]


@dataclass(frozen=True)
class PlannedRequest:
    year: int
    committee: str
    deliverable: str
    opened_by: str  # event key
    opened_at: datetime
    due: date
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class YearPlan:
    year: int
    timezone: str
    events: tuple[PlannedEvent, ...]
    deliverables: tuple[PlannedDeliverable, ...]
    requests: tuple[PlannedRequest, ...]
    holidays: tuple[tuple[date, str], ...] = field(default=())
    closed_days: tuple[date, ...] = field(default=())

    def event(self, key: str) -> PlannedEvent:
        return next(e for e in self.events if e.key == key)

    def deliverable(self, key: str) -> PlannedDeliverable:
        return next(d for d in self.deliverables if d.key == key)


def calendar_for(wheel: Wheel) -> BusinessCalendar:
    return BusinessCalendar(wheel.policy.country, wheel.policy.closed)


def _in_year(year: int, month_day: tuple[int, int]) -> date:
    return date(year, *month_day)


def due_date(wheel: Wheel, cal: BusinessCalendar, d: Deliverable, year: int) -> date:
    return cal.roll(_in_year(year, d.due_month_day), d.if_closed)


def event_day(cal: BusinessCalendar, e: Event, year: int) -> date:
    return cal.roll(_in_year(year, e.month_day), "next")


def reminder_slots(
    wheel: Wheel,
    cal: BusinessCalendar,
    d: Deliverable,
    due: date,
    opened_at: datetime | None,
) -> tuple[Slot, ...]:
    """The slots of a request for ``d`` due on ``due`` that opened at ``opened_at``.

    Counted from the moved due date; a slot on a non-business day moves to the previous
    business day (before-*) or the next one (after-*, escalate); slots at or before the
    opening instant are dropped; reminder slots on the same day are one slot named after
    the smallest N. Sorted by instant, reminders before an escalation on the same day.
    """
    tz, clock = wheel.policy.tz, wheel.policy.send_clock
    r = d.reminders
    raw: list[tuple[SlotKind, int, date]] = []
    for n in r.before:
        raw.append((SlotKind.BEFORE, n, cal.roll(due - timedelta(days=n), "previous")))
    for n in r.after:
        raw.append((SlotKind.AFTER, n, cal.roll(due + timedelta(days=n), "next")))
    reminders: dict[date, list[tuple[SlotKind, int]]] = {}
    for kind, n, day in raw:
        reminders.setdefault(day, []).append((kind, n))
    slots: list[Slot] = []
    for day, named in reminders.items():
        named.sort(key=lambda kn: kn[1])
        kind, n = named[0]
        slots.append(
            Slot(
                name=f"{kind}-{n}",
                kind=kind,
                days=n,
                day=day,
                at=local_instant(tz, day, clock),
                merged=tuple(f"{k}-{m}" for k, m in named[1:]),
            )
        )
    if r.escalate_after is not None:
        day = cal.roll(due + timedelta(days=r.escalate_after), "next")
        slots.append(
            Slot("escalate", SlotKind.ESCALATE, r.escalate_after, day,
                 local_instant(tz, day, clock))
        )
    if opened_at is not None:
        require_aware(opened_at, "opened_at")
        slots = [s for s in slots if is_after(s.at, opened_at)]
    slots.sort(key=lambda s: (s.at.astimezone(UTC), s.kind == SlotKind.ESCALATE))
    return tuple(slots)


def year_plan(wheel: Wheel, year: int, cal: BusinessCalendar | None = None) -> YearPlan:
    if year not in wheel.policy.year_range:
        first, last = wheel.policy.years
        raise ValueError(f"{year} is not a cycle year of the policy ({first}-{last})")
    cal = cal or calendar_for(wheel)
    tz, clock = wheel.policy.tz, wheel.policy.send_clock
    events = []
    for e in wheel.events:
        day = event_day(cal, e, year)
        events.append(
            PlannedEvent(
                key=e.key,
                title=e.title,
                do=EventKind(e.do),
                nominal=_in_year(year, e.month_day),
                day=day,
                at=local_instant(tz, day, clock),
                letter=e.letter,
                to=wheel.event_to(e),
                opens=e.opens,
            )
        )
    events.sort(key=lambda pe: (pe.at.astimezone(UTC), wheel.events.index(wheel.event[pe.key])))
    deliverables = tuple(
        PlannedDeliverable(
            key=d.key,
            title=d.title,
            nominal=_in_year(year, d.due_month_day),
            due=due_date(wheel, cal, d, year),
            if_closed=d.if_closed,
            from_=wheel.deliverable_from(d),
        )
        for d in wheel.deliverables
    )
    requests: dict[tuple[str, str], PlannedRequest] = {}
    for pe in events:
        for dkey in pe.opens:
            d = wheel.deliverable[dkey]
            due = due_date(wheel, cal, d, year)
            # every committee opened by the same letter gets the same ladder: compute it once
            slots = reminder_slots(wheel, cal, d, due, pe.at)
            from_ = frozenset(wheel.deliverable_from(d))
            for ckey in pe.to:
                if ckey not in from_ or (ckey, dkey) in requests:
                    continue
                requests[(ckey, dkey)] = PlannedRequest(
                    year=year,
                    committee=ckey,
                    deliverable=dkey,
                    opened_by=pe.key,
                    opened_at=pe.at,
                    due=due,
                    slots=slots,
                )
    order_c = {c.key: i for i, c in enumerate(wheel.committees)}
    order_d = {d.key: i for i, d in enumerate(wheel.deliverables)}
    reqs = sorted(requests.values(), key=lambda r: (order_d[r.deliverable], order_c[r.committee]))
    closed = tuple(date(year, m, d) for m, d in sorted(cal.closed_days) if _exists(year, m, d))
    return YearPlan(
        year=year,
        timezone=wheel.policy.timezone,
        events=tuple(events),
        deliverables=deliverables,
        requests=tuple(reqs),
        holidays=tuple(sorted(cal.holidays(year).items())),
        closed_days=closed,
    )


def _exists(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True
