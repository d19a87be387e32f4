"""Sender health on ``outbox_control``: why the mail server could not be reached, and when
a message last went out (``models/outbox.py``, ``letters.delivery.sender_health``).
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, add_columns, drop_columns

revision = "0004_sender_health"
down_revision = "0003_budget"


def upgrade() -> None:
    add_columns(
        "outbox_control",
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.Column("last_ok_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    drop_columns("outbox_control", "last_ok_at", "last_error_at", "last_error")
