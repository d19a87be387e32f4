"""The coordinator's weekly digest: one e-mail per cycle year in progress, on Mondays.

What it says (README "The coordinator's desk"): what is due in the next 14 days, what is
missing (open past its due date) and what came late in the past week, the requests excused
or extended in the past week, the messages held for the coordinator (the mail intake fills
:data:`HELD_SOURCES`), the sends that failed, were uncertain or bounced in the past week, the
letters that never arrived (their reminders are held), and a paused outbox. Nothing is sent
when there is nothing to say (:attr:`models.digest.Digest.empty`). Each is queued once, under
``digest:{year}:{monday}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from flows.services.deliveries import letter_states
from flows.services.intake_desk import held_messages as intake_held
from flows.services.keys import digest_key
from flows.services.outbox import paused, pending_count, send_problems
from flows.services.setup import Setup
from flows.services.status import request_rows
from letters.bodies import digest_body_context, render_body
from letters.mail import Outgoing
from models.digest import (
    LOOKAHEAD_DAYS,
    Digest,
    DueSoon,
    Excused,
    Extended,
    Held,
    Overdue,
    SendProblem,
    in_progress,
    week_monday,
)
from models.kinds import UNDELIVERED, ActionKind, BodyKind, MessageKind, RequestStatus
from models.plan import require_aware
from models.state import AuditEntry

HeldSource = Callable[[Setup, int], Sequence[Held]]
# Where messages held for the coordinator come from: the mail intake adds its function here
# (one line), and the digest lists what they give.
HELD_SOURCES: list[HeldSource] = [intake_held]
WEEK = timedelta(days=7)


def held_messages(st: Setup, year: int) -> list[Held]:
    return [h for source in HELD_SOURCES for h in source(st, year)]


def years_in_progress(st: Setup, day: date) -> list[int]:
    """The cycle years in progress on ``day`` (a year lasts until its last reminder slot)."""
    last: dict[int, date] = {}
    for y in st.wheel.policy.year_range:
        if date(y, 1, 1) <= day:
            slots = [s.day for r in st.plan(y).requests for s in r.slots]
            last[y] = max(slots, default=date(y, 12, 31))
    return in_progress(st.wheel.policy.year_range, day, last)


def _actions(st: Setup, year: int, since: datetime, until: datetime
             ) -> tuple[list[Excused], list[Extended]]:
    with Session(st.db) as s:
        found = s.exec(select(AuditEntry).where(
            AuditEntry.year == year,
            col(AuditEntry.action).in_((ActionKind.EXCUSE, ActionKind.EXTEND)),
            col(AuditEntry.at) > since, col(AuditEntry.at) <= until,
        ).order_by(col(AuditEntry.id))).all()
    excused, extended = [], []
    for e in found:
        if e.committee is None or e.deliverable is None:
            continue
        if e.action == ActionKind.EXCUSE:
            excused.append(Excused(e.committee, e.deliverable, e.at, e.reason))
        elif e.ref and e.ref.startswith("until:") and st.ladders.knows(e.deliverable):
            extended.append(Extended(e.committee, e.deliverable,
                                     st.ladders.due(e.deliverable, year),
                                     date.fromisoformat(e.ref.removeprefix("until:")), e.reason))
    return excused, extended


def gather(st: Setup, year: int, as_of: datetime,
           held: HeldSource | None = None) -> Digest:
    """What the digest of ``year`` says as of ``as_of`` (nothing is written)."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    since = as_of - WEEK
    rows = request_rows(st, year, as_of)
    due_soon = tuple(
        DueSoon(r.committee, r.deliverable, r.due, r.extended) for r in rows
        if r.status == RequestStatus.OPEN and today <= r.due <= today + timedelta(
            days=LOOKAHEAD_DAYS))
    overdue = tuple(
        Overdue(r.committee, r.deliverable, r.due, r.reminders_sent, r.received_at)
        for r in rows
        if r.overdue or (r.status == RequestStatus.LATE and r.received_at is not None
                         and r.received_at > since))
    excused, extended = _actions(st, year, since, as_of)
    problems = tuple(
        SendProblem(p["state"], p["kind"], p["committee"], p["deliverable"] or p["event"],
                    datetime.fromisoformat(p["at"]), p["detail"], p["message_id"])
        for p in send_problems(st, year)
        if p["kind"] not in (MessageKind.ALERT, MessageKind.DIGEST)
        and datetime.fromisoformat(p["at"]) > since)
    undelivered = tuple((c, e) for (y, e, c), state in sorted(letter_states(st, year).items())
                        if state in UNDELIVERED)
    source = held if held is not None else held_messages
    is_paused = paused(st)
    return Digest(year=year, week_of=week_monday(today), as_of=as_of, due_soon=due_soon,
                  overdue=overdue, excused=tuple(excused), extended=tuple(extended),
                  held=tuple(source(st, year)), problems=problems, undelivered=undelivered,
                  paused=is_paused, pending=pending_count(st) if is_paused else 0)


def digest_message(st: Setup, digest: Digest) -> Outgoing:
    """The digest as one e-mail to the coordinator."""
    ctx = digest_body_context(st.wheel, st.plan(digest.year), digest)
    subject, text, html = render_body(BodyKind.DIGEST, ctx, st.templates_dir)
    c = st.wheel.policy.coordinator
    return Outgoing(key=digest_key(digest.year, digest.week_of), kind=MessageKind.DIGEST,
                    year=digest.year, committee=None, event=None, deliverable=None, slot=None,
                    sender=st.sender, to=(c.email,), cc=(), subject=subject, text=text,
                    html=html, date=st.local(digest.as_of))
