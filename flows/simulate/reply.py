"""A committee's reply by e-mail in a simulated year (``via: mail``): a real RFC 5322 message
answering the letter that opened the deliverable (In-Reply-To and References its
Message-ID), from the committee's first ``to`` address, with the filled-in form attached.
Pure: the message is built from the state and the scenario, nothing is sent.
"""

from __future__ import annotations

import email.policy
import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlmodel import Session, col, select

from flows.services.setup import Refused, Setup
from flows.simulate.scenario import PlannedSubmission
from models.kinds import MessageKind
from models.outbox import OutboxRow

DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def the_letter(st: Setup, year: int, committee: str, deliverable: str) -> OutboxRow:
    """Our letter to ``committee`` that opened ``deliverable`` in ``year``."""
    opening = [e.key for e in st.wheel.events if deliverable in e.opens]
    with Session(st.db) as s:
        row = s.exec(select(OutboxRow).where(
            OutboxRow.kind == MessageKind.LETTER, OutboxRow.year == year,
            OutboxRow.committee == committee, col(OutboxRow.event).in_(opening),
        ).order_by(col(OutboxRow.id))).first()
    if row is None:
        raise Refused(f"refused: no letter to {committee} asked for {deliverable} in {year} "
                      "before this reply (via: mail)")
    return row


def reply_message(st: Setup, year: int, sub: PlannedSubmission, file: Path,
                  at: datetime) -> bytes:
    """The reply's bytes: ``SV: <the letter's subject>``, dated ``at``."""
    letter = the_letter(st, year, sub.committee, sub.deliverable)
    sender = st.wheel.committee[sub.committee].to[0]
    data = file.read_bytes()
    digest = hashlib.sha256(f"{letter.message_id}|{at.isoformat()}|".encode() + data)
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["To"] = st.sender[1]
    m["Subject"] = f"SV: {' '.join(letter.subject.split())}"
    m["Date"] = format_datetime(at.astimezone(st.tz))
    m["Message-ID"] = f"<svar-{digest.hexdigest()[:24]}@{sender.split('@', 1)[1]}>"
    m["In-Reply-To"] = letter.message_id
    m["References"] = letter.message_id
    m.set_content("Hermed vores bidrag, udfyldt i formularen.\n\nVenlig hilsen\n"
                  f"{st.wheel.committee[sub.committee].name}\n")
    m.add_attachment(data, maintype=DOCX[0], subtype=DOCX[1], filename=file.name)
    return m.as_bytes()
