"""The database: engine, sessions and Alembic migrations (SQLite default, PostgreSQL in production).

The URL comes from the settings (``AARSHJUL_DATABASE_URL``, README "Settings"), or, for the
Alembic command line, from ``models/migrations/env.py``; without it the state is the SQLite
file ``aarshjul.sqlite`` in the working directory. PostgreSQL URLs use psycopg 3
(``postgresql+psycopg://user@host:5432/db``; a bare ``postgresql://`` is read the same way).

Every table is created by the Alembic migrations in ``models/migrations`` (run from code
with :func:`upgrade`), never by ``metadata.create_all``: the tests check that the SQLModel
tables and the migrations agree.

SQLite is opened in WAL mode with a busy timeout and foreign keys on. The pysqlite driver's
own transaction handling is switched off so that SQLAlchemy's ``BEGIN`` is really sent, and a
connection with the execution option ``sqlite_begin="IMMEDIATE"`` (see :func:`immediate`)
takes SQLite's write lock when its transaction begins: that is how the single-writer default
claims rows without two writers deadlocking on a lock upgrade.
"""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

DEFAULT_URL = "sqlite:///aarshjul.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# The PostgreSQL advisory lock key that serializes migrations (any fixed 64-bit number; this
# one is "aarshjul" in ASCII, read as an integer).
MIGRATION_LOCK = 0x616172736A756C
# Tables in the app database that our migrations do not own: APScheduler's job store
# (``aarshjul serve``, flows/serve.py) creates and alters its own.
FOREIGN_TABLES = frozenset({"aarshjul_scheduler_jobs"})
# Every module that defines tables; Alembic's env and the models-vs-migrations checks load
# them all through all_metadata() (a test checks the list against models/*.py).
TABLE_MODULES = ("models.outbox", "models.state", "models.budget_state", "models.intake_state",
                 "models.watch")


def database_url(given: str | None) -> str:
    """The database URL: ``given`` (psycopg 3 for PostgreSQL), else SQLite in the cwd."""
    return normalize_url(given or DEFAULT_URL)


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def all_metadata() -> Any:
    """SQLModel's metadata with every table of the app registered (see TABLE_MODULES)."""


    for module in TABLE_MODULES:
        importlib.import_module(module)
    return SQLModel.metadata


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic's filter: leave the tables in :data:`FOREIGN_TABLES` (and their indexes) out
    of autogenerate, so ``alembic revision --autogenerate`` on a database that ``serve`` has
    used does not propose to drop the job store."""
    if type_ == "table":
        return name not in FOREIGN_TABLES
    table = getattr(obj, "table", None)  # indexes, columns and constraints carry their table
    return getattr(table, "name", None) not in FOREIGN_TABLES


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _wal(cur: Any) -> None:
    """Switch the database to WAL (once: the mode is kept in the file). Switching needs the
    database to itself, and SQLite answers "database is locked" at once, without waiting for
    the busy timeout, while another connection reads or writes it: so several first starts on
    a new file (one of them already migrating) try again until the busy timeout is spent."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for ``url``. SQLite: WAL, busy timeout, foreign keys, real BEGIN statements."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kw.setdefault("pool_pre_ping", True)
        return create_engine(url, **kw)
    connect_args = kw.pop("connect_args", {})
    connect_args.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kw)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        try:
            database = make_url(url).database
            if database and database != ":memory:":
                _wal(cur)
                _private(database)
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine


def _private(database: str) -> None:
    """The SQLite file and its -wal and -shm: 0600 whatever the umask (README "Data
    protection"). SQLite gives the -wal and -shm files it creates later the mode of the
    database file."""
    for path in (database, database + "-wal", database + "-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass


def immediate(engine: Engine) -> Engine:
    """The same engine whose transactions take the write lock at once on SQLite.

    On PostgreSQL it is the engine itself (row locks come from ``FOR UPDATE SKIP LOCKED``).
    """
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A SQLModel session (objects stay readable after commit). The caller commits."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for a read-then-write transaction. On SQLite it begins with ``BEGIN
    IMMEDIATE``: a deferred transaction that read first fails at once with "database is
    locked" when another process wrote meanwhile (WAL snapshot), whatever the busy timeout."""
    with session(immediate(engine)) as s:
        yield s


def alembic_config(engine_or_url: Engine | str | None = None) -> Any:
    """An Alembic ``Config`` with the script location inside the package (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if isinstance(engine_or_url, str):
        cfg.set_main_option("sqlalchemy.url", normalize_url(engine_or_url).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine | str, revision: str = "head") -> None:
    """``alembic upgrade head``: create or update every table. Safe to call on every start,
    and from several processes at once (two first runs on an empty database): the upgrade runs
    in one transaction that first takes a lock, so the others wait and then find nothing to
    do. PostgreSQL: a transaction-level advisory lock (:data:`MIGRATION_LOCK`); SQLite: the
    write lock of ``BEGIN IMMEDIATE`` (waiting up to the busy timeout). A database already at
    head is only read (no lock, so a start never waits for another process's writes)."""
    owned = isinstance(engine, str)
    eng = make_engine(engine) if isinstance(engine, str) else engine
    try:
        if revision == "head" and _at_head(eng):
            return
        from alembic import command

        with immediate(eng).begin() as conn:
            if not is_sqlite(eng):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if owned:
            eng.dispose()


_REVISION = re.compile(r'^revision = "([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision = "([^"]+)"', re.M)


def migration_heads() -> frozenset[str]:
    """The newest migration(s) of this version, read from the migration files as Alembic's
    script directory would (every revision that no other names as its ``down_revision``),
    without importing Alembic: a start on a database already at head never loads it
    (~11 MB and a tenth of a second). A test checks it against Alembic's own answer."""
    revisions, downs = set(), set()
    for path in (Path(MIGRATIONS) / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (rev := _REVISION.search(source)) is not None:
            revisions.add(rev.group(1))
        if (down := _DOWN.search(source)) is not None:
            downs.add(down.group(1))
    return frozenset(revisions - downs)


def current_revision(bind: Engine | Connection) -> str | None:
    """The revision in the database's ``alembic_version`` table (None: not migrated), read
    with plain SQL; on a connection, inside its transaction (backup reads it in its snapshot)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return current_revision(conn)
    if not sa_inspect(bind).has_table("alembic_version"):
        return None
    return bind.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _at_head(engine: Engine) -> bool:
    return {current_revision(engine)} == set(migration_heads())


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant stored as naive UTC (portable across SQLite and PostgreSQL).

    Naive datetimes are refused on the way in; values come back aware, in UTC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware instant")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
