"""Databases for tests: a migrated SQLite file, or a throw-away PostgreSQL database.

PostgreSQL tests use ``AARSHJUL_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``): :func:`temp_postgres` creates a
database with a unique name on that server and drops it afterwards. Mark such tests
``@pytest.mark.postgres``; they skip when the variable is unset (and fail under CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalize_url

PG_ENV = "AARSHJUL_TEST_POSTGRES_URL"


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
