"""The shared sending pace (``AARSHJUL_SMTP_RATE``): ``outbox_control.paced_until``, the next
instant a sender may reserve.

Revision ID: 0009_pace
Revises: 0006_desk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.db import UTCDateTime

revision = "0009_pace"
down_revision = "0006_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_control") as batch:
        batch.add_column(sa.Column("paced_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_control") as batch:
        batch.drop_column("paced_until")
