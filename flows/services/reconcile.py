"""After a restore: the database told what the journal on disk says was sent (README
"Backup and restore").

The journal holds the exact bytes of every message the mail server accepted (the sender
writes the copy before it commits the row ``sent``). A database brought back from an older
archive does not know the messages sent since; :func:`reconcile_journal` makes it know them,
so that a message whose journal copy exists is never sent again:

- an outbox row not yet ``sent`` (pending, claimed, sending, failed, uncertain) whose copy
  is in the journal is marked ``sent``, at the instant the journal gives;
- a journal entry with no outbox row gets one, ``sent``, with the journal's bytes: a later
  run that plans the same key finds it queued and sends nothing;
- for a reminder or an escalation so added, the slot is recorded ``sent`` on its request
  (so the chase goes on from the next slot, as it would have); for a letter, the requests
  it opened are opened (from the wheel); both at the instant of the run that built the
  message (its Date header), as the lost database had them;
- a receipt whose submission is not in the database (handed in after the backup) is
  listed: register the file again with ``aarshjul submit`` (its receipt is then not sent
  twice when the registration gets the same number; see the README for the limits).

Every change is in the audit log (action ``reconcile``). Running it twice changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from itertools import product
from pathlib import PurePosixPath
from typing import Any

from sqlmodel import Session, col, select

from flows.services.audit import audit
from flows.services.setup import Setup
from letters.journal import Journal
from letters.mail import message_id
from models.db import immediate
from models.kinds import MessageKind, OutboxStatus, SlotKind, SlotOutcome
from models.outbox import OutboxRow
from models.plan import require_aware
from models.state import Request, SlotState, Submission

RESTORED_REPLY = "restored: the journal holds the copy the server accepted"


@dataclass
class Reconciled:
    marked_sent: list[str] = field(default_factory=list)  # rows that were not sent yet
    added: list[str] = field(default_factory=list)  # rows made from the journal
    slots: int = 0  # slot states recorded for added reminders and escalations
    opened: int = 0  # requests opened for added letters
    lost_submissions: list[dict[str, Any]] = field(default_factory=list)  # receipts
    unkeyed: list[str] = field(default_factory=list)  # journal files without a known key

    @property
    def changed(self) -> bool:
        return bool(self.marked_sent or self.added or self.slots or self.opened)


def _when(entry: dict[str, Any], as_of: datetime) -> datetime:
    raw = entry.get("sent_at")
    if isinstance(raw, str):
        try:
            t = datetime.fromisoformat(raw)
        except ValueError:
            return as_of
        return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return as_of


def _dated(entry: dict[str, Any], fallback: datetime) -> datetime:
    """The message's Date header: the instant of the run that built it (the ``as_of`` its
    requests and slots were recorded at in the lost database)."""
    try:
        t = parsedate_to_datetime(str(entry.get("date") or ""))
    except (TypeError, ValueError, IndexError):
        return fallback
    return t if t.tzinfo is not None else fallback


def _domain(entry: dict[str, Any]) -> str:
    return str(entry["message_id"]).rsplit("@", 1)[-1].rstrip(">")


def _row_from(entry: dict[str, Any], raw: bytes, when: datetime, built: datetime) -> OutboxRow:
    key = str(entry["key"])
    rcpt = [a for _n, a in getaddresses([entry.get("to") or "", entry.get("cc") or ""]) if a]
    return OutboxRow(
        key=key, kind=str(entry.get("kind") or key.split(":", 1)[0]),
        year=int(entry.get("year") or 0), committee=entry.get("committee"),
        event=entry.get("event"), deliverable=entry.get("deliverable"),
        slot=entry.get("slot"), message_id=message_id(key, _domain(entry)),
        envelope_from=parseaddr(entry.get("from") or "")[1], recipients=rcpt,
        subject=str(entry.get("subject") or ""), raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(), queued_at=built, status=OutboxStatus.SENT,
        attempts=1, sent_at=when, last_reply=RESTORED_REPLY)


def _ladder(key: str, kind: str) -> int:
    parts = key.split(":")
    n = 6 if kind == MessageKind.REMINDER else 5  # reminder:y:d:c:slot[:n], escalation:y:d:c[:n]
    return int(parts[n - 1]) if len(parts) == n and parts[n - 1].isdigit() else 0


def _slot(s: Session, st: Setup, row: OutboxRow, when: datetime) -> int:
    """A reminder or escalation sent after the backup: its slot is ``sent`` again."""
    if row.kind not in (MessageKind.REMINDER, MessageKind.ESCALATION) or not row.slot:
        return 0
    req = s.exec(select(Request).where(Request.year == row.year,
                                       Request.deliverable == row.deliverable,
                                       Request.committee == row.committee)).first()
    if req is None or req.id is None:
        return 0
    ladder = _ladder(row.key, row.kind)
    done = s.exec(select(SlotState.id).where(SlotState.request_id == req.id,
                                             SlotState.ladder == ladder,
                                             SlotState.slot == row.slot)).first()
    if done is not None:
        return 0
    kind = SlotKind.ESCALATE if row.kind == MessageKind.ESCALATION else (
        SlotKind.AFTER if row.slot.startswith(SlotKind.AFTER) else SlotKind.BEFORE)
    s.add(SlotState(request_id=req.id, ladder=ladder, slot=row.slot, kind=kind,
                    state=SlotOutcome.SENT, due_at=None, at=when, outbox_key=row.key))
    return 1


def _opens(s: Session, st: Setup, row: OutboxRow, when: datetime) -> int:
    """A letter sent after the backup: the requests it opened are opened again."""
    if row.kind != MessageKind.LETTER or not row.event or row.committee is None:
        return 0
    w = st.wheel
    if row.event not in w.event or not w.policy.years[0] <= row.year <= w.policy.years[1]:
        return 0
    pe = st.plan(row.year).event(row.event)
    n = 0
    for dkey in pe.opens:
        if row.committee not in w.deliverable_from(w.deliverable[dkey]):
            continue
        if s.exec(select(Request.id).where(Request.year == row.year,
                                           Request.deliverable == dkey,
                                           Request.committee == row.committee)).first():
            continue
        s.add(Request(year=row.year, deliverable=dkey, committee=row.committee,
                      opened_by=row.event, opened_at=when, due=st.ladders.due(dkey, row.year)))
        audit(s, st, when, "open", row.year, row.committee, deliverable=dkey,
              event=row.event, outcome="opened")
        n += 1
    return n


def _receipt_lost(s: Session, key: str) -> bool:
    ref = key.removeprefix("receipt:")
    return ref.isdigit() and s.get(Submission, int(ref)) is None


def key_of_file(rel: str) -> str | None:
    """The outbox key of a journal copy named ``<year>/<safe key>.<hash8>.eml`` whose index
    entry lost its key: each ``_`` of the safe name read as ``:`` or kept, and the one whose
    hash matches the name taken (keys are made of ``:``-separated safe words)."""
    stem = PurePosixPath(rel).name.removesuffix(".eml")
    safe, _, digest = stem.rpartition(".")
    parts = safe.split("_")
    if not safe or len(parts) > 9:
        return None
    for seps in product(":_", repeat=len(parts) - 1):
        key = parts[0] + "".join(sep + part for sep, part in zip(seps, parts[1:], strict=True))
        if hashlib.sha256(key.encode("utf-8")).hexdigest()[:8] == digest:
            return key
    return None


def reconcile_journal(st: Setup, as_of: datetime) -> Reconciled:
    """Make the database agree with the journal (see the module docstring)."""
    require_aware(as_of, "as_of")
    journal = st.journal or Journal(st.data / "journal")
    journal.repair()
    out = Reconciled()
    entries: dict[str, dict[str, Any]] = {}
    for e in journal.entries():
        key = e.get("key") or key_of_file(str(e.get("file") or ""))
        if key:
            entries.setdefault(str(key), {**e, "key": key})
        else:
            out.unkeyed.append(str(e.get("file")))
    keys = list(entries)
    with Session(immediate(st.db), expire_on_commit=False) as s:
        rows: dict[str, OutboxRow] = {}
        for i in range(0, len(keys), 500):
            q = select(OutboxRow).where(col(OutboxRow.key).in_(keys[i : i + 500]))
            rows.update({r.key: r for r in s.exec(q).all()})
        for key, e in entries.items():
            when = _when(e, as_of)
            row = rows.get(key)
            if row is not None:
                if row.status == OutboxStatus.SENT:
                    continue
                row.status, row.sent_at = OutboxStatus.SENT, when
                row.claimed_by = row.claimed_at = row.next_attempt_at = None
                row.resend_pending = False
                row.last_reply = RESTORED_REPLY
                s.add(row)
                out.marked_sent.append(key)
                audit(s, st, as_of, "reconcile", row.year, row.committee, ref=key,
                      deliverable=row.deliverable, slot=row.slot, outcome="marked-sent")
                continue
            try:
                raw = (journal.directory / str(e["file"])).read_bytes()
            except OSError:
                out.unkeyed.append(str(e.get("file")))
                continue
            built = _dated(e, when)
            row = _row_from(e, raw, when, built)
            s.add(row)
            s.flush()
            out.added.append(key)
            audit(s, st, as_of, "reconcile", row.year, row.committee, ref=key,
                  deliverable=row.deliverable, event=row.event, slot=row.slot,
                  outcome="added-sent")
            out.slots += _slot(s, st, row, built)
            out.opened += _opens(s, st, row, built)
            if row.kind == MessageKind.RECEIPT and _receipt_lost(s, key):
                out.lost_submissions.append({
                    "key": key, "year": row.year, "committee": row.committee,
                    "deliverable": row.deliverable, "sent_at": when.isoformat()})
        s.commit()
    return out
