"""What the migrations in ``versions/`` share: the string type the models declare, a table
with its one-column indexes (created and dropped), and the add/drop-columns step of a batch
alteration (SQLite rebuilds the table; PostgreSQL alters it in place).

A released migration is history: what it emits must never change. So a helper here never
changes what it emits either; a migration that needs another shape writes it out, or a new
helper is added beside the old one. ``alembic upgrade head --sql`` on SQLite and PostgreSQL is
the check that a change here emits the same SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from models.db import UTCDateTime

__all__ = ["UTCDateTime", "add_columns", "create_table", "drop_columns", "drop_table", "s"]


def s(n: int) -> AutoString:
    """A string of at most ``n`` characters, typed as SQLModel types a ``str`` field."""
    return AutoString(length=n)


def create_table(name: str, *items: sa.schema.SchemaItem, index: Sequence[str] = ()) -> None:
    """``op.create_table``, then an index ``ix_<table>_<column>`` on each column of ``index``,
    in that order."""
    op.create_table(name, *items)
    for column in index:
        op.create_index(f"ix_{name}_{column}", name, [column])


def drop_table(name: str, index: Sequence[str] = ()) -> None:
    """Undo :func:`create_table` with the same ``index``: its indexes in reverse, then the table."""
    for column in reversed(index):
        op.drop_index(f"ix_{name}_{column}", table_name=name)
    op.drop_table(name)


def add_columns(table: str, *columns: sa.Column) -> None:
    """Add ``columns`` to ``table`` in one batch alteration, in that order."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns ``names`` from ``table`` in one batch alteration, in that order."""
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)
