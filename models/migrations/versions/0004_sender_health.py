"""Sender health on ``outbox_control``: why the mail server could not be reached, and when
a message last went out (``models/outbox.py``, ``letters.delivery.sender_health``).

Revision ID: 0004_sender_health
Revises: 0003_budget
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.db import UTCDateTime

revision = "0004_sender_health"
down_revision = "0003_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_control") as t:
        t.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        t.add_column(sa.Column("last_error_at", UTCDateTime(), nullable=True))
        t.add_column(sa.Column("last_ok_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_control") as t:
        t.drop_column("last_ok_at")
        t.drop_column("last_error_at")
        t.drop_column("last_error")
