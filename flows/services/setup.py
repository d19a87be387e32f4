"""What a run needs besides the instant: the wheel, the store, the transport, where files go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from letters.journal import Journal
from models.calendar import BusinessCalendar
from models.ladder import Ladders
from models.plan import YearPlan, calendar_for, require_aware, year_plan
from models.wheel import Wheel

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from letters.delivery import Faults, Transport
    from letters.delivery.pace import Pacer


class Refused(Exception):
    """A request the engine will not carry out; the message says why (CLI: exit 1)."""


@dataclass
class Setup:
    """Everything a run needs besides the instant.

    ``transport`` is where mail goes (SMTP, or .eml files in a directory) and is always
    given explicitly; ``documents`` is where generated letters and forms are kept (None:
    not kept); ``clock`` is the sender's "now" (simulate: the virtual clock).
    """

    wheel: Wheel
    db: Engine
    data: Path
    transport: Transport
    journal: Journal | None = None
    documents: Path | None = None
    actor: str = "aarshjul"
    clock: Callable[[], datetime] | None = None
    templates_dir: Path | None = None
    faults: Faults | None = None
    pace: Pacer | None = None  # the shared sending rate (AARSHJUL_SMTP_RATE), when one is set
    cal: BusinessCalendar = field(init=False)
    ladders: Ladders = field(init=False)
    _plans: dict[int, YearPlan] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.cal = calendar_for(self.wheel)
        self.ladders = Ladders(self.wheel, self.cal)
        if self.journal is None:
            self.journal = Journal(self.data / "journal")

    def plan(self, year: int) -> YearPlan:
        if year not in self._plans:
            self._plans[year] = year_plan(self.wheel, year, self.cal)
        return self._plans[year]

    @property
    def tz(self) -> ZoneInfo:
        return self.wheel.policy.tz

    @property
    def domain(self) -> str:
        return self.wheel.mail_domain

    @property
    def sender(self) -> tuple[str, str]:
        s = self.wheel.policy.sender
        return (s.name, s.email)

    def local(self, instant: datetime) -> datetime:
        return require_aware(instant, "as_of").astimezone(self.tz)


def open_database(url: str) -> Engine:
    """The state database at ``url``, migrated to head."""
    from models.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine
