"""Journal copies: every sent message as an .eml, with an index, ready to file in ESDH.

Layout of the journal directory::

    <dir>/<year>/<key>.<hash8>.eml   the exact bytes sent (what the committee received)
    <dir>/index.jsonl                 one JSON object per message: the record
    <dir>/index.csv                   derived from it, for a records system's import (UTF-8,
                                      header row)

Index fields: ``message_id, key, kind, year, committee, event, deliverable, slot, from, to, cc,
subject, date`` (the message's Date header), ``sent_at`` (ISO 8601), ``sha256`` (of the .eml
bytes), ``file`` (relative to the journal directory). Each outbox row is indexed once (by its
key), even when it was sent twice after an uncertain attempt (its bytes are identical); a
message resent with ``aarshjul resend`` is a row of its own (``resend:<key>:<n>``) with the
original's Message-ID, so both copies are in the journal. Several processes may
record into one journal: each record (the .eml, then its index line) is written under an
``flock``.

index.jsonl is the source of truth; index.csv is written after it and rewritten from it
(atomically, under the lock) whenever its size is not that of the entries: a kill between the
two appends, a torn or edited CSV. So a repaired CSV is byte for byte the one a clean run
writes. The check runs at every record and in :meth:`Journal.repair`.

A damaged index never stops a send: a garbled line (a hand edit) or a torn last line (a
crash, a power loss, a full disk) is logged with its file and line number and skipped, and
the index is then rewritten from what is on disk (:meth:`Journal.repair`): every whole entry
once, and for each .eml without one an entry rebuilt from its headers. A failure is a
:class:`JournalError` that names the file.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import logging
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

from letters.delivery.faults import Faults
from letters.private import atomic_file, open_private, private_dir

log = logging.getLogger("aarshjul.journal")

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


def _ident(entry: dict[str, Any]) -> str:
    """What makes an index entry one: its outbox key (a message resent with ``aarshjul
    resend`` is a row of its own, ``resend:<key>:<n>``, with the original's Message-ID, and
    both copies are kept), else, for an entry rebuilt without a key, its Message-ID."""
    return str(entry.get("key") or entry["message_id"])


class JournalError(Exception):
    """A journal copy or its index could not be written or read; the message names the file."""


_SALVAGE = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+|null)')
_X = {"kind": "x-aarshjul-kind", "year": "x-aarshjul-year", "committee": "x-aarshjul-committee",
      "event": "x-aarshjul-event", "deliverable": "x-aarshjul-deliverable",
      "slot": "x-aarshjul-slot"}


def _salvage(line: bytes) -> dict[str, Any]:
    """The complete ``"field": value`` pairs of a torn or garbled index line."""
    out: dict[str, Any] = {}
    for m in _SALVAGE.finditer(line.decode("utf-8", "replace")):
        with contextlib.suppress(ValueError):
            out.setdefault(m.group(1), json.loads(m.group(2)))
    return out


def _key_candidates(x: dict[str, Any]) -> list[str]:
    """The project's idempotency keys that the X-Aarshjul-* headers of a message allow."""
    k, y, c, e, d, s = (x.get(f) for f in ("kind", "year", "committee", "event",
                                           "deliverable", "slot"))
    shapes = {"letter": (y, e, c), "reminder": (y, d, c, s), "escalation": (y, d, c),
              "report": (y, e)}
    parts = shapes.get(str(k))
    if parts is None or any(p is None for p in parts):
        return []
    return [":".join([str(k), *map(str, parts)])]


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def _csv_text(entries: list[dict[str, Any]], *, header: bool) -> bytes:
    """index.csv's bytes for ``entries`` (with the header row or without)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
    if header:
        w.writeheader()
    for e in entries:
        w.writerow({k: "" if e.get(k) is None else e[k] for k in FIELDS})
    return buf.getvalue().encode("utf-8")



class Journal:
    """The journal directory of one engine. Several processes may record into it at once:
    each record (the .eml, its index.jsonl line and its index.csv row) is written under an
    ``flock``."""

    def __init__(self, directory: Path, *, faults: Faults | None = None) -> None:
        self.directory = Path(directory)
        self._faults = faults or Faults()
        self._known: set[str] = set()  # what the index holds: outbox keys (else Message-IDs)
        self._pos = 0  # how far index.jsonl has been read
        self._line = 0  # ... in lines
        self._inode: int | None = None
        self._csv_size = 0  # the size index.csv has when it holds the entries read so far
        self._damaged = False  # a write of ours failed: repair at the next record
        self._lock: IO[bytes] | None = None

    @property
    def index_path(self) -> Path:
        return self.directory / "index.jsonl"

    @property
    def csv_path(self) -> Path:
        return self.directory / "index.csv"

    def path_for(self, row: Any) -> Path:
        digest = _key_digest(row.key)
        return self.directory / str(row.year) / f"{_safe(row.key)}.{digest}.eml"

    def record(self, row: Any, raw: bytes, *, sent_at: datetime | None = None) -> Path:
        """Write the .eml (atomically, idempotent) and index it once. Returns the .eml path.

        ``row`` is an outbox row (or anything with key, kind, year, committee, event,
        deliverable, slot, message_id, sent_at). Raises :class:`JournalError`, naming the
        file, when the copy or its index entry cannot be written.
        """
        path = self.path_for(row)
        with self._locked():
            try:
                private_dir(path.parent)
                if not (path.exists() and path.read_bytes() == raw):
                    with atomic_file(path) as f:
                        f.write(raw)
            except OSError as exc:
                raise JournalError(f"{path}: the journal copy was not written: {exc}") from exc
            entry = self._entry(row, raw, path, sent_at or getattr(row, "sent_at", None))
            self._index(entry)
        return path

    def repair(self) -> None:
        """Rebuild the index from what is on disk: garbled lines dropped, an entry for every
        .eml that has none (see :meth:`_repair`), and index.csv rewritten from index.jsonl
        where they differ. Raises :class:`JournalError`."""
        with self._locked():
            try:
                self._catch_up()
                self._repair(None)
                self._sync_csv()
            except OSError as exc:
                raise JournalError(f"{self.directory}: the index was not repaired: {exc}"
                                   ) from exc

    def forget(self, files: set[str]) -> int:
        """Remove the journal copies ``files`` (paths relative to the journal directory) and
        their index entries: ``aarshjul purge`` past ``policy.retention.journal_days``
        (README "Data protection"). The outbox rows stay ``sent``, so nothing is sent again.
        Returns the bytes freed. Under the lock; raises :class:`JournalError`."""
        freed = 0
        with self._locked():
            try:
                self._catch_up()
                for rel in sorted(files):
                    path = self.directory / rel
                    with contextlib.suppress(FileNotFoundError):
                        freed += path.stat().st_size
                        path.unlink()
                kept = [e for e in self._read_entries(warn=False) if e.get("file") not in files]
                self._write_index(kept)
                self._write_csv(_csv_text(kept, header=bool(kept)))
                self._known.clear()
                self._pos = self._line = self._csv_size = 0
                self._inode = None
                self._catch_up()
            except OSError as exc:
                raise JournalError(f"{self.index_path}: journal copies were not removed: {exc}"
                                   ) from exc
        return freed

    def _entry(self, row: Any, raw: bytes, path: Path, when: datetime | None) -> dict[str, Any]:
        h = index_headers(raw)
        return {
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

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.directory / ".index.lock"
        try:
            if self._lock is None:
                private_dir(self.directory)
                # kept open: it holds the lock
                self._lock = os.fdopen(open_private(lock_path, os.O_RDWR | os.O_APPEND), "a+b")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except OSError as exc:
            raise JournalError(f"{lock_path}: the journal cannot be locked: {exc}") from exc
        try:
            yield
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def _index(self, entry: dict[str, Any]) -> None:
        """Append ``entry`` to the index unless its Message-ID is there; under the lock."""
        try:
            damaged = self._catch_up() or self._index_lost(entry["file"])
            if damaged or self._damaged:
                self._repair(entry)
            self._sync_csv()
            if _ident(entry) in self._known:
                return
            self._append(entry)
        except Exception as exc:
            self._damaged = True
            raise JournalError(f"{self.index_path}: the index entry of {entry['file']} was not "
                               f"written: {type(exc).__name__}: {exc}") from exc

    def _append(self, entry: dict[str, Any]) -> None:
        """index.jsonl first (the record), then index.csv (derived from it)."""
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with os.fdopen(open_private(self.index_path, os.O_WRONLY | os.O_APPEND), "ab") as f:
            start = f.tell()
            try:
                f.write(line)
                f.flush()
                os.fdatasync(f.fileno())  # the data and the size: what a read-back needs
            except OSError:
                with contextlib.suppress(OSError):  # a full disk: no torn line left behind
                    f.truncate(start)
                raise
            self._pos = f.tell()
            self._line += 1
            self._inode = os.fstat(f.fileno()).st_ino
        self._known.add(_ident(entry))
        row = _csv_text([entry], header=self._csv_size == 0)
        self._csv_size += len(row)
        self._faults.hit("between_index_and_csv")
        with os.fdopen(open_private(self.csv_path, os.O_WRONLY | os.O_APPEND), "ab") as f:
            f.write(row)

    def _index_lost(self, current: str) -> bool:
        """No index.jsonl, yet .eml files other than ``current``: rebuild it from them."""
        if self.index_path.exists():
            return False
        others = (p for p in self.directory.glob("*/*.eml")
                  if p.relative_to(self.directory).as_posix() != current)
        if next(others, None) is None:
            return False
        log.warning("%s is missing: rebuilt from the .eml files", self.index_path)
        return True

    def _sync_csv(self) -> None:
        """index.csv is derived from index.jsonl: when its size is not the size of the
        entries read (a crash between the two appends, a torn or edited file), rewrite it
        from index.jsonl, atomically. Under the lock, after :meth:`_catch_up`."""
        try:
            size = os.stat(self.csv_path).st_size
        except FileNotFoundError:
            size = 0
        if size == self._csv_size:
            return
        entries = list(self._read_entries(warn=False))
        data = _csv_text(entries, header=bool(entries))
        log.warning("%s: rewritten from %s (%d bytes, %d expected)", self.csv_path,
                    self.index_path.name, size, len(data))
        self._write_csv(data)

    def _write_csv(self, data: bytes) -> None:
        with atomic_file(self.csv_path, sync=True) as f:
            f.write(data)
        self._csv_size = len(data)

    def _write_index(self, entries: list[dict[str, Any]]) -> int:
        """Replace the index with ``entries`` (on disk before the rename); its size."""
        with atomic_file(self.index_path, sync=True) as f:
            for e in entries:
                f.write((json.dumps(e, ensure_ascii=False) + "\n").encode("utf-8"))
            return f.tell()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _catch_up(self) -> bool:
        """Read index lines written since we last looked (by us or another process).

        Returns True when the index is damaged: a garbled line (each is logged with its file
        and line number and skipped) or a torn last line (no line end: under the lock no
        writer is half-way, so it is a crash's or a full disk's)."""
        try:
            st = os.stat(self.index_path)
        except FileNotFoundError:
            return False
        if st.st_ino != self._inode or st.st_size < self._pos:  # replaced by a repair
            self._known.clear()
            self._pos = self._line = self._csv_size = 0
            self._inode = st.st_ino
        with open(self.index_path, "rb") as f:
            f.seek(self._pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        damaged = False
        for line in data[:end].split(b"\n")[:-1]:
            self._line += 1
            if not line.strip():
                continue
            e = _parse_line(line)
            if e is None:
                log.warning("%s:%d: a garbled index line was skipped: %r", self.index_path,
                            self._line, line[:120])
                damaged = True
            else:
                self._known.add(_ident(e))
                self._csv_size += len(_csv_text([e], header=self._csv_size == 0))
        self._pos += end
        if data[end:].strip():
            log.warning("%s:%d: a torn last index line was skipped: %r", self.index_path,
                        self._line + 1, data[end:][:120])
            damaged = True
        return damaged

    def _repair(self, current: dict[str, Any] | None) -> None:
        """Rewrite index.jsonl: every whole entry once (the first for a Message-ID), the
        garbled and torn lines dropped, and an entry rebuilt for each .eml under the
        journal that has none (from its headers and what a garbled line still holds; the
        key only where it can be verified against the file name). ``current``, the entry
        being recorded, is appended after, as usual. Replaced atomically; under the lock."""
        entries: list[dict[str, Any]] = []
        salvaged: list[dict[str, Any]] = []
        seen: set[str] = set()
        data = self.index_path.read_bytes() if self.index_path.exists() else b""
        changed = not self.index_path.exists() or (bool(data) and not data.endswith(b"\n"))
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            e = _parse_line(line)
            if e is None:
                salvaged.append(_salvage(line))
                changed = True
            elif _ident(e) not in seen:
                seen.add(_ident(e))
                entries.append(e)
            else:
                changed = True
        indexed = {e.get("file") for e in entries}
        skip = None if current is None else current["file"]
        for eml in sorted(self.directory.glob("*/*.eml")):
            rel = eml.relative_to(self.directory).as_posix()
            if rel in indexed or rel == skip:
                continue
            e = _rebuilt_entry(eml, rel, salvaged)
            if _ident(e) in seen:
                continue
            log.warning("%s: index entry rebuilt from %s%s", self.index_path, rel,
                        "" if e["sent_at"] else " (the time it was sent is not known)")
            seen.add(_ident(e))
            entries.append(e)
            changed = True
        if not changed:
            self._damaged = False
            return
        size = self._write_index(entries)
        self._known = seen
        self._pos, self._line = size, len(entries)
        self._inode = os.stat(self.index_path).st_ino
        self._csv_size = len(_csv_text(entries, header=bool(entries)))
        self._damaged = False

    def entries(self) -> Iterator[dict[str, Any]]:
        """The index entries in order; a garbled line is logged and skipped, and so is a
        last line that is still being written."""
        return self._read_entries(warn=True)

    def _read_entries(self, *, warn: bool) -> Iterator[dict[str, Any]]:
        if not self.index_path.exists():
            return
        data = self.index_path.read_bytes()
        end = data.rfind(b"\n") + 1
        for n, line in enumerate(data[:end].split(b"\n")[:-1], start=1):
            if not line.strip():
                continue
            e = _parse_line(line)
            if e is None:
                if warn:
                    log.warning("%s:%d: a garbled index line was skipped", self.index_path, n)
                continue
            yield e


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        e = json.loads(line)
    except ValueError:
        return None
    if not isinstance(e, dict) or not isinstance(e.get("message_id"), str):
        return None
    return e


def _rebuilt_entry(eml: Path, rel: str, salvaged: list[dict[str, Any]]) -> dict[str, Any]:
    """The index entry of a journal copy, from its bytes and anything a garbled index line
    kept of it (matched by Message-ID)."""
    raw = eml.read_bytes()
    h = index_headers(raw)
    mid = h.get("message-id", "")
    head = BytesHeaderParser(policy=default).parsebytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n")
    x: dict[str, Any] = {f: (str(head[name]) if name in head else None) for f, name in _X.items()}
    with contextlib.suppress(TypeError, ValueError):
        x["year"] = int(x["year"])
    old = next((d for d in salvaged if d.get("message_id") == mid), {})
    digest = eml.stem.rsplit(".", 1)[-1]
    # an incoming message the mail intake kept: ``incoming:<Message-ID or sha256:hex>``
    incoming = (f"incoming:{mid}", f"incoming:sha256:{hashlib.sha256(raw).hexdigest()}")
    keys = [k for k in (old.get("key"), *_key_candidates(x), *incoming)
            if isinstance(k, str) and _key_digest(k) == digest and _safe(k) == eml.stem[:-9]]
    if keys and keys[0].startswith("incoming:"):
        x = dict.fromkeys(_X, None) | {"kind": "incoming"}
        with contextlib.suppress(ValueError):
            x["year"] = int(rel.split("/", 1)[0])
    sent_at = old.get("sent_at")
    return {
        "message_id": mid, "key": keys[0] if keys else None, **x,
        "from": h.get("from", ""), "to": h.get("to", ""), "cc": h.get("cc", ""),
        "subject": h.get("subject", ""), "date": h.get("date", ""),
        "sent_at": sent_at if isinstance(sent_at, str) else None,
        "sha256": hashlib.sha256(raw).hexdigest(), "file": rel,
    }
