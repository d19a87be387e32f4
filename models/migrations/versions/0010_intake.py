"""The mail intake's handled messages (``models/intake_state.py``), one row per message key.

Revision ID: 0010_intake
Revises: 0009_pace
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from models.db import UTCDateTime

revision = "0010_intake"
down_revision = "0009_pace"
branch_labels = None
depends_on = None


def _s(n: int) -> AutoString:
    return AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "intake_messages",
        sa.Column("key", _s(250), nullable=False),
        sa.Column("outcome", _s(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("from_address", _s(320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("committee", _s(40), nullable=True),
        sa.Column("deliverable", _s(40), nullable=True),
        sa.Column("submissions", sa.JSON(), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=False),
        sa.Column("folder", _s(20), nullable=True),
        sa.Column("journal", _s(500), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_intake_messages_outcome", "intake_messages", ["outcome"])
    op.create_index("ix_intake_messages_year", "intake_messages", ["year"])


def downgrade() -> None:
    op.drop_index("ix_intake_messages_year", table_name="intake_messages")
    op.drop_index("ix_intake_messages_outcome", table_name="intake_messages")
    op.drop_table("intake_messages")
