"""Journal copies: .eml per sent message and an index (jsonl + csv) for ESDH filing."""

from __future__ import annotations

import csv
import email
import hashlib
from datetime import timedelta
from email.policy import default
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from letters.delivery import DirectoryTransport, send_pending
from letters.journal import FIELDS, Journal, index_headers
from letters.mail import HeaderInjection, build
from models.db import session
from models.outbox import OutboxRow
from tests.letters.mailtools import DOMAIN, TZ, WINTER, fill, letter, migrated, reminder


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


# --- the index's header values: read directly, as the email package reads them ------------


def _package_headers(raw: bytes) -> dict[str, str]:
    """What the index held when every head was parsed with the email package."""
    from email.parser import BytesHeaderParser

    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    h = BytesHeaderParser(policy=default).parsebytes(head)
    return {k: str(h[k]) for k in ("message-id", "from", "to", "cc", "subject", "date") if k in h}


_words = st.sampled_from(
    "Eskalering: Påmindelse Rykker Beskæftigelses- og Integrationsudvalget mangler årsrapport "
    "frist 1. maj 2012 – (frist) «x» ÆØÅ a_b =x ?y".split())


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(subject=st.one_of(st.lists(_words, min_size=1, max_size=25).map(" ".join),
                         st.text(max_size=120)),
       name=st.text(max_size=40),
       to=st.lists(st.from_regex(r"[a-z0-9_'+-]{1,6}(\.[a-z0-9_'+-]{1,5})?@[a-z0-9-]{1,10}\.example",
                                 fullmatch=True),
                   min_size=1, max_size=8),
       committee=st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
       day=st.integers(min_value=0, max_value=364))
def test_index_headers_equal_the_email_package(subject: str, name: str, to: list[str],
                                               committee: str, day: int) -> None:
    o = letter(committee, subject=subject, sender=(name, "integration@kk.example"),
               to=tuple(to), cc=() if day % 3 else ("sekretariat@kk.example",),
               date=WINTER + timedelta(days=day, minutes=day * 7))
    try:
        raw = build(o, DOMAIN, TZ)
    except HeaderInjection:
        return
    assert index_headers(raw) == _package_headers(raw)


@pytest.mark.parametrize("head", [
    b"Message-ID: <a@b>\r\nSubject: =?utf-8?q?=C3=A6?= x\r\nTo: \"A, B\" <a@b.example>\r\n",
    b"Subject: =?utf-8?b?w6bDuMOl?=\r\nDate: Fri, 20 Jan 2012 09:00:00 -0000\r\n",
    b"Subject: hello\r\n  world\r\nDate: Mon, 23 Jan 2012 09:00:00 +0100\r\nTo: a@b, c@d\r\n",
    b"Subject: =?utf-8?q?=FF?=\r\nDate: Sat, 21 Jan 2012 09:00:00 +0100\r\nCc: x (y) <z@w>\r\n",
    b"From: =?utf-8?q?=C3=85se?= <a@b.example>\r\nSubject: caf\xc3\xa9\r\nSubject: second\r\n",
    b"Date: not a date\r\nMessage-ID: <x y@z>\r\nTo: a@b..c\r\n",
])
def test_index_headers_of_other_shapes(head: bytes) -> None:
    raw = head + b"\r\nbody\r\n"
    assert index_headers(raw) == _package_headers(raw)
