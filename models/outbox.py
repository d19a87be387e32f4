"""The outbox: every e-mail, built once and stored before anything is sent (sent once).

The vocabularies are the StrEnums of ``models.kinds``: ``status`` holds an
:class:`~models.kinds.OutboxStatus`, ``kind`` a :class:`~models.kinds.MessageKind`, and an
alert's ``kind`` an :class:`~models.kinds.AlertKind` (stored as their values).

``outbox``: one row per logical message, with its unique idempotency ``key`` and the built
RFC 5322 bytes (``raw``); a resend sends these very bytes. ``status`` moves
pending → claimed → sending → sent, or to ``failed`` (a 5xx, or 4xx retries used up) or
``uncertain`` (the connection dropped after the message data twice: not resent again).
``uncertain=True`` on a sent row means it was resent once because an earlier attempt may have
reached the server (a duplicate with the same Message-ID is possible and was reported).

``outbox_alert``: what the coordinator must see (failed for good, uncertain, refused
recipients, journal copy not written), one row per outbox row and kind.

``outbox_control``: the single row holding ``pause``/``resume``, and the sender's health:
``last_error`` (why the mail server could not be reached, and ``last_error_at``), cleared
when a message goes out, and ``last_ok_at``.

Migrations: ``models/migrations/versions/0001_outbox.py`` creates these tables and
``0004_sender_health.py`` adds the health columns; keep both in step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime
from models.kinds import OutboxStatus


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        UniqueConstraint("message_id", name="uq_outbox_message_id"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_year_kind", "year", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    year: int
    committee: str | None = Field(default=None, max_length=40)
    event: str | None = Field(default=None, max_length=40)
    deliverable: str | None = Field(default=None, max_length=40)
    slot: str | None = Field(default=None, max_length=40)
    message_id: str = Field(max_length=250)
    envelope_from: str = Field(max_length=320)
    recipients: list[str] = Field(sa_type=JSON)  # envelope recipients: to + cc
    subject: str = Field(sa_type=Text)
    raw: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)
    queued_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=OutboxStatus.PENDING, max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_code: int | None = Field(default=None)
    last_reply: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    uncertain: bool = Field(default=False)
    # set while the row waits for its one resend after an uncertain attempt
    resend_pending: bool = Field(default=False)


class OutboxAlert(SQLModel, table=True):
    __tablename__ = "outbox_alert"
    __table_args__ = (UniqueConstraint("outbox_id", "kind", name="uq_outbox_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)
    key: str = Field(max_length=200)
    message_id: str = Field(max_length=250)
    at: datetime = Field(sa_type=UTCDateTime)
    code: int | None = Field(default=None)
    detail: str = Field(sa_type=Text)
    notified: bool = Field(default=False)  # an alert e-mail to the coordinator was queued


class OutboxControl(SQLModel, table=True):
    __tablename__ = "outbox_control"

    id: int = Field(default=1, primary_key=True)
    paused: bool = Field(default=False)
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # sender health: why the last run could not reach the mail server (no password in it),
    # cleared by the next message that goes out; and when one last went out
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the shared sending pace (AARSHJUL_SMTP_RATE): the next instant a sender may reserve
    paced_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
