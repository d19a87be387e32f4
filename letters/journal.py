"""Journal copies: every sent message as an .eml, with an index, ready to file in ESDH.

Layout of the journal directory::

    <dir>/<year>/<key>.<hash8>.eml   the exact bytes sent (what the committee received)
    <dir>/index.jsonl                 one JSON object per message
    <dir>/index.csv                   the same, for a records system's import (UTF-8, header row)

Index fields: ``message_id, key, kind, year, committee, event, deliverable, slot, from, to, cc,
subject, date`` (the message's Date header), ``sent_at`` (ISO 8601), ``sha256`` (of the .eml
bytes), ``file`` (relative to the journal directory). Each outbox row is indexed once (by its
key), even when it was sent twice after an uncertain attempt (its bytes are identical); a
message resent with ``aarshjul resend`` is a row of its own (``resend:<key>:<n>``) with the
original's Message-ID, so both copies are in the journal. Several processes may record into
one journal: the index is appended under an ``flock``.
"""

from __future__ import annotations

import contextlib
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
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

FIELDS = ("message_id", "key", "kind", "year", "committee", "event", "deliverable", "slot",
          "from", "to", "cc", "subject", "date", "sent_at", "sha256", "file")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9æøåÆØÅ._-]+", "_", text).strip("._") or "message"


_WANTED = ("message-id", "from", "to", "cc", "subject", "date")
_FIELD = re.compile(rb"^([!-9;-~]+):[ \t]*(.*?)\r?\n(?![ \t])", re.M | re.S)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SPEC = rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_ADDR_LIST = re.compile(rf"^{_SPEC}(?:, {_SPEC})*$")
_Q_WORD = re.compile(r"=\?utf-8\?q\?([!->@-~]*)\?=")
_Q_WORDS = re.compile(r"^=\?utf-8\?q\?[!->@-~]*\?=(?: =\?utf-8\?q\?[!->@-~]*\?=)*$")
_Q_HEX = re.compile(r"=([0-9A-F]{2})")
_PLAIN = re.compile(r"^[!-~]+(?: [!-~]+)*$")


def _fast_value(name: str, value: str) -> str | None:
    """``str()`` of the header as ``email.policy.default`` reads it, for the shapes
    ``letters.mail.build`` writes; None when the value needs the full parser."""
    if not value.isascii() or not _PLAIN.match(value) or "\\" in value or '"' in value:
        return None
    if name in ("to", "cc"):
        return value if _ADDR_LIST.match(value) else None
    if name == "message-id":
        return value if " " not in value and "(" not in value else None
    if name == "date":
        try:  # what email.headerregistry.DateHeader does
            return format_datetime(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return None
    if name == "subject":
        if "=?" not in value:
            return value
        if not _Q_WORDS.match(value):
            return None  # (every word Q-encoded: the spaces between them are dropped)
        data = "".join(_Q_WORD.findall(value)).replace("_", " ")
        if "=" in _Q_HEX.sub("", data):
            return None
        text = _Q_HEX.sub(lambda g: chr(int(g.group(1), 16)), data)
        try:
            return text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


@lru_cache(maxsize=1024)
def _parsed_value(name: str, value: str) -> str:
    return str(default.header_factory(name, value))


def _slow_headers(head: bytes) -> dict[str, str]:
    h = BytesHeaderParser(policy=default).parsebytes(head + b"\r\n")
    return {k: str(h[k]) for k in _WANTED if k in h}


def index_headers(raw: bytes) -> dict[str, str]:
    """Message-ID, From, To, Cc, Subject and Date of ``raw`` as ``email.policy.default``
    reads them (``str()`` of the first such header), without parsing the whole head with
    the email package: the shapes ``build`` writes are read directly, the rest of ASCII
    values (From: one value for all messages) through the package, cached, and anything
    else by the package's parser as before."""
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    if not head.isascii():
        return _slow_headers(head)
    out: dict[str, str] = {}
    for m in _FIELD.finditer(head):
        name = m.group(1).decode("ascii").lower()
        if name not in _WANTED or name in out:
            continue
        value = re.sub(r"\r?\n(?=[ \t])", "", m.group(2).decode("ascii"))
        fast = _fast_value(name, value)
        out[name] = fast if fast is not None else _parsed_value(name, value)
    return out


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._known: set[str] = set()
        self._pos = 0
        self._lock: IO[bytes] | None = None

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
        h = index_headers(raw)
        when = sent_at or getattr(row, "sent_at", None)
        entry = {
            "message_id": h.get("message-id", row.message_id),
            "key": row.key, "kind": row.kind, "year": row.year, "committee": row.committee,
            "event": row.event, "deliverable": row.deliverable, "slot": row.slot,
            "from": h.get("from", ""), "to": h.get("to", ""),
            "cc": h.get("cc", ""), "subject": h.get("subject", ""),
            "date": h.get("date", ""),
            "sent_at": when.isoformat() if when else None,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "file": path.relative_to(self.directory).as_posix(),
        }
        self._append(entry)
        return path

    def _append(self, entry: dict[str, Any]) -> None:
        if self._lock is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.directory / ".index.lock", "a+b")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._catch_up()
            if entry["key"] in self._known:
                return
            line = json.dumps(entry, ensure_ascii=False) + "\n"
            with open(self.index_path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fdatasync(f.fileno())  # the data and the size: what a read-back needs
                self._pos = f.tell()
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
            with open(self.csv_path, "a", encoding="utf-8", newline="") as f:
                if f.tell() == 0:
                    w.writeheader()
                w.writerow({k: "" if entry[k] is None else entry[k] for k in FIELDS})
                f.write(buf.getvalue())
            self._known.add(entry["key"])
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

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
                self._known.add(json.loads(line)["key"])
        self._pos += end

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.index_path.exists():
            return
        with open(self.index_path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
