"""What one run did, for the CLI, the artifacts and summary.json. Plain data, no Prefect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models.kinds import (
    CLOSED_RECEIVED,
    IntakeFolder,
    IntakeOutcome,
    MessageKind,
    RequestStatus,
    RunKind,
)


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


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """What a run keeps of one message besides its body: whom, what, when, which files."""

    kind: MessageKind
    committee: str | None
    event: str | None
    deliverable: str | None
    slot: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime
    subject: str
    attachments: tuple[str, ...]  # file names


@dataclass(frozen=True, kw_only=True)
class MessageRow(Envelope):
    message_id: str
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
    intake: IntakeReport | None = None  # an intake run: what became of each message
    # the mail server could not be reached and this run's messages wait in the outbox: why
    # (redacted server URL and reason, never a password); the run failed (README "Monitoring")
    unreachable: str | None = None

    @property
    def received(self) -> int:
        return sum(r.status in CLOSED_RECEIVED for r in self.requests)

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def late(self) -> list[RequestRow]:
        return [r for r in self.requests if r.status == RequestStatus.LATE or r.overdue]


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
    moved: bool = False

    def line(self) -> str:
        """One Danish line for the CLI and the artifact."""
        who = self.from_address or "ukendt afsender"
        what = f"{self.deliverable} {self.year} fra {self.committee}" if self.deliverable else ""
        head = f"{OUTCOME_DA[self.outcome]}: {self.key} fra {who}"
        if self.subject:
            head += f" «{self.subject}»"
        if self.duplicate:
            return f"allerede behandlet ({OUTCOME_DA[self.outcome]}): {self.key}"
        return head + (f" – {what}" if what else "") + (f" – {self.reason}" if self.reason else "")


OUTCOME_DA = {
    IntakeOutcome.REGISTERED: "registreret", IntakeOutcome.HELD: "til koordinatoren",
    IntakeOutcome.REFUSED: "afvist fil", IntakeOutcome.BOUNCED: "kom retur",
    IntakeOutcome.AUTO_REPLY: "automatisk svar", IntakeOutcome.DISMISSED: "lagt til side",
    IntakeOutcome.ACCEPTED: "registreret i hånden",
}
# The outcomes a pass counts, in this order, with their Danish words after a number.
COUNTED_DA = {
    IntakeOutcome.REGISTERED: "registreret", IntakeOutcome.HELD: "til koordinatoren",
    IntakeOutcome.REFUSED: "afvist", IntakeOutcome.BOUNCED: "retur",
    IntakeOutcome.AUTO_REPLY: "automatiske svar",
}


@dataclass
class IntakeReport:
    """One pass: every message seen and what became of it, with Danish lines."""

    as_of: datetime
    dry_run: bool = False
    handled: list[Handled] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # Danish: what the pass could not do

    def of(self, outcome: IntakeOutcome) -> list[Handled]:
        """The messages this pass handled with ``outcome`` (not those handled before)."""
        return [h for h in self.handled if h.outcome == outcome and not h.duplicate]

    @property
    def duplicates(self) -> list[Handled]:
        return [h for h in self.handled if h.duplicate]

    def counts(self, *outcomes: IntakeOutcome) -> str:
        """Danish counts of ``outcomes``: ``2 registreret, 1 til koordinatoren``."""
        return ", ".join(f"{len(self.of(o))} {COUNTED_DA[o]}" for o in outcomes)

    @property
    def submissions(self) -> list[int]:
        return [i for h in self.handled if not h.duplicate for i in h.submissions]

    def lines(self) -> list[str]:
        """The Danish summary: a count line, then one line per message, then problems."""
        head = "Prøvekørsel: intet er gemt, sendt eller flyttet. " if self.dry_run else ""
        counts = (self.counts(*COUNTED_DA) + f", {len(self.duplicates)} allerede behandlet")
        out = [f"{head}Postkassen: {len(self.handled)} beskeder ({counts})."]
        out += [f"- {h.line()}" for h in self.handled]
        out += [f"Problem: {p}" for p in self.problems]
        return out
