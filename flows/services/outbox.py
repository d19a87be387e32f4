"""Queueing actions exactly once, sending them, and what the outbox says about them.

A message and the state change that called for it are committed together: the slot-state
rows (sent, skipped) and the outbox row (the built message with its unique key), and, for a
letter, the requests it opens. A rerun, a crash or a second worker therefore never sends
twice and never loses a message; a race with a second worker ends in a unique-constraint
violation, a rollback and a fresh plan. The outbox is then drained by the one sender,
:func:`letters.delivery.send_pending`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from flows.report import MessageRow
from flows.services.audit import audit, ensure_year
from flows.services.keys import Action, Queued
from flows.services.ladders import apply_restart
from flows.services.messages import build_outgoing, readings_by_goal, write_documents
from flows.services.setup import Setup
from letters.delivery import (
    AlertPolicy,
    DeliveryReport,
    enqueue,
    is_paused,
    send_pending,
    sender_health,
)
from letters.delivery import set_paused as _set_paused
from letters.mail import Outgoing, message_id
from models.db import immediate
from models.kinds import WAITING, MessageKind, OutboxStatus, SlotOutcome
from models.outbox import OutboxAlert, OutboxRow
from models.state import Request, SlotState

log = logging.getLogger("aarshjul.engine")

CHUNK = 200  # messages per transaction: bounded memory for the January batch at scale
PAUSED_NOTE = "Afsendelse er sat på pause: beskederne venter i udbakken indtil `aarshjul resume`."


def queued_keys(s: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are in the outbox already."""
    keys = list(keys)
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(s.exec(select(OutboxRow.key).where(col(OutboxRow.key).in_(chunk))).all())
    return found


def is_queued(st: Setup, key: str) -> bool:
    with Session(st.db) as s:
        return bool(queued_keys(s, [key]))


def enqueue_actions(st: Setup, actions: list[Action], as_of: datetime, *,
                    replan: Callable[[], list[Action]] | None = None) -> list[Queued]:
    """Build and queue ``actions`` in transactions of :data:`CHUNK` messages, each message
    with its slot states (and a letter with the requests it opens).

    Returns what was queued (already-queued ones are left out). On a unique-constraint race
    with another worker the transaction rolls back and the rest is planned again with
    ``replan()`` (committed chunks are then no longer due).
    """
    needs = any(a.kind == MessageKind.LETTER for a in actions)
    readings = readings_by_goal(st) if needs else None
    queued: list[Queued] = []
    attempts, i = 0, 0
    while i < len(actions):
        chunk = actions[i : i + CHUNK]
        try:
            queued += _enqueue_chunk(st, chunk, as_of, readings)
        except IntegrityError:
            attempts += 1
            if replan is None or attempts > 2:
                raise
            log.warning("another worker got there first; planning again")
            actions, i = replan(), 0
            continue
        i += CHUNK
    return queued


def _slot_states(s: Session, st: Setup, a: Action, as_of: datetime) -> None:
    assert a.request_id is not None
    for slot in a.skip:
        s.add(SlotState(request_id=a.request_id, ladder=a.ladder, slot=slot.name,
                        kind=slot.kind, state=SlotOutcome.SKIPPED, due_at=slot.at, at=as_of))
        audit(s, st, as_of, "slot", a.year, a.committee, deliverable=a.deliverable,
              slot=slot.name, outcome=SlotOutcome.SKIPPED)
    if a.send and a.slot is not None:
        s.add(SlotState(request_id=a.request_id, ladder=a.ladder, slot=a.slot.name,
                        kind=a.slot.kind, state=SlotOutcome.SENT, due_at=a.slot.at, at=as_of,
                        outbox_key=a.key))


def _open_requests(s: Session, st: Setup, a: Action, as_of: datetime) -> None:
    for dkey in a.opens:
        existing = s.exec(select(Request.id).where(
            Request.year == a.year, Request.deliverable == dkey,
            Request.committee == a.committee)).first()
        if existing is None:
            s.add(Request(year=a.year, deliverable=dkey, committee=a.committee,
                          opened_by=a.event or "", opened_at=as_of,
                          due=st.ladders.due(dkey, a.year)))
            audit(s, st, as_of, "open", a.year, a.committee, deliverable=dkey, event=a.event,
                  outcome="opened")


def queue_message(s: Session, st: Setup, o: Outgoing, as_of: datetime, *,
                  action: str | None = None) -> bool:
    """Add ``o`` to the outbox in ``s`` with its audit entry; False when it was there."""
    row = enqueue(s, o, st.domain, st.tz)
    audit(s, st, as_of, action or o.kind, o.year, o.committee, deliverable=o.deliverable,
          event=o.event, slot=o.slot, ref=o.key,
          outcome="already-queued" if row is None else "queued")
    return row is not None


def _enqueue_chunk(st: Setup, actions: list[Action], as_of: datetime,
                   readings: dict[str, Any] | None) -> list[Queued]:
    built = [(a, build_outgoing(st, a, as_of, readings) if a.send else None) for a in actions]
    queued: list[Outgoing] = []
    with Session(immediate(st.db), expire_on_commit=False) as s:
        for y in sorted({a.year for a in actions}):
            ensure_year(s, y, as_of)
        for a, o in built:
            if a.restart is not None:
                apply_restart(s, st, a, as_of)
            if a.request_id is not None:
                _slot_states(s, st, a, as_of)
            if o is None or not queue_message(s, st, o, as_of):
                continue
            queued.append(o)
            if a.kind == MessageKind.LETTER:
                _open_requests(s, st, a, as_of)
        s.commit()
    if st.documents is not None:
        write_documents(st.documents, queued)
    return [Queued.of(o) for o in queued]


def enqueue_one(st: Setup, o: Outgoing, as_of: datetime) -> bool:
    """Queue one message with its audit entry in its own transaction; False when queued
    before (then nothing is written)."""
    with Session(immediate(st.db), expire_on_commit=False) as s:
        ensure_year(s, o.year, as_of)
        if not queue_message(s, st, o, as_of):
            s.rollback()
            return False
        s.commit()
    return True


# --- sending ------------------------------------------------------------------------------


def deliver(st: Setup, now: datetime | None = None) -> DeliveryReport:
    """Drain the outbox (unless paused) through the one sender."""
    when = now or (st.clock() if st.clock else datetime.now(UTC))
    return send_pending(st.db, st.transport, st.journal, now=when,
                        alert=AlertPolicy.from_wheel(st.wheel), faults=st.faults,
                        pace=st.pace)


def unreachable(st: Setup, messages: Sequence[MessageRow]) -> str | None:
    """Why the mail server could not be reached, when some of ``messages`` still wait in the
    outbox because of it (not paused; ``outbox_control.last_error`` is cleared as soon as a
    message goes out, so a set one means no message went out since the failed try)."""
    if not any(m.state == "queued" for m in messages):
        return None
    with Session(st.db) as s:
        health = sender_health(s)
    return None if health.paused else health.last_error


def sender_state(st: Setup) -> dict[str, Any]:
    """The sender's health for ``status``: why the mail server could not be reached at the
    last try (None once a message went out again) and when; when a message last went out."""
    with Session(st.db) as s:
        h = sender_health(s)
    return {"paused": h.paused, "last_error": h.last_error,
            "last_error_at": st.local(h.last_error_at).isoformat() if h.last_error_at else None,
            "last_ok_at": st.local(h.last_ok_at).isoformat() if h.last_ok_at else None}


def paused(st: Setup) -> bool:
    with Session(st.db) as s:
        return bool(is_paused(s))


def set_paused(st: Setup, value: bool, as_of: datetime) -> None:
    with Session(immediate(st.db)) as s:
        _set_paused(s, value, as_of)
        audit(s, st, as_of, "pause" if value else "resume", None, None, outcome="done")
        s.commit()


# --- what the outbox says -------------------------------------------------------------------


def _state(row: OutboxRow | None) -> str:
    if row is None:
        return "queued"
    status = OutboxStatus(row.status)
    if status == OutboxStatus.SENT:
        return "uncertain" if row.uncertain else "sent"
    if status in (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN):
        return str(status)
    return "queued"


def _rows(st: Setup, keys: Sequence[str]) -> dict[str, OutboxRow]:
    rows: dict[str, OutboxRow] = {}
    with Session(st.db) as s:
        for i in range(0, len(keys), 500):
            q = (select(OutboxRow).options(defer(OutboxRow.raw))  # type: ignore[arg-type]
                 .where(col(OutboxRow.key).in_(keys[i : i + 500])))  # the bytes: not read
            rows.update({r.key: r for r in s.exec(q).all()})
    return rows


def message_rows(st: Setup, keys: Sequence[str], *,
                 messages: Sequence[Queued | Outgoing] = (),
                 dry_run: bool = False) -> list[MessageRow]:
    """Rows for a run's report, in ``keys`` order, each with its outbox state (``preview``
    in a dry run). ``messages`` supply what the run built; other keys are read back."""
    by_key = {m.key: m for m in messages}
    rows = {} if dry_run or not keys else _rows(st, keys)
    out = []
    for k in keys:
        m, r = by_key.get(k), rows.get(k)
        state = "preview" if dry_run else _state(r)
        if m is not None:
            names = m.attachments if isinstance(m, Queued) else [a.filename for a in m.attachments]
            assert m.date is not None
            out.append(MessageRow(
                message_id=message_id(k, st.domain), kind=MessageKind(m.kind),
                committee=m.committee, event=m.event, deliverable=m.deliverable, slot=m.slot,
                to=tuple(m.to), cc=tuple(m.cc), date=m.date, subject=m.subject,
                attachments=tuple(names), state=state))
        elif r is not None:
            out.append(MessageRow(
                message_id=r.message_id, kind=MessageKind(r.kind), committee=r.committee,
                event=r.event, deliverable=r.deliverable, slot=r.slot,
                to=tuple(r.recipients), cc=(), date=st.local(r.queued_at), subject=r.subject,
                attachments=(), state=state))
    return out


def send_problems(st: Setup, year: int | None = None) -> list[dict[str, Any]]:
    """Failed and uncertain sends (the outbox's alerts), for ``status`` and the coordinator."""
    with Session(st.db) as s:
        q = select(OutboxAlert, OutboxRow).join(
            OutboxRow, col(OutboxRow.id) == col(OutboxAlert.outbox_id))
        if year is not None:
            q = q.where(OutboxRow.year == year)
        found = s.exec(q.order_by(col(OutboxAlert.id))).all()
    return [
        {"state": alert.kind, "kind": row.kind, "key": row.key, "message_id": row.message_id,
         "committee": row.committee, "event": row.event, "deliverable": row.deliverable,
         "slot": row.slot, "at": st.local(alert.at).isoformat(), "code": alert.code,
         "detail": alert.detail}
        for alert, row in found
    ]


def pending_count(st: Setup, year: int | None = None) -> int:
    """Messages queued and not yet sent (waiting, being sent or waiting for a retry)."""
    with Session(st.db) as s:
        q = select(func.count()).select_from(OutboxRow)
        q = q.where(col(OutboxRow.status).in_(WAITING))
        if year is not None:
            q = q.where(OutboxRow.year == year)
        return int(s.exec(q).one())
