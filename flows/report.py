"""What one run did, for the CLI, the artifacts and summary.json. Plain data, no Prefect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Request statuses: open (not yet due or still waiting), on_time, late, missing (still open
# at the end of the year, or overdue when the report is made).
STATUSES = ("open", "on_time", "late", "missing")


@dataclass(frozen=True)
class RequestRow:
    year: int
    committee: str
    deliverable: str
    due: date
    status: str
    received_at: datetime | None
    reminders_sent: int
    last_action: str  # Danish, e.g. "påmindelse before-1 sendt 30. april 2012"
    overdue: bool = False  # open and past its due date as of the report


@dataclass(frozen=True)
class MessageRow:
    message_id: str
    kind: str  # letter | reminder | escalation | receipt | report
    committee: str | None
    event: str | None
    deliverable: str | None
    slot: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime
    subject: str
    attachments: tuple[str, ...]
    state: str  # queued | sent | failed | uncertain | preview (dry run)


@dataclass
class RunReport:
    title: str  # e.g. "Opfordringsskrivelse 2012 (20. januar 2012)"
    kind: str  # event | chase | receipt | simulate
    year: int | None
    as_of: datetime
    dry_run: bool = False
    requests: list[RequestRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Danish; e.g. not-yet-built event kinds
    documents: list[str] = field(default_factory=list)

    @property
    def received(self) -> int:
        return sum(r.status in ("on_time", "late") for r in self.requests)

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def late(self) -> list[RequestRow]:
        return [r for r in self.requests if r.status in ("late", "missing") or r.overdue]
