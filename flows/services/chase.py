"""Which reminders and escalations are due: the chase rule (:func:`models.ladder.decide`)
applied to every request still open, with slots derived from the current wheel."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from flows.services.keys import Action, escalation_key, reminder_key
from flows.services.setup import Setup
from models.kinds import BodyKind, MessageKind, RequestStatus, SlotKind
from models.ladder import decide
from models.plan import require_aware
from models.state import Request, SlotState


def open_at(as_of: datetime) -> Any:
    """Requests with nothing registered at or before ``as_of``."""
    return or_(col(Request.status) == RequestStatus.OPEN, col(Request.received_at) > as_of)


def _open_requests(st: Setup, as_of: datetime,
                   year: int | None) -> tuple[list[Request], dict[int, set[str]]]:
    done: dict[int, set[str]] = defaultdict(set)
    with Session(st.db) as s:
        q = select(Request).where(open_at(as_of), col(Request.opened_at) <= as_of)
        if year is not None:
            q = q.where(Request.year == year)
        requests = [r for r in s.exec(q).all() if st.ladders.knows(r.deliverable)]
        if requests:
            sq = (select(SlotState.request_id, SlotState.slot)
                  .join(Request, col(Request.id) == col(SlotState.request_id))
                  .where(open_at(as_of), col(Request.opened_at) <= as_of))
            for rid, slot in s.exec(sq).all():
                done[rid].add(slot)
    return requests, done


def plan_chase(st: Setup, as_of: datetime, year: int | None = None) -> list[Action]:
    """What a chase at ``as_of`` sends: per open request at most one reminder (the others
    due are skipped), plus a due escalation."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    requests, done = _open_requests(st, as_of, year)
    actions: list[Action] = []
    for r in requests:
        assert r.id is not None
        due = st.ladders.due(r.deliverable, r.year)
        slots = st.ladders.slots(r.deliverable, r.year, r.opened_at)
        d = decide(slots, done[r.id], as_of, due, today)
        base: dict[str, Any] = {"year": r.year, "committee": r.committee,
                                "deliverable": r.deliverable, "request_id": r.id}
        if d.reminder is not None:
            body = BodyKind.REMINDER if d.reminder.kind == SlotKind.BEFORE else BodyKind.OVERDUE
            key = reminder_key(r.year, r.deliverable, r.committee, d.reminder.name)
            actions.append(Action(MessageKind.REMINDER, body, key, slot=d.reminder,
                                  skip=d.skipped, **base))
        elif d.skipped:
            actions.append(Action(MessageKind.REMINDER, BodyKind.REMINDER, "", skip=d.skipped,
                                  send=False, **base))
        if d.escalation is not None:
            actions.append(Action(MessageKind.ESCALATION, BodyKind.ESCALATION,
                                  escalation_key(r.year, r.deliverable, r.committee),
                                  slot=d.escalation, **base))
    return actions
