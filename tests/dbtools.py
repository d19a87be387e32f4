"""The one place tests get a database: a migrated SQLite file, or PostgreSQL.

PostgreSQL tests use ``AARSHJUL_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); mark them ``@pytest.mark.postgres``
(or parametrize over :data:`BACKENDS`); they skip when the variable is unset, and fail under CI.

- :func:`database`: a fresh, migrated engine: a SQLite file, or a private schema on PostgreSQL
  (cheap: most tests);
- :func:`temp_postgres`: the URL of a whole fresh PostgreSQL database (for what needs one: an
  empty database's first migration, advisory locks, several processes).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalize_url, upgrade

PG_ENV = "AARSHJUL_TEST_POSTGRES_URL"
BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return normalize_url(url)


@contextmanager
def temp_postgres() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (dropped on exit)."""
    base = postgres_base_url()
    name = f"aarshjul_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def sqlite_url(directory: Path, name: str = "aarshjul.sqlite") -> str:
    return f"sqlite:///{directory / name}"


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[Engine]:
    """A fresh, migrated database: a SQLite file in ``tmp``, or a private schema on
    PostgreSQL (dropped afterwards)."""
    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
        upgrade(eng)
        try:
            yield eng
        finally:
            eng.dispose()
        return
    url = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    eng = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
