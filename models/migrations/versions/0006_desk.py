"""The coordinator's desk: ladders of slots, extensions, withdrawn submissions, reasons.

- ``requests.ladder``, ``requests.due``, ``requests.ladder_from``: the request's current
  ladder (0 from its letter; an extension or a due date moved later starts the next one),
  the due date it was made for and the instant it starts; ``requests.extended_to``: the
  committee's own due date after ``aarshjul extend``. Existing requests are on ladder 0;
  their ``due`` stays null until the first chase reads it from the wheel.
- ``slot_states.ladder``: slot states are unique per (request, ladder, slot), no longer per
  (request, slot); existing rows belong to ladder 0.
- ``submissions.withdrawn_at``: ``aarshjul reopen`` keeps a submission but withdraws it.
- ``audit_log.reason``: why a coordinator did what they did (``--reason``).

Revision ID: 0006_desk
Revises: 0005_kinds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.db import UTCDateTime

revision = "0006_desk"
down_revision = "0005_kinds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("ladder", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ladder_from", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("extended_to", sa.Date(), nullable=True))
    with op.batch_alter_table("slot_states") as batch:
        batch.add_column(sa.Column("ladder", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_slot_state", type_="unique")
        batch.create_unique_constraint("uq_slot_state_ladder", ["request_id", "ladder", "slot"])
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("withdrawn_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("withdrawn_at")
    op.execute("DELETE FROM slot_states WHERE ladder > 0")
    with op.batch_alter_table("slot_states") as batch:
        batch.drop_constraint("uq_slot_state_ladder", type_="unique")
        batch.create_unique_constraint("uq_slot_state", ["request_id", "slot"])
        batch.drop_column("ladder")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("extended_to")
        batch.drop_column("ladder_from")
        batch.drop_column("due")
        batch.drop_column("ladder")
