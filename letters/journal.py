"""Journal copies: every sent message as an .eml, with an index, ready to file in ESDH.

Layout of the journal directory::

    <dir>/<year>/<key>.<hash8>.eml   the exact bytes sent (what the committee received)
    <dir>/index.jsonl                 one JSON object per message
    <dir>/index.csv                   the same, for a records system's import (UTF-8, header row)

Index fields: ``message_id, key, kind, year, committee, event, deliverable, slot, from, to, cc,
subject, date`` (the message's Date header), ``sent_at`` (ISO 8601), ``sha256`` (of the .eml
bytes), ``file`` (relative to the journal directory). Each message is indexed once, even when
it was sent twice after an uncertain attempt (its bytes are identical). Several processes may
record into one journal: the index is appended under an ``flock``.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import Any

FIELDS = ("message_id", "key", "kind", "year", "committee", "event", "deliverable", "slot",
          "from", "to", "cc", "subject", "date", "sent_at", "sha256", "file")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9æøåÆØÅ._-]+", "_", text).strip("._") or "message"


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._known: set[str] = set()
        self._pos = 0

    @property
    def index_path(self) -> Path:
        return self.directory / "index.jsonl"

    @property
    def csv_path(self) -> Path:
        return self.directory / "index.csv"

    def path_for(self, row: Any) -> Path:
        digest = hashlib.sha256(row.key.encode("utf-8")).hexdigest()[:8]
        return self.directory / str(row.year) / f"{_safe(row.key)}.{digest}.eml"

    def record(self, row: Any, raw: bytes, *, sent_at: datetime | None = None) -> Path:
        """Write the .eml (atomically, idempotent) and index it once. Returns the .eml path.

        ``row`` is an outbox row (or anything with key, kind, year, committee, event,
        deliverable, slot, message_id, sent_at).
        """
        path = self.path_for(row)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.exists() and path.read_bytes() == raw):
            tmp = path.with_name(path.name + f".tmp{os.getpid()}")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
        head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"  # the headers only: fast
        h = BytesHeaderParser(policy=default).parsebytes(head)
        when = sent_at or getattr(row, "sent_at", None)
        entry = {
            "message_id": str(h.get("Message-ID", row.message_id)),
            "key": row.key, "kind": row.kind, "year": row.year, "committee": row.committee,
            "event": row.event, "deliverable": row.deliverable, "slot": row.slot,
            "from": str(h.get("From", "")), "to": str(h.get("To", "")),
            "cc": str(h.get("Cc", "")), "subject": str(h.get("Subject", "")),
            "date": str(h.get("Date", "")),
            "sent_at": when.isoformat() if when else None,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "file": path.relative_to(self.directory).as_posix(),
        }
        self._append(entry)
        return path

    def _append(self, entry: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".index.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._catch_up()
            if entry["message_id"] in self._known:
                return
            line = json.dumps(entry, ensure_ascii=False) + "\n"
            with open(self.index_path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
                self._pos = f.tell()
            new_csv = not self.csv_path.exists() or self.csv_path.stat().st_size == 0
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
            if new_csv:
                w.writeheader()
            w.writerow({k: "" if entry[k] is None else entry[k] for k in FIELDS})
            with open(self.csv_path, "a", encoding="utf-8", newline="") as f:
                f.write(buf.getvalue())
            self._known.add(entry["message_id"])

    def _catch_up(self) -> None:
        """Read index lines written since we last looked (by us or another process)."""
        if not self.index_path.exists():
            return
        with open(self.index_path, "rb") as f:
            f.seek(self._pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                self._known.add(json.loads(line)["message_id"])
        self._pos += end

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.index_path.exists():
            return
        with open(self.index_path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
