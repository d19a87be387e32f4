"""The ``status_report`` (August) and ``budget`` (October) events (CONTRACT §2).

Each sends ONE ``report`` e-mail, key ``report:{year}:{event}``, with the document attached,
to the owner committee's ``to`` and the coordinator (the owner's ``cc`` in Cc). The message
goes through the engine's outbox like every letter: built first, then queued in one
transaction with its audit entry, then sent by the outbox sender — so a rerun, a retry or a
second worker never sends it twice. A rerun after it was queued reports the queued message
and builds nothing.

What goes into the documents (:mod:`letters.reports`) is gathered here from the state
database: the requests and their status as of the run, the latest submission of each
request read back (:func:`letters.readback.read_form`), the barometer readings and, for the
budget overview, the budget decisions (``aarshjul budget import``).

Importing this module registers both handlers with :func:`flows.engine.register_event_handler`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows import engine as E
from flows import ports
from flows.report import RunReport
from letters.reports.budget_overview import budget_overview_docx
from letters.reports.data import CommitteeReport, Handin, StatusData
from letters.reports.markdown import (
    budget_markdown,
    budget_summary,
    status_markdown,
    status_summary,
)
from letters.reports.status_report import status_report_docx
from models.plan import PlannedEvent, require_aware
from models.state import LATE, ON_TIME, BarometerReading, Document, Request, Submission

log = logging.getLogger("aarshjul.reports")


# --- gathering --------------------------------------------------------------------------


def barometer_readings(st: E.Setup) -> tuple[Any, ...]:
    from models.barometer import Reading

    with Session(st.db) as s:
        rows = s.exec(select(BarometerReading).order_by(col(BarometerReading.id))).all()
    return tuple(Reading(r.goal, r.period, r.value, r.source or None) for r in rows)


def budget_decisions(st: E.Setup, year: int) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """The stored decisions of ``year`` (and the files they came from)."""
    from models.budget import Decision
    from models.budget_state import BudgetDecision

    with Session(st.db) as s:
        rows = s.exec(
            select(BudgetDecision).where(BudgetDecision.year == year)
            .order_by(col(BudgetDecision.id))
        ).all()
    decisions = tuple(
        Decision(r.committee, r.initiative, r.goal, r.amount_dkk, r.funded, 0)  # type: ignore[arg-type]
        for r in rows
    )
    return decisions, tuple(sorted({r.source for r in rows if r.source}))


def _latest_submissions(st: E.Setup, year: int, as_of: datetime) -> dict[tuple[str, str], Any]:
    """(committee, deliverable) -> (latest submission, its document, revisions) at ``as_of``."""
    out: dict[tuple[str, str], Any] = {}
    with Session(st.db) as s:
        q = (
            select(Submission, Request, Document)
            .join(Request, col(Request.id) == col(Submission.request_id))
            .join(Document, col(Document.id) == col(Submission.document_id))
            .where(Request.year == year, col(Submission.received_at) <= as_of)
            .order_by(col(Submission.revision))
        )
        for sub, req, doc in s.exec(q).all():
            out[(req.committee, req.deliverable)] = (sub, doc)
    return out


def _read(st: E.Setup, doc: Any, committee: str) -> Any:
    from letters.readback import read_form

    w = st.wheel
    path = st.data / doc.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("stored submission %s cannot be read: %s", path, exc)
        return None
    return read_form(
        data,
        [g.key for g in w.goals_for(committee)],
        known_goals=list(w.goal),
        goal_titles={g.key: g.title for g in w.goals},
    )


def gather(st: E.Setup, year: int, as_of: datetime, event_title: str = "") -> StatusData:
    """Everything the status report and the overview show, as of ``as_of``."""
    require_aware(as_of, "as_of")
    w = st.wheel
    plan = st.plan(year)
    today = st.local(as_of).date()
    rows = {(r.committee, r.deliverable): r for r in E.request_rows(st, year, as_of)}
    subs = _latest_submissions(st, year, as_of)
    revisions: dict[tuple[str, str], int] = {}
    for k, (sub, _doc) in subs.items():
        revisions[k] = sub.revision
    asked_from = {d.key: set(w.deliverable_from(d)) for d in w.deliverables}
    committees = []
    for c in w.committees:
        handins = []
        for d in w.deliverables:
            if c.key not in asked_from[d.key]:
                continue
            due = plan.deliverable(d.key).due
            r = rows.get((c.key, d.key))
            if r is None:
                status = "missing" if today > due else "open"
            elif r.status in (ON_TIME, LATE):
                status = r.status
            else:
                status = "missing" if r.overdue else "open"
            found = subs.get((c.key, d.key))
            reading = file_name = None
            if found is not None and status in (ON_TIME, LATE):
                reading = _read(st, found[1], c.key)
                file_name = found[1].filename
            handins.append(
                Handin(
                    deliverable=d.key,
                    title=d.title,
                    due=due,
                    status=status,
                    received_at=r.received_at if r is not None else None,
                    reading=reading,
                    file_name=file_name,
                    revisions=revisions.get((c.key, d.key), 0),
                    asked=r is not None,
                )
            )
        if handins:
            committees.append(
                CommitteeReport(c.key, c.name, tuple(g.key for g in w.goals_for(c.key)),
                                tuple(handins))
            )
    return StatusData(
        wheel=w,
        plan=plan,
        year=year,
        report_date=today,
        event_title=event_title,
        committees=tuple(committees),
        readings=barometer_readings(st),
    )


# --- the message ------------------------------------------------------------------------


def report_outgoing(
    st: E.Setup, pe: PlannedEvent, year: int, as_of: datetime, attachment: Any
) -> Any:
    """The ``report`` message: to the owner committee's ``to`` and the coordinator."""
    w = st.wheel
    owner = w.committee[w.policy.owner]
    key = E.report_key(year, pe.key)
    a = E.Action("report", "report", key, year, owner.key, event=pe.key)
    ctx = E.body_context(st, a, as_of, (attachment.filename,))
    subject, text, html = ports.render_body("report", ctx)
    to = tuple(dict.fromkeys((*owner.to, w.policy.coordinator.email)))
    return ports.Outgoing(
        key=key,
        kind="report",
        year=year,
        committee=owner.key,
        event=pe.key,
        deliverable=None,
        slot=None,
        sender=st.sender,
        to=to,
        cc=tuple(x for x in owner.cc if x not in to),
        subject=subject,
        text=text,
        html=html,
        attachments=(attachment,),
        date=st.local(as_of),
    )


def enqueue_report(st: E.Setup, o: Any, as_of: datetime) -> bool:
    """Queue ``o`` with its audit entry in one transaction; False when it was queued before."""
    from models.db import immediate

    with Session(immediate(st.db), expire_on_commit=False) as s:
        E._ensure_year(s, o.year, as_of)
        row = ports.enqueue(s, o, st.domain, st.tz)
        if row is None:
            s.rollback()
            return False
        E._audit(s, st, as_of, "report", o.year, o.committee, event=o.event, ref=o.key,
                 outcome="queued")
        s.commit()
    return True


def _queued(st: E.Setup, key: str) -> bool:
    from models.outbox import OutboxRow

    with Session(st.db) as s:
        return s.exec(select(OutboxRow.id).where(OutboxRow.key == key)).first() is not None


def _artifact_key(year: int, event: str) -> str:
    from flows.artifacts import artifact_key

    return artifact_key(year, re.sub(r"[^a-z0-9-]+", "-", event.lower()).strip("-") or "rapport")


def publish_markdown(markdown: str, year: int, event: str, dry_run: bool) -> bool:
    """A markdown artifact with the report's figures, when running inside a Prefect run.

    Outside a flow or task run (CLI without Prefect, simulate, tests) nothing is published and
    Prefect is not imported: the figures are in the run report's notes instead."""
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return False
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=markdown,
        key=None if dry_run else _artifact_key(year, event),
        description=f"Årshjul {year}: {event}" + (" (prøvekørsel)" if dry_run else ""),
    )
    return True


def _file_name(pe: PlannedEvent, year: int) -> str:
    return f"{E._safe(pe.title)} {year}.docx"


def _run(
    build: Callable[[StatusData], bytes],
    markdown: Callable[[StatusData], str],
    summary: Callable[[StatusData], str],
    with_budget: bool,
) -> E.EventHandler:
    def handler(
        st: E.Setup,
        report: RunReport,
        pe: PlannedEvent,
        year: int,
        as_of: datetime,
        dry_run: bool,
        preview_dir: Path | None,
        send: bool,
    ) -> None:
        key = E.report_key(year, pe.key)
        if not dry_run and _queued(st, key):
            report.notes.append(
                f"«{pe.title}» {year} er allerede dannet og sendt én gang; den sendes ikke igen."
            )
            if send:
                E.deliver(st)
            report.messages = E.message_rows(st, [key])
            return
        data = gather(st, year, as_of, E.event_title(st, pe, year))
        if with_budget:
            decisions, sources = budget_decisions(st, year)
            data = StatusData(**{**data.__dict__, "decisions": decisions,
                                 "decision_sources": sources})
        content = build(data)
        o = report_outgoing(st, pe, year, as_of, ports.Attachment(_file_name(pe, year), content))
        report.notes.append(summary(data))
        publish_markdown(markdown(data), year, pe.key, dry_run)
        if dry_run:
            report.documents += E._preview(st, preview_dir or st.data / "preview", [o])
            report.messages = E.message_rows(st, [key], dry_run=True, outgoing=[o])
            return
        queued = [o] if enqueue_report(st, o, as_of) else []
        if queued:
            keep = st.data / "reports" / str(year)
            keep.mkdir(parents=True, exist_ok=True)
            (keep / o.attachments[0].filename).write_bytes(content)
            if st.documents is not None:
                E.write_documents(st.documents, queued)
        E.finish(st, report, queued, as_of, send)
        if not queued:
            report.messages = E.message_rows(st, [key])

    return handler


status_report_handler = _run(status_report_docx, status_markdown, status_summary, False)
budget_handler = _run(budget_overview_docx, budget_markdown, budget_summary, True)

E.register_event_handler("status_report", status_report_handler)
E.register_event_handler("budget", budget_handler)

__all__ = [
    "budget_handler",
    "enqueue_report",
    "gather",
    "publish_markdown",
    "report_outgoing",
    "status_report_handler",
]
