"""The outbox: messages built once and sent exactly once; alerts; pause/resume.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.migrations.kit import UTCDateTime

revision = "0001_outbox"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("committee", sa.String(length=40), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=True),
        sa.Column("deliverable", sa.String(length=40), nullable=True),
        sa.Column("slot", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("envelope_from", sa.String(length=320), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("resend_pending", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_year_kind", "outbox", ["year", "kind"])
    op.create_table(
        "outbox_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "outbox_id", sa.Integer(), sa.ForeignKey("outbox.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("outbox_id", "kind", name="uq_outbox_alert"),
    )
    op.create_table(
        "outbox_control",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("outbox_control")
    op.drop_table("outbox_alert")
    op.drop_index("ix_outbox_year_kind", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
