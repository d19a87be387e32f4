"""The sender: every due outbox row sent once, and the server's answer committed.

:func:`send_pending` claims due rows (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``;
SQLite: ``BEGIN IMMEDIATE``, the single writer), marks each one ``sending`` in its own commit
just before the SMTP ``DATA`` command, sends the stored bytes over one kept connection, and
commits the server's answer.

What the server says:

- ``250``: ``sent``; the journal copy is written before the commit (whatever the journal
  raises, the 250 is committed and a journal alert says why).
- ``4xx`` (or no connection): back to ``pending`` with ``next_attempt_at`` = now + backoff
  (5, 10, 20, 40 ... minutes); after ``max_attempts`` tries ``failed``.
- ``5xx``: ``failed`` for good, never retried; the coordinator is alerted.
- The connection drops after the message data went out, before the answer: the server may
  have the message. The row is marked ``uncertain`` and resent once, at once, with the same
  bytes (same Message-ID, same Date); the coordinator is told. If that resend is uncertain
  too, the row stays ``uncertain`` (no third copy) and the coordinator is told.
- A sender killed mid-way leaves its rows ``claimed`` (nothing sent: they go back to
  ``pending``) or ``sending`` (maybe sent: treated as a drop after DATA, resent once and
  reported); :mod:`letters.delivery.liveness` tells whose claims are orphans.

Each attempt's outcome is committed by one helper (:func:`_record`): the row's new state, its
alerts (:mod:`letters.delivery.alerts`) and the line of the :class:`DeliveryReport`.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from letters.delivery.alerts import AlertPolicy, record_alert
from letters.delivery.faults import Faults
from letters.delivery.liveness import Liveness, liveness
from letters.delivery.outbox import is_paused
from letters.delivery.transports import (
    Accepted,
    PermanentFailure,
    TransientFailure,
    Transport,
    Uncertain,
)
from models.kinds import AlertKind, OutboxStatus
from models.plan import require_aware

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table
    from sqlmodel import Session

    from letters.delivery.pace import Pacer
    from letters.journal import Journal
    from models.outbox import OutboxRow

log = logging.getLogger("aarshjul.delivery")

MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=5)
RESENT_AFTER_UNCERTAIN = ("resent once with the same Message-ID after an attempt whose answer "
                          "was lost; the recipients may have two copies")


class DeliveryStatus(StrEnum):
    """What one attempt came to, as the report says it."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # sent again after an uncertain attempt: maybe two copies
    UNCERTAIN_FINAL = "uncertain-final"  # uncertain twice: not resent a third time


@dataclass(frozen=True)
class Delivery:
    key: str
    message_id: str
    kind: str
    status: DeliveryStatus
    code: int | None = None
    reply: str = ""


@dataclass
class DeliveryReport:
    worker: str
    paused: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # keys taken over from dead senders
    # the mail server could not be reached (the run stopped there): which server (redacted
    # URL) and why, never a password; also kept in outbox_control (sender_health)
    unreachable: str | None = None

    def keys(self, status: DeliveryStatus) -> list[str]:
        return [d.key for d in self.deliveries if d.status == status]

    @property
    def sent(self) -> list[str]:
        return self.keys(DeliveryStatus.SENT)

    @property
    def failed(self) -> list[str]:
        return self.keys(DeliveryStatus.FAILED)

    @property
    def retry(self) -> list[str]:
        return self.keys(DeliveryStatus.RETRY)

    @property
    def uncertain(self) -> list[str]:
        """Keys that went out again after an uncertain attempt (maybe two copies), or that
        stayed uncertain after their one resend: the coordinator was told of each."""
        return self.keys(DeliveryStatus.UNCERTAIN) + self.keys(DeliveryStatus.UNCERTAIN_FINAL)

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker, "paused": self.paused, "recovered": self.recovered,
            "unreachable": self.unreachable, "deliveries": [d.__dict__ for d in self.deliveries],
        }


def _table() -> Table:
    """The ``outbox`` table, for Core statements."""
    from models.outbox import OutboxRow

    return OutboxRow.metadata.tables["outbox"]


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- claims ----------------------------------------------------------------------------


def _claim(engine: Engine, worker: str, now: datetime, n: int) -> list[int]:
    from sqlalchemy import or_, select, update

    from models.db import immediate

    t = _table()
    with immediate(engine).begin() as conn:
        ids = list(conn.execute(
            select(t.c.id)
            .where(t.c.status == OutboxStatus.PENDING,
                   or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
            .order_by(t.c.id).limit(n).with_for_update(skip_locked=True)
        ).scalars())
        if ids:
            conn.execute(update(t).where(t.c.id.in_(ids), t.c.status == OutboxStatus.PENDING)
                         .values(status=OutboxStatus.CLAIMED, claimed_by=worker, claimed_at=now))
    return ids


def _release(engine: Engine, worker: str) -> None:
    """Claimed rows not yet tried go back to pending (an early stop, not a crash)."""
    from sqlalchemy import update

    from models.db import immediate

    t = _table()
    with immediate(engine).begin() as conn:
        conn.execute(update(t).where(t.c.status == OutboxStatus.CLAIMED, t.c.claimed_by == worker)
                     .values(status=OutboxStatus.PENDING, claimed_by=None, claimed_at=None))


def _recover(engine: Engine, live: Liveness, worker: str, now: datetime,
             alert: AlertPolicy | None, report: DeliveryReport) -> None:
    """Rows left ``claimed``/``sending`` by senders that died."""
    from sqlmodel import col, select

    from models.db import immediate, session
    from models.outbox import OutboxRow

    held = (OutboxStatus.CLAIMED, OutboxStatus.SENDING)
    with session(engine) as s:
        owners = set(s.exec(select(OutboxRow.claimed_by).where(
            col(OutboxRow.status).in_(held), OutboxRow.claimed_by != worker)).all())
    dead = [w for w in owners if w and live.is_dead(w)]
    if not dead:
        return
    with session(immediate(engine)) as s:
        rows = s.exec(select(OutboxRow).where(
            col(OutboxRow.status).in_(held),
            col(OutboxRow.claimed_by).in_(dead)).with_for_update()).all()
        for row in rows:
            report.recovered.append(row.key)
            if row.status == OutboxStatus.SENDING:
                o = _uncertain(row, "the sender died after the data may have gone out",
                               resend=OutboxStatus.PENDING)
                _apply(s, row, o, now, alert, report)
            else:
                row.status = OutboxStatus.PENDING
            row.claimed_by = None
            row.claimed_at = None
            s.add(row)
        s.commit()


# --- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """What one attempt changes: the row's columns, its alerts, the report's line."""

    values: dict[str, Any]
    alerts: tuple[tuple[AlertKind, int | None, str], ...] = ()
    delivery: Delivery | None = None
    again: bool = False  # resend at once (after a first uncertain attempt)


_UNCLAIM = {"claimed_by": None, "claimed_at": None}


def _delivery(rec: Any, status: DeliveryStatus, code: int | None, reply: str) -> Delivery:
    return Delivery(rec.key, rec.message_id, rec.kind, status, code, reply)


def _transient(rec: Any, exc: TransientFailure, now: datetime, max_attempts: int,
               backoff: timedelta) -> _Outcome:
    attempts = rec.attempts + 1
    values = {"last_code": exc.code, "last_reply": exc.reply, **_UNCLAIM}
    if attempts >= max_attempts:
        return _Outcome(
            {**values, "status": OutboxStatus.FAILED, "next_attempt_at": None},
            ((AlertKind.FAILED, exc.code, f"{attempts} attempts: {exc.reply}"),),
            _delivery(rec, DeliveryStatus.FAILED, exc.code, exc.reply))
    retry_at = now + backoff * (2 ** (attempts - 1))
    return _Outcome({**values, "status": OutboxStatus.PENDING, "next_attempt_at": retry_at},
                    delivery=_delivery(rec, DeliveryStatus.RETRY, exc.code, exc.reply))


def _permanent(rec: Any, exc: PermanentFailure) -> _Outcome:
    return _Outcome(
        {"status": OutboxStatus.FAILED, "next_attempt_at": None, "last_code": exc.code,
         "last_reply": exc.reply, **_UNCLAIM},
        ((AlertKind.FAILED, exc.code, exc.reply),),
        _delivery(rec, DeliveryStatus.FAILED, exc.code, exc.reply))


def _uncertain(rec: Any, why: str, *, resend: OutboxStatus) -> _Outcome:
    """An attempt whose answer was lost: resent once (as ``resend``: claimed by this sender
    at once, or pending for the next), or after the second such attempt given up."""
    if rec.uncertain:
        return _Outcome(
            {"status": OutboxStatus.UNCERTAIN, "resend_pending": False, "last_reply": why,
             **_UNCLAIM},
            ((AlertKind.UNCERTAIN, None, f"{why}; a second time: not resent again"),),
            _delivery(rec, DeliveryStatus.UNCERTAIN_FINAL, None, why))
    values: dict[str, Any] = {"uncertain": True, "resend_pending": True, "status": resend,
                              "next_attempt_at": None, "last_reply": why}
    if resend != OutboxStatus.CLAIMED:
        values.update(_UNCLAIM)
    return _Outcome(values, again=True)


def _sent(rec: Any, accepted: Accepted, now: datetime, journal_error: str | None) -> _Outcome:
    values: dict[str, Any] = {
        "status": OutboxStatus.SENT, "sent_at": now, "last_code": accepted.code,
        "last_reply": accepted.reply, "next_attempt_at": None, **_UNCLAIM}
    alerts: list[tuple[AlertKind, int | None, str]] = []
    status = DeliveryStatus.SENT
    if rec.resend_pending:
        values["resend_pending"] = False
        status = DeliveryStatus.UNCERTAIN
        alerts.append((AlertKind.UNCERTAIN, accepted.code, RESENT_AFTER_UNCERTAIN))
    if accepted.refused:
        detail = "; ".join(f"{a}: {c} {why}" for a, (c, why) in accepted.refused.items())
        values["last_reply"] = f"{accepted.reply} (refused: {detail})"
        alerts.append((AlertKind.REFUSED, None, detail))
    if journal_error:
        alerts.append((AlertKind.JOURNAL, None, journal_error))
    return _Outcome(values, tuple(alerts), _delivery(rec, status, accepted.code, accepted.reply))


def _apply(s: Session, row: OutboxRow, o: _Outcome, now: datetime,
           alert: AlertPolicy | None, report: DeliveryReport) -> None:
    """Set the outcome's columns on ``row`` and add its alerts (in ``s``, not committed)."""
    for name, value in o.values.items():
        setattr(row, name, value)
    for kind, code, detail in o.alerts:
        record_alert(s, row, kind, code, detail, now, alert)
    s.add(row)
    if o.delivery is not None:
        report.deliveries.append(o.delivery)


def _record(wengine: Engine, row_id: int, o: _Outcome, now: datetime,
            alert: AlertPolicy | None, report: DeliveryReport) -> None:
    """Commit the outcome of one attempt (``attempts`` + 1). Without alerts, the common case
    (a plain 250), one Core UPDATE: ~1 ms less a message than the ORM."""
    from sqlalchemy import update

    from models.db import session
    from models.outbox import OutboxRow

    if not o.alerts:
        t = _table()
        with wengine.begin() as conn:
            conn.execute(update(t).where(t.c.id == row_id)
                         .values(attempts=t.c.attempts + 1, **o.values))
        if o.delivery is not None:
            report.deliveries.append(o.delivery)
        return
    with session(wengine) as s:
        row = s.get(OutboxRow, row_id)
        assert row is not None
        row.attempts += 1
        _apply(s, row, o, now, alert, report)
        s.commit()


# --- sending ---------------------------------------------------------------------------


def send_pending(engine: Engine, transport: Transport, journal: Journal | None, *,
                 now: datetime, worker: str | None = None, limit: int | None = None,
                 alert: AlertPolicy | None = None, max_attempts: int = MAX_ATTEMPTS,
                 backoff: timedelta = BACKOFF, batch: int = 20,
                 faults: Faults | None = None, pace: Pacer | None = None) -> DeliveryReport:
    """Send every due outbox row once; returns what happened (see the module docstring).

    ``now`` (aware) stamps ``sent_at`` and schedules retries (simulated time in a
    simulation). Safe to run in several processes at once. Does nothing while paused.
    ``faults``: crash-test hooks (:class:`Faults`), none by default. ``pace``: the shared
    sending rate (:class:`letters.delivery.pace.Pacer`), waited for before each message.
    """
    from models.db import session

    require_aware(now)
    worker = worker or default_worker()
    report = DeliveryReport(worker)
    faults = faults or Faults()
    with session(engine) as s:
        if is_paused(s):
            report.paused = True
            return report
    live = liveness(engine, worker)
    live.hold()
    done = 0
    try:
        _recover(engine, live, worker, now, alert, report)
        while (limit is None or done < limit) and report.unreachable is None:
            with session(engine) as s:
                if is_paused(s):
                    report.paused = True
                    break
            n = batch if limit is None else min(batch, limit - done)
            ids = _claim(engine, worker, now, n)
            if not ids:
                break
            for row_id in ids:
                if limit is not None and done >= limit:
                    break
                done += 1
                if pace is not None:
                    pace.wait()
                if not _send_one(engine, transport, journal, row_id, worker=worker, now=now,
                                 alert=alert, faults=faults, max_attempts=max_attempts,
                                 backoff=backoff, report=report):
                    break  # no connection: stop; the rest stays for the next run
    finally:
        _release(engine, worker)
        transport.close()
        live.release()
    _record_health(engine, report, now)
    return report


def _record_health(engine: Engine, report: DeliveryReport, now: datetime) -> None:
    """Keep why the server could not be reached in ``outbox_control`` (``status``,
    ``doctor`` and the digest show it); a message that went out clears it."""
    from sqlalchemy.exc import IntegrityError

    from models.db import immediate, session
    from models.outbox import OutboxControl

    went_out = any(d.status in (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN)
                   for d in report.deliveries)
    if report.unreachable is None and not went_out:
        return
    for _ in range(2):  # a concurrent sender may insert the one row first
        with session(immediate(engine)) as s:
            ctl = s.get(OutboxControl, 1) or OutboxControl(id=1)
            if went_out:
                ctl.last_ok_at, ctl.last_error, ctl.last_error_at = now, None, None
            if report.unreachable is not None:
                ctl.last_error, ctl.last_error_at = report.unreachable, now
            s.add(ctl)
            try:
                s.commit()
                return
            except IntegrityError:
                s.rollback()


def _journal_copy(journal: Journal | None, rec: Any, raw: bytes, now: datetime) -> str | None:
    """Write the journal copy; what went wrong, if anything. The message is out: nothing
    the journal raises may stop the commit of the 250."""
    if journal is None:
        return None
    try:
        journal.record(rec, raw, sent_at=now)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _send_one(engine: Engine, transport: Transport, journal: Journal | None, row_id: int, *,
              worker: str, now: datetime, alert: AlertPolicy | None, faults: Faults,
              max_attempts: int, backoff: timedelta, report: DeliveryReport) -> bool:
    """Send one claimed row (and its one resend after an uncertain attempt).

    Returns False when the server could not be reached (the run should stop).
    """
    from sqlalchemy import select, update

    from models.db import immediate

    t = _table()
    wengine = immediate(engine)  # SQLite: take the write lock up front (no upgrade deadlock)

    def before_data() -> None:
        with wengine.begin() as conn:
            conn.execute(update(t).where(t.c.id == row_id).values(status=OutboxStatus.SENDING))

    faults.hit("after_claim")
    cols = (t.c.raw, t.c.envelope_from, t.c.recipients, t.c.claimed_by, t.c.status,
            t.c.resend_pending, t.c.uncertain, t.c.attempts, t.c.key, t.c.kind, t.c.year,
            t.c.committee, t.c.event, t.c.deliverable, t.c.slot, t.c.message_id)
    for _ in range(2):  # the attempt, and at most one resend after an uncertain one
        with engine.connect() as conn:  # Core, not the ORM: ~1 ms less a message
            rec = conn.execute(select(*cols).where(t.c.id == row_id)).first()
        if rec is None or rec.claimed_by != worker or rec.status != OutboxStatus.CLAIMED:
            return True
        try:
            accepted = transport.send(rec.raw, rec.envelope_from, list(rec.recipients),
                                      before_data=before_data, faults=faults)
        except TransientFailure as exc:
            _record(wengine, row_id, _transient(rec, exc, now, max_attempts, backoff), now,
                    alert, report)
            if exc.connection:
                log.error("the mail server could not be reached: %s", exc.reply)
                report.unreachable = exc.reply
                return False
            return True
        except PermanentFailure as exc:
            _record(wengine, row_id, _permanent(rec, exc), now, alert, report)
            return True
        except Uncertain as exc:
            outcome = _uncertain(rec, str(exc), resend=OutboxStatus.CLAIMED)
            _record(wengine, row_id, outcome, now, alert, report)
            if outcome.again:
                continue
            return True
        # 250: the server has it. The journal copy first (idempotent: a crash before the
        # commit below leaves the row "sending", resent once and journalled once), then the
        # commit.
        faults.hit("after_250_before_commit")
        journal_error = _journal_copy(journal, rec, rec.raw, now)
        _record(wengine, row_id, _sent(rec, accepted, now, journal_error), now, alert, report)
        faults.hit("after_commit")
        return True
    return True
