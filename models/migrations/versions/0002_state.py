"""State of the wheel in motion: cycle years, requests, slot states, documents,
submissions, barometer readings and the audit log (``models/state.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, create_table, drop_table, s

revision = "0002_state"
down_revision = "0001_outbox"


def upgrade() -> None:
    create_table(
        "cycle_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("deliverable", s(40), nullable=False),
        sa.Column("committee", s(40), nullable=False),
        sa.Column("opened_by", s(40), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("status", s(10), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "deliverable", "committee", name="uq_request"),
        index=["year", "status"],
    )
    create_table(
        "slot_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("slot", s(20), nullable=False),
        sa.Column("state", s(10), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outbox_key", s(200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "slot", name="uq_slot_state"),
        index=["request_id"],
    )
    create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", s(64), nullable=False),
        sa.Column("filename", s(255), nullable=False),
        sa.Column("path", s(500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("outcome", s(10), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        index=["request_id"],
    )
    create_table(
        "barometer_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal", s(40), nullable=False),
        sa.Column("period", s(20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", s(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("goal", "period", name="uq_barometer_reading"),
    )
    create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("actor", s(80), nullable=False),
        sa.Column("action", s(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("committee", s(40), nullable=True),
        sa.Column("deliverable", s(40), nullable=True),
        sa.Column("event", s(40), nullable=True),
        sa.Column("slot", s(20), nullable=True),
        sa.Column("ref", s(200), nullable=True),
        sa.Column("outcome", s(40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    drop_table("audit_log")
    drop_table("barometer_readings")
    drop_table("submissions", index=["request_id"])
    drop_table("documents")
    drop_table("slot_states", index=["request_id"])
    drop_table("requests", index=["year", "status"])
    drop_table("cycle_years")
