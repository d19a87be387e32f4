"""What the status report (August) and the budget overview (October) show, gathered from
the state database: the requests and their status as of the run, the latest submission of
each request read back, the barometer readings and, for the overview, the budget decisions.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from flows.report import RequestRow
from flows.services.readings import read_submission
from flows.services.setup import Setup
from flows.services.status import request_rows
from flows.services.storage import barometer_readings, budget_decisions
from letters.readback import FormReading
from letters.reports.data import CommitteeReport, Handin, StatusData
from models.kinds import CLOSED, CLOSED_RECEIVED, RequestStatus
from models.plan import require_aware
from models.state import Document, Request, Submission
from models.wheel import Committee, Deliverable

log = logging.getLogger("aarshjul.reports")


def latest_submissions(st: Setup, year: int,
                       as_of: datetime) -> dict[tuple[str, str], tuple[Submission, Document]]:
    """(committee, deliverable) -> (its latest submission at ``as_of``, not withdrawn, and
    the document)."""
    out: dict[tuple[str, str], tuple[Submission, Document]] = {}
    with Session(st.db) as s:
        q = (select(Submission, Request, Document)
             .join(Request, col(Request.id) == col(Submission.request_id))
             .join(Document, col(Document.id) == col(Submission.document_id))
             .where(Request.year == year, col(Submission.received_at) <= as_of,
                    # a withdrawn registration (aarshjul reopen) is not read
                    or_(col(Submission.withdrawn_at).is_(None),
                        col(Submission.withdrawn_at) > as_of))
             .order_by(col(Submission.revision)))
        for sub, req, doc in s.exec(q).all():
            out[(req.committee, req.deliverable)] = (sub, doc)
    return out


def _read(st: Setup, doc: Document, committee: str) -> FormReading | None:
    path = st.data / doc.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("stored submission %s cannot be read: %s", path, exc)
        return None
    return read_submission(st.wheel, committee, data)


def _handin(st: Setup, year: int, c: Committee, d: Deliverable, row: RequestRow | None,
            found: tuple[Submission, Document] | None, today: Any) -> Handin:
    due = row.due if row is not None else st.plan(year).deliverable(d.key).due
    if row is None:
        status = RequestStatus.MISSING if today > due else RequestStatus.OPEN
    elif row.status in CLOSED:  # received, or excused (not missing)
        status = RequestStatus(row.status)
    else:
        status = RequestStatus.MISSING if row.overdue else RequestStatus.OPEN
    reading = file_name = None
    if found is not None and status in CLOSED_RECEIVED:
        reading = _read(st, found[1], c.key)
        file_name = found[1].filename
    return Handin(deliverable=d.key, title=d.title, due=due, status=status,
                  received_at=row.received_at if row is not None else None, reading=reading,
                  file_name=file_name, revisions=found[0].revision if found else 0,
                  asked=row is not None, extended=row is not None and row.extended)


def gather(st: Setup, year: int, as_of: datetime, event_title: str = "", *,
           with_budget: bool = False) -> StatusData:
    """Everything the status report and the overview show, as of ``as_of``."""
    require_aware(as_of, "as_of")
    w = st.wheel
    today = st.local(as_of).date()
    rows = {(r.committee, r.deliverable): r for r in request_rows(st, year, as_of)}
    subs = latest_submissions(st, year, as_of)
    asked_from = {d.key: set(w.deliverable_from(d)) for d in w.deliverables}
    committees = []
    for c in w.committees:
        handins = tuple(
            _handin(st, year, c, d, rows.get((c.key, d.key)), subs.get((c.key, d.key)), today)
            for d in w.deliverables if c.key in asked_from[d.key]
        )
        if handins:
            goals = tuple(g.key for g in w.goals_for(c.key))
            committees.append(CommitteeReport(c.key, c.name, goals, handins))
    decisions, sources = budget_decisions(st.db, year) if with_budget else ((), ())
    return StatusData(wheel=w, plan=st.plan(year), year=year, report_date=today,
                      event_title=event_title, committees=tuple(committees),
                      readings=tuple(barometer_readings(st.db)), decisions=decisions,
                      decision_sources=sources, templates_dir=st.templates_dir)
