"""Heartbeats (table ``heartbeat``, README "Monitoring"): serve's and the watchdog's, and the
instant of the last chase, which ``aarshjul doctor`` compares with the plan."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import TYPE_CHECKING

from models.plan import require_aware

if TYPE_CHECKING:
    from sqlalchemy import Engine


def record_beat(engine: Engine, name: str, at: datetime, *, stopped: bool = False,
                latest: bool = False) -> None:
    """Write heartbeat ``name`` at ``at``; ``latest``: never move it back (a chase run as of
    an earlier instant)."""
    from sqlalchemy.exc import IntegrityError

    from models.db import write_session
    from models.watch import Heartbeat

    require_aware(at, "at")
    for attempt in (1, 2):
        try:
            with write_session(engine) as s:
                beat = (s.get(Heartbeat, name, with_for_update=True)  # read-check-write
                        or Heartbeat(name=name, at=at))
                if latest and beat.at is not None and beat.at > at:
                    return
                beat.at, beat.stopped = at, stopped
                beat.host, beat.pid = socket.gethostname()[:200], os.getpid()
                s.add(beat)
                s.commit()
            return
        except IntegrityError:
            # two first beats of one name at once (chases racing on PostgreSQL): the other
            # inserted the row; the second attempt finds it and updates it
            if attempt == 2:
                raise
