"""What one run did, for the CLI, the artifacts and summary.json. Plain data, no Prefect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models.kinds import CLOSED_RECEIVED, MessageKind, RequestStatus, RunKind


@dataclass(frozen=True)
class RequestRow:
    year: int
    committee: str
    deliverable: str
    due: date
    status: RequestStatus  # open, on_time, late or excused as of the report (``overdue``)
    received_at: datetime | None
    reminders_sent: int
    last_action: str  # Danish, e.g. "påmindelse before-1 sendt 30. april 2012"
    overdue: bool = False  # open and past its due date as of the report
    extended: bool = False  # ``due`` is the committee's own, extended date
    letter: str = "sent"  # how the letter that opened it fared (models.kinds.LetterState)
    ladder: int = 0  # the ladder its reminders are on (0: from the letter)


@dataclass(frozen=True)
class MessageRow:
    message_id: str
    kind: MessageKind
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


@dataclass(frozen=True)
class Registration:
    """What a receipt run registered."""

    submission_id: int
    request_id: int
    revision: int  # 0: the first arrival
    outcome: RequestStatus  # on_time | late, of this arrival
    status: RequestStatus  # the request's status (its first arrival)
    document: str  # the stored file, relative to the data directory
    duplicate: bool = False  # the same bytes as the latest registered file: nothing added


@dataclass(frozen=True)
class Artifact:
    """A markdown artifact a run publishes in the Prefect UI (``key`` None: not keyed)."""

    key: str | None
    markdown: str
    description: str


@dataclass
class RunReport:
    title: str  # e.g. "Opfordringsskrivelse 2012 (20. januar 2012)"
    kind: RunKind
    year: int | None
    as_of: datetime
    dry_run: bool = False
    requests: list[RequestRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Danish; e.g. not-yet-built event kinds
    documents: list[str] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)  # besides the standard three
    registered: Registration | None = None  # a receipt run: what was registered
    done: list[str] = field(default_factory=list)  # Danish: what an action did (or would do)

    @property
    def received(self) -> int:
        return sum(r.status in CLOSED_RECEIVED for r in self.requests)

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def late(self) -> list[RequestRow]:
        return [r for r in self.requests if r.status == RequestStatus.LATE or r.overdue]
