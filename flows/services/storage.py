"""Barometer readings and budget decisions in the state database.

Both are stored in one transaction, idempotent on their key, (goal, period) for the
barometer and (year, committee, initiative) for the budget: importing the same file twice
changes nothing, and a corrected figure replaces the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.barometer import Reading, period_end
from models.budget import Decision
from models.budget_state import BudgetDecision
from models.db import immediate
from models.state import BarometerReading


@dataclass(frozen=True)
class Stored:
    new: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def __str__(self) -> str:
        return f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"


def store_readings(db: Engine, readings: list[Reading], at: datetime) -> Stored:
    """Insert or update barometer readings by (goal, period), in one transaction."""
    new = updated = same = 0
    with Session(immediate(db)) as s:
        existing = {(r.goal, r.period): r for r in s.exec(select(BarometerReading)).all()}
        for r in readings:
            row = existing.get((r.goal, r.period))
            source = r.source or ""
            if row is None:
                row = BarometerReading(goal=r.goal, period=r.period, value=r.value,
                                       source=source, illustrative=r.illustrative,
                                       recorded_at=at)
                existing[(r.goal, r.period)] = row
                s.add(row)
                new += 1
            elif (row.value, row.source, row.illustrative) != (r.value, source, r.illustrative):
                row.value, row.source, row.illustrative = r.value, source, r.illustrative
                row.recorded_at = at
                s.add(row)
                updated += 1
            else:
                same += 1
        s.commit()
    return Stored(new, updated, same)


def store_decisions(db: Engine, year: int, decisions: list[Decision], source: str,
                    at: datetime) -> Stored:
    """Insert or update budget decisions by (year, committee, initiative), in one transaction."""
    new = updated = same = 0
    with Session(immediate(db)) as s:
        existing = {
            (r.committee, r.initiative_key): r
            for r in s.exec(select(BudgetDecision).where(BudgetDecision.year == year)).all()
        }
        for d in decisions:
            row = existing.get((d.committee, d.key))
            values: dict[str, Any] = {"initiative": d.initiative, "goal": d.goal,
                                      "amount_dkk": d.amount_dkk, "funded": d.funded}
            if row is None:
                row = BudgetDecision(year=year, committee=d.committee, initiative_key=d.key,
                                     source=source, recorded_at=at, **values)
                existing[(d.committee, d.key)] = row
                s.add(row)
                new += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.source, row.recorded_at = source, at
                s.add(row)
                updated += 1
            else:
                same += 1
        s.commit()
    return Stored(new, updated, same)


def barometer_readings(db: Engine, until: date | None = None) -> list[Reading]:
    """The stored readings in the order they were recorded; with ``until``, only those
    whose half-year has ended on or before that day."""
    with Session(db) as s:
        rows = s.exec(select(BarometerReading).order_by(col(BarometerReading.id))).all()
    out = []
    for r in rows:
        if until is not None:
            try:
                if period_end(r.period) > until:
                    continue
            except ValueError:
                continue
        out.append(Reading(r.goal, r.period, r.value, r.source or None, r.illustrative))
    return out


def budget_decisions(db: Engine, year: int) -> tuple[tuple[Decision, ...], tuple[str, ...]]:
    """The stored decisions of ``year``, and the files they came from."""
    with Session(db) as s:
        rows = s.exec(select(BudgetDecision).where(BudgetDecision.year == year)
                      .order_by(col(BudgetDecision.id))).all()
    decisions = tuple(Decision(r.committee, r.initiative, r.goal, r.amount_dkk, r.funded, 0)  # type: ignore[arg-type]
                      for r in rows)
    return decisions, tuple(sorted({r.source for r in rows if r.source}))
