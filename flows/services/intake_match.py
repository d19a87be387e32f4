"""Which request an incoming message is for, and whether its sender may hand it in (README
"Replies by e-mail").

A message is matched by the Message-IDs it names (In-Reply-To, References) against our
outbox: a letter names every request it opened for the committee, a reminder, escalation,
receipt, notice or refusal the one request it is about. Where it names none of ours (a new
thread, an Outlook reply that keeps only ``Thread-Index``), or the letter opened several
deliverables, the attached form's identity (``letters.docprops``) decides. The sender must
be one of the committee's ``to``, ``cc`` or ``reply_from`` addresses, without regard to case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from letters import docprops, intake
from letters.inbound import Attachment, Inbound, Limits
from models.kinds import IdentityStatus, MessageKind
from models.outbox import OutboxRow
from models.state import Request
from models.wheel import Committee, Wheel

Target = tuple[int, str, str]  # (year, committee, deliverable)

# our messages a committee's reply may answer (an alert or digest goes to the coordinator)
THREAD_KINDS = (MessageKind.LETTER, MessageKind.REMINDER, MessageKind.ESCALATION,
                MessageKind.RECEIPT, MessageKind.NOTICE, MessageKind.REFUSAL)


def addresses(c: Committee) -> set[str]:
    """The committee's own addresses and those that may answer for it, lower-cased."""
    extra: Sequence[str] = getattr(c, "reply_from", None) or ()
    return {a.lower() for a in (*c.to, *c.cc, *extra)}


def committees_of(wheel: Wheel, sender: str | None) -> list[str]:
    """The committees ``sender`` may hand in for (in the wheel's order)."""
    if not sender:
        return []
    s = sender.lower()
    return [k for k, c in wheel.committee.items() if s in addresses(c)]


def thread_targets(s: Session, referenced: Sequence[str]) -> list[Target]:
    """The requests the messages of ours named in ``referenced`` are about."""
    if not referenced:
        return []
    # the columns only, not the bytes; of these kinds only a letter has no deliverable
    rows = s.exec(select(col(OutboxRow.year), col(OutboxRow.committee),
                         col(OutboxRow.event), col(OutboxRow.deliverable))
                  .where(col(OutboxRow.message_id).in_(list(referenced)),
                         col(OutboxRow.kind).in_(THREAD_KINDS))).all()
    out: dict[Target, None] = {}
    for year, committee, event, deliverable in rows:
        if committee is None:
            continue
        if deliverable is not None:
            out[(year, committee, deliverable)] = None
        elif event is not None:
            for req in s.exec(select(Request).where(
                    Request.year == year, Request.committee == committee,
                    Request.opened_by == event).order_by(col(Request.id))).all():
                out[(req.year, req.committee, req.deliverable)] = None
    return list(out)


@dataclass(frozen=True)
class FileMatch:
    """One Word file of a message: the request it is for, or why it has none (Danish)."""

    attachment: Attachment
    accepted: intake.Accepted | None = None
    target: Target | None = None
    problem: str | None = None  # held: why (Danish)
    refused: str | None = None  # the file itself cannot be taken (Danish)


def match_file(wheel: Wheel, att: Attachment, senders_committees: Sequence[str],
               thread: Sequence[Target]) -> FileMatch:
    """Check one attached Word file and decide which request it is for."""
    try:
        accepted = intake.check_docx(att.data, att.filename)
    except intake.Refused as exc:
        return FileMatch(att, refused=danish_check(exc.reason))
    ident = docprops.read_identity(accepted.data, att.filename, checked=accepted)
    if ident.status == IdentityStatus.FOUND and ident.identity is not None:
        i = ident.identity
        target: Target = (i.year, i.committee, i.deliverable)
        if i.committee not in senders_committees:
            return FileMatch(att, accepted, problem=(
                f"formularen er til {i.committee}, men afsenderen er ikke en af "
                f"{i.committee}s adresser"))
        if thread and target not in thread:
            return FileMatch(att, accepted, problem=(
                f"formularen er til {i.deliverable} {i.year} fra {i.committee}, men mailen "
                "svarer på en besked om en anden aflevering"))
        return FileMatch(att, accepted, target=target)
    if ident.status == IdentityStatus.FORGED:
        return FileMatch(att, accepted, problem=(
            "formularens egenskaber passer ikke til deres kontrolværdi (ændret i Word?)"))
    mine = [t for t in thread if t[1] in senders_committees]
    if len(mine) == 1:
        return FileMatch(att, accepted, target=mine[0])
    if not thread:
        return FileMatch(att, accepted, problem=(
            "mailen svarer ikke på en af årshjulets beskeder, og den vedhæftede fil siger "
            "ikke, hvilken aflevering den er"))
    return FileMatch(att, accepted, problem=(
        "mailen svarer på en besked om flere afleveringer, og den vedhæftede fil siger ikke, "
        "hvilken af dem den er"))


def danish_attachment(att: Attachment) -> str:
    """Why an attached file is refused, in Danish (``letters.inbound`` says it in English)."""
    name = att.filename.lower()
    if att.too_large:
        return (f"filen er {att.size / 1_000_000:.1f} MB, over grænsen på "
                f"{Limits().max_file_bytes / 1_000_000:.0f} MB").replace(".", ",")
    if name == "winmail.dat" or att.content_type == "application/ms-tnef":
        return ("Outlook har lagt filen inde i winmail.dat (RTF-format): send mailen igen som "
                "HTML eller almindelig tekst, så Word-filen vedhæftes som sig selv")
    suffix = name.rsplit(".", 1)[-1] if "." in name else "makro"
    return (f"en Office-fil med makroer (.{suffix}) tages ikke imod: gem den som "
            "Word-dokument (.docx) uden makroer")


def danish_check(reason: str) -> str:
    """A file the file intake refused (``letters.intake.check_docx``), in Danish."""
    del reason  # English, for the log; the committee gets the Danish sentence
    return ("filen kunne ikke læses som et Word-dokument (.docx): den er beskadiget, for stor "
            "eller ikke en Word-fil")


def refused_files(inb: Inbound) -> list[tuple[str, str]]:
    """The attachments of ``inb`` refused as files: (name, Danish reason)."""
    return [(a.filename, danish_attachment(a)) for a in inb.refused]
