"""The reminder ladder in motion: which slot a chase sends, and what status a request has.

Pure rules (README "Business days, due dates and the reminder ladder" and "The coordinator's desk");
the engine's chase and status services apply them to what the database holds. Slots
themselves are derived by :func:`models.plan.reminder_slots` from the current wheel.

A request's slots come in *ladders*: ladder 0 from its letter; an extension, or a due date
moved later in the wheel, starts the next ladder from that instant with the new due date
(:func:`ladder_change`). A request's due date is the wheel's, or the committee's own after
an extension when that is later (:func:`effective_due`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from models.calendar import BusinessCalendar
from models.dates import dansk_dato, dansk_ugedag_dato
from models.kinds import RequestStatus, SlotKind
from models.plan import Slot, due_date, reminder_slots, require_aware
from models.wheel import Wheel


@dataclass(frozen=True)
class ChaseDecision:
    """What one chase does for one open request."""

    reminder: Slot | None  # the one reminder to send (the latest one due), if any
    skipped: tuple[Slot, ...]  # due reminders that are not sent: marked skipped
    escalation: Slot | None  # a due escalation not yet sent

    @property
    def empty(self) -> bool:
        return self.reminder is None and not self.skipped and self.escalation is None


def decide(slots: Iterable[Slot], done: set[str], as_of: datetime, due: date,
           today: date) -> ChaseDecision:
    """The chase rule for one request still open at ``as_of``.

    Of its reminder slots not yet done and due at or before ``as_of`` it sends one, the one
    with the latest due instant, and skips the others, so an engine that was down for days
    catches up with one reminder, not a burst. A ``before-*`` slot is never sent on a day
    after the due date (``today`` is the local day of ``as_of``): it is skipped. A due
    escalation not yet sent is sent as well.
    """
    require_aware(as_of, "as_of")
    limit = as_of.astimezone(UTC)
    unsent = [s for s in slots if s.name not in done]
    eligible = [s for s in unsent if s.is_reminder and s.at.astimezone(UTC) <= limit]
    too_late: list[Slot] = []
    if today > due:
        too_late = [s for s in eligible if s.kind == SlotKind.BEFORE]
        eligible = [s for s in eligible if s.kind != SlotKind.BEFORE]
    chosen = max(eligible, key=lambda s: s.at.astimezone(UTC)) if eligible else None
    skipped = tuple(s for s in (*too_late, *eligible) if s is not chosen)
    escalation = next(
        (s for s in unsent if s.kind == SlotKind.ESCALATE and s.at.astimezone(UTC) <= limit),
        None,
    )
    return ChaseDecision(chosen, skipped, escalation)


@dataclass(frozen=True)
class StatusAsOf:
    status: RequestStatus  # open, on_time or late as of the instant
    received_at: datetime | None  # the first arrival, if it is at or before the instant
    overdue: bool  # open and past its due date (shown as missing, "mangler")

    @property
    def shown(self) -> RequestStatus:
        """The status a coordinator sees: an overdue open request is missing."""
        return RequestStatus.MISSING if self.overdue else self.status


def status_as_of(stored: str, received_at: datetime | None, as_of: datetime, due: date,
                 today: date, closed_at: datetime | None = None) -> StatusAsOf:
    """A request's status as of ``as_of`` from what is stored (its status, first arrival
    and, for an excused request, when it was excused): what happened after ``as_of`` does
    not count yet. An excused request is never overdue (it is not missing)."""
    require_aware(as_of, "as_of")
    limit = as_of.astimezone(UTC)
    if stored == RequestStatus.EXCUSED and closed_at is not None and closed_at <= limit:
        return StatusAsOf(RequestStatus.EXCUSED, None, False)
    received = received_at if received_at is not None and received_at <= as_of else None
    status = RequestStatus(stored) if received is not None else RequestStatus.OPEN
    return StatusAsOf(status, received, status == RequestStatus.OPEN and today > due)


def arrival_status(arrived: date, due: date) -> RequestStatus:
    """On time when registered on or before the due date (local), else late."""
    return RequestStatus.ON_TIME if arrived <= due else RequestStatus.LATE


def effective_due(wheel_due: date, extended_to: date | None) -> date:
    """A request's due date: the wheel's (as moved by ``if_closed``), or the committee's own
    after an extension. When the wheel's date is later than the extension, the wheel's
    date wins: an extended committee never has less time than the others."""
    return wheel_due if extended_to is None else max(wheel_due, extended_to)


@dataclass(frozen=True)
class LadderChange:
    """The due date a request's ladder was made for is no longer its due date."""

    previous: date
    due: date

    @property
    def later(self) -> bool:
        """A later date starts a new ladder (and the committee gets a notice); an earlier
        one re-derives the slots of the same ladder from the instant it is seen, so that
        none of its past slots is sent (nothing is replayed)."""
        return self.due > self.previous


def ladder_change(made_for: date | None, due: date) -> LadderChange | None:
    """The change a chase must apply to a request whose ladder was made for ``made_for``
    (None: a request stored before ladders were; its ladder is taken as made for ``due``)."""
    if made_for is None or made_for == due:
        return None
    return LadderChange(made_for, due)


def extension_problem(cal: BusinessCalendar, current: date, until: date,
                      today: date) -> str | None:
    """Why ``until`` cannot be a request's new due date (Danish), or None when it can: it
    must be a business day, later than the current due date and not before ``today``."""
    if not cal.is_business_day(until):
        why = ("en helligdag" if cal.holiday_name(until) else
               "en lukkedag" if cal.is_closed_day(until) else "weekend")
        nxt = cal.next_business_day(until)
        return (f"{dansk_ugedag_dato(until)} er ikke en hverdag ({why}); den nærmeste "
                f"hverdag efter er {dansk_ugedag_dato(nxt)}")
    if until <= current:
        return (f"{dansk_dato(until)} er ikke senere end den nuværende frist "
                f"({dansk_dato(current)}); en forlængelse skal give en senere frist")
    if until < today:
        return f"{dansk_dato(until)} er allerede passeret (i dag er {dansk_dato(today)})"
    return None


class Ladders:
    """Due dates and slot ladders of one wheel, each computed once (a chase over thousands
    of requests asks for the same few ladders again and again)."""

    def __init__(self, wheel: Wheel, cal: BusinessCalendar) -> None:
        self.wheel, self.cal = wheel, cal
        self._due: dict[tuple[str, int], date] = {}
        self._slots: dict[tuple[str, int, datetime, date | None], tuple[Slot, ...]] = {}

    def knows(self, deliverable: str) -> bool:
        return deliverable in self.wheel.deliverable

    def due(self, deliverable: str, year: int) -> date:
        k = (deliverable, year)
        if k not in self._due:
            d = self.wheel.deliverable[deliverable]
            self._due[k] = due_date(self.wheel, self.cal, d, year)
        return self._due[k]

    def slots(self, deliverable: str, year: int, opened_at: datetime,
              due: date | None = None) -> tuple[Slot, ...]:
        """The ladder of a request for ``deliverable`` due on ``due`` (default: the wheel's
        due date) that starts at ``opened_at`` (its letter, or the instant a new ladder
        started): slots at or before that instant are dropped."""
        k = (deliverable, year, opened_at, due)
        if k not in self._slots:
            d = self.wheel.deliverable[deliverable]
            self._slots[k] = reminder_slots(
                self.wheel, self.cal, d, due or self.due(deliverable, year), opened_at
            )
        return self._slots[k]
