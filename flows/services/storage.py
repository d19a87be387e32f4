"""Barometer readings and budget decisions in the state database.

Both are stored in one transaction, idempotent on their key, (goal, period) for the
barometer and (year, committee, initiative) for the budget: importing the same file twice
changes nothing, and a corrected figure replaces the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


Key = tuple[str, str]


def _upsert(db: Engine, query: Any, key_of: Callable[[Any], Key],
            wanted: Iterable[tuple[Key, dict[str, Any]]],
            new_row: Callable[[Key, dict[str, Any]], Any], touched: dict[str, Any]) -> Stored:
    """Insert or update the rows of ``query`` by key, in one transaction: ``wanted`` pairs
    each key with the values its row should hold; a row whose values differ takes them and
    ``touched`` (where they came from, when)."""
    new = updated = same = 0
    with Session(immediate(db)) as s:
        existing = {key_of(r): r for r in s.exec(query).all()}
        for key, values in wanted:
            row = existing.get(key)
            if row is None:
                row = existing[key] = new_row(key, values)
                s.add(row)
                new += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in {**values, **touched}.items():
                    setattr(row, k, v)
                s.add(row)
                updated += 1
            else:
                same += 1
        s.commit()
    return Stored(new, updated, same)


def store_readings(db: Engine, readings: list[Reading], at: datetime) -> Stored:
    """Insert or update barometer readings by (goal, period), in one transaction."""
    return _upsert(
        db, select(BarometerReading), lambda r: (r.goal, r.period),
        (((r.goal, r.period), {"value": r.value, "source": r.source or "",
                               "illustrative": r.illustrative}) for r in readings),
        lambda key, values: BarometerReading(goal=key[0], period=key[1], recorded_at=at,
                                             **values),
        {"recorded_at": at})


def store_decisions(db: Engine, year: int, decisions: list[Decision], source: str,
                    at: datetime) -> Stored:
    """Insert or update budget decisions by (year, committee, initiative), in one transaction."""
    return _upsert(
        db, select(BudgetDecision).where(BudgetDecision.year == year),
        lambda r: (r.committee, r.initiative_key),
        (((d.committee, d.key), {"initiative": d.initiative, "goal": d.goal,
                                 "amount_dkk": d.amount_dkk, "funded": d.funded})
         for d in decisions),
        lambda key, values: BudgetDecision(year=year, committee=key[0], initiative_key=key[1],
                                           source=source, recorded_at=at, **values),
        {"source": source, "recorded_at": at})


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
