"""A request's current ladder: its due date, where its slots start, and what they are.

A ladder is one generation of a request's slots (README "The coordinator's desk"): ladder 0
from its letter; an extension, or a due date moved later in the wheel, starts ladder n+1
from that instant with the new due date. The request keeps the due date its ladder was made
for (``requests.due``), so the first chase that sees a later date in the wheel starts the
new ladder, and queues the committee's notice, in the transaction that records its slot
states; a date moved earlier re-derives the slots from the instant it is seen, so that
nothing is replayed. The rules are pure, in :mod:`models.ladder`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col

from flows.services.audit import audit
from flows.services.keys import Action, Restart
from flows.services.setup import Setup
from models.ladder import LadderChange, effective_due, ladder_change
from models.plan import Slot
from models.state import Request


@dataclass(frozen=True)
class Current:
    """A request's ladder as of an instant: the one it is on, or the one a chase at that
    instant starts (``change``)."""

    ladder: int
    due: date  # the request's due date: the wheel's or, extended, the committee's own
    starts_at: datetime  # slots at or before it are dropped
    slots: tuple[Slot, ...]
    change: LadderChange | None = None  # the stored ladder was made for another date
    extended: bool = False

    @property
    def new_ladder(self) -> bool:
        return self.change is not None and self.change.later


def wheel_due(st: Setup, r: Request) -> date:
    return st.ladders.due(r.deliverable, r.year)


def current(st: Setup, r: Request, as_of: datetime | None = None) -> Current:
    """``r``'s ladder; with ``as_of``, the one a chase at ``as_of`` would find (a date moved
    in the wheel since the ladder was made starts a new one, or re-derives it, from then)."""
    base = wheel_due(st, r)
    due = effective_due(base, r.extended_to)
    extended = r.extended_to is not None and r.extended_to >= base
    change = ladder_change(r.due, due)
    ladder, starts = r.ladder, r.ladder_from or r.opened_at
    if change is not None and as_of is not None:
        starts = as_of
        if change.later:
            ladder += 1
    elif change is not None:
        change = None  # not yet seen by a chase: the stored ladder, re-derived for ``due``
    return Current(ladder, due, starts, st.ladders.slots(r.deliverable, r.year, starts, due),
                   change, extended)


def restart_of(r: Request, cur: Current) -> Restart | None:
    """What a chase records for ``r``: the ladder change, or the due date of a request stored
    before ladders were (``requests.due`` null), which starts nothing."""
    assert r.id is not None
    if cur.change is not None:
        return Restart(r.id, r.ladder, cur.ladder, cur.due, cur.change.previous, cur.starts_at)
    if r.due is None:
        return Restart(r.id, r.ladder, r.ladder, cur.due, None, None)
    return None


def apply_restart(s: Session, st: Setup, a: Action, as_of: datetime) -> bool:
    """Record ``a.restart`` in ``s`` (the transaction of the action's slot states and
    message), unless another worker did: the ladder is compared and set in one statement.
    True when it was recorded here."""
    x = a.restart
    assert x is not None
    values: dict[str, object] = {"ladder": x.new_ladder, "due": x.due}
    if x.starts_at is not None:
        values["ladder_from"] = x.starts_at
    done = s.execute(update(Request)
                     .where(col(Request.id) == x.request_id, col(Request.ladder) == x.ladder)
                     .values(**values))
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    if x.previous is not None:
        outcome = f"ladder-{x.new_ladder}" if x.new_ladder != x.ladder else "moved-earlier"
        audit(s, st, as_of, "due-moved", a.year, a.committee, deliverable=a.deliverable,
              ref=f"due:{x.previous.isoformat()}->{x.due.isoformat()}", outcome=outcome)
    return True
