"""The mail intake: one pass over the mailbox, each message handled exactly once (README
"Replies by e-mail").

:func:`intake_pass` lists the mailbox (``letters.mailsource.MessageSource``: the IMAP
:class:`letters.mailbox.Mailbox`, or :class:`letters.mailsource.MemorySource`), and for each
message not handled before calls :func:`handle_message`, which matches it to a request,
registers its form(s) as ``submit`` does and inserts its ``intake_messages`` row, all in one
transaction; the move into the handled or the coordinator's folder comes after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flows.services.setup import Setup
from letters.mailsource import MessageSource
from models.kinds import IntakeFolder, IntakeOutcome


@dataclass(frozen=True)
class Handled:
    """What became of one message."""

    key: str  # Message-ID or sha256:<hex>
    outcome: IntakeOutcome
    reason: str  # Danish
    folder: IntakeFolder
    from_address: str | None = None
    subject: str = ""
    received_at: datetime | None = None
    year: int | None = None
    committee: str | None = None
    deliverable: str | None = None
    submissions: tuple[int, ...] = ()
    replies: tuple[str, ...] = ()  # outbox keys queued (receipts, a refusal)
    duplicate: bool = False  # handled before (this pass only moved it)


@dataclass
class IntakeReport:
    """One pass: every message seen and what became of it, with Danish lines."""

    as_of: datetime
    dry_run: bool = False
    handled: list[Handled] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # Danish: what the pass could not do


def handle_message(st: Setup, raw: bytes, received_at: datetime, as_of: datetime, *,
                   dry_run: bool = False) -> Handled:
    """Match and register one message (README "Replies by e-mail"), in one transaction."""
    raise NotImplementedError


def intake_pass(st: Setup, source: MessageSource, as_of: datetime, *,
                dry_run: bool = False) -> IntakeReport:
    """Handle every message in ``source`` not handled before; move each after its commit."""
    raise NotImplementedError
