"""The state of the wheel in motion: what was opened, sent, skipped and handed in.

SQLModel tables on top of the outbox (``models.db``, revision ``0001_outbox``); the Alembic
revision ``0002_state`` creates these, ``0005_kinds`` and ``0006_desk`` add to them. Slots
are *not* stored as a schedule: they are derived from the current ``aarshjul.yaml`` at each
chase, and only what happened to a slot (sent, skipped, cancelled) is kept, unique per
(request, ladder, slot).

A *ladder* is one generation of a request's slots: ladder 0 from its letter; an extension
(``aarshjul extend``) or a due date moved later in the wheel starts ladder n+1 from that
instant (``ladder_from``) for the due date it was made for (``due``), so a ``before-7`` of
ladder 1 is sent even though ladder 0's was.

Instants are stored as UTC (naive in the column, aware in Python) via ``models.db.UTCDateTime``.
The audit log is append-only and holds ids and outcomes, never message bodies or secrets.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime


def _at(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class CycleYear(SQLModel, table=True):
    __tablename__ = "cycle_years"
    year: int = Field(sa_column_kwargs={"autoincrement": False}, primary_key=True)
    started_at: datetime = _at()


class Request(SQLModel, table=True):
    """A (year, deliverable, committee) asked for by a letter (README "The reminder ladder")."""

    __tablename__ = "requests"
    __table_args__ = (sa.UniqueConstraint("year", "deliverable", "committee", name="uq_request"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    deliverable: str = Field(max_length=40)
    committee: str = Field(max_length=40)
    opened_by: str = Field(max_length=40)  # event key
    opened_at: datetime = _at()
    status: str = Field(default="open", max_length=10, index=True)  # RequestStatus
    received_at: datetime | None = _at(nullable=True)  # first arrival
    closed_at: datetime | None = _at(nullable=True)  # when it was registered (or excused)
    # the current ladder: its number, the due date it was made for, and its start (None:
    # ladder 0, from opened_at). A null ``due`` (a request of before 0006_desk) is the
    # wheel's due date as the first chase that sees it finds it.
    ladder: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    due: date | None = Field(default=None)
    ladder_from: datetime | None = _at(nullable=True)
    extended_to: date | None = Field(default=None)  # the committee's own due date (extend)


class SlotState(SQLModel, table=True):
    """What happened to one derived slot of a request; one row per (request, ladder, slot)."""

    __tablename__ = "slot_states"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "ladder", "slot", name="uq_slot_state_ladder"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    ladder: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    slot: str = Field(max_length=20)  # before-N | after-N | escalate
    kind: str = Field(max_length=10, sa_column_kwargs={"server_default": "before"})  # SlotKind
    state: str = Field(max_length=10)  # sent | skipped | cancelled
    due_at: datetime | None = _at(nullable=True)  # the slot's instant as derived then
    at: datetime = _at()  # when the state was recorded (the run's as_of)
    outbox_key: str | None = Field(default=None, max_length=200)


class Document(SQLModel, table=True):
    """A stored file, content-addressed under the data directory."""

    __tablename__ = "documents"
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    filename: str = Field(max_length=255)  # as handed in
    path: str = Field(max_length=500)  # relative to the data directory
    size: int
    stored_at: datetime = _at()


class Submission(SQLModel, table=True):
    """A deliverable handed in; the first closes the request, later ones are revisions."""

    __tablename__ = "submissions"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    document_id: int = Field(foreign_key="documents.id")
    received_at: datetime = _at()
    revision: int = 0  # 0 = the first arrival
    outcome: str = Field(max_length=10)  # on_time | late (of this arrival)
    withdrawn_at: datetime | None = _at(nullable=True)  # ``aarshjul reopen``: kept, not counted


class BarometerReading(SQLModel, table=True):
    __tablename__ = "barometer_readings"
    __table_args__ = (sa.UniqueConstraint("goal", "period", name="uq_barometer_reading"),)
    id: int | None = Field(default=None, primary_key=True)
    goal: str = Field(max_length=40)
    period: str = Field(max_length=20)  # e.g. 2011-H2
    value: float
    source: str = Field(default="", max_length=200)  # e.g. "Danmarks Statistik"
    illustrative: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    recorded_at: datetime = _at()


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what, when, with which outcome. Ids only, no bodies."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at()  # the instant the action is about (as_of)
    recorded_at: datetime = _at()  # wall clock when written
    actor: str = Field(max_length=80)  # cli:user, flow:chase, simulate, ...
    action: str = Field(max_length=40)  # letter, reminder, escalation, receipt, submit, ...
    year: int | None = None
    committee: str | None = Field(default=None, max_length=40)
    deliverable: str | None = Field(default=None, max_length=40)
    event: str | None = Field(default=None, max_length=40)
    slot: str | None = Field(default=None, max_length=20)
    ref: str | None = Field(default=None, max_length=200)  # outbox key, submission id
    outcome: str = Field(max_length=40)  # queued, skipped, cancelled, refused, ...
    reason: str | None = Field(default=None, sa_type=sa.Text)  # a coordinator's why


STATE_TABLES = (
    CycleYear,
    Request,
    SlotState,
    Document,
    Submission,
    BarometerReading,
    AuditEntry,
)


def state_metadata_tables() -> list[sa.Table]:
    return [t.__table__ for t in STATE_TABLES]  # type: ignore[union-attr]
