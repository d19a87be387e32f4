"""One logical message to queue, and the idempotency keys that make it go out once.

Keys: ``letter:{year}:{event}:{committee}``, ``reminder:{year}:{deliverable}:{committee}:{slot}``,
``escalation:{year}:{deliverable}:{committee}``, ``receipt:{submission_id}``,
``report:{year}:{event}`` (and, in the outbox sender, ``alert:{kind}:{key}``). A reminder or
escalation of ladder n > 0 (after an extension or a deadline moved later) has ``:{n}``
after it. ``notice:{year}:{deliverable}:{committee}:{cause}:{discriminator}``,
``resend:{key}:{n}`` and ``digest:{year}:{monday}`` are the coordinator's desk's. The outbox
holds one row per key; a second insert of a key adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flows.report import Envelope
from models.kinds import BodyKind, MessageKind
from models.plan import Slot

if TYPE_CHECKING:
    from letters.mail import Outgoing


def letter_key(year: int, event: str, committee: str) -> str:
    return f"letter:{year}:{event}:{committee}"


def _ladder(ladder: int) -> str:
    return f":{ladder}" if ladder else ""


def reminder_key(year: int, deliverable: str, committee: str, slot: str, ladder: int = 0) -> str:
    return f"reminder:{year}:{deliverable}:{committee}:{slot}{_ladder(ladder)}"


def escalation_key(year: int, deliverable: str, committee: str, ladder: int = 0) -> str:
    return f"escalation:{year}:{deliverable}:{committee}{_ladder(ladder)}"


def notice_key(year: int, deliverable: str, committee: str, cause: str, what: str) -> str:
    return f"notice:{year}:{deliverable}:{committee}:{cause}:{what}"


def resend_key(key: str, n: int) -> str:
    return f"resend:{key}:{n}"


def digest_key(year: int, monday: date) -> str:
    return f"digest:{year}:{monday.isoformat()}"


def receipt_key(submission_id: int) -> str:
    return f"receipt:{submission_id}"


def report_key(year: int, event: str) -> str:
    return f"report:{year}:{event}"


@dataclass(frozen=True)
class Restart:
    """A request's ladder as a chase found it changed (:func:`models.ladder.ladder_change`):
    from ``ladder`` to ``new_ladder`` (the next one for a later due date, the same one for
    an earlier date), made for ``due``, starting at ``starts_at`` (None: unchanged)."""

    request_id: int
    ladder: int
    new_ladder: int
    due: date
    previous: date | None
    starts_at: datetime | None


@dataclass(frozen=True)
class Action:
    """One logical message to queue, or (``send=False``) only slot bookkeeping.

    ``slot`` is the reminder or escalation slot it sends; ``skip`` the due slots it marks
    skipped; ``opens`` the deliverables a letter opens for the committee. ``ladder`` is the
    ladder the slots belong to, ``due`` and ``ladder_slots`` the request's own due date and
    slots where they are not the plan's; ``restart`` a ladder change recorded with the
    action; ``outgoing`` a message built beforehand (a notice).
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
    # ladders (the coordinator's desk)
    ladder: int = 0
    due: date | None = None
    ladder_slots: tuple[Slot, ...] | None = None
    restart: Restart | None = None
    outgoing: Outgoing | None = None

    @property
    def slot_name(self) -> str | None:
        return self.slot.name if self.slot is not None else None


@dataclass(frozen=True, kw_only=True)
class Queued(Envelope):
    """What a run keeps of a queued message (the attachments' bytes are let go)."""

    key: str
    year: int

    @classmethod
    def of(cls, o: Any) -> Queued:
        """From a :class:`letters.mail.Outgoing`."""
        return cls(key=o.key, kind=MessageKind(o.kind), year=o.year, committee=o.committee,
                   event=o.event, deliverable=o.deliverable, slot=o.slot, to=tuple(o.to),
                   cc=tuple(o.cc), subject=o.subject, date=o.date,
                   attachments=tuple(a.filename for a in o.attachments))
