"""The state tables: migrations and models agree, instants round-trip as UTC, constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import models.budget_state
import models.outbox  # noqa: F401 - the outbox tables are part of the metadata
from models.db import all_metadata
from models.state import STATE_TABLES, CycleYear, Request, SlotState
from tests.dbtools import BACKENDS, database


@pytest.fixture(params=BACKENDS)
def eng(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with database(request.param, tmp_path) as e:
        yield e


def test_migrations_and_models_agree(eng):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with eng.connect() as c:
        diff = compare_metadata(
            MigrationContext.configure(c, opts={"compare_type": True}), all_metadata()
        )
    assert diff == []
    names = set(inspect(eng).get_table_names())
    assert {m.__tablename__ for m in STATE_TABLES} <= names  # type: ignore[attr-defined]
    with eng.connect() as c:
        head = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert head == "0011_watch"


def test_instants_round_trip_as_aware_utc(eng):
    plus2 = timezone(timedelta(hours=2))
    opened = datetime(2012, 4, 30, 9, 0, tzinfo=plus2)
    with Session(eng) as s:
        s.add(
            Request(
                year=2012,
                deliverable="handleplan",
                committee="BUU",
                opened_by="x",
                opened_at=opened,
            )
        )
        s.commit()
    with Session(eng) as s:
        r = s.exec(select(Request)).one()
    assert r.opened_at == opened and r.opened_at.tzinfo == UTC
    with Session(eng) as s, pytest.raises(Exception, match="naive"):
        s.add(CycleYear(year=2013, started_at=datetime(2013, 1, 1)))
        s.commit()


def test_one_request_per_year_deliverable_committee_and_one_state_per_slot(eng):
    now = datetime(2012, 1, 20, 8, 0, tzinfo=UTC)
    with Session(eng) as s:
        r = Request(
            year=2012, deliverable="handleplan", committee="BUU", opened_by="x", opened_at=now
        )
        s.add(r)
        s.commit()
        rid = r.id or 0
        s.add(SlotState(request_id=rid, slot="before-1", state="sent", at=now))
        s.commit()
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(
            Request(
                year=2012, deliverable="handleplan", committee="BUU", opened_by="y", opened_at=now
            )
        )
        s.commit()
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(SlotState(request_id=rid, slot="before-1", state="skipped", at=now))
        s.commit()
    with Session(eng) as s:  # the same slot of the next ladder is a row of its own
        s.add(SlotState(request_id=rid, ladder=1, slot="before-1", state="sent", at=now))
        s.commit()
    with Session(eng) as s, pytest.raises(IntegrityError):
        s.add(SlotState(request_id=rid, ladder=1, slot="before-1", state="skipped", at=now))
        s.commit()


def test_0006_keeps_slot_states_and_requests_of_before(tmp_path: Path) -> None:
    """A database at 0005_kinds with a sent slot: after 0006_desk the row is ladder 0 and the
    request is on ladder 0 with no stored due date (the first chase reads it)."""
    from models.db import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(eng, "0005_kinds")
    with eng.begin() as c:
        c.execute(text("INSERT INTO requests (year, deliverable, committee, opened_by, opened_at, "
                       "status) VALUES (2012, 'handleplan', 'BUU', 'opfordring', "
                       "'2012-01-20 08:00:00', 'open')"))
        c.execute(text("INSERT INTO slot_states (request_id, slot, kind, state, at) VALUES "
                       "(1, 'before-14', 'before', 'sent', '2012-04-17 07:00:00')"))
    upgrade(eng)
    with Session(eng) as s:
        r = s.exec(select(Request)).one()
        ss = s.exec(select(SlotState)).one()
    assert (r.ladder, r.due, r.ladder_from, r.extended_to) == (0, None, None, None)
    assert (ss.ladder, ss.slot, ss.state) == (0, "before-14", "sent")
    eng.dispose()
