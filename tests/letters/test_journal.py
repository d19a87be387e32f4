"""Journal copies: .eml per sent message and an index (jsonl + csv) for ESDH filing."""

from __future__ import annotations

import csv
import email
import hashlib
from email.policy import default
from pathlib import Path

from sqlmodel import select

from letters.delivery import DirectoryTransport, send_pending
from letters.journal import FIELDS, Journal
from models.db import session
from models.outbox import OutboxRow
from tests.letters.mailtools import WINTER, fill, letter, migrated, reminder


def _sent(tmp_path: Path) -> tuple[Journal, list[OutboxRow]]:
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU"), reminder("BUU")])
    journal = Journal(tmp_path / "journal")
    send_pending(engine, DirectoryTransport(tmp_path / "out"), journal, now=WINTER)
    with session(engine) as s:
        return journal, list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))


def test_eml_per_message_with_the_exact_bytes(tmp_path: Path) -> None:
    journal, rows = _sent(tmp_path)
    for row in rows:
        path = journal.path_for(row)
        assert path.read_bytes() == row.raw
        assert path.parent.name == "2012" and path.suffix == ".eml"
        m = email.message_from_bytes(path.read_bytes(), policy=default)
        assert m["Message-ID"] == row.message_id


def test_index_jsonl_and_csv(tmp_path: Path) -> None:
    journal, rows = _sent(tmp_path)
    entries = list(journal.entries())
    assert [e["key"] for e in entries] == [r.key for r in rows]
    first = entries[0]
    assert first["message_id"] == rows[0].message_id
    assert first["kind"] == "letter" and first["committee"] == "BUU"
    assert first["event"] == "opfordring" and first["deliverable"] is None
    assert first["to"] == "buu@kk.example" and first["cc"] == "sekretariat@kk.example"
    assert first["subject"] == "Opfordringsskrivelse 2012 – BUU: æøå ÆØÅ"
    assert first["from"].startswith("Beskæftigelses- og Integrationsforvaltningen <")
    assert first["date"] == "Fri, 20 Jan 2012 09:00:00 +0100"
    assert first["sent_at"] == WINTER.isoformat()
    assert first["sha256"] == hashlib.sha256(rows[0].raw).hexdigest()
    assert (journal.directory / first["file"]).read_bytes() == rows[0].raw
    with open(journal.csv_path, encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == list(FIELDS)
    assert [r["message_id"] for r in table] == [r.message_id for r in rows]
    assert table[0]["subject"] == first["subject"] and table[0]["deliverable"] == ""


def test_recording_again_indexes_once_across_processes(tmp_path: Path) -> None:
    journal, rows = _sent(tmp_path)
    again = Journal(journal.directory)  # another process: knows only what is on disk
    for row in rows:
        assert again.record(row, row.raw, sent_at=WINTER) == journal.path_for(row)
    journal.record(rows[0], rows[0].raw)
    assert len(list(Journal(journal.directory).entries())) == len(rows)
    with open(journal.csv_path, encoding="utf-8") as f:
        assert len(f.read().strip().splitlines()) == len(rows) + 1
