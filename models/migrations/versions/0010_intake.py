"""The mail intake's handled messages (``models/intake_state.py``), one row per message key.
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, create_table, drop_table, s

revision = "0010_intake"
down_revision = "0009_pace"


def upgrade() -> None:
    create_table(
        "intake_messages",
        sa.Column("key", s(250), nullable=False),
        sa.Column("outcome", s(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("from_address", s(320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("committee", s(40), nullable=True),
        sa.Column("deliverable", s(40), nullable=True),
        sa.Column("submissions", sa.JSON(), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=False),
        sa.Column("folder", s(20), nullable=True),
        sa.Column("journal", s(500), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        index=["outcome", "year"],
    )


def downgrade() -> None:
    drop_table("intake_messages", index=["outcome", "year"])
