"""A year in which the letters have gone out, and the committees' replies to them: real
RFC 5322 messages built here, with the real forms the engine attached to its letters."""

from __future__ import annotations

import email.policy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from flows import runs
from flows.services.outbox import deliver
from flows.services.setup import Setup
from models.outbox import OutboxRow
from models.state import Submission
from tests.dbtools import database
from tests.flows.helpers import at, mailbox, make_setup

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BUU = "buu-sekretariat@buf.kk.example"
KFU = "kfu-sekretariat@kff.kk.example"
STRANGER = "nogen@eksempel.example"
US = "integration@bif.kk.example"


def open_year(st: Setup) -> None:
    """The letters of 2012 (opfordring: handleplan and redegoerelse), sent."""
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))


@contextmanager
def opened(tmp: Path) -> Iterator[Setup]:
    """A Setup on a fresh SQLite database in ``tmp`` (mail to ``tmp/mailbox``) in which the
    letters of 2012 have gone out (:func:`open_year`)."""
    with database("sqlite", tmp) as eng:
        st = make_setup(eng, tmp)
        open_year(st)
        yield st


@pytest.fixture(name="st")
def opened_st(tmp_path: Path) -> Iterator[Setup]:
    """The ``st`` of the intake tests (a module imports it): :func:`opened` in ``tmp_path``."""
    with opened(tmp_path) as st:
        yield st


def letter_id(st: Setup, committee: str) -> str:
    with Session(st.db) as s:
        row = s.exec(select(OutboxRow).where(OutboxRow.kind == "letter",
                                             OutboxRow.committee == committee)).one()
    return row.message_id


def outbox(st: Setup, kind: str) -> list[OutboxRow]:
    with Session(st.db) as s:
        return list(s.exec(select(OutboxRow).where(OutboxRow.kind == kind)
                           .order_by(col(OutboxRow.id))).all())


def submissions(st: Setup) -> list[Submission]:
    with Session(st.db) as s:
        return list(s.exec(select(Submission).order_by(col(Submission.id))).all())


def sent_form(tmp: Path, committee: str, deliverable_title: str) -> tuple[str, bytes]:
    """The form the engine attached to its letter to ``committee`` (name, bytes)."""
    for m in mailbox(tmp):
        if m["X-Aarshjul-Kind"] == "letter" and m["X-Aarshjul-Committee"] == committee:
            for part in m.iter_attachments():
                name = part.get_filename() or ""
                if name.startswith(f"Formular - {deliverable_title}"):
                    return name, part.get_payload(decode=True)
    raise AssertionError(f"no form {deliverable_title} in the letter to {committee}")


def handleplan(tmp: Path, committee: str = "BUU") -> tuple[str, bytes]:
    return sent_form(tmp, committee, "Revideret handleplan")


def redegoerelse(tmp: Path, committee: str = "BUU") -> tuple[str, bytes]:
    return sent_form(tmp, committee, "Integrationsredegørelse")


@dataclass
class Reply:
    sender: str
    n: int
    subject: str = "SV: Opfordringsskrivelse til de stående udvalg"
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    files: Sequence[tuple[str, bytes]] = ()
    date: str = "Mon, 30 Apr 2012 10:00:00 +0200"
    headers: Sequence[tuple[str, str]] = ()
    text: str = "Hermed vores bidrag.\n"
    forwarded: bytes | None = None  # a whole message, forwarded as an attachment
    _raw: bytes | None = None

    @property
    def message_id(self) -> str:
        return f"<svar-{self.n}@{self.sender.split('@')[1]}>"

    def raw(self) -> bytes:
        """The message's bytes (built once: the MIME boundaries are random)."""
        if self._raw is None:
            self._raw = self._build()
        return self._raw

    def _build(self) -> bytes:
        m = EmailMessage(policy=email.policy.SMTP)
        m["From"] = self.sender
        m["To"] = US
        m["Subject"] = self.subject
        m["Date"] = self.date
        m["Message-ID"] = self.message_id
        if self.in_reply_to:
            m["In-Reply-To"] = self.in_reply_to
        refs = list(self.references) or ([self.in_reply_to] if self.in_reply_to else [])
        if refs:
            m["References"] = " ".join(refs)
        for k, v in self.headers:
            m[k] = v
        m.set_content(self.text)
        for name, data in self.files:
            ctype = DOCX if name.endswith(".docx") else "application/vnd.ms-word.document." \
                "macroEnabled.12"
            maintype, subtype = ctype.split("/")
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        if self.forwarded is not None:
            inner = BytesParser(policy=email.policy.default).parsebytes(self.forwarded)
            m.add_attachment(inner)
        return m.as_bytes()


def dsn(about: str, recipient: str, n: int = 1) -> bytes:
    """A delivery status notification (RFC 3464) about our message ``about``."""
    boundary = "dsn-boundary"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.kk.example>\r\n"
        f"To: {US}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: Mon, 23 Jan 2012 09:05:00 +0100\r\nMessage-ID: <dsn-{n}@mx.kk.example>\r\n"
        f"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        f"\r\n\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nThe message could not be "
        f"delivered.\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.kk.example\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        f"Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {US}\r\nTo: {recipient}\r\nMessage-ID: {about}\r\n"
        f"Subject: Opfordringsskrivelse\r\nX-Aarshjul-Kind: letter\r\n\r\n--{boundary}--\r\n"
    ).encode()


def sent_after(st: Setup, tmp: Path, before: int) -> list[EmailMessage]:
    """Send what the outbox holds; the messages sent since ``before`` were in the mailbox."""
    deliver(st)
    return mailbox(tmp)[before:]


def kinds(messages: Iterator[EmailMessage] | list[EmailMessage]) -> list[str]:
    return [str(m["X-Aarshjul-Kind"]) for m in messages]
