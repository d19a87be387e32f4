"""When the coordinator's weekly digest goes out (README "The coordinator's desk").

Every Monday at ``send_time``, or the next business day when the Monday is not one, unless
``policy.digest: false``: one digest per cycle year in progress. Pure: the calendar and a
day in, days out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models.calendar import BusinessCalendar

LOOKAHEAD_DAYS = 14  # "what is due in the next 14 days"


def week_monday(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def digest_day(cal: BusinessCalendar, day: date) -> date:
    """The day the digest of ``day``'s week goes out: its Monday, or the next business day
    after it when the Monday is not one (Easter Monday, Whit Monday, a closed day)."""
    return cal.roll(week_monday(day), "next")


def is_digest_day(cal: BusinessCalendar, day: date) -> bool:
    return digest_day(cal, day) == day


def in_progress(years: range, day: date, last_slot: dict[int, date]) -> list[int]:
    """The cycle years in progress on ``day``: begun (1 January) and not over (after
    31 December, a year lasts until its last reminder slot, ``last_slot``)."""
    return [y for y in years
            if date(y, 1, 1) <= day <= max(date(y, 12, 31), last_slot.get(y, date(y, 12, 31)))]


# --- what a digest says (plain data; letters.bodies writes it in Danish) -----------------


@dataclass(frozen=True)
class DueSoon:
    committee: str
    deliverable: str
    due: date
    extended: bool = False  # the committee's own, extended date


@dataclass(frozen=True)
class Overdue:
    committee: str
    deliverable: str
    due: date
    reminders_sent: int
    received_at: datetime | None = None  # None: still missing; else received late


@dataclass(frozen=True)
class Excused:
    committee: str
    deliverable: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Extended:
    committee: str
    deliverable: str
    previous: date  # the wheel's due date
    until: date
    reason: str | None = None


@dataclass(frozen=True)
class Held:
    """A message held for the coordinator (the mail intake: a reply that matched no request,
    an unknown sender, an automatic reply, a refused file)."""

    received_at: datetime
    sender: str
    subject: str
    why: str  # Danish


@dataclass(frozen=True)
class SendProblem:
    """A failed, uncertain or bounced send."""

    state: str  # failed | uncertain | bounced | refused | journal (AlertKind)
    kind: str  # MessageKind of the message
    committee: str | None
    what: str | None  # deliverable or event
    at: datetime
    detail: str
    message_id: str


@dataclass(frozen=True)
class Digest:
    year: int
    week_of: date  # the Monday of the week
    as_of: datetime
    due_soon: tuple[DueSoon, ...] = ()
    overdue: tuple[Overdue, ...] = ()
    excused: tuple[Excused, ...] = ()
    extended: tuple[Extended, ...] = ()
    held: tuple[Held, ...] = ()
    problems: tuple[SendProblem, ...] = ()
    undelivered: tuple[tuple[str, str], ...] = ()  # (committee, event): letters not delivered
    paused: bool = False
    pending: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to say: no digest is sent."""
        return not (self.due_soon or self.overdue or self.excused or self.extended
                    or self.held or self.problems or self.undelivered or self.paused)


def sample_digests(year: int, committee: str, deliverable: str, event: str, due: date,
                   as_of: datetime) -> tuple[Digest, Digest]:
    """Two digests to check the template with (``aarshjul check``): one with every section,
    and a quiet one with only what is due soon. ``as_of`` is in ``due``'s week; ``event``
    is the one whose letter was not delivered."""
    week_of = week_monday(as_of.date())
    full = Digest(
        year=year, week_of=week_of, as_of=as_of,
        due_soon=(DueSoon(committee, deliverable, due, True),),
        overdue=(Overdue(committee, deliverable, due, 3),
                 Overdue(committee, deliverable, due, 2, as_of)),
        excused=(Excused(committee, deliverable, as_of, "Ingen aktiviteter i år"),),
        extended=(Extended(committee, deliverable, due, due + timedelta(days=10), None),),
        held=(Held(as_of, "someone@kk.example", "Re: Opfordringsskrivelse", "ukendt afsender"),),
        problems=(SendProblem("failed", "letter", committee, event, as_of,
                              "550 5.1.1 mailbox unavailable", "<x@kk.example>"),),
        undelivered=((committee, event),), paused=True, pending=2)
    quiet = Digest(year=year, week_of=week_of, as_of=as_of,
                   due_soon=(DueSoon(committee, deliverable, due),))
    return full, quiet
