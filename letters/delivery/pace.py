"""A sending rate for relays that throttle: at most N messages a minute, across workers.

``AARSHJUL_SMTP_RATE`` (messages per minute) gives every sender on the database one shared
pace: before each message a sender reserves the next free instant in the single
``outbox_control`` row (``paced_until``), in one short transaction (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: the row is locked ``FOR UPDATE``), and waits until that instant.
Two workers therefore never send faster together than the rate allows, and a sender that
dies after reserving only leaves a gap.

The clock and the sleep are given (wall-clock seconds): tests pass their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from models.db import immediate
from models.outbox import OutboxControl


class Pacer:
    """Reserves one sending instant per message at ``per_minute`` messages a minute."""

    def __init__(self, engine: Engine, per_minute: float, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not per_minute > 0:
            raise ValueError(f"a sending rate must be a positive number a minute, not {per_minute}")
        self.engine, self.interval = engine, timedelta(seconds=60.0 / per_minute)
        self.clock, self.sleep = clock, sleep

    def reserve(self) -> datetime:
        """The next free instant (and the one after it reserved for the next message)."""
        try:
            return self._reserve()
        except IntegrityError:  # two first senders both created the control row: once more
            return self._reserve()

    def _reserve(self) -> datetime:
        t = OutboxControl.__table__  # type: ignore[attr-defined]
        with immediate(self.engine).begin() as conn:
            row = conn.execute(select(t.c.paced_until).where(t.c.id == 1)
                               .with_for_update()).first()
            now = datetime.fromtimestamp(self.clock(), UTC)
            start = max(now, row.paced_until) if row is not None and row.paced_until else now
            if row is None:
                conn.execute(insert(t).values(id=1, paused=False,
                                              paced_until=start + self.interval))
            else:
                conn.execute(update(t).where(t.c.id == 1)
                             .values(paced_until=start + self.interval))
        return start

    def wait(self) -> datetime:
        """Reserve an instant and sleep until it; returns it."""
        start = self.reserve()
        delay = start.timestamp() - self.clock()
        if delay > 0:
            self.sleep(delay)
        return start
