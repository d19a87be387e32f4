"""State of the wheel in motion: cycle years, requests, slot states, documents,
submissions, barometer readings and the audit log (``models/state.py``).

Revision ID: 0002_state
Revises: 0001_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from models.db import UTCDateTime

revision = "0002_state"
down_revision = "0001_outbox"
branch_labels = None
depends_on = None


def _s(n: int) -> AutoString:
    return AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "cycle_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("deliverable", _s(40), nullable=False),
        sa.Column("committee", _s(40), nullable=False),
        sa.Column("opened_by", _s(40), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("status", _s(10), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "deliverable", "committee", name="uq_request"),
    )
    op.create_index("ix_requests_year", "requests", ["year"])
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_table(
        "slot_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("slot", _s(20), nullable=False),
        sa.Column("state", _s(10), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outbox_key", _s(200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "slot", name="uq_slot_state"),
    )
    op.create_index("ix_slot_states_request_id", "slot_states", ["request_id"])
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", _s(64), nullable=False),
        sa.Column("filename", _s(255), nullable=False),
        sa.Column("path", _s(500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("outcome", _s(10), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_submissions_request_id", "submissions", ["request_id"])
    op.create_table(
        "barometer_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal", _s(40), nullable=False),
        sa.Column("period", _s(20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", _s(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("goal", "period", name="uq_barometer_reading"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("actor", _s(80), nullable=False),
        sa.Column("action", _s(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("committee", _s(40), nullable=True),
        sa.Column("deliverable", _s(40), nullable=True),
        sa.Column("event", _s(40), nullable=True),
        sa.Column("slot", _s(20), nullable=True),
        sa.Column("ref", _s(200), nullable=True),
        sa.Column("outcome", _s(40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("barometer_readings")
    op.drop_index("ix_submissions_request_id", table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("documents")
    op.drop_index("ix_slot_states_request_id", table_name="slot_states")
    op.drop_table("slot_states")
    op.drop_index("ix_requests_status", table_name="requests")
    op.drop_index("ix_requests_year", table_name="requests")
    op.drop_table("requests")
    op.drop_table("cycle_years")
