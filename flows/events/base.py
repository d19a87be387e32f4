"""What an event handler gets and gives: one :class:`EventRun` in, one :class:`EventResult`
out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flows.report import Artifact, MessageRow
from flows.services.setup import Setup
from flows.services.steps import Step, call
from models.dates import dansk_dato
from models.plan import PlannedEvent


@dataclass(frozen=True)
class EventRun:
    """One run of one event of one cycle year, as of an instant."""

    st: Setup
    event: PlannedEvent
    year: int
    as_of: datetime
    dry_run: bool = False
    preview_dir: Path | None = None  # where a dry run writes (default: <data>/preview)
    send: bool = True  # drain the outbox once the messages are queued
    step: Step = call

    @property
    def title(self) -> str:
        """``Opfordringsskrivelse 2012 (20. januar 2012)``."""
        return event_title(self.event, self.year)

    @property
    def preview(self) -> Path:
        return self.preview_dir or self.st.data / "preview"

    @property
    def documents(self) -> Path:
        """Where the event's documents are kept: the setup's documents folder, else
        ``<data>/documents``."""
        return self.st.documents if self.st.documents is not None else self.st.data / "documents"


def event_title(pe: PlannedEvent, year: int) -> str:
    return f"{pe.title} {year} ({dansk_dato(pe.day)})"


@dataclass
class EventResult:
    messages: list[MessageRow] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # paths written
    notes: list[str] = field(default_factory=list)  # Danish, for the coordinator
    artifacts: list[Artifact] = field(default_factory=list)  # published by the Prefect layer


Handler = Callable[[EventRun], EventResult]
