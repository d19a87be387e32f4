"""The mail intake's memory: one row per incoming message handled (README "Replies by e-mail").

Keyed by the message key (its Message-ID as written, or ``sha256:<hex>`` of its bytes when
it has none, ``letters.inbound.message_key``). The row is inserted in the same transaction
as what the message caused (its registration, its receipt or refusal in the outbox), so
the primary key decides between two intakes that read the same message at once: the
loser's insert fails, it rolls back and skips. The IMAP move comes after the commit;
``moved`` records that it happened, and a later pass that finds a handled message still in
the mailbox only moves it (a crash between the commit and the move).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import JSON, Field, SQLModel, Text

from models.db import UTCDateTime


def _at(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class HandledMessage(SQLModel, table=True):
    """One incoming message and what became of it."""

    __tablename__ = "intake_messages"
    key: str = Field(primary_key=True, max_length=250)  # Message-ID or sha256:<hex>
    outcome: str = Field(max_length=20, index=True)  # IntakeOutcome
    reason: str = Field(default="", sa_type=Text)  # Danish, for the coordinator
    from_address: str | None = Field(default=None, max_length=320)
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = _at()  # the IMAP INTERNALDATE: the submission's instant
    year: int | None = Field(default=None, index=True)
    committee: str | None = Field(default=None, max_length=40)
    deliverable: str | None = Field(default=None, max_length=40)
    submissions: list[int] = Field(default_factory=list, sa_type=JSON)  # submission ids
    replies: list[str] = Field(default_factory=list, sa_type=JSON)  # outbox keys queued
    folder: str | None = Field(default=None, max_length=20)  # IntakeFolder it goes to
    journal: str | None = Field(default=None, max_length=500)  # its .eml, journal-relative
    handled_at: datetime = _at()
    moved: bool = Field(default=False)
    settled_at: datetime | None = _at(nullable=True)  # accepted or dismissed by hand
