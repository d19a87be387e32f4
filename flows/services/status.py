"""Who has handed in what, as of an instant: one row per request, for the CLI, the
artifacts, the reports and summary.json; and the coordinators' actions, from the audit log."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from flows.report import RequestRow
from flows.services.deliveries import letter_states
from flows.services.ladders import current
from flows.services.setup import Setup
from models.dates import dansk_dato
from models.kinds import UNDELIVERED, ActionKind, LetterState, RequestStatus, SlotKind, SlotOutcome
from models.ladder import status_as_of
from models.plan import require_aware
from models.state import AuditEntry, Document, Request, SlotState, Submission

SLOT_DA = {SlotKind.BEFORE: "påmindelse", SlotKind.AFTER: "rykker",
           SlotKind.ESCALATE: "eskalering"}
LETTER_DA = {LetterState.SENT: "brev sendt", LetterState.RESENT: "brev sendt igen",
             LetterState.QUEUED: "brev venter i udbakken",
             LetterState.FAILED: "brevet kunne ikke leveres",
             LetterState.BOUNCED: "brevet kunne ikke leveres (kom retur)"}


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
    """Every request (of ``year``) with its status as of ``as_of`` and the last thing done.

    The due date is the request's own: the wheel's as it is now, or the committee's after an
    extension. A request whose letter never arrived says so ("brevet kunne ikke leveres")."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    reqs, states = _requests(st, year)
    letters = letter_states(st, year)
    rows = []
    for r in reqs:
        assert r.id is not None
        known = st.ladders.knows(r.deliverable)
        cur = current(st, r) if known else None
        due = cur.due if cur is not None else r.opened_at.date()
        now = status_as_of(r.status, r.received_at, as_of, due, today, r.closed_at)
        sent = [x for x in states[r.id] if x.state == SlotOutcome.SENT and x.at <= as_of]
        letter = letters.get((r.year, r.opened_by, r.committee), LetterState.SENT)
        if now.status == RequestStatus.EXCUSED and r.closed_at is not None:
            last = f"fritaget {dansk_dato(st.local(r.closed_at))}"
        elif now.received_at is not None:
            last = f"modtaget {dansk_dato(st.local(now.received_at))}"
        elif letter in UNDELIVERED:
            last = LETTER_DA[letter]
        elif sent:
            x = sent[-1]
            last = f"{SLOT_DA[SlotKind(x.kind)]} {x.slot} sendt {dansk_dato(st.local(x.at))}"
        elif letter == LetterState.QUEUED:
            last = LETTER_DA[letter]
        else:
            last = f"{LETTER_DA[letter]} {dansk_dato(st.local(r.opened_at))}"
        rows.append(RequestRow(
            year=r.year, committee=r.committee, deliverable=r.deliverable, due=due,
            status=now.status,
            received_at=st.local(now.received_at) if now.received_at else None,
            reminders_sent=len(sent), last_action=last, overdue=now.overdue,
            extended=bool(cur and cur.extended), letter=str(letter), ladder=r.ladder))
    return rows


ACTIONS = tuple(ActionKind)


def action_log(st: Setup, year: int | None = None) -> list[dict[str, Any]]:
    """The coordinators' actions (extend, excuse, reopen, resend, pause, resume) from the
    audit log, oldest first: who, when, what, why, and the outcome."""
    with Session(st.db) as s:
        q = select(AuditEntry).where(col(AuditEntry.action).in_(ACTIONS))
        if year is not None:
            q = q.where((col(AuditEntry.year) == year) | col(AuditEntry.year).is_(None))
        found = s.exec(q.order_by(col(AuditEntry.id))).all()
    return [
        {"at": st.local(e.at).isoformat(), "actor": e.actor, "action": e.action,
         "year": e.year, "committee": e.committee, "deliverable": e.deliverable,
         "ref": e.ref, "outcome": e.outcome, "reason": e.reason}
        for e in found
    ]


def submission_rows(st: Setup, year: int) -> list[dict[str, Any]]:
    """Every registered submission of ``year`` (withdrawn ones too), with the number that
    ``aarshjul reopen --submission`` takes."""
    with Session(st.db) as s:
        q = (select(Submission, Request, Document)
             .join(Request, col(Request.id) == col(Submission.request_id))
             .join(Document, col(Document.id) == col(Submission.document_id))
             .where(Request.year == year).order_by(col(Submission.id)))
        found = s.exec(q).all()
    return [
        {"id": sub.id, "committee": req.committee, "deliverable": req.deliverable,
         "received_at": st.local(sub.received_at).isoformat(), "revision": sub.revision,
         "outcome": sub.outcome, "file": doc.filename,
         "withdrawn_at": st.local(sub.withdrawn_at).isoformat() if sub.withdrawn_at else None}
        for sub, req, doc in found
    ]
