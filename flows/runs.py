"""Each kind of run, composed once, from explicit steps over the services.

``event``, ``chase`` and ``submit`` are what every caller runs: the CLI and ``simulate``
(through :mod:`flows.compose`), serve's wake-ups and the Prefect flows of
:mod:`flows.workflows`, which pass a ``step`` that makes each step a Prefect task. No Prefect
here. Each returns a :class:`flows.report.RunReport` for the CLI, the artifacts and
``summary.json``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from flows.events import HANDLERS, EventRun, event_title
from flows.report import RunReport
from flows.services.chase import chase_notes, plan_chase
from flows.services.outbox import PAUSED_NOTE, deliver, message_rows, paused
from flows.services.setup import Refused, Setup
from flows.services.status import request_rows
from flows.services.steps import Step, call, carry_out
from flows.services.submissions import register_submission
from models.dates import dansk_dato
from models.kinds import RunKind
from models.plan import PlannedEvent, require_aware

log = logging.getLogger("aarshjul.engine")


def planned_event(st: Setup, event: str, year: int) -> PlannedEvent:
    """The event ``event`` of ``year``'s plan; an unknown key or year is refused."""
    first, last = st.wheel.policy.years
    if not first <= year <= last:
        raise Refused(f"refused: {year} is not a cycle year of the policy ({first}-{last})")
    if event not in st.wheel.event:
        known = ", ".join(e.key for e in st.wheel.events)
        raise Refused(f"refused: {event!r} is not an event of the wheel (events: {known})")
    return st.plan(year).event(event)


def event(st: Setup, event: str, year: int, as_of: datetime, *, dry_run: bool = False,
          preview_dir: Path | None = None, send: bool = True, step: Step = call) -> RunReport:
    """Carry out ``event`` of ``year`` as of ``as_of``: its ``do:`` kind's handler."""
    require_aware(as_of, "as_of")
    pe = planned_event(st, event, year)
    run = EventRun(st, pe, year, as_of, dry_run, preview_dir, send, step)
    report = RunReport(title=event_title(pe, year), kind=RunKind.EVENT, year=year,
                       as_of=st.local(as_of), dry_run=dry_run)
    result = HANDLERS[pe.do](run)
    report.messages, report.documents = result.messages, result.documents
    report.notes += result.notes
    report.artifacts += result.artifacts
    report.requests = request_rows(st, year, as_of)
    return report


def chase(st: Setup, as_of: datetime, *, dry_run: bool = False,
          preview_dir: Path | None = None, year: int | None = None, send: bool = True,
          step: Step = call) -> RunReport:
    """Send the reminders, overdue reminders and escalations due as of ``as_of``."""
    require_aware(as_of, "as_of")
    local = st.local(as_of)
    report = RunReport(title=f"Rykkerkørsel {dansk_dato(local)}", kind=RunKind.CHASE,
                       year=year, as_of=local, dry_run=dry_run)
    actions = step("plan", plan_chase, st, as_of, year)
    done = carry_out(st, actions, as_of, step=step, dry_run=dry_run,
                     preview_dir=preview_dir or st.data / "preview", send=send,
                     replan=lambda: plan_chase(st, as_of, year))
    report.messages, report.documents, report.notes = done.messages, done.documents, done.notes
    report.notes += chase_notes(st, actions, as_of, year, dry_run=dry_run)
    report.requests = request_rows(st, year, as_of)
    return report


def submit(st: Setup, year: int, committee: str, deliverable: str, file: Path, at: datetime,
           *, send: bool = True, step: Step = call) -> RunReport:
    """Register a handed-in file at ``at`` and send its receipt."""
    reg = step("register", register_submission, st, year, committee, deliverable, file, at)
    local = st.local(at)
    report = RunReport(title=f"Aflevering {deliverable} fra {committee} {dansk_dato(local)}",
                       kind=RunKind.RECEIPT, year=year, as_of=local)
    report.notes += reg.notes(st.wheel, file.name)
    if send:
        step("send", deliver, st)
    if paused(st):
        report.notes.append(PAUSED_NOTE)
    report.messages = message_rows(st, [reg.outgoing.key], messages=[reg.outgoing])
    report.requests = request_rows(st, year, at)
    report.registered = reg.registration
    return report
