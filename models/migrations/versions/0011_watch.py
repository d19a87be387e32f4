"""The watchdog's heartbeats and open alerts (``models/watch.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, create_table, drop_table

revision = "0011_watch"
down_revision = "0010_intake"


def upgrade() -> None:
    create_table(
        "heartbeat",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
    )
    create_table(
        "watch_state",
        sa.Column("check", sa.String(length=80), primary_key=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    drop_table("watch_state")
    drop_table("heartbeat")
