"""Records in the letters layer: journal copies forgotten by ``purge``, slimmed outbox copies
(README "Data protection")."""

from __future__ import annotations

import csv
import hashlib
import logging
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlmodel import select

from letters.delivery import DirectoryTransport, send_pending
from letters.journal import Journal
from letters.mail import Attachment, build
from letters.slim import is_slimmed, slim
from models.db import session
from models.outbox import OutboxRow
from tests.letters.mailtools import DOMAIN, TZ, WINTER, fill, letter, migrated, reminder


def test_forget_removes_copies_and_entries_and_recording_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU"), reminder("BUU")])
    journal = Journal(tmp_path / "journal")
    send_pending(engine, DirectoryTransport(tmp_path / "out"), journal, now=WINTER)
    with session(engine) as s:
        rows = list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))
    first = next(e["file"] for e in journal.entries())
    caplog.set_level(logging.WARNING, "aarshjul.journal")
    freed = journal.forget({first})
    assert freed == len(rows[0].raw) and not (journal.directory / first).exists()
    assert [e["key"] for e in journal.entries()] == [r.key for r in rows[1:]]
    with open(journal.csv_path, encoding="utf-8", newline="") as f:
        assert [r["key"] for r in csv.DictReader(f)] == [r.key for r in rows[1:]]
    journal.record(rows[0], rows[0].raw)  # recorded again (a restore's reconciliation)
    assert [e["key"] for e in journal.entries()] == [r.key for r in (*rows[1:], rows[0])]
    assert not caplog.records  # nothing looked damaged
    fresh = Journal(tmp_path / "journal")
    fresh.repair()
    assert [e["key"] for e in fresh.entries()] == [r.key for r in (*rows[1:], rows[0])]


def test_slim_drops_attachments_only() -> None:
    o = letter("BUU")
    o = o.__class__(**{**o.__dict__, "attachments": (
        Attachment("brev.docx", b"PK\x03\x04" + bytes(range(256)) * 100),
        Attachment("bilag.pdf", b"%PDF-1.7 " * 500))})
    raw = build(o, DOMAIN, TZ)
    thin = slim(raw)
    assert thin is not None and len(thin) < len(raw) // 4
    assert thin.split(b"\r\n\r\n", 1)[0] == raw.split(b"\r\n\r\n", 1)[0]  # header as sent
    m = message_from_bytes(thin, policy=policy.default)
    assert [p.get_content_disposition() for p in m.iter_parts()] == [None, "inline", "inline"]
    assert b"journalkopien" in thin
    original = message_from_bytes(raw, policy=policy.default)
    assert m.get_body(("plain",)).get_content() == original.get_body(("plain",)).get_content()
    assert is_slimmed(thin, hashlib.sha256(raw).hexdigest())
    assert not is_slimmed(raw, hashlib.sha256(raw).hexdigest())
    assert slim(thin) is None  # nothing left to drop
    assert slim(build(reminder("BUU"), DOMAIN, TZ)) is None
