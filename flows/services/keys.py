"""One logical message to queue, and the idempotency keys that make it go out once.

Keys: ``letter:{year}:{event}:{committee}``, ``reminder:{year}:{deliverable}:{committee}:{slot}``,
``escalation:{year}:{deliverable}:{committee}``, ``receipt:{submission_id}``,
``report:{year}:{event}`` (and, in the outbox sender, ``alert:{kind}:{key}``). The outbox
holds one row per key; a second insert of a key adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.kinds import BodyKind, MessageKind
from models.plan import Slot


def letter_key(year: int, event: str, committee: str) -> str:
    return f"letter:{year}:{event}:{committee}"


def reminder_key(year: int, deliverable: str, committee: str, slot: str) -> str:
    return f"reminder:{year}:{deliverable}:{committee}:{slot}"


def escalation_key(year: int, deliverable: str, committee: str) -> str:
    return f"escalation:{year}:{deliverable}:{committee}"


def receipt_key(submission_id: int) -> str:
    return f"receipt:{submission_id}"


def report_key(year: int, event: str) -> str:
    return f"report:{year}:{event}"


@dataclass(frozen=True)
class Action:
    """One logical message to queue, or (``send=False``) only slot bookkeeping.

    ``slot`` is the reminder or escalation slot it sends; ``skip`` the due slots it marks
    skipped; ``opens`` the deliverables a letter opens for the committee.
    """

    kind: MessageKind
    body: BodyKind
    key: str
    year: int
    committee: str
    event: str | None = None
    deliverable: str | None = None
    slot: Slot | None = None
    request_id: int | None = None
    skip: tuple[Slot, ...] = ()
    opens: tuple[str, ...] = ()
    send: bool = True
    # receipts
    received_at: datetime | None = None
    revision: int = 0
    first_received_at: datetime | None = None
    file_name: str | None = None
    notes: tuple[str, ...] = ()  # for the reader of the body (a report: why no PDF copy)

    @property
    def slot_name(self) -> str | None:
        return self.slot.name if self.slot is not None else None


@dataclass(frozen=True)
class Queued:
    """What a run keeps of a queued message (the attachments' bytes are let go)."""

    key: str
    kind: MessageKind
    year: int
    committee: str | None
    event: str | None
    deliverable: str | None
    slot: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime
    attachments: tuple[str, ...]

    @classmethod
    def of(cls, o: Any) -> Queued:
        """From a :class:`letters.mail.Outgoing`."""
        return cls(o.key, MessageKind(o.kind), o.year, o.committee, o.event, o.deliverable,
                   o.slot, tuple(o.to), tuple(o.cc), o.subject, o.date,
                   tuple(a.filename for a in o.attachments))
