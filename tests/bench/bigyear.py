"""A year of 1,000 committees in the state database and the data directory, made fast.

For benchmarks of the verbs that walk the whole state (``purge``, ``backup``): the generated
wheel of ``bench_flows.generated_wheel`` (n committees plus BIU), and for every committee
and deliverable a request, its letter (with a Word attachment) and three reminders, all sent,
each with its journal copy; a handed-in document for most requests (a request in ten stays
open, with a reminder still waiting in the outbox); and the audit entries of all of it.
The rows go in with bulk inserts and the messages are one real message per kind
(``letters.mail.build``) with the committee, the key and the Message-ID put in, so a year of
1,000 committees takes seconds, not the minutes a simulated year does.

    from tests.bench.bigyear import big_year
    year = big_year(tmp_path, n=1000)       # year.db_url, year.data, year.wheel, year.counts
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests import CPH
from tests.bench.bench_flows import generated_wheel

SLOTS = ("before-7", "before-1", "after-3")


@dataclass
class BigYear:
    wheel: Any
    db_url: str
    data: Path
    year: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def described(self) -> str:
        """What the year holds, for a benchmark's note."""
        n = self.counts
        return (f"{n['committees']} committees, {n['outbox']} messages with {n['journal']} "
                f"journal copies, {n['documents']} submissions, {n['audit']} audit entries")


def _template(wheel: Any, kind: str, year: int, attachment: bytes) -> bytes:
    from letters.mail import Attachment, Outgoing, build

    o = Outgoing(key=f"{kind}:TEMPLATE", kind=kind, year=year, committee="U0000",
                 event="opfordring" if kind == "letter" else None,
                 deliverable=None if kind == "letter" else "handleplan",
                 slot=None if kind == "letter" else "before-7",
                 sender=(wheel.policy.sender.name, wheel.policy.sender.email),
                 to=("u0@kk.example",), cc=(), subject="Årshjul U0000",
                 text="Kære Udvalg U0000\n\nHusk handleplanen.\n" * 20, html=None,
                 attachments=(Attachment("formular-U0000.docx", attachment),) if attachment
                 else (), date=datetime(year, 1, 20, 9, tzinfo=CPH))
    return build(o, wheel.mail_domain, CPH)


def big_year(tmp: Path, n: int = 1000, year: int = 2012, *,
             attachment_bytes: int = 24_000) -> BigYear:
    """The state of a finished ``year`` for ``n`` generated committees under ``tmp``."""
    import sqlalchemy as sa

    from letters.journal import Journal, _csv_text
    from letters.mail import message_id
    from models.config import loads
    from models.db import make_engine, upgrade
    from models.outbox import OutboxRow
    from models.state import AuditEntry, Document, Request, Submission

    wheel = loads(generated_wheel(n)).wheel
    db_url = f"sqlite:///{tmp / 'bigyear.sqlite'}"
    data = tmp / "data"
    eng = make_engine(db_url)
    upgrade(eng)
    journal = Journal(data / "journal")
    (data / "journal" / str(year)).mkdir(parents=True, exist_ok=True)
    blob = hashlib.sha256(b"attachment").digest() * (attachment_bytes // 32 + 1)
    templates = {"letter": _template(wheel, "letter", year, blob[:attachment_bytes]),
                 "reminder": _template(wheel, "reminder", year, b"")}
    template_mid = {k: message_id(f"{k}:TEMPLATE", wheel.mail_domain).encode()
                    for k in templates}
    opened = datetime(year, 1, 20, 9, tzinfo=CPH)
    requests: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    submissions: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    deliverables = [d.key for d in wheel.deliverables]

    def message(kind: str, key: str, c: Any, d: str | None, slot: str | None,
                at: datetime, status: str) -> None:
        mid = message_id(key, wheel.mail_domain)
        addr = c.to[0]
        raw = (templates[kind].replace(template_mid[kind], mid.encode())
               .replace(b"U0000", c.key.encode()).replace(b"u0@kk.example", addr.encode()))
        row = {"key": key, "kind": kind, "year": year, "committee": c.key,
               "event": "opfordring" if kind == "letter" else None, "deliverable": d,
               "slot": slot, "message_id": mid, "envelope_from": wheel.policy.sender.email,
               "recipients": [addr], "subject": f"Årshjul {c.key}", "raw": raw,
               "sha256": hashlib.sha256(raw).hexdigest(), "queued_at": at, "status": status,
               "attempts": int(status == "sent"), "sent_at": at if status == "sent" else None,
               "uncertain": False, "resend_pending": False}
        outbox.append(row)
        audit.append({"at": at, "recorded_at": at, "actor": "bench", "action": kind,
                      "year": year, "committee": c.key, "deliverable": d,
                      "event": row["event"], "slot": slot, "ref": key, "outcome": "queued"})
        if status == "sent":
            fake = type("Row", (), row)
            path = journal.path_for(fake)
            path.write_bytes(raw)
            entries.append(journal._entry(fake, raw, path, at))

    for i, c in enumerate(wheel.committees):
        message("letter", f"letter:{year}:opfordring:{c.key}", c, None, None, opened, "sent")
        for j, d in enumerate(deliverables):
            rid = len(requests) + 1
            is_open = (i + j) % 10 == 0
            requests.append({"id": rid, "year": year, "deliverable": d, "committee": c.key,
                             "opened_by": "opfordring", "opened_at": opened,
                             "status": "open" if is_open else "on_time", "ladder": 0,
                             "received_at": None if is_open else opened + timedelta(days=90),
                             "closed_at": None if is_open else opened + timedelta(days=90)})
            for k, slot in enumerate(SLOTS):
                waiting = is_open and k == len(SLOTS) - 1
                message("reminder", f"reminder:{year}:{d}:{c.key}:{slot}", c, d, slot,
                        opened + timedelta(days=60 + 10 * k), "pending" if waiting else "sent")
            if is_open:
                continue
            content = f"{c.key}:{d}:{year}".encode() * 200
            sha = hashlib.sha256(content).hexdigest()
            rel = f"submissions/{sha[:2]}/{sha}.docx"
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            (data / rel).write_bytes(content)
            did = len(documents) + 1
            got = opened + timedelta(days=90)
            documents.append({"id": did, "sha256": sha, "filename": f"{c.key}-{d}.docx",
                              "path": rel, "size": len(content), "stored_at": got})
            submissions.append({"id": did, "request_id": rid, "document_id": did,
                                "received_at": got, "revision": 0, "outcome": "on_time"})
            audit.append({"at": got, "recorded_at": got, "actor": "bench", "action": "submit",
                          "year": year, "committee": c.key, "deliverable": d, "event": None,
                          "slot": None, "ref": str(did), "outcome": "on_time"})
    with eng.begin() as conn:
        for model, rows in ((Request, requests), (OutboxRow, outbox), (Document, documents),
                            (Submission, submissions), (AuditEntry, audit)):
            conn.execute(sa.insert(model.__table__), rows)  # type: ignore[attr-defined]
    with open(journal.index_path, "wb") as f:
        f.writelines((json.dumps(e, ensure_ascii=False) + "\n").encode() for e in entries)
    journal.csv_path.write_bytes(_csv_text(entries, header=True))
    journal.close()
    eng.dispose()
    counts = {"committees": len(wheel.committees), "requests": len(requests),
              "outbox": len(outbox), "journal": len(entries), "documents": len(documents),
              "audit": len(audit)}
    return BigYear(wheel, db_url, data, year, counts)
