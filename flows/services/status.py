"""Who has handed in what, as of an instant: one row per request, for the CLI, the
artifacts, the reports and summary.json."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from flows.report import RequestRow
from flows.services.setup import Setup
from models.dates import dansk_dato
from models.kinds import SlotKind, SlotOutcome
from models.ladder import status_as_of
from models.plan import require_aware
from models.state import Request, SlotState

SLOT_DA = {SlotKind.BEFORE: "påmindelse", SlotKind.AFTER: "rykker",
           SlotKind.ESCALATE: "eskalering"}


def _requests(st: Setup, year: int | None) -> tuple[list[Request], dict[int, list[SlotState]]]:
    states: dict[int, list[SlotState]] = defaultdict(list)
    with Session(st.db) as s:
        q = select(Request)
        if year is not None:
            q = q.where(Request.year == year)
        reqs = list(s.exec(q).all())
        sq = select(SlotState).join(Request, col(Request.id) == col(SlotState.request_id))
        if year is not None:
            sq = sq.where(Request.year == year)
        for ss in s.exec(sq.order_by(col(SlotState.id))).all():
            states[ss.request_id].append(ss)
    order_c = {c.key: i for i, c in enumerate(st.wheel.committees)}
    order_d = {d.key: i for i, d in enumerate(st.wheel.deliverables)}
    reqs.sort(key=lambda r: (r.year, order_d.get(r.deliverable, 99), order_c.get(r.committee, 999)))
    return reqs, states


def request_rows(st: Setup, year: int | None, as_of: datetime) -> list[RequestRow]:
    """Every request (of ``year``) with its status as of ``as_of`` and the last thing done."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    reqs, states = _requests(st, year)
    rows = []
    for r in reqs:
        assert r.id is not None
        known = st.ladders.knows(r.deliverable)
        due = st.ladders.due(r.deliverable, r.year) if known else r.opened_at.date()
        now = status_as_of(r.status, r.received_at, as_of, due, today)
        sent = [x for x in states[r.id] if x.state == SlotOutcome.SENT and x.at <= as_of]
        if now.received_at is not None:
            last = f"modtaget {dansk_dato(st.local(now.received_at))}"
        elif sent:
            x = sent[-1]
            last = f"{SLOT_DA[SlotKind(x.kind)]} {x.slot} sendt {dansk_dato(st.local(x.at))}"
        else:
            last = f"brev sendt {dansk_dato(st.local(r.opened_at))}"
        rows.append(RequestRow(
            year=r.year, committee=r.committee, deliverable=r.deliverable, due=due,
            status=now.status,
            received_at=st.local(now.received_at) if now.received_at else None,
            reminders_sent=len(sent), last_action=last, overdue=now.overdue))
    return rows
