"""Delivery exactly once (CONTRACT §2 "Once"): the outbox and its sender.

How a message goes out:

1. :func:`enqueue` builds the bytes once (:func:`letters.mail.build`) and stores them in an
   ``outbox`` row with the message's unique idempotency key. Calling it again for the same
   key adds nothing. The caller commits, in the same transaction as the state change that
   called for the message (a letter and the request it opens are stored together).
2. :func:`send_pending` claims due rows (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``;
   SQLite: ``BEGIN IMMEDIATE``, the single writer), marks each one ``sending`` in its own
   commit just before the SMTP ``DATA`` command, sends the stored bytes over one kept
   connection, and commits the server's answer.

What the server says:

- ``250``: ``sent``; the journal copy is written before the commit.
- ``4xx`` (or no connection): back to ``pending`` with ``next_attempt_at`` = now + backoff
  (5, 10, 20, 40 ... minutes); after ``max_attempts`` tries ``failed``.
- ``5xx``: ``failed`` for good, never retried; the coordinator is alerted.
- The connection drops after the message data went out, before the answer: the server may
  have the message. The row is marked ``uncertain`` and resent once, at once, with the same
  bytes (same Message-ID, same Date); the coordinator is told. If that resend is uncertain
  too, the row stays ``uncertain`` (no third copy) and the coordinator is told.
- A sender killed mid-way leaves its rows ``claimed`` (nothing sent: they go back to
  ``pending``) or ``sending`` (maybe sent: treated as a drop after DATA, resent once and
  reported). A row belongs to a dead sender when that sender's liveness lock is free:
  PostgreSQL session advisory lock, or a ``flock`` on a file in ``.<db>.senders/`` next to
  the SQLite database;
  the kernel and the server release both when a process dies, even by kill -9.

Alerts (``outbox_alert`` rows, one per row and kind: failed, uncertain, refused, journal) are what a
coordinator looks at; with an :class:`AlertPolicy` each alert is also an e-mail of kind
``alert`` to the coordinator, queued in the same outbox.

Crash testing: ``AARSHJUL_FAULT=phase:N`` kills the sending process with SIGKILL at the N-th
hit of ``phase`` (after_claim, during_data, after_250_before_commit, after_commit).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import signal
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from letters.mail import Outgoing, build, message_id
from letters.smtp_url import SmtpUrl, parse_smtp_url
from models.kinds import MessageKind

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from letters.journal import Journal
    from models.outbox import OutboxRow

SMTP_ENV = "AARSHJUL_SMTP_URL"
FAULT_ENV = "AARSHJUL_FAULT"
PHASES = ("after_claim", "during_data", "after_250_before_commit", "after_commit")
MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=5)


# --- fault hooks (crash tests) ---------------------------------------------------------


class Faults:
    """``AARSHJUL_FAULT=phase:N``: SIGKILL this process at the N-th hit of ``phase``."""

    def __init__(self, spec: str | None) -> None:
        self.phase: str | None = None
        self.nth = 0
        self.hits: dict[str, int] = {}
        if spec:
            phase, _, n = spec.partition(":")
            if phase not in PHASES or not n.isdigit() or int(n) < 1:
                raise ValueError(f"{FAULT_ENV}={spec!r}: use one of {', '.join(PHASES)} and :N")
            self.phase, self.nth = phase, int(n)

    @classmethod
    def from_env(cls) -> Faults:
        return cls(os.environ.get(FAULT_ENV))

    def armed(self, phase: str) -> bool:
        return self.phase == phase

    def hit(self, phase: str) -> None:
        self.hits[phase] = self.hits.get(phase, 0) + 1
        if self.phase == phase and self.hits[phase] == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)


# --- transports ------------------------------------------------------------------------


class TransientFailure(Exception):
    """4xx, or no connection: nothing was delivered; try again later."""

    def __init__(self, code: int | None, reply: str, *, connection: bool = False) -> None:
        super().__init__(f"{code} {reply}" if code else reply)
        self.code, self.reply = code, reply
        self.connection = connection  # the server could not be reached at all: stop the run


class PermanentFailure(Exception):
    """5xx: the server refused the message for good."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code, self.reply = code, reply


class Uncertain(Exception):
    """The message data went out and the answer did not come back: it may be delivered."""


@dataclass(frozen=True)
class Accepted:
    code: int
    reply: str
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)  # 5xx RCPT refusals


class Transport(Protocol):
    """Sends stored bytes. ``before_data`` runs once the recipients are accepted, just
    before the message data can reach the server (the sender commits ``sending`` there)."""

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted: ...

    def close(self) -> None: ...


def _text(resp: bytes | str) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)


def _quote_periods(raw: bytes) -> bytes:
    q = raw.replace(b"\n.", b"\n..")  # a "." at the start of any line doubled (RFC 5321)
    if q.startswith(b"."):
        q = b"." + q
    if not q.endswith(b"\r\n"):
        q += b"\r\n"
    return q + b".\r\n"


class SmtpTransport:
    """One kept SMTP connection (reopened after an error), STARTTLS or implicit TLS."""

    def __init__(self, url: str | SmtpUrl, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = parse_smtp_url(url) if isinstance(url, str) else url
        self._ctx = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self.url.redacted()})"

    def _context(self) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = ssl.create_default_context(cafile=self.url.cafile)
        return self._ctx

    def _connect(self) -> smtplib.SMTP:
        u = self.url
        try:
            smtp: smtplib.SMTP
            if u.implicit_tls:
                smtp = smtplib.SMTP_SSL(u.host, u.port, local_hostname=u.helo,
                                        timeout=u.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(u.host, u.port, local_hostname=u.helo, timeout=u.timeout)
            code, resp = smtp.ehlo()
            if code != 250:
                smtp.close()
                raise TransientFailure(code, f"EHLO: {_text(resp)}", connection=True)
            if u.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if u.user is not None:
                smtp.login(u.user, u.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TransientFailure(exc.smtp_code, f"login refused: {_text(exc.smtp_error)}",
                                   connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientFailure(None, f"cannot connect to {u.host}:{u.port}: {exc}",
                                   connection=True) from None
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def _reply_failure(self, code: int, resp: bytes | str, what: str) -> Exception:
        text = f"{what}: {_text(resp)}"
        if code == 421:
            self._drop()  # the server is closing the connection
        elif self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.rset()
        if 500 <= code < 600:
            return PermanentFailure(code, text)
        return TransientFailure(code, text)

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, resp = smtp.mail(envelope_from)
            if code != 250:
                raise self._reply_failure(code, resp, "MAIL FROM")
            refused: dict[str, tuple[int, str]] = {}
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    if 500 <= code < 600:
                        refused[rcpt] = (code, _text(resp))
                    else:
                        raise self._reply_failure(code, resp, f"RCPT TO {rcpt}")
            if len(refused) == len(recipients):
                code, text = next(iter(refused.values()))
                raise self._reply_failure(code, text, "RCPT TO (every recipient refused)")
            code, resp = smtp.docmd("DATA")
            if code != 354:
                raise self._reply_failure(code, resp, "DATA")
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise TransientFailure(None, f"connection lost before the data: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            if isinstance(exc, TransientFailure | PermanentFailure):
                raise
            self._drop()
            raise TransientFailure(None, f"before the data: {exc}") from None
        # From here on the server may get the message: commit "sending" first.
        before_data()
        data = _quote_periods(raw)
        try:
            if faults is not None and faults.armed("during_data"):
                half = len(data) // 2
                smtp.send(data[:half])
                faults.hit("during_data")
                smtp.send(data[half:])
            else:
                smtp.send(data)
        except (smtplib.SMTPException, OSError) as exc:
            # Not all of the data reached the kernel: the terminating "." was not sent, so
            # the server cannot have accepted the message.
            self._drop()
            raise TransientFailure(None, f"connection lost during the data: {exc}") from None
        try:
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise Uncertain(f"no answer after the message data: {exc}") from None
        if code != 250:
            raise self._reply_failure(code, resp, "end of data")
        return Accepted(code, _text(resp), refused)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "message"


_MID = re.compile(rb"^Message-ID:[ \t]*([^\r\n]*)\r?\n(?![ \t])", re.M | re.I)


def _message_id_of(raw: bytes) -> str:
    """The first Message-ID header's raw value (as ``BytesHeaderParser().get`` reads it)."""
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    m = _MID.search(head)
    first = re.search(rb"(?mi)^Message-ID:", head)
    if m is not None and first is not None and m.start() == first.start() and m.group(1).isascii():
        return m.group(1).decode("ascii")
    from email.parser import BytesHeaderParser

    return str(BytesHeaderParser().parsebytes(head).get("Message-ID", ""))


_RESENT_MID = re.compile(rb"^(?:Resent-[A-Za-z-]+:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)*?"
                         rb"Resent-Message-ID:[ \t]*(<[!-~]+>)\r\n")


class DirectoryTransport:
    """No SMTP configured: each message becomes ``<dir>/<Message-ID>.eml`` (atomic write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"DirectoryTransport({self.directory})"

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted:
        # a resent message (Resent-* fields first) is a file of its own, beside the original
        resent = _RESENT_MID.match(raw)
        mid = resent.group(1).decode("ascii") if resent else _message_id_of(raw)
        name = _safe_name(str(mid).strip("<>")) or hashlib.sha256(raw).hexdigest()[:32]
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.eml"
        before_data()
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
        return Accepted(250, f"written to {path}")

    def close(self) -> None:
        pass


def transport_from_env(default_dir: Path) -> Transport:
    """SMTP at ``$AARSHJUL_SMTP_URL`` when set, else .eml files in ``default_dir``."""
    url = os.environ.get(SMTP_ENV, "").strip()
    if url:
        return SmtpTransport(url)
    return DirectoryTransport(default_dir)


# --- enqueue, pause --------------------------------------------------------------------


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
        sha256=hashlib.sha256(raw).hexdigest(), queued_at=o.date, status="pending",
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


# --- alerts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertPolicy:
    """Who is told of failures and uncertain sends (``policy.coordinator``), and how."""

    sender: tuple[str, str]
    coordinator: tuple[str, str]
    domain: str
    tz: ZoneInfo

    @classmethod
    def from_wheel(cls, wheel: Any) -> AlertPolicy:
        p = wheel.policy
        return cls((p.sender.name, p.sender.email), (p.coordinator.name, p.coordinator.email),
                   wheel.mail_domain, p.tz)


_ALERT_TEXT = {
    "failed": ("Afsendelse mislykkedes", "blev ikke afsendt. Serveren afviste den"),
    "uncertain": ("Usikker afsendelse", "kan være modtaget to gange (samme Message-ID). "
                  "Forbindelsen blev afbrudt efter at beskeden var sendt"),
    "refused": ("Modtager afvist", "blev afsendt, men ikke til alle modtagere"),
    "journal": ("Journalkopi mangler", "blev afsendt, men journalkopien kunne ikke gemmes"),
}


def _alert(session: Session, row: OutboxRow, kind: str, code: int | None, detail: str,
           now: datetime, policy: AlertPolicy | None) -> None:
    from sqlmodel import select

    from models.outbox import OutboxAlert

    assert row.id is not None
    exists = session.exec(select(OutboxAlert.id).where(
        OutboxAlert.outbox_id == row.id, OutboxAlert.kind == kind)).first()
    if exists is not None:
        return
    alert = OutboxAlert(outbox_id=row.id, kind=kind, key=row.key, message_id=row.message_id,
                        at=now, code=code, detail=detail)
    if policy is not None and row.kind != "alert":
        title, what = _ALERT_TEXT[kind]
        text = (f"Beskeden «{row.subject}» ({row.key}, Message-ID {row.message_id}) {what}:\n"
                f"{code or ''} {detail}\n\nModtagere: {', '.join(row.recipients)}\n")
        enqueue(session, Outgoing(
            key=f"alert:{kind}:{row.key}", kind=MessageKind.ALERT, year=row.year,
            committee=row.committee, event=row.event, deliverable=row.deliverable,
            slot=row.slot, sender=policy.sender, to=(policy.coordinator[1],), cc=(),
            subject=f"{title}: {row.key}", text=text, html=None, date=now,
        ), policy.domain, policy.tz)
        alert.notified = True
    session.add(alert)


# --- liveness: whose claims are orphans? ----------------------------------------------


class _Liveness(Protocol):
    def hold(self) -> None: ...
    def is_dead(self, worker: str) -> bool: ...
    def release(self) -> None: ...


class _FileLiveness:
    """SQLite (one host): each sender holds ``flock`` on ``.<db name>.senders/<worker>.lock``
    next to the database file."""

    def __init__(self, database: str, worker: str) -> None:
        db = Path(database)
        self.dir = db.with_name(f".{db.name}.senders")
        self.worker = worker
        self._fd: int | None = None

    def _path(self, worker: str) -> Path:
        return self.dir / f"{hashlib.sha256(worker.encode()).hexdigest()[:32]}.lock"

    def hold(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path(self.worker), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def is_dead(self, worker: str) -> bool:
        path = self._path(worker)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops a lock we may have taken
        with contextlib.suppress(OSError):
            path.unlink()
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self._path(self.worker).unlink()
            os.close(self._fd)
            self._fd = None


class _AdvisoryLiveness:
    """PostgreSQL: each sender holds a session advisory lock on a connection of its own."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine, self.worker = engine, worker
        self._conn: Any = None

    @staticmethod
    def _key(worker: str) -> int:
        return int.from_bytes(hashlib.sha256(b"aarshjul-sender:" + worker.encode()).digest()[:8],
                              "big", signed=True)

    def hold(self) -> None:
        from sqlalchemy import text

        self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key(self.worker)})

    def is_dead(self, worker: str) -> bool:
        from sqlalchemy import text

        k = self._key(worker)
        got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": k}).scalar()
        if got:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": k})
        return bool(got)

    def release(self) -> None:
        from sqlalchemy import text

        if self._conn is not None:
            try:  # the connection goes back to the pool: unlock explicitly
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                   {"k": self._key(self.worker)})
            finally:
                self._conn.close()
                self._conn = None


def _liveness(engine: Engine, worker: str) -> _Liveness:
    from models.db import is_sqlite

    if is_sqlite(engine):
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the outbox sender needs a SQLite file, not an in-memory database")
        return _FileLiveness(os.path.abspath(database), worker)
    return _AdvisoryLiveness(engine, worker)


# --- the sender ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    key: str
    message_id: str
    kind: str
    status: str  # sent | retry | failed | uncertain (sent again) | released
    code: int | None = None
    reply: str = ""


@dataclass
class DeliveryReport:
    worker: str
    paused: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # keys taken over from dead senders

    def keys(self, status: str) -> list[str]:
        return [d.key for d in self.deliveries if d.status == status]

    @property
    def sent(self) -> list[str]:
        return self.keys("sent")

    @property
    def failed(self) -> list[str]:
        return self.keys("failed")

    @property
    def retry(self) -> list[str]:
        return self.keys("retry")

    @property
    def uncertain(self) -> list[str]:
        """Keys that went out again after an uncertain attempt (maybe two copies), or that
        stayed uncertain after their one resend: the coordinator was told of each."""
        return self.keys("uncertain") + self.keys("uncertain-final")

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker, "paused": self.paused, "recovered": self.recovered,
            "deliveries": [d.__dict__ for d in self.deliveries],
        }


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(engine: Engine, worker: str, now: datetime, n: int) -> list[int]:
    from sqlalchemy import or_, select, update

    from models.db import immediate
    from models.outbox import OutboxRow

    t = OutboxRow.__table__  # type: ignore[attr-defined]
    with immediate(engine).begin() as conn:
        ids = list(conn.execute(
            select(t.c.id)
            .where(t.c.status == "pending",
                   or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
            .order_by(t.c.id).limit(n).with_for_update(skip_locked=True)
        ).scalars())
        if ids:
            conn.execute(update(t).where(t.c.id.in_(ids), t.c.status == "pending")
                         .values(status="claimed", claimed_by=worker, claimed_at=now))
    return ids


def _release(engine: Engine, worker: str) -> None:
    """Claimed rows not yet tried go back to pending (an early stop, not a crash)."""
    from sqlalchemy import update

    from models.db import immediate
    from models.outbox import OutboxRow

    t = OutboxRow.__table__  # type: ignore[attr-defined]
    with immediate(engine).begin() as conn:
        conn.execute(update(t).where(t.c.status == "claimed", t.c.claimed_by == worker)
                     .values(status="pending", claimed_by=None, claimed_at=None))


def _recover(engine: Engine, live: _Liveness, worker: str, now: datetime,
             alert: AlertPolicy | None, report: DeliveryReport) -> None:
    """Rows left ``claimed``/``sending`` by senders that died."""
    from sqlmodel import select

    from models.db import immediate, session
    from models.outbox import OutboxRow

    with session(engine) as s:
        owners = set(s.exec(select(OutboxRow.claimed_by).where(
            OutboxRow.status.in_(("claimed", "sending")),  # type: ignore[attr-defined]
            OutboxRow.claimed_by != worker)).all())
    dead = [w for w in owners if w and live.is_dead(w)]
    if not dead:
        return
    with session(immediate(engine)) as s:
        rows = s.exec(select(OutboxRow).where(
            OutboxRow.status.in_(("claimed", "sending")),  # type: ignore[attr-defined]
            OutboxRow.claimed_by.in_(dead)).with_for_update()).all()  # type: ignore[union-attr]
        for row in rows:
            report.recovered.append(row.key)
            if row.status == "sending":
                _mark_uncertain(s, row, "the sender died after the data may have gone out",
                                now, alert, report)
            else:
                row.status = "pending"
            row.claimed_by = None
            row.claimed_at = None
            s.add(row)
        s.commit()


def _mark_uncertain(s: Session, row: OutboxRow, why: str, now: datetime,
                    alert: AlertPolicy | None, report: DeliveryReport) -> bool:
    """Uncertain attempt: resend once (True), or give up after the second (False)."""
    row.last_reply = why
    if row.uncertain:
        row.status = "uncertain"
        row.resend_pending = False
        _alert(s, row, "uncertain", None, f"{why}; a second time: not resent again", now, alert)
        report.deliveries.append(Delivery(row.key, row.message_id, row.kind, "uncertain-final",
                                          None, why))
        return False
    row.uncertain = True
    row.resend_pending = True
    row.status = "pending"
    row.next_attempt_at = None
    return True


def send_pending(engine: Engine, transport: Transport, journal: Journal | None, *,
                 now: datetime, worker: str | None = None, limit: int | None = None,
                 alert: AlertPolicy | None = None, max_attempts: int = MAX_ATTEMPTS,
                 backoff: timedelta = BACKOFF, batch: int = 20) -> DeliveryReport:
    """Send every due outbox row once; returns what happened (see the module docstring).

    ``now`` (aware) stamps ``sent_at`` and schedules retries (simulated time in a
    simulation). Safe to run in several processes at once. Does nothing while paused.
    """
    from models.db import session
    from models.plan import require_aware

    require_aware(now)
    worker = worker or default_worker()
    report = DeliveryReport(worker)
    faults = Faults.from_env()
    with session(engine) as s:
        if is_paused(s):
            report.paused = True
            return report
    live = _liveness(engine, worker)
    live.hold()
    done = 0
    try:
        _recover(engine, live, worker, now, alert, report)
        while limit is None or done < limit:
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
                if not _send_one(engine, transport, journal, row_id, worker=worker, now=now,
                                 alert=alert, faults=faults, max_attempts=max_attempts,
                                 backoff=backoff, report=report):
                    return report  # no connection: stop; the rest stays for the next run
    finally:
        _release(engine, worker)
        transport.close()
        live.release()
    return report


def _send_one(engine: Engine, transport: Transport, journal: Journal | None, row_id: int, *,
              worker: str, now: datetime, alert: AlertPolicy | None, faults: Faults,
              max_attempts: int, backoff: timedelta, report: DeliveryReport) -> bool:
    """Send one claimed row (and its one resend after an uncertain attempt).

    Returns False when the server could not be reached (the run should stop).
    """
    from sqlalchemy import select, update

    from models.db import immediate, session
    from models.outbox import OutboxRow

    t = OutboxRow.__table__  # type: ignore[attr-defined]
    wengine = immediate(engine)  # SQLite: take the write lock up front (no upgrade deadlock)

    def before_data() -> None:
        with wengine.begin() as conn:
            conn.execute(update(t).where(t.c.id == row_id).values(status="sending"))

    faults.hit("after_claim")
    cols = (t.c.raw, t.c.envelope_from, t.c.recipients, t.c.claimed_by, t.c.status,
            t.c.resend_pending, t.c.key, t.c.kind, t.c.year, t.c.committee, t.c.event,
            t.c.deliverable, t.c.slot, t.c.message_id)
    for _ in range(2):  # the attempt, and at most one resend after an uncertain one
        with engine.connect() as conn:  # Core, not the ORM: ~1 ms less a message
            rec = conn.execute(select(*cols).where(t.c.id == row_id)).first()
        if rec is None or rec.claimed_by != worker or rec.status != "claimed":
            return True
        raw, sender, rcpts = rec.raw, rec.envelope_from, list(rec.recipients)
        try:
            accepted = transport.send(raw, sender, rcpts, before_data=before_data, faults=faults)
        except TransientFailure as exc:
            with session(wengine) as s:
                r = s.get(OutboxRow, row_id)
                assert r is not None
                r.attempts += 1
                r.last_code, r.last_reply = exc.code, exc.reply
                r.claimed_by = r.claimed_at = None
                if r.attempts >= max_attempts:
                    r.status = "failed"
                    r.next_attempt_at = None
                    _alert(s, r, "failed", exc.code, f"{r.attempts} attempts: {exc.reply}",
                           now, alert)
                    status = "failed"
                else:
                    r.status = "pending"
                    r.next_attempt_at = now + backoff * (2 ** (r.attempts - 1))
                    status = "retry"
                s.add(r)
                s.commit()
                report.deliveries.append(Delivery(r.key, r.message_id, r.kind, status,
                                                  exc.code, exc.reply))
            return not exc.connection
        except PermanentFailure as exc:
            with session(wengine) as s:
                r = s.get(OutboxRow, row_id)
                assert r is not None
                r.attempts += 1
                r.status = "failed"
                r.next_attempt_at = None
                r.last_code, r.last_reply = exc.code, exc.reply
                r.claimed_by = r.claimed_at = None
                _alert(s, r, "failed", exc.code, exc.reply, now, alert)
                s.add(r)
                s.commit()
                report.deliveries.append(Delivery(r.key, r.message_id, r.kind, "failed",
                                                  exc.code, exc.reply))
            return True
        except Uncertain as exc:
            with session(wengine) as s:
                r = s.get(OutboxRow, row_id)
                assert r is not None
                r.attempts += 1
                again = _mark_uncertain(s, r, str(exc), now, alert, report)
                if again:
                    r.status = "claimed"  # resend at once, by this sender
                else:
                    r.claimed_by = r.claimed_at = None
                s.add(r)
                s.commit()
            if not again:
                return True
            continue
        # 250: the server has it. The journal copy first (idempotent: a crash before the
        # commit below leaves the row "sending", resent once and journalled once), then the
        # commit.
        faults.hit("after_250_before_commit")
        journal_error = None
        if journal is not None:
            try:
                journal.record(rec, raw, sent_at=now)
            except OSError as exc:  # the message is out: never resend for the journal
                journal_error = f"{type(exc).__name__}: {exc}"
        if not (rec.resend_pending or accepted.refused or journal_error):
            # The common case, no alert to write: one UPDATE, as the ORM path would do.
            with wengine.begin() as conn:
                conn.execute(update(t).where(t.c.id == row_id).values(
                    attempts=t.c.attempts + 1, status="sent", sent_at=now,
                    last_code=accepted.code, last_reply=accepted.reply, claimed_by=None,
                    claimed_at=None, next_attempt_at=None))
            report.deliveries.append(Delivery(rec.key, rec.message_id, rec.kind, "sent",
                                              accepted.code, accepted.reply))
            faults.hit("after_commit")
            return True
        with session(wengine) as s:
            r = s.get(OutboxRow, row_id)
            assert r is not None
            r.attempts += 1
            r.status = "sent"
            r.sent_at = now
            r.last_code, r.last_reply = accepted.code, accepted.reply
            r.claimed_by = r.claimed_at = None
            r.next_attempt_at = None
            status = "sent"
            if r.resend_pending:
                r.resend_pending = False
                status = "uncertain"
                _alert(s, r, "uncertain", accepted.code,
                       "resent once with the same Message-ID after an attempt whose answer was "
                       "lost; the recipients may have two copies", now, alert)
            if accepted.refused:
                detail = "; ".join(f"{a}: {c} {why}" for a, (c, why) in accepted.refused.items())
                r.last_reply = f"{accepted.reply} (refused: {detail})"
                _alert(s, r, "refused", None, detail, now, alert)
            if journal_error:
                _alert(s, r, "journal", None, journal_error, now, alert)
            s.add(r)
            s.commit()
            report.deliveries.append(Delivery(r.key, r.message_id, r.kind, status,
                                              accepted.code, accepted.reply))
        faults.hit("after_commit")
        return True
    return True


def pending_rows(session: Session, year: int | None = None) -> Iterator[OutboxRow]:
    """Rows not yet sent (pending, claimed, sending), oldest first."""
    from sqlmodel import select

    from models.outbox import OutboxRow

    q = select(OutboxRow).where(
        OutboxRow.status.in_(("pending", "claimed", "sending")))  # type: ignore[attr-defined]
    if year is not None:
        q = q.where(OutboxRow.year == year)
    yield from session.exec(q.order_by(OutboxRow.id))  # type: ignore[arg-type]


def problem_rows(session: Session, year: int | None = None) -> Iterator[OutboxRow]:
    """What a coordinator must look at: failed, uncertain, or sent after an uncertain try."""
    from sqlalchemy import or_
    from sqlmodel import select

    from models.outbox import OutboxRow

    q = select(OutboxRow).where(or_(OutboxRow.status.in_(("failed", "uncertain")),  # type: ignore[attr-defined]
                                    OutboxRow.uncertain.is_(True)))  # type: ignore[attr-defined]
    if year is not None:
        q = q.where(OutboxRow.year == year)
    yield from session.exec(q.order_by(OutboxRow.id))  # type: ignore[arg-type]
