"""Alembic environment for aarshjul (run from code by ``models.db.upgrade``, or the CLI).

The connection comes from ``config.attributes["connection"]`` when called from code; else
the URL is ``sqlalchemy.url``, or ``$AARSHJUL_DATABASE_URL``, which the operator's
environment file sets (README "Settings"). This script is the Alembic command line's own
entry point, outside the application: the one place besides ``flows/settings.py`` that
reads one of our variables (``tests/test_layers.py`` names it).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from models.db import all_metadata, database_url, include_object, is_sqlite, make_engine

target_metadata = all_metadata()
config = context.config


def _url() -> str:
    return database_url(config.get_main_option("sqlalchemy.url")
                        or os.environ.get("AARSHJUL_DATABASE_URL"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(str(connection.engine.url)),
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
