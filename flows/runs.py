"""Each kind of run, composed once, from explicit steps over the services.

``event``, ``chase`` and ``submit`` are what every caller runs: the CLI and ``simulate``
(through :mod:`flows.compose`), serve's wake-ups and the Prefect flows of
:mod:`flows.workflows`, which pass a ``step`` that makes each step a Prefect task. No Prefect
here. Each returns a :class:`flows.report.RunReport` for the CLI, the artifacts and
``summary.json``. The coordinator's actions (``extend``, ``excuse``, ``reopen``, ``resend``,
``pause``) and the weekly ``digest`` are composed the same way, at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.artifacts import artifact_key, intake_markdown
from flows.events import HANDLERS, EventRun, event_title
from flows.report import Artifact, RunReport
from flows.services import actions
from flows.services.beats import record_beat
from flows.services.chase import chase_notes, plan_chase
from flows.services.digest import digest_message, years_in_progress
from flows.services.digest import gather as gather_digest
from flows.services.intake import IntakeReport, intake_pass
from flows.services.intake_desk import accept as accept_held
from flows.services.intake_desk import dismiss as dismiss_held
from flows.services.outbox import (
    PAUSED_NOTE,
    deliver,
    enqueue_one,
    message_rows,
    paused,
    pending_count,
    unreachable,
)
from flows.services.setup import Refused, Setup
from flows.services.status import request_rows
from flows.services.steps import Step, call, carry_out
from flows.services.submissions import register_submission
from letters.mail import Outgoing
from letters.mailsource import MessageSource
from models.dates import dansk_dato, dansk_tid, dansk_ugedag_dato
from models.digest import digest_day, is_digest_day
from models.kinds import IntakeOutcome, RunKind
from models.plan import PlannedEvent, require_aware
from models.text import markdown_code_block, markdown_text

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
    report.unreachable = unreachable(st, report.messages)
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
    if not dry_run:  # for doctor's "last chase" (README "Monitoring")
        record_beat(st.db, "chase", as_of, latest=True)
    report.notes += chase_notes(st, actions, as_of, year, dry_run=dry_run)
    report.requests = request_rows(st, year, as_of)
    report.unreachable = unreachable(st, report.messages)
    return report


def submit(st: Setup, year: int, committee: str, deliverable: str, file: Path, at: datetime,
           *, send: bool = True, step: Step = call) -> RunReport:
    """Register a handed-in file at ``at`` and send its receipt."""
    reg = step("register", register_submission, st, year, committee, deliverable, file, at)
    local = st.local(at)
    report = RunReport(title=f"Aflevering {deliverable} fra {committee} {dansk_dato(local)}",
                       kind=RunKind.RECEIPT, year=year, as_of=local)
    report.notes += reg.notes(st.wheel, file.name, st.tz)
    if send and reg.outgoing is not None:
        step("send", deliver, st)
    if paused(st):
        report.notes.append(PAUSED_NOTE)
    sent = [reg.outgoing] if reg.outgoing is not None else []
    report.messages = message_rows(st, [o.key for o in sent], messages=sent)
    report.requests = request_rows(st, year, at)
    report.registered = reg.registration
    report.unreachable = unreachable(st, report.messages)
    return report


# --- the mail intake (README "Replies by e-mail") --------------------------------------------


def intake_counts(got: IntakeReport) -> str:
    """Danish counts of a pass, for the artifact's description and the CLI."""
    return got.counts(IntakeOutcome.REGISTERED, IntakeOutcome.HELD, IntakeOutcome.REFUSED,
                      IntakeOutcome.BOUNCED)


def intake(st: Setup, source: MessageSource, as_of: datetime, *, dry_run: bool = False,
           send: bool = True, step: Step = call) -> RunReport:
    """One pass over the replies mailbox (``intake``), then the receipts and refusals it
    queued go out (``send``, after the pass's commits), and its artifact."""
    require_aware(as_of, "as_of")
    local = st.local(as_of)
    report = RunReport(title=f"Postkassen {dansk_tid(local)}", kind=RunKind.INTAKE, year=None,
                       as_of=local, dry_run=dry_run)
    got = step("intake", intake_pass, st, source, as_of, dry_run=dry_run)
    report.intake = got
    new = [h for h in got.handled if not h.duplicate]
    replies = [k for h in new for k in h.replies]
    if not dry_run:
        # the replies and a bounce's alert; also what a pass killed after its commit left
        # queued (the message is handled, so no later pass queues it again)
        if send and (new or pending_count(st)):
            step("send", deliver, st)
        if paused(st):
            report.notes.append(PAUSED_NOTE)
        report.messages = message_rows(st, replies)
    report.notes += [f"Problem: {p}" for p in got.problems]
    report.requests = request_rows(st, None, as_of)
    dry = " (prøvekørsel)" if dry_run else ""
    report.artifacts.append(Artifact(
        key=None if dry_run else artifact_key(None, "postkasse"),
        markdown=intake_markdown(got, st.tz),
        description=f"Postkassen {dansk_tid(local)}: {intake_counts(got)}{dry}"))
    return report


def intake_accept(st: Setup, as_of: datetime, *, message_id: str, committee: str,
                  deliverable: str, year: int | None = None, file_name: str | None = None,
                  dry_run: bool = False, send: bool = True, step: Step = call) -> RunReport:
    """``aarshjul intake accept``: a held message's Word file registered by hand."""
    out = step("accept", accept_held, st, message_id, committee, deliverable, as_of,
               year=year, file_name=file_name, dry_run=dry_run)
    return _action_report(st, f"Registreret i hånden: {message_id}", out, as_of, send=send,
                          step=step)


def intake_dismiss(st: Setup, as_of: datetime, *, message_id: str,
                   reason: str | None = None, dry_run: bool = False, send: bool = True,
                   step: Step = call) -> RunReport:
    """``aarshjul intake dismiss``: a held message set aside, nothing registered."""
    out = step("dismiss", dismiss_held, st, message_id, as_of, reason=reason,
               dry_run=dry_run)
    return _action_report(st, f"Lagt til side: {message_id}", out, as_of, send=send,
                          step=step)


# --- the coordinator's desk: actions and the digest ------------------------------------------


def _action_report(st: Setup, title: str, out: actions.Outcome, as_of: datetime, *,
                   send: bool, step: Step) -> RunReport:
    """The report of an action run: what it did (or would do), its notice or resend (sent
    unless a dry run or paused), and the year's requests as they are now."""
    report = RunReport(title=title, kind=RunKind.ACTION, year=out.year, as_of=st.local(as_of),
                       dry_run=out.dry_run, done=[out.done, *out.details])
    if out.reason:
        report.done.append(f"Begrundelse: {out.reason}")
    if not out.dry_run:
        if send:
            step("send", deliver, st)
        if paused(st):
            report.notes.append(PAUSED_NOTE)
    report.messages = message_rows(st, list(out.keys) if not out.dry_run else
                                   [m.key for m in out.messages], messages=out.messages,
                                   dry_run=out.dry_run)
    report.requests = request_rows(st, out.year, as_of)
    report.unreachable = unreachable(st, report.messages)
    return report


def _about(st: Setup, committee: str, deliverable: str, year: int) -> str:
    title = (st.wheel.deliverable[deliverable].title if deliverable in st.wheel.deliverable
             else deliverable)
    return f"{title} {year} fra {committee}"


def extend(st: Setup, year: int, committee: str, deliverable: str, until: date,
           as_of: datetime, *, reason: str | None = None, dry_run: bool = False,
           send: bool = True, step: Step = call) -> RunReport:
    """``aarshjul extend``: the committee's own, later due date; a new ladder; a notice."""
    out = step("extend", actions.extend, st, year, committee, deliverable, until, as_of,
               reason=reason, dry_run=dry_run)
    return _action_report(st, f"Forlængelse: {_about(st, committee, deliverable, year)}", out,
                          as_of, send=send, step=step)


def excuse(st: Setup, year: int, committee: str, deliverable: str, as_of: datetime, *,
           reason: str | None = None, dry_run: bool = False, send: bool = True,
           step: Step = call) -> RunReport:
    """``aarshjul excuse``: the request closed as excused; a notice."""
    out = step("excuse", actions.excuse, st, year, committee, deliverable, as_of,
               reason=reason, dry_run=dry_run)
    return _action_report(st, f"Fritagelse: {_about(st, committee, deliverable, year)}", out,
                          as_of, send=send, step=step)


def reopen(st: Setup, as_of: datetime, *, submission: int | None = None,
           year: int | None = None, committee: str | None = None,
           deliverable: str | None = None, reason: str | None = None, dry_run: bool = False,
           send: bool = True, step: Step = call) -> RunReport:
    """``aarshjul reopen``: a wrong registration (or an excuse) withdrawn; a notice."""
    out = step("reopen", actions.reopen, st, as_of, submission=submission, year=year,
               committee=committee, deliverable=deliverable, reason=reason, dry_run=dry_run)
    about = _about(st, out.committee or "", out.deliverable or "", out.year or 0)
    return _action_report(st, f"Genåbning: {about}", out, as_of, send=send, step=step)


def resend(st: Setup, message: str, as_of: datetime, *, to: Sequence[str] = (),
           reason: str | None = None, dry_run: bool = False, send: bool = True,
           step: Step = call) -> RunReport:
    """``aarshjul resend``: a message sent again with Resent-* fields."""
    out = step("resend", actions.resend, st, message, as_of, to=tuple(to), reason=reason,
               dry_run=dry_run)
    return _action_report(st, f"Send igen: {out.committee or ''} {message}".replace("  ", " "),
                          out, as_of, send=send, step=step)


def pause(st: Setup, as_of: datetime, *, hold: bool = True, reason: str | None = None,
          dry_run: bool = False, send: bool = True, step: Step = call) -> RunReport:
    """``aarshjul pause`` / ``resume``: hold all sending, or resume it (and send what waits)."""
    out = step("pause" if hold else "resume", actions.pause, st, hold, as_of,
               reason=reason, dry_run=dry_run)
    title = "Pause i afsendelse" if hold else "Afsendelse genoptaget"
    report = _action_report(st, title, out, as_of, send=send and not hold, step=step)
    report.requests = request_rows(st, None, as_of)
    return report


def digest(st: Setup, as_of: datetime, *, year: int | None = None, dry_run: bool = False,
           only_on_digest_day: bool = False, send: bool = True,
           step: Step = call) -> RunReport:
    """The coordinator's digest of each cycle year in progress (or of ``year``), once a
    week; nothing for a year with nothing to say, nothing when ``policy.digest`` is false."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    report = RunReport(title=f"Ugeoversigt {dansk_dato(today)}", kind=RunKind.DIGEST,
                       year=year, as_of=st.local(as_of), dry_run=dry_run)
    if not st.wheel.policy.digest:
        report.notes.append("Ugeoversigten er slået fra (policy.digest: false).")
        return report
    if only_on_digest_day and not is_digest_day(st.cal, today):
        report.notes.append(f"I dag er ikke ugeoversigtens dag; den sendes "
                            f"{dansk_ugedag_dato(digest_day(st.cal, today + timedelta(7)))}.")
        return report
    years = [year] if year is not None else years_in_progress(st, today)
    built: list[Outgoing] = []
    for y in years:
        found = step("gather", gather_digest, st, y, as_of)
        if found.empty:
            report.notes.append(f"Intet at sige om {y}: ingen ugeoversigt.")
            continue
        o = digest_message(st, found)
        built.append(o)
        report.artifacts.append(Artifact(
            key=None if dry_run else artifact_key(y, "ugeoversigt"),
            markdown=f"# {markdown_text(o.subject)}\n\n{markdown_code_block(o.text)}",
            description=f"Årshjul {y}: ugeoversigt uge {found.week_of.isocalendar()[1]}"))
    if dry_run:
        report.messages = message_rows(st, [o.key for o in built], messages=built,
                                       dry_run=True)
        return report
    queued = [o for o in built if step("enqueue", enqueue_one, st, o, as_of)]
    if send and queued:
        step("send", deliver, st)
    if paused(st):
        report.notes.append(PAUSED_NOTE)
    report.messages = message_rows(st, [o.key for o in queued], messages=queued)
    for o in built:
        if o not in queued:
            report.notes.append(f"Ugeoversigten {o.key} er sendt før; den sendes ikke igen.")
    report.unreachable = unreachable(st, report.messages)
    return report


def _extend(st: Setup, as_of: datetime, *, year: int, committee: str, deliverable: str,
            until: date, **kw: Any) -> RunReport:
    return extend(st, year, committee, deliverable, until, as_of, **kw)


def _excuse(st: Setup, as_of: datetime, *, year: int, committee: str, deliverable: str,
            **kw: Any) -> RunReport:
    return excuse(st, year, committee, deliverable, as_of, **kw)


def _resend(st: Setup, as_of: datetime, *, message_id: str, to: Sequence[str] | None = None,
            **kw: Any) -> RunReport:
    return resend(st, message_id, as_of, to=tuple(to or ()), **kw)


def _pause(st: Setup, as_of: datetime, **kw: Any) -> RunReport:
    return pause(st, as_of, hold=True, **kw)


def _resume(st: Setup, as_of: datetime, **kw: Any) -> RunReport:
    return pause(st, as_of, hold=False, **kw)


# The desk's runs by name, with the parameters of their flows (flows.workflows.ACTION_FLOWS)
# and the instant: what a Runner without Prefect calls.
ACTION_RUNS: dict[str, Callable[..., RunReport]] = {
    "extend": _extend, "excuse": _excuse, "reopen": reopen, "resend": _resend,
    "pause": _pause, "resume": _resume, "digest": digest,
    "intake-accept": intake_accept, "intake-dismiss": intake_dismiss,
}
