"""Budget decisions (``models/budget_state.py``): which initiatives were funded.

Revision ID: 0003_budget
Revises: 0002_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from models.db import UTCDateTime

revision = "0003_budget"
down_revision = "0002_state"
branch_labels = None
depends_on = None


def _s(n: int) -> AutoString:
    return AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "budget_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee", _s(40), nullable=False),
        sa.Column("initiative", _s(500), nullable=False),
        sa.Column("initiative_key", _s(500), nullable=False),
        sa.Column("goal", _s(40), nullable=True),
        sa.Column("amount_dkk", sa.BigInteger(), nullable=True),
        sa.Column("funded", _s(10), nullable=False),
        sa.Column("source", _s(255), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "committee", "initiative_key", name="uq_budget_decision"),
    )
    op.create_index("ix_budget_decisions_year", "budget_decisions", ["year"])


def downgrade() -> None:
    op.drop_index("ix_budget_decisions_year", table_name="budget_decisions")
    op.drop_table("budget_decisions")
