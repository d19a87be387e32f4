"""The purge service on SQLite and PostgreSQL (README "Data protection"): past retention,
bodies and journal copies go, the rows stay sent, and nothing is sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from flows import runs
from flows.services.purge import apply_purge, plan_purge
from models.kinds import OutboxStatus, PurgeKind
from models.outbox import OutboxRow
from models.state import AuditEntry, Document
from models.wheel import Retention
from tests.dbtools import BACKENDS, database
from tests.flows.helpers import at, form_docx, mailbox, make_setup


@pytest.mark.parametrize("backend", BACKENDS)
def test_purge_on_each_backend(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        runs.submit(st, 2012, "BUU", "handleplan",
                    form_docx(st, tmp_path / "h.docx", "BUU", "handleplan"),
                    at("2012-04-20T10:00"))
        runs.chase(st, at("2012-04-24T09:00"))
        sent = len(mailbox(tmp_path))
        with Session(eng) as s:
            before = [(r.key, r.status) for r in s.exec(select(OutboxRow)
                                                        .order_by(col(OutboxRow.id)))]
        assert st.journal is not None
        # the sender stamps sent_at with the clock (no virtual clock here): purge as of a
        # day past every retention from now
        later = datetime.now(UTC) + timedelta(days=2000)
        plan = plan_purge(eng, st.data, st.journal, Retention(journal_days=0),
                          later)
        assert plan.found[PurgeKind.OUTBOX_BODIES].count == len(before)
        assert plan.found[PurgeKind.JOURNAL].count == len(before)
        assert plan.found[PurgeKind.SUBMISSIONS].count == 1
        apply_purge(eng, st.journal, plan, actor="test")
        with Session(eng) as s:
            rows = list(s.exec(select(OutboxRow).order_by(col(OutboxRow.id))))
            assert [(r.key, r.status) for r in rows] == before
            assert all(r.raw == b"" and r.status == OutboxStatus.SENT for r in rows)
            assert [d.path for d in s.exec(select(Document))] == [""]
            assert [a.action for a in s.exec(select(AuditEntry))] == ["purge"]
        assert not list((st.data / "journal").rglob("*.eml"))
        assert not list((st.data / "submissions").rglob("*.docx"))
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        runs.chase(st, at("2012-04-24T09:00"))
        assert len(mailbox(tmp_path)) == sent
        again = plan_purge(eng, st.data, st.journal, Retention(journal_days=0),
                           later)
        assert again.empty
