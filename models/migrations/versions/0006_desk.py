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
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.migrations.kit import UTCDateTime, add_columns, drop_columns

revision = "0006_desk"
down_revision = "0005_kinds"


def upgrade() -> None:
    add_columns(
        "requests",
        sa.Column("ladder", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("ladder_from", UTCDateTime(), nullable=True),
        sa.Column("extended_to", sa.Date(), nullable=True),
    )
    with op.batch_alter_table("slot_states") as batch:
        batch.add_column(sa.Column("ladder", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_slot_state", type_="unique")
        batch.create_unique_constraint("uq_slot_state_ladder", ["request_id", "ladder", "slot"])
    add_columns("submissions", sa.Column("withdrawn_at", UTCDateTime(), nullable=True))
    add_columns("audit_log", sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    drop_columns("audit_log", "reason")
    drop_columns("submissions", "withdrawn_at")
    op.execute("DELETE FROM slot_states WHERE ladder > 0")
    with op.batch_alter_table("slot_states") as batch:
        batch.drop_constraint("uq_slot_state_ladder", type_="unique")
        batch.create_unique_constraint("uq_slot_state", ["request_id", "slot"])
        batch.drop_column("ladder")
    drop_columns("requests", "extended_to", "ladder_from", "due", "ladder")
