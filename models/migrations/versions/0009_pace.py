"""The shared sending pace (``AARSHJUL_SMTP_RATE``): ``outbox_control.paced_until``, the next
instant a sender may reserve.
"""

from __future__ import annotations

import sqlalchemy as sa

from models.migrations.kit import UTCDateTime, add_columns, drop_columns

revision = "0009_pace"
down_revision = "0006_desk"


def upgrade() -> None:
    add_columns("outbox_control", sa.Column("paced_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    drop_columns("outbox_control", "paced_until")
