"""``summary.json``: the requests at the end of the year, every e-mail in send order, the
documents (README "simulate")."""

from __future__ import annotations

import email
from email import policy as email_policy
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from flows.services.setup import Setup
from flows.services.status import action_log, request_rows
from flows.simulate.timeline import end_of_year
from letters.parts import attachment_names, header_block
from models.intake_state import HandledMessage
from models.kinds import CLOSED, IntakeOutcome, OutboxStatus, RequestStatus
from models.outbox import OutboxRow


def build_summary(st: Setup, year: int, out: Path, refused: list[str]) -> dict[str, Any]:
    """summary.json (README "simulate"): requests (``due`` is the committee's own where it
    was extended; ``excused`` where it was excused), e-mails in send order, documents, and
    the coordinator's actions."""
    rows = request_rows(st, year, end_of_year(st.tz, year))
    intake = intake_entries(st, year)
    by_mail = {(m["committee"], m["deliverable"]) for m in intake
               if m["outcome"] in (IntakeOutcome.REGISTERED, IntakeOutcome.ACCEPTED)}
    requests = [
        {
            "committee": r.committee,
            "deliverable": r.deliverable,
            "due": r.due.isoformat(),
            "status": r.status if r.status in CLOSED else RequestStatus.MISSING,
            "received_at": r.received_at.isoformat() if r.received_at else None,
            "reminders_sent": r.reminders_sent,
            "extended": r.extended,
            "via": (None if r.received_at is None
                    else "mail" if (r.committee, r.deliverable) in by_mail else "file"),
        }
        for r in rows
    ]
    emails: list[dict[str, Any]] = []
    with Session(st.db) as s:
        ids = s.exec(
            select(OutboxRow.id)
            .where(col(OutboxRow.status) == OutboxStatus.SENT)
            .order_by(col(OutboxRow.sent_at), col(OutboxRow.id))
        ).all()
        for i in range(0, len(ids), 200):  # a few rows at a time: letters carry their .docx
            chunk = list(ids[i : i + 200])
            got = {r.id: r for r in s.exec(select(OutboxRow).where(col(OutboxRow.id).in_(chunk)))}
            emails += [email_entry(got[k].raw, st.tz, got[k]) for k in chunk]
            s.expunge_all()
    documents = sorted(
        p.relative_to(out).as_posix()
        for base in ("documents", "submissions")
        if (out / base).exists()
        for p in (out / base).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    journal = (
        sorted(p.relative_to(out).as_posix() for p in (out / "journal").rglob("*.eml"))
        if (out / "journal").exists()
        else []
    )
    return {
        "year": year,
        "requests": requests,
        "emails": emails,
        "documents": documents,
        "journal": journal,
        "refused": refused,
        "actions": action_log(st, year),
        "intake": intake,
    }


def intake_entries(st: Setup, year: int) -> list[dict[str, Any]]:
    """The replies the mail intake read (``via: mail``), in arrival order, with what became
    of each (README "The mail intake in operation")."""
    with Session(st.db) as s:
        found = s.exec(select(HandledMessage).where(
            col(HandledMessage.year).is_(None) | (col(HandledMessage.year) == year))
            .order_by(col(HandledMessage.received_at))).all()
        return [{"message_id": h.key, "from": h.from_address, "committee": h.committee,
                 "deliverable": h.deliverable, "outcome": h.outcome,
                 "received_at": h.received_at.astimezone(st.tz).isoformat(),
                 "submissions": list(h.submissions or [])} for h in found]


def email_entry(raw: bytes, tz: ZoneInfo, row: OutboxRow | None = None) -> dict[str, Any]:
    """One ``emails`` entry of summary.json, read back from the message as sent.

    Parsed with the compat32 policy (several times faster than the default policy's header
    registry); the outbox row, when given, supplies the fields it already holds.
    """
    # headers only; the attachments' names from their part headers, never their bodies
    # (a report's e-mail with its tagged PDF parsed whole was the year's peak of memory)
    head = header_block(raw)
    m = BytesHeaderParser().parsebytes(head)
    names: list[str] | None = []
    if m.get_content_maintype() == "multipart" and m.get_content_subtype() == "mixed":
        names = attachment_names(raw)
    if names is None:  # not cut at its boundaries: not one of ours; read it whole
        whole = email.message_from_bytes(raw)
        names = [str(p.get_filename()) for p in whole.walk()
                 if p.get_content_disposition() == "attachment"]

    def addrs(h: str) -> list[str]:
        return [a for _, a in getaddresses([str(v) for v in m.get_all(h, [])])]

    def header(name: str) -> str | None:
        value = m.get(name)
        return None if value is None else str(value)

    date_ = parsedate_to_datetime(str(m["Date"]))
    if row is not None:
        fields = {
            "message_id": row.message_id,
            "kind": row.kind,
            "committee": row.committee,
            "event": row.event,
            "deliverable": row.deliverable,
            "slot": row.slot,
        }
        subject = row.subject
    else:
        fields = {
            "message_id": header("Message-ID"),
            "kind": header("X-Aarshjul-Kind"),
            "committee": header("X-Aarshjul-Committee"),
            "event": header("X-Aarshjul-Event"),
            "deliverable": header("X-Aarshjul-Deliverable"),
            "slot": header("X-Aarshjul-Slot"),
        }
        full = BytesParser(policy=email_policy.default).parsebytes(head, headersonly=True)
        subject = str(full["Subject"])
    return {
        **fields,
        "to": addrs("To"),
        "cc": addrs("Cc"),
        "date": date_.isoformat(),
        "subject": subject,
        "attachments": names,
    }
