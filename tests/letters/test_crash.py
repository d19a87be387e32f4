"""Crash test: the sender is killed with SIGKILL at named phases, then rerun.

52 cycles (13 per phase: after_claim, during_data, after_250_before_commit, after_commit),
each in a forked sender process whose fault hooks (``AARSHJUL_FAULT=phase:2``) kill it at
its second hit of the phase; the next cycle's sender recovers what the dead one left, and a
last run drains the outbox. One aiosmtpd server sees everything. On the server: every
logical message arrived, never two copies with different Message-IDs (or different bytes),
and a second copy only for the messages in flight at an after_250_before_commit kill; those,
and the during_data ones (which the sender cannot tell apart), are flagged uncertain and
alerted.

The fault is always the 2nd hit: the first message a sender handles is the one a previous
kill left behind (lowest id), so no message is hit twice.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from letters.delivery import PHASES, Faults, SmtpTransport, send_pending
from letters.journal import Journal
from models.db import make_engine, session
from models.outbox import OutboxAlert, OutboxRow
from tests.letters.mailtools import DOMAIN, WINTER, fill, migrated, reminder
from tests.smtpd import serve

CYCLES_PER_PHASE = 13
PER_CYCLE = 3


def _sender(db_url: str, smtp_url: str, journal: Path, out: Path, fault: str | None) -> int:
    """Fork a sender; returns its wait status (killed or exit 0)."""
    pid = os.fork()
    if pid == 0:  # the child: a fresh engine, the fault hook armed, then send
        code = 1
        try:
            engine = make_engine(db_url)
            report = send_pending(engine, SmtpTransport(smtp_url), Journal(journal), now=WINTER,
                                  batch=2, faults=Faults(fault))
            out.write_text(json.dumps(report.as_dict()))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


@pytest.mark.slow
def test_kill_9_at_every_phase_then_rerun(tmp_path: Path) -> None:
    engine = migrated(tmp_path)
    db_url = str(engine.url)
    journal = tmp_path / "journal"
    in_flight: dict[str, list[str]] = {p: [] for p in PHASES}  # phase -> keys left "sending"
    kills: Counter[str] = Counter()
    n = 0
    schedule = [p for _ in range(CYCLES_PER_PHASE) for p in PHASES]
    with serve() as server:
        for cycle, phase in enumerate(schedule):
            fill(engine, [replace(reminder(f"K{n + i:03d}"), subject=f"Crash {n + i:03d}")
                          for i in range(PER_CYCLE)])
            n += PER_CYCLE
            status = _sender(db_url, server.url, journal, tmp_path / "report.json", f"{phase}:2")
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                f"cycle {cycle}: the {phase} hook did not kill the sender")
            kills[phase] += 1
            with session(engine) as s:
                sending = [r.key for r in s.exec(select(OutboxRow).where(
                    OutboxRow.status == "sending"))]
            assert len(sending) == (1 if phase in ("during_data", "after_250_before_commit")
                                    else 0), (cycle, phase, sending)
            in_flight[phase] += sending
        status = _sender(db_url, server.url, journal, tmp_path / "report.json", None)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        drain = json.loads((tmp_path / "report.json").read_text())
        received = list(server.handler.received)

    assert len(schedule) >= 50 and min(kills.values()) >= 5
    with session(engine) as s:
        rows = {r.key: r for r in s.exec(select(OutboxRow))}
        alerted = {a.key for a in s.exec(select(OutboxAlert)) if a.kind == "uncertain"}
    assert len(rows) == n
    assert {r.status for r in rows.values()} == {"sent"}

    by_subject: dict[str, list[bytes]] = {}
    for r in received:
        by_subject.setdefault(r.subject, []).append(r.data)
    # 0 missing logical messages
    assert set(by_subject) == {r.subject for r in rows.values()}
    # 0 pairs of copies with different Message-IDs (or different bytes)
    for subject, copies in by_subject.items():
        assert len({c for c in copies}) == 1, subject
    twice = {rows_key for rows_key, r in rows.items() if len(by_subject[r.subject]) > 1}
    # a second copy only from after_250_before_commit, each of those exactly twice
    assert twice == set(in_flight["after_250_before_commit"])
    assert all(len(by_subject[rows[k].subject]) == 2 for k in twice)
    # ... and reported: flagged uncertain and alerted (the during_data ones too: the sender
    # cannot know whether the server got the end of the data)
    maybe = set(in_flight["after_250_before_commit"]) | set(in_flight["during_data"])
    assert {k for k, r in rows.items() if r.uncertain} == maybe
    assert alerted == maybe
    assert drain["deliveries"] and all(d["status"] != "failed" for d in drain["deliveries"])
    # the journal holds each message once
    entries = list(Journal(journal).entries())
    assert sorted(e["key"] for e in entries) == sorted(rows)
    assert all(e["message_id"].endswith(f"@{DOMAIN}>") for e in entries)
