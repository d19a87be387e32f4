"""What the reports are made of: plain data, and the sums both reports show.

The input is :class:`StatusData`, gathered by the reports event from the state database and
the stored submissions. Everything here is pure (no clock, no database, no python-docx):
the totals per deliverable and status, the financing of the committees' initiatives, and
for the budget overview the May initiatives matched to the October decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from letters.readback import FormReading, Initiative
from models.barometer import Reading, is_illustrative
from models.budget import FUNDED_DA, Decision, title_key
from models.kinds import RequestStatus

if TYPE_CHECKING:
    from models.plan import YearPlan
    from models.wheel import Wheel

STATUS_ORDER = (RequestStatus.ON_TIME, RequestStatus.LATE, RequestStatus.MISSING,
                RequestStatus.OPEN, RequestStatus.EXCUSED)


@dataclass(frozen=True)
class Handin:
    """One deliverable of one committee as of the report: its status and what was read."""

    deliverable: str
    title: str
    due: date  # the committee's own after an extension (``extended``)
    status: str  # a RequestStatus: on_time | late | missing | open | excused
    received_at: datetime | None = None
    reading: FormReading | None = None  # the latest submission read back
    file_name: str | None = None
    revisions: int = 0  # submissions after the first
    asked: bool = True  # False: no request was ever opened (the letter did not go out)
    extended: bool = False  # ``due`` was extended for this committee


@dataclass(frozen=True)
class CommitteeReport:
    key: str
    name: str
    goals: tuple[str, ...]
    handins: tuple[Handin, ...]

    def initiatives(self) -> list[tuple[Initiative, str]]:
        """The initiatives of every form read, with the deliverable's title; one per title
        (a later deliverable's row replaces an earlier one with the same title)."""
        by_key: dict[str, tuple[Initiative, str]] = {}
        for h in self.handins:
            if h.reading is None:
                continue
            for i in h.reading.initiatives:
                if i.title.strip():
                    by_key.pop(title_key(i.title), None)
                    by_key[title_key(i.title)] = (i, h.title)
        return list(by_key.values())

    def text_for(self, goal: str) -> list[tuple[str, str]]:
        """(deliverable title, text) for ``goal`` from each form read; text may be ""."""
        return [(h.title, h.reading.goals.get(goal, "")) for h in self.handins
                if h.reading is not None and h.reading.is_form]


@dataclass(frozen=True)
class StatusData:
    wheel: Wheel
    plan: YearPlan
    year: int
    report_date: date
    event_title: str
    committees: tuple[CommitteeReport, ...]
    readings: tuple[Reading, ...] = ()
    decisions: tuple[Decision, ...] = ()
    decision_sources: tuple[str, ...] = ()
    templates_dir: Path | None = None  # the deployment's own templates (None: the bundled)


def deliverable_heads(data: StatusData) -> list[tuple[str, str, date]]:
    """(key, title, due date as moved) of every deliverable of the wheel, in its order."""
    return [(d.key, d.title, data.plan.deliverable(d.key).due) for d in data.wheel.deliverables]


# --- the status report's sums -------------------------------------------------------------


@dataclass(frozen=True)
class Financing:
    financed: int = 0
    not_financed: int = 0
    partly_or_unknown: int = 0
    no_amount: int = 0  # initiatives whose amount could not be read

    @property
    def total(self) -> int:
        return self.financed + self.not_financed + self.partly_or_unknown


def financing(initiatives: Iterable[Initiative]) -> Financing:
    f, n, p, missing = 0, 0, 0, 0
    for i in initiatives:
        if i.amount_dkk is None:
            missing += 1
        elif i.financed is True:
            f += i.amount_dkk
        elif i.financed is False:
            n += i.amount_dkk
        else:
            p += i.amount_dkk
    return Financing(f, n, p, missing)


@dataclass(frozen=True)
class StatusTotals:
    by_deliverable: dict[str, Counter[str]]  # deliverable key -> status -> count
    financing: Financing
    missing: list[tuple[str, str, date]]  # (committee, deliverable title, due)
    committees: int
    illustrative: bool


def status_totals(data: StatusData) -> StatusTotals:
    by: dict[str, Counter[str]] = {d.key: Counter() for d in data.wheel.deliverables}
    inits: list[Initiative] = []
    missing = []
    for c in data.committees:
        for h in c.handins:
            by.setdefault(h.deliverable, Counter())[h.status] += 1
            if h.status == RequestStatus.MISSING:
                missing.append((c.key, h.title, h.due))
        inits += [i for i, _ in c.initiatives()]
    return StatusTotals(by, financing(inits), missing, len(data.committees),
                        is_illustrative(data.readings))


# --- the budget overview: May's initiatives against October's decisions ------------------


@dataclass(frozen=True)
class BudgetLine:
    committee: str
    title: str
    goal: str | None
    asked: int | None  # as asked in May (None: not readable / not asked)
    decision: Decision | None

    @property
    def outcome(self) -> str:  # yes | no | partly | none
        return self.decision.funded if self.decision is not None else "none"

    @property
    def granted(self) -> int:
        d = self.decision
        if d is None or d.funded == "no":
            return 0
        if d.amount_dkk is not None:
            return d.amount_dkk
        return self.asked or 0


OUTCOME_DA = {**FUNDED_DA, "none": "ingen beslutning"}


@dataclass
class BudgetSum:
    asked: int = 0
    granted: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, line: BudgetLine) -> None:
        self.asked += line.asked or 0
        self.granted += line.granted
        self.counts[line.outcome] += 1


@dataclass(frozen=True)
class BudgetTotals:
    lines: list[BudgetLine]
    unmatched: list[Decision]  # decisions whose initiative was not in any form
    total: BudgetSum
    by_committee: dict[str, BudgetSum]
    by_goal: dict[str, BudgetSum]  # goal key, or "" for rows without a goal


def budget_totals(data: StatusData) -> BudgetTotals:
    decisions = {(d.committee, d.key): d for d in data.decisions}
    used: set[tuple[str, str]] = set()
    lines = []
    for c in data.committees:
        for i, _ in c.initiatives():
            k = (c.key, title_key(i.title))
            d = decisions.get(k)
            if d is not None:
                used.add(k)
            lines.append(BudgetLine(c.key, i.title, i.goal or (d.goal if d else None),
                                    i.amount_dkk, d))
    unmatched = [d for k, d in decisions.items() if k not in used]
    for d in unmatched:
        lines.append(BudgetLine(d.committee, d.initiative, d.goal, None, d))
    total = BudgetSum()
    by_c: dict[str, BudgetSum] = {c.key: BudgetSum() for c in data.committees}
    by_g: dict[str, BudgetSum] = {g.key: BudgetSum() for g in data.wheel.goals}
    for ln in lines:
        total.add(ln)
        by_c.setdefault(ln.committee, BudgetSum()).add(ln)
        by_g.setdefault(ln.goal or "", BudgetSum()).add(ln)
    return BudgetTotals(lines, unmatched, total, by_c, by_g)
