"""Whose claims are orphans? Each sender holds a liveness lock while it runs.

A row ``claimed`` or ``sending`` belongs to a dead sender when that sender's lock is free.
PostgreSQL: a session advisory lock on a connection of its own. SQLite (one host): an
``flock`` on ``.<db name>.senders/<hash>.lock`` next to the database file. The kernel and
the database server release both when a process dies, even by kill -9.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from letters.private import private_dir

if TYPE_CHECKING:
    from sqlalchemy import Engine


class Liveness(Protocol):
    def hold(self) -> None: ...
    def is_dead(self, worker: str) -> bool: ...
    def release(self) -> None: ...


class _FileLiveness:
    """SQLite (one host): each sender holds ``flock`` on ``.<db name>.senders/<worker>.lock``
    next to the database file."""

    def __init__(self, database: str, worker: str) -> None:
        db = Path(database)
        self.dir = db.with_name(f".{db.name}.senders")
        self.worker = worker
        self._fd: int | None = None

    def _path(self, worker: str) -> Path:
        return self.dir / f"{hashlib.sha256(worker.encode()).hexdigest()[:32]}.lock"

    def hold(self) -> None:
        private_dir(self.dir)
        self._fd = os.open(self._path(self.worker), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def is_dead(self, worker: str) -> bool:
        path = self._path(worker)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops a lock we may have taken
        with contextlib.suppress(OSError):
            path.unlink()
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self._path(self.worker).unlink()
            os.close(self._fd)
            self._fd = None


class _AdvisoryLiveness:
    """PostgreSQL: each sender holds a session advisory lock on a connection of its own."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine, self.worker = engine, worker
        self._conn: Any = None

    @staticmethod
    def _key(worker: str) -> int:
        return int.from_bytes(hashlib.sha256(b"aarshjul-sender:" + worker.encode()).digest()[:8],
                              "big", signed=True)

    def hold(self) -> None:
        from sqlalchemy import text

        self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key(self.worker)})

    def is_dead(self, worker: str) -> bool:
        from sqlalchemy import text

        k = self._key(worker)
        got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": k}).scalar()
        if got:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": k})
        return bool(got)

    def release(self) -> None:
        from sqlalchemy import text

        if self._conn is not None:
            try:  # the connection goes back to the pool: unlock explicitly
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                   {"k": self._key(self.worker)})
            finally:
                self._conn.close()
                self._conn = None


def liveness(engine: Engine, worker: str) -> Liveness:
    from models.db import is_sqlite

    if is_sqlite(engine):
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the outbox sender needs a SQLite file, not an in-memory database")
        return _FileLiveness(os.path.abspath(database), worker)
    return _AdvisoryLiveness(engine, worker)
