"""What the coordinator does with a message the mail intake held (README "Replies by e-mail"):
``accept`` registers its attachment by hand for a committee and deliverable, ``dismiss``
sets it aside; and the list of held messages for ``status`` and the digest.

Like the desk actions (``flows.services.actions``), each is one transaction: the change to
the ``intake_messages`` row, its audit entry and, for ``accept``, the submission and its
receipt (answering the committee's message); a dry run reads the same and writes nothing.
The bytes ``accept`` registers come from the message's journal copy.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from flows.services.actions import Outcome
from flows.services.audit import audit
from flows.services.intake import HELD, answers_of
from flows.services.setup import Refused, Setup
from flows.services.submissions import duplicate_note, register_accepted
from letters import intake
from letters.inbound import Attachment, Inbound, describe
from models.dates import dansk_tid
from models.db import immediate
from models.digest import Held
from models.intake_state import HandledMessage
from models.kinds import HELD_OUTCOMES, ActionKind, IntakeOutcome
from models.plan import require_aware


def _held_row(s: Session, key: str) -> HandledMessage:
    row = s.get(HandledMessage, key)
    if row is None:
        raise Refused(f"afvist: {key} er ikke en besked, postkassen har behandlet")
    if row.outcome not in HELD_OUTCOMES:
        raise Refused(f"afvist: {key} venter ikke på koordinatoren (den er "
                      f"{IntakeOutcome(row.outcome)})")
    return row


def _attachment(st: Setup, row: HandledMessage,
                file_name: str | None) -> tuple[Attachment, Inbound]:
    if row.journal is None or st.journal is None:
        raise Refused(f"afvist: {row.key} har ingen kopi i journalen, så filen kan ikke "
                      "hentes; gem den fra mailprogrammet og brug aarshjul submit")
    try:
        raw = (st.journal.directory / row.journal).read_bytes()
    except OSError as exc:
        raise Refused(f"afvist: journalkopien af {row.key} kan ikke læses: {exc}") from None
    inb = describe(raw, row.received_at)
    files = inb.docx
    if file_name is not None:
        files = tuple(a for a in files if a.filename == file_name)
    if len(files) != 1:
        names = ", ".join(a.filename for a in inb.docx) or "ingen"
        raise Refused(f"afvist: {row.key} har {'ikke' if not files else 'flere'} Word-fil"
                      f"{'er' if files else ''} at registrere (vedhæftet: {names}); vælg "
                      "med --file")
    return files[0], inb


def accept(st: Setup, key: str, committee: str, deliverable: str, as_of: datetime, *,
           year: int | None = None, file_name: str | None = None,
           dry_run: bool = False) -> Outcome:
    """Register the Word file of held message ``key`` for ``committee`` and ``deliverable``
    at the message's arrival (INTERNALDATE), with its receipt, in one transaction."""
    require_aware(as_of, "as_of")
    with Session(immediate(st.db), expire_on_commit=False) as s:
        row = _held_row(s, key)
        att, inb = _attachment(st, row, file_name)
        try:
            accepted = intake.check_docx(att.data, att.filename)
        except intake.Refused as exc:
            raise Refused(f"afvist: {att.filename}: {exc.reason}") from None
        y = year or row.year or st.local(row.received_at).year
        with tempfile.TemporaryDirectory(prefix="aarshjul-dry-") as scratch:
            # a dry run stores the file in a scratch directory, and rolls the rest back
            where = dataclasses.replace(st, data=Path(scratch)) if dry_run else st
            reg = register_accepted(s, where, y, committee, deliverable, accepted,
                                    att.filename, row.received_at, answers=answers_of(inb))
        row.outcome, row.settled_at = IntakeOutcome.ACCEPTED, as_of
        row.year, row.committee, row.deliverable = y, committee, deliverable
        row.submissions = [*(row.submissions or []), reg.submission_id]
        sent = (reg.outgoing,) if reg.outgoing is not None else ()  # none: the same file
        row.replies = [*(row.replies or []), *(o.key for o in sent)]
        s.add(row)
        audit(s, st, as_of, ActionKind.ACCEPT, y, committee, deliverable=deliverable,
              ref=key, outcome=f"submission:{reg.submission_id}")
        when = dansk_tid(st.local(row.received_at))
        if reg.duplicate:  # the same bytes as the registered file: no revision, no receipt
            done = f"{att.filename} fra {key}: " + duplicate_note(
                att.filename, reg.revision, reg.duplicate_of, st.tz)
        else:
            done = (f"{att.filename} fra {key} ({row.from_address or 'ukendt afsender'}, "
                    f"modtaget {when}) registreret som {deliverable} {y} fra {committee} "
                    f"({'rettidig' if reg.outcome == 'on_time' else 'for sen'}); "
                    "kvittering sendt")
        if dry_run:
            s.rollback()
            done = "Prøvekørsel: " + done.replace(") registreret", ") ville blive registreret") \
                .replace("kvittering sendt", "kvittering ville blive sendt")
        else:
            s.commit()
    return Outcome(ActionKind.ACCEPT, done, dry_run=dry_run, year=y, committee=committee,
                   deliverable=deliverable, messages=sent, keys=tuple(o.key for o in sent))


def dismiss(st: Setup, key: str, as_of: datetime, *, reason: str | None = None,
            dry_run: bool = False) -> Outcome:
    """Set held message ``key`` aside: it stays in the coordinator's folder, off the lists."""
    require_aware(as_of, "as_of")
    with Session(immediate(st.db), expire_on_commit=False) as s:
        row = _held_row(s, key)
        done = (f"{key} fra {row.from_address or 'ukendt afsender'} «{row.subject}» er lagt til "
                "side; intet er registreret")
        if dry_run:
            return Outcome(ActionKind.DISMISS, "Prøvekørsel: " + done, dry_run=True,
                           year=row.year, committee=row.committee, reason=reason)
        row.outcome, row.settled_at = IntakeOutcome.DISMISSED, as_of
        s.add(row)
        audit(s, st, as_of, ActionKind.DISMISS, row.year, row.committee,
              deliverable=row.deliverable, ref=key, outcome="dismissed", reason=reason)
        s.commit()
        return Outcome(ActionKind.DISMISS, done, year=row.year, committee=row.committee,
                       reason=reason)


def held_rows(st: Setup, year: int | None = None) -> list[HandledMessage]:
    """The messages waiting for the coordinator (of ``year``: matched to it, or received in
    it when they matched no year), oldest first."""
    with Session(st.db) as s:
        found = s.exec(select(HandledMessage).where(
            col(HandledMessage.outcome).in_(HELD_OUTCOMES))
            .order_by(col(HandledMessage.received_at))).all()
    if year is None:
        return list(found)
    return [r for r in found if (r.year or st.local(r.received_at).year) == year]


def held_messages(st: Setup, year: int) -> list[Held]:
    """The digest's and ``status``'s list (``flows.services.digest.HELD_SOURCES``)."""
    return [Held(r.received_at, r.from_address or "ukendt afsender", r.subject,
                 f"{r.reason} (aarshjul intake accept/dismiss '{r.key}')")
            for r in held_rows(st, year)]


def held_json(st: Setup, year: int) -> list[dict[str, object]]:
    return [{"message_id": r.key, "outcome": r.outcome, "from": r.from_address,
             "subject": r.subject, "received_at": st.local(r.received_at).isoformat(),
             "reason": r.reason, "folder": r.folder or str(HELD)}
            for r in held_rows(st, year)]
