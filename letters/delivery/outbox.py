"""The outbox: a message is built once and stored, then sent by the sender.

:func:`enqueue` builds the bytes (:func:`letters.mail.build`) and stores them in an
``outbox`` row under the message's unique idempotency key; calling it again for the same key
adds nothing. The caller commits, in the same transaction as the state change that called
for the message (a letter and the request it opens are stored together).

``pause`` / ``resume`` (:func:`set_paused`) hold all sending; :func:`problem_rows` lists
what a coordinator must look at; :func:`sender_health` says whether the mail server could be
reached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from letters.mail import Outgoing, build, message_id
from models.kinds import OutboxStatus

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.outbox import OutboxRow


def enqueue(session: Session, o: Outgoing, domain: str, tz: ZoneInfo) -> OutboxRow | None:
    """Build ``o`` and add it to the outbox, unless its key is there already (then ``None``).

    The row is flushed, not committed: the caller commits (with the state change that called
    for the message). A concurrent insert of the same key is caught with a savepoint.
    """
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import select

    from models.outbox import OutboxRow

    if session.exec(select(OutboxRow.id).where(OutboxRow.key == o.key)).first() is not None:
        return None
    raw = build(o, domain, tz)
    assert o.date is not None
    row = OutboxRow(
        key=o.key, kind=o.kind, year=o.year, committee=o.committee, event=o.event,
        deliverable=o.deliverable, slot=o.slot, message_id=message_id(o.key, domain),
        envelope_from=o.sender[1], recipients=list(o.recipients), subject=o.subject, raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(), queued_at=o.date, status=OutboxStatus.PENDING,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def is_paused(session: Session) -> bool:
    from models.outbox import OutboxControl

    ctl = session.get(OutboxControl, 1)
    return bool(ctl and ctl.paused)


def set_paused(session: Session, paused: bool, as_of: datetime) -> None:
    """``pause`` / ``resume``: hold all sending; the outbox keeps its messages.

    Flushed, not committed: the caller commits (with its audit entry, say). On SQLite open
    the session with ``models.db.write_session``."""
    from models.outbox import OutboxControl

    ctl = session.get(OutboxControl, 1)
    if ctl is None:
        ctl = OutboxControl(id=1)
    ctl.paused = paused
    ctl.changed_at = as_of
    session.add(ctl)
    session.flush()


@dataclass(frozen=True)
class SenderHealth:
    """What ``outbox_control`` says of the sender: paused, why the mail server could not be
    reached at the last try (``last_error``, no password in it; None once a message went out
    again) and when, and when a message last went out."""

    paused: bool = False
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None


def sender_health(session: Session) -> SenderHealth:
    from models.outbox import OutboxControl

    ctl = session.get(OutboxControl, 1)
    if ctl is None:
        return SenderHealth()
    return SenderHealth(ctl.paused, ctl.last_error, ctl.last_error_at, ctl.last_ok_at)


def problem_rows(session: Session, year: int | None = None) -> Iterator[OutboxRow]:
    """What a coordinator must look at: failed, uncertain, or sent after an uncertain try."""
    from sqlalchemy import or_
    from sqlmodel import col, select

    from models.outbox import OutboxRow

    q = select(OutboxRow).where(or_(
        col(OutboxRow.status).in_((OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)),
        col(OutboxRow.uncertain).is_(True)))
    if year is not None:
        q = q.where(OutboxRow.year == year)
    yield from session.exec(q.order_by(col(OutboxRow.id)))
