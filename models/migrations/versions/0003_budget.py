"""Budget decisions (``models/budget_state.py``): which initiatives were funded.
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, create_table, drop_table, s

revision = "0003_budget"
down_revision = "0002_state"


def upgrade() -> None:
    create_table(
        "budget_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee", s(40), nullable=False),
        sa.Column("initiative", s(500), nullable=False),
        sa.Column("initiative_key", s(500), nullable=False),
        sa.Column("goal", s(40), nullable=True),
        sa.Column("amount_dkk", sa.BigInteger(), nullable=True),
        sa.Column("funded", s(10), nullable=False),
        sa.Column("source", s(255), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "committee", "initiative_key", name="uq_budget_decision"),
        index=["year"],
    )


def downgrade() -> None:
    drop_table("budget_decisions", index=["year"])
