"""Data instead of name matching: a slot state's kind, and whether a reading is illustrative.

``slot_states.kind`` (before, after, escalate) was read from the prefix of the slot's name;
``barometer_readings.illustrative`` was read from the word "illustrativ" in its source. Both
are filled in once, here, from what the rows held, and written explicitly from now on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.migrations.kit import add_columns, drop_columns, s

revision = "0005_kinds"
down_revision = "0004_sender_health"


def upgrade() -> None:
    add_columns("slot_states",
                sa.Column("kind", s(10), nullable=False, server_default="before"))
    op.execute("UPDATE slot_states SET kind = 'after' WHERE slot LIKE 'after-%'")
    op.execute("UPDATE slot_states SET kind = 'escalate' WHERE slot = 'escalate'")
    add_columns("barometer_readings",
                sa.Column("illustrative", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE barometer_readings SET illustrative = "
               "(lower(source) LIKE '%illustrativ%')")


def downgrade() -> None:
    drop_columns("barometer_readings", "illustrative")
    drop_columns("slot_states", "kind")
