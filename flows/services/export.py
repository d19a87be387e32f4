"""``aarshjul export``: what the engine holds about a committee or an address, in one .zip
(README "Data protection"), for an access request (indsigtsanmodning).

The archive (0600)::

    messages/<year>/<key>.eml                 each message: the journal copy (the bytes sent),
                                              else the outbox's copy
    documents/letters/<year>/<key>--<name>    the attachments of those messages (the letters)
    documents/submissions/<year>/<name>       the files the committee handed in
    audit.csv, audit.json                     the audit entries concerning them
    index.csv, index.json                     one row per file above (columns: INDEX_FIELDS)

``--committee C``: every message of the committee (its ``committee`` field in the outbox or
the journal index), its submissions and the audit entries naming it. ``--address A``: every
message with A among its recipients (outbox) or in To/Cc (journal index), their
attachments, and the audit entries about those messages. Nothing of another committee or
address is included. The export itself is audited (action ``export``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.services.audit import audit
from flows.services.setup import Setup
from letters.journal import _safe
from letters.private import atomic_file
from models.kinds import RecordAction
from models.outbox import OutboxRow
from models.plan import require_aware
from models.state import AuditEntry, Document, Request, Submission

INDEX_FIELDS = ("file", "kind", "year", "committee", "deliverable", "key", "message_id",
                "subject", "date", "sha256", "size", "note")
AUDIT_FIELDS = ("id", "at", "recorded_at", "actor", "action", "year", "committee",
                "deliverable", "event", "slot", "ref", "outcome", "reason")


class ExportRefused(Exception):
    """Nothing to export for what was asked (an unknown committee, an address seen nowhere)."""


@dataclass(frozen=True)
class Exported:
    messages: int
    documents: int
    audit: int


@dataclass
class _Message:
    key: str
    year: int | None
    committee: str | None
    deliverable: str | None
    message_id: str
    subject: str
    raw: bytes
    note: str


def _mentions(entry: dict[str, Any], address: str) -> bool:
    text = f"{entry.get('to') or ''},{entry.get('cc') or ''}".lower()
    return any(a.strip().rsplit("<", 1)[-1].rstrip(">").strip() == address
               for a in text.split(","))


def _messages(st: Setup, s: Session, committee: str | None,
              address: str | None) -> list[_Message]:
    assert st.journal is not None
    if committee is not None:
        rows = list(s.exec(select(OutboxRow).where(OutboxRow.committee == committee)
                           .order_by(col(OutboxRow.id))))
    else:  # the recipients first: the bodies only of the messages to the address
        ids = [i for i, rcpts in s.exec(select(OutboxRow.id, OutboxRow.recipients))
               if (address or "") in [x.lower() for x in rcpts]]
        rows = list(s.exec(select(OutboxRow).where(col(OutboxRow.id).in_(ids))
                           .order_by(col(OutboxRow.id))))
    entries = [e for e in st.journal.entries()
               if (e.get("committee") == committee if committee is not None
                   else _mentions(e, address or ""))]
    by_key = {str(e.get("key") or e["message_id"]): e for e in entries}
    out: list[_Message] = []
    for r in rows:
        e = by_key.pop(r.key, None)
        copy = st.journal.directory / str(e["file"]) if e else st.journal.path_for(r)
        if copy.is_file():
            raw, note = copy.read_bytes(), "journal copy"
        elif r.raw:
            raw, note = r.raw, "outbox copy"
        else:
            raw, note = b"", "the body was purged (policy.retention)"
        out.append(_Message(r.key, r.year, r.committee, r.deliverable, r.message_id,
                            r.subject, raw, note))
    for key, e in by_key.items():  # in the journal only (an outbox row no longer there)
        path = st.journal.directory / str(e["file"])
        raw = path.read_bytes() if path.is_file() else b""
        out.append(_Message(key, e.get("year"), e.get("committee"), e.get("deliverable"),
                            str(e["message_id"]), str(e.get("subject") or ""), raw,
                            "journal copy" if raw else "the journal copy was purged"))
    return out


def _known(st: Setup, s: Session, committee: str | None, address: str | None,
           messages: list[_Message]) -> bool:
    if messages:
        return True
    if committee is not None:
        return committee in st.wheel.committee or s.exec(
            select(Request.id).where(Request.committee == committee).limit(1)).first() is not None
    return any((address or "") in [a.lower() for a in (*c.to, *c.cc)]
               for c in st.wheel.committees)


def export_zip(st: Setup, output: Path, as_of: datetime, *, committee: str | None = None,
               address: str | None = None) -> Exported:
    """Write the export of ``committee`` or ``address`` to ``output`` (atomically, 0600);
    ``as_of``: the instant audited."""
    require_aware(as_of, "as_of")
    address = address.strip().lower() if address is not None else None
    with Session(st.db) as s:
        messages = _messages(st, s, committee, address)
        if not _known(st, s, committee, address, messages):
            raise ExportRefused(f"udvalget {committee!r} findes hverken i hjulet eller i "
                                "databasen" if committee is not None else
                                f"adressen {address!r} forekommer ingen steder (udbakke, "
                                "journal, hjulets udvalg)")
        subs = [] if committee is None else list(s.exec(
            select(Submission, Request, Document)
            .join(Request, col(Request.id) == col(Submission.request_id))
            .join(Document, col(Document.id) == col(Submission.document_id))
            .where(Request.committee == committee).order_by(col(Submission.id))))
        keys = {m.key for m in messages}
        entries = (list(s.exec(select(AuditEntry).where(AuditEntry.committee == committee)
                               .order_by(col(AuditEntry.id)))) if committee is not None else
                   [a for a in s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
                    if a.ref in keys])
    index: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    seen: set[str] = set()

    def add(name: str, data: bytes, **row: Any) -> None:
        while name in seen:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}_{len(seen)}.{ext}" if dot else f"{name}_{len(seen)}"
        seen.add(name)
        files.append((name, data))
        index.append({**dict.fromkeys(INDEX_FIELDS, ""), **row, "file": name,
                      "sha256": hashlib.sha256(data).hexdigest() if data else "",
                      "size": len(data)})

    n_docs = 0
    for m in messages:
        name = f"messages/{m.year}/{_safe(m.key)}.eml"
        add(name, m.raw, kind="message", year=m.year, committee=m.committee,
            deliverable=m.deliverable, key=m.key, message_id=m.message_id, subject=m.subject,
            note=m.note)
        for fname, data in _attachments(m.raw):
            add(f"documents/letters/{m.year}/{_safe(m.key)}--{_safe(fname)}", data,
                kind="attachment", year=m.year, committee=m.committee,
                deliverable=m.deliverable, key=m.key, message_id=m.message_id, note=fname)
            n_docs += 1
    for sub, req, doc in subs:
        path = st.data / doc.path if doc.path else None
        data = path.read_bytes() if path is not None and path.is_file() else b""
        add(f"documents/submissions/{req.year}/{_safe(req.deliverable)}-{_safe(req.committee)}"
            f"-{sub.id}-{_safe(doc.filename)}", data, kind="submission", year=req.year,
            committee=req.committee, deliverable=req.deliverable, key=f"submission:{sub.id}",
            date=sub.received_at.isoformat(),
            note=doc.filename if data else "the file was purged (policy.retention)")
        n_docs += 1
    audit_rows = [{f: _plain(getattr(a, f)) for f in AUDIT_FIELDS} for a in entries]
    files.append(("audit.json", _json(audit_rows)))
    files.append(("audit.csv", _csv(audit_rows, AUDIT_FIELDS)))
    files.append(("index.json", _json(index)))
    files.append(("index.csv", _csv(index, INDEX_FIELDS)))
    _write_zip(output, files)
    with Session(st.db) as s:
        audit(s, st, as_of, RecordAction.EXPORT, None, committee, ref=address,
              outcome="exported", reason=f"{len(messages)} messages, {n_docs} documents, "
              f"{len(entries)} audit entries")
        s.commit()
    return Exported(len(messages), n_docs, len(entries))


def _attachments(raw: bytes) -> list[tuple[str, bytes]]:
    if not raw:
        return []
    msg = message_from_bytes(raw, policy=policy.default)
    out = []
    for part in msg.iter_attachments():
        if part.get_content_disposition() != "attachment":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            out.append((part.get_filename() or "bilag", data))
    return out


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _json(rows: list[dict[str, Any]]) -> bytes:
    return (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _csv(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r[k] for k in fields})
    return buf.getvalue().encode("utf-8")


def _write_zip(output: Path, files: list[tuple[str, bytes]]) -> None:
    with atomic_file(output) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
