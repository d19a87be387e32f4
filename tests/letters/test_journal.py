"""Journal copies: .eml per sent message and an index (jsonl + csv) for ESDH filing."""

from __future__ import annotations

import csv
import email
import hashlib
import json
import logging
import os
import re
import signal
from datetime import timedelta
from email.policy import default
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from letters.delivery import DirectoryTransport, Faults, SmtpTransport, send_pending
from letters.journal import FIELDS, Journal, JournalError, index_headers
from letters.mail import HeaderInjection, build
from models.db import session
from models.outbox import OutboxAlert, OutboxRow
from tests.letters.mailtools import DOMAIN, TZ, WINTER, fill, letter, migrated, reminder
from tests.smtpd import smtpd  # noqa: F401


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


# --- a damaged index never stops a commit after the server's 250 --------------------------


def _lines(journal: Journal) -> list[bytes]:
    return journal.index_path.read_bytes().split(b"\n")


def test_torn_and_garbled_index_lines_are_skipped_and_repaired(
        tmp_path: Path, smtpd, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU"), reminder("BUU")])
    journal_dir = tmp_path / "journal"
    send_pending(engine, SmtpTransport(smtpd.url), Journal(journal_dir), now=WINTER)
    index = journal_dir / "index.jsonl"
    first, second, third, _ = index.read_bytes().split(b"\n")
    # a hand edit garbles the first line; a crash (or a full disk) tore the last one
    index.write_bytes(b"{not json at all\n" + second + b"\n" + third[:70])
    before = len(smtpd.handler.received)

    fill(engine, [letter("SUU"), letter("TMU"), reminder("KFU")])
    with caplog.at_level(logging.WARNING, logger="aarshjul.journal"):
        report = send_pending(engine, SmtpTransport(smtpd.url), Journal(journal_dir),
                              now=WINTER + timedelta(hours=1))
    # each message of the batch went out exactly once, and every row is committed as sent
    assert len(report.sent) == 3 and len(smtpd.handler.received) - before == 3
    with session(engine) as s:
        assert {r.status for r in s.exec(select(OutboxRow))} == {"sent"}
        assert s.exec(select(OutboxAlert)).all() == []
    # the warnings name the file and the line
    text = caplog.text
    assert f"{index}:1: a garbled index line was skipped" in text
    assert f"{index}:3: a torn last index line was skipped" in text
    # every .eml has exactly one index entry, the torn tail replaced (not appended after)
    data = index.read_bytes()
    assert data.endswith(b"\n") and all(json.loads(line) for line in data.splitlines())
    entries = list(Journal(journal_dir).entries())
    emls = sorted(p.relative_to(journal_dir).as_posix() for p in journal_dir.glob("*/*.eml"))
    assert sorted(e["file"] for e in entries) == emls and len(emls) == 6
    assert len({e["message_id"] for e in entries}) == 6
    # the rebuilt entries: keys verified against the file names, from the torn line's
    # remains or the X-Aarshjul headers; the time sent where the line still held it
    by_key = {e["key"]: e for e in entries}
    assert set(by_key) == {letter(c).key for c in ("BUU", "KFU", "SUU", "TMU")} | {
        reminder(c).key for c in ("BUU", "KFU")}
    assert json.loads(first)["sent_at"] == WINTER.isoformat()
    assert by_key[letter("BUU").key]["sent_at"] is None  # garbled beyond recovery
    assert by_key[letter("BUU").key]["subject"] == json.loads(first)["subject"]
    assert by_key[letter("KFU").key] == json.loads(second)


def test_a_journal_that_raises_anything_never_stops_the_commit(tmp_path: Path, smtpd) -> None:  # noqa: F811
    class Broken(Journal):
        def record(self, row: object, raw: bytes, *, sent_at: object = None) -> Path:
            raise RuntimeError("not an OSError")

    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    report = send_pending(engine, SmtpTransport(smtpd.url), Broken(tmp_path / "j"), now=WINTER)
    assert sorted(report.sent) == sorted([letter("BUU").key, letter("KFU").key])
    assert len(smtpd.handler.received) == 2
    with session(engine) as s:
        assert {r.status for r in s.exec(select(OutboxRow))} == {"sent"}
        details = [a.detail for a in s.exec(select(OutboxAlert)) if a.kind == "journal"]
    assert len(details) == 2 and all("RuntimeError: not an OSError" in d for d in details)


def test_journal_errors_name_the_file(tmp_path: Path) -> None:
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    with session(engine) as s:
        row = s.exec(select(OutboxRow)).one()
    (tmp_path / "not-a-dir").write_text("a file where the journal should be")
    with pytest.raises(JournalError, match=re.escape(str(tmp_path / "not-a-dir"))):
        Journal(tmp_path / "not-a-dir").record(row, row.raw, sent_at=WINTER)
    journal = Journal(tmp_path / "j")
    journal.record(row, row.raw, sent_at=WINTER)
    journal.path_for(row).unlink()
    journal.path_for(row).mkdir()  # a directory where the copy should be
    with pytest.raises(JournalError, match=re.escape(str(journal.path_for(row)))):
        journal.record(row, row.raw + b"x", sent_at=WINTER)


def test_repair_indexes_every_eml_once(tmp_path: Path) -> None:
    journal, rows = _sent(tmp_path)
    journal.index_path.write_bytes(journal.index_path.read_bytes().split(b"\n", 1)[1])
    again = Journal(journal.directory)
    again.repair()
    entries = list(again.entries())
    assert sorted(e["key"] for e in entries) == sorted(r.key for r in rows)
    again.repair()
    assert list(Journal(journal.directory).entries()) == entries


# --- index.csv is derived from index.jsonl --------------------------------------------------


def _record_all(journal: Journal, rows: list[OutboxRow]) -> None:
    for row in rows:
        journal.record(row, row.raw, sent_at=WINTER)


def _killed_between_the_writes(journal_dir: Path, rows: list[OutboxRow], nth: int) -> int:
    """Record ``rows`` in a forked process that is killed (SIGKILL) after the index.jsonl
    line of its ``nth`` record, before that record's index.csv row."""
    pid = os.fork()
    if pid == 0:
        try:
            _record_all(Journal(journal_dir, faults=Faults(f"between_index_and_csv:{nth}")),
                        rows)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def test_a_kill_between_the_index_writes_loses_no_csv_row(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = migrated(tmp_path)
    fill(engine, [letter(c) for c in ("BUU", "KFU", "SUU")] + [reminder("BUU"), reminder("TMU")])
    with session(engine) as s:
        rows = list(s.exec(select(OutboxRow).order_by(col(OutboxRow.id))))
    clean = tmp_path / "clean"
    _record_all(Journal(clean), rows)

    crashed = tmp_path / "crashed"
    status = _killed_between_the_writes(crashed, rows[:3], 3)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with open(crashed / "index.csv", encoding="utf-8", newline="") as f:
        assert len(list(csv.DictReader(f))) == 2  # the third row is lost ...
    assert len(list(Journal(crashed).entries())) == 3  # ... its index line is not
    with caplog.at_level(logging.WARNING, logger="aarshjul.journal"):
        _record_all(Journal(crashed), rows[3:])  # the next record, in another process
    assert f"{crashed / 'index.csv'}: rewritten from index.jsonl" in caplog.text
    assert (crashed / "index.csv").read_bytes() == (clean / "index.csv").read_bytes()
    assert (crashed / "index.jsonl").read_bytes() == (clean / "index.jsonl").read_bytes()


@pytest.mark.parametrize("damage", ["missing", "torn", "edited", "truncated to the header"])
def test_repair_rewrites_the_csv_from_the_jsonl(tmp_path: Path, damage: str) -> None:
    journal, rows = _sent(tmp_path)
    good = journal.csv_path.read_bytes()
    if damage == "missing":
        journal.csv_path.unlink()
    elif damage == "torn":
        journal.csv_path.write_bytes(good[:-25])
    elif damage == "edited":
        journal.csv_path.write_bytes(good.replace(b"BUU", b"BUUUU"))
    else:
        journal.csv_path.write_bytes(good.split(b"\r\n", 1)[0] + b"\r\n")
    Journal(journal.directory).repair()
    assert journal.csv_path.read_bytes() == good
    # and a later record appends to the repaired file, as a clean run would
    again = Journal(journal.directory)
    again.record(rows[0], rows[0].raw, sent_at=WINTER)
    assert journal.csv_path.read_bytes() == good


def test_a_fault_spec_is_checked() -> None:
    with pytest.raises(ValueError, match="between_index_and_csv"):
        Faults("between_index_and_cvs:1")
    assert Faults("between_index_and_csv:2").armed("between_index_and_csv")


def test_a_lost_index_is_rebuilt_at_the_next_record(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    journal, rows = _sent(tmp_path)
    healthy = journal.index_path.stat().st_ino
    Journal(journal.directory).repair()  # nothing to mend: the file is left alone
    assert journal.index_path.stat().st_ino == healthy
    journal.index_path.unlink()
    (tmp_path / "more").mkdir()
    engine = migrated(tmp_path / "more")
    fill(engine, [letter("SUU")])
    with session(engine) as s:
        new = s.exec(select(OutboxRow)).one()
    with caplog.at_level(logging.WARNING, logger="aarshjul.journal"):
        Journal(journal.directory).record(new, new.raw, sent_at=WINTER)
    assert "index.jsonl is missing: rebuilt from the .eml files" in caplog.text
    entries = list(Journal(journal.directory).entries())
    assert sorted(e["key"] for e in entries) == sorted([r.key for r in rows] + [new.key])
    assert entries[-1]["sent_at"] == WINTER.isoformat()  # the new one, as recorded
    with open(journal.csv_path, encoding="utf-8", newline="") as f:
        assert [r["message_id"] for r in csv.DictReader(f)] == [e["message_id"] for e in entries]
