"""How the letters fared: delivered, queued, failed for good, or bounced; and bounces recorded.

A letter that failed (the server refused it for good) or bounced (a delivery status
notification came back, recorded by :func:`record_bounce`) never reached the committee:
the requests table, ``status`` and the digest say "brevet kunne ikke leveres", and the chase
holds the request's reminders and escalation until the letter is sent again
(``aarshjul resend``) and delivered: a reminder about a letter nobody received only puzzles
(or bounces too). Once it is delivered the next chase sends at most one reminder, the one
due latest, as after any pause.

Each attempt is an outbox row: the letter (``letter:...``) and its resends
(``resend:letter:...:n``); the latest attempt decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from flows.services.audit import audit
from flows.services.keys import letter_key
from flows.services.outbox import queue_message
from flows.services.setup import Refused, Setup
from letters.mail import Outgoing
from models.db import immediate
from models.kinds import WAITING, AlertKind, LetterState, MessageKind, OutboxStatus
from models.outbox import OutboxAlert, OutboxRow
from models.plan import require_aware


@dataclass(frozen=True)
class Attempt:
    id: int
    key: str
    status: OutboxStatus
    sent_at: datetime | None
    bounced: bool
    detail: str  # the server's last answer, or the bounce


def state_of(attempts: list[Attempt]) -> LetterState:
    """The letter's state from its attempts, oldest first: the latest decides."""
    last = attempts[-1]
    if last.bounced:
        return LetterState.BOUNCED
    if last.status == OutboxStatus.FAILED:
        return LetterState.FAILED
    if last.status in WAITING:
        return LetterState.QUEUED
    return LetterState.RESENT if len(attempts) > 1 else LetterState.SENT


def _attempts(st: Setup, prefixes: Iterable[str]) -> dict[str, list[Attempt]]:
    """Letter key -> its attempts (the letter and its resends), oldest first."""
    out: dict[str, list[Attempt]] = {}
    conds = []
    for p in prefixes:
        conds += [col(OutboxRow.key).startswith(p, autoescape=True),
                  col(OutboxRow.key).startswith(f"resend:{p}", autoescape=True)]
    if not conds:
        return out
    with Session(st.db) as s:
        t = OutboxRow.__table__.c  # type: ignore[attr-defined]
        q = (columns(t.id, t.key, t.status, t.sent_at, t.last_reply)
             .where(or_(*conds)).order_by(col(OutboxRow.id)))
        rows = [tuple(r) for r in s.execute(q).all()]
        ids = [r[0] for r in rows]
        bounced: dict[int, str] = {}
        for i in range(0, len(ids), 500):
            bq = select(OutboxAlert.outbox_id, OutboxAlert.detail).where(
                col(OutboxAlert.outbox_id).in_(ids[i:i + 500]),
                OutboxAlert.kind == AlertKind.BOUNCED)
            bounced.update(dict(s.exec(bq).all()))
    for rid, key, status, sent_at, reply in rows:
        letter = key.removeprefix("resend:").rsplit(":", 1)[0] if key.startswith(
            "resend:") else key
        out.setdefault(letter, []).append(Attempt(
            rid, key, OutboxStatus(status), sent_at, rid in bounced,
            bounced.get(rid) or reply or ""))
    return out


def letter_states(st: Setup, year: int | None = None) -> dict[tuple[int, str, str], LetterState]:
    """(year, event, committee) -> how its letter fared, for every letter queued."""
    prefix = f"letter:{year}:" if year is not None else "letter:"
    out = {}
    for key, attempts in _attempts(st, [prefix]).items():
        _, y, event, committee = key.split(":", 3)
        out[(int(y), event, committee)] = state_of(attempts)
    return out


def letter_attempts(st: Setup, year: int, event: str, committee: str) -> list[Attempt]:
    return _attempts(st, [letter_key(year, event, committee)]).get(
        letter_key(year, event, committee), [])


def record_bounce(st: Setup, message_id: str, recipient: str, code: str | None,
                  at: datetime, *, to_coordinator: bool = True) -> str:
    """A delivery status notification about our message ``message_id`` (its Message-ID, or a
    resend's Resent-Message-ID): the latest attempt sent at or before ``at`` is marked
    ``bounced`` with the failed recipient and status code, once, and the coordinator gets an
    ``alert`` (once). For the mail intake; returns the outbox key it was recorded on."""
    require_aware(at, "at")
    with Session(immediate(st.db), expire_on_commit=False) as s:
        row = s.exec(select(OutboxRow).where(OutboxRow.message_id == message_id)).first()
        if row is None:
            raise Refused(f"afvist: {message_id} er ikke en af årshjulets beskeder")
        resends = s.exec(select(OutboxRow).where(
            col(OutboxRow.key).startswith(f"resend:{row.key}:", autoescape=True),
            col(OutboxRow.sent_at).is_not(None)).order_by(col(OutboxRow.id))).all()
        for r in resends:
            if r.sent_at is not None and r.sent_at <= at:
                row = r
        assert row.id is not None
        found = s.exec(select(OutboxAlert.id).where(
            OutboxAlert.outbox_id == row.id, OutboxAlert.kind == AlertKind.BOUNCED)).first()
        if found is None:
            detail = f"{recipient}: {code or 'ukendt status'}"
            s.add(OutboxAlert(outbox_id=row.id, kind=AlertKind.BOUNCED, key=row.key,
                              message_id=row.message_id, at=at, detail=detail,
                              notified=to_coordinator))
            audit(s, st, at, "bounce", row.year, row.committee, deliverable=row.deliverable,
                  event=row.event, slot=row.slot, ref=row.key, outcome="bounced")
            if to_coordinator:
                p = st.wheel.policy
                queue_message(s, st, Outgoing(
                    key=f"alert:{AlertKind.BOUNCED}:{row.key}", kind=MessageKind.ALERT,
                    year=row.year, committee=row.committee, event=row.event,
                    deliverable=row.deliverable, slot=row.slot, sender=st.sender,
                    to=(p.coordinator.email,), cc=(),
                    subject=f"Beskeden kom retur: {row.key}",
                    text=(f"Beskeden «{row.subject}» ({row.key}, Message-ID {row.message_id}) "
                          f"kom retur: {detail}.\n\nRet adressen i aarshjul.yaml, og send den "
                          f"igen: aarshjul resend '{row.message_id}'\n"),
                    html=None, date=st.local(at)), at)
        s.commit()
        return row.key
