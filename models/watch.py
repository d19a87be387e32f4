"""What the watchdog keeps (README "Monitoring"): heartbeats and the open alerts.

``heartbeat``: one row per beating thing (``name``: ``serve``, ``watchdog``, ``chase``): when
it last beat (``at``), on which host and process, and whether it stopped cleanly
(``stopped``). Serve beats every ``AARSHJUL_HEARTBEAT_EVERY`` seconds; a chase that ran (not
a dry run) beats ``chase`` with the instant it ran as of.

``watch_state``: one row per watched condition that is failing (``check``: ``prefect``,
``smtp``, ``imap``, ``outbox``, or ``crash:<flow run id>``): since when, what it says, and
whether the coordinator was alerted. The row goes when the condition holds again (after the
recovery alert, when there was an alert). Kept in the database so that a restarted serve
does not alert again.

Migration: ``models/migrations/versions/0011_watch.py``; keep both in step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime


class Heartbeat(SQLModel, table=True):
    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True, max_length=40)
    at: datetime = Field(sa_type=UTCDateTime)
    host: str = Field(default="", max_length=200)
    pid: int = Field(default=0)
    stopped: bool = Field(default=False)


class WatchState(SQLModel, table=True):
    __tablename__ = "watch_state"

    check: str = Field(primary_key=True, max_length=80)
    since: datetime = Field(sa_type=UTCDateTime)
    detail: str = Field(default="", sa_type=Text)
    alerted: bool = Field(default=False)
    checked_at: datetime = Field(sa_type=UTCDateTime)
