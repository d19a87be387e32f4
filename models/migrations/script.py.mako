"""${message}"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

## Keep what the migration uses (models/migrations/kit.py: what the migrations share).
from models.migrations.kit import (
    UTCDateTime,
    add_columns,
    create_table,
    drop_columns,
    drop_table,
    s,
)
${imports if imports else ""}
## models.db.migration_heads reads the head from lines `revision = "..."` and
## `down_revision = "..."`: keep them unannotated and in double quotes.
revision = "${up_revision}"
down_revision = ${'"%s"' % down_revision if isinstance(down_revision, str) else repr(down_revision)}
% if branch_labels:
branch_labels = ${repr(branch_labels)}
% endif
% if depends_on:
depends_on = ${repr(depends_on)}
% endif


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
