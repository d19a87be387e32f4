"""``aarshjul barometer import FILE`` and ``aarshjul budget import FILE`` (CONTRACT §5).

Both validate the whole file first (:func:`models.barometer.parse_csv`,
:func:`models.budget.parse_csv`): every problem is printed as ``file:line column: message``
and the verb exits 1 with nothing stored. A valid file is stored in one transaction,
idempotent on its key — (goal, period) for the barometer, (year, committee, initiative) for
the budget — so importing the same file twice changes nothing, and a corrected figure
replaces the old one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.common import DEFAULT_CONFIG, ConfigOption, fail, load_or_exit, year_or_exit

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from models.barometer import Reading
    from models.budget import Decision

MAX_CSV_BYTES = 10_000_000

FileArg = Annotated[Path, typer.Argument(help="The CSV file.", show_default=False)]


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
    from sqlmodel import Session, select

    from models.db import immediate
    from models.state import BarometerReading

    new = updated = same = 0
    with Session(immediate(db)) as s:
        existing = {(r.goal, r.period): r for r in s.exec(select(BarometerReading)).all()}
        for r in readings:
            row = existing.get((r.goal, r.period))
            source = r.source or ""
            if row is None:
                row = BarometerReading(goal=r.goal, period=r.period, value=r.value,
                                       source=source, recorded_at=at)
                existing[(r.goal, r.period)] = row
                s.add(row)
                new += 1
            elif row.value != r.value or row.source != source:
                row.value, row.source, row.recorded_at = r.value, source, at
                s.add(row)
                updated += 1
            else:
                same += 1
        s.commit()
    return Stored(new, updated, same)


def store_decisions(
    db: Engine, year: int, decisions: list[Decision], source: str, at: datetime
) -> Stored:
    """Insert or update budget decisions by (year, committee, initiative), in one transaction."""
    from sqlmodel import Session, select

    from models.budget_state import BudgetDecision
    from models.db import immediate

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


def _read_text(file: Path) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_CSV_BYTES:
            fail(f"refused: {file} is {size:,} bytes; at most 10 MB is read. Nothing was stored.")
        data = file.read_bytes()
    except OSError as exc:
        fail(f"refused: cannot read {file}: {exc.strerror}. Nothing was stored.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        fail(f"{file}:{line} (file): not UTF-8 text (save the file as CSV UTF-8). "
             "Nothing was stored.")


def _refuse(file: Path, problems: list[Any]) -> None:
    for p in problems:
        print(p, file=sys.stderr)
    n = len(problems)
    fail(f"{file}: refused, {n} problem{'s' if n != 1 else ''}; nothing was stored.")


def _db() -> Engine:
    from flows import engine as E

    try:
        return E.open_database()
    except Exception as exc:  # a database that cannot be opened is a refusal, not a crash
        fail(f"refused: the state database cannot be opened: {exc}")


def barometer_import(file: FileArg, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Import integrationsbarometer readings: goal,period,value,source (e.g. HM2,2011-H2,7.4)."""
    from models.barometer import is_illustrative, parse_csv
    from models.problems import ConfigError

    loaded = load_or_exit(config)
    text = _read_text(file)
    try:
        readings = parse_csv(text, loaded.wheel, str(file))
    except ConfigError as exc:
        _refuse(file, exc.problems)
    db = _db()
    try:
        stored = store_readings(db, readings, datetime.now(UTC))
    finally:
        db.dispose()
    label = " (illustrative example data)" if is_illustrative(readings) else ""
    print(f"barometer: {stored.total} readings from {file}{label}: {stored}.")


def budget_import(
    file: FileArg,
    config: ConfigOption = DEFAULT_CONFIG,
    year: Annotated[
        int | None,
        typer.Option("--year", help="The budget year (default: this year, policy time zone)."),
    ] = None,
) -> None:
    """Import the budget decisions: committee,initiative,goal,amount,funded (ja/nej/delvist)."""
    from models.budget import parse_csv
    from models.problems import ConfigError

    loaded = load_or_exit(config)
    y = year if year is not None else datetime.now(loaded.wheel.policy.tz).year
    year_or_exit(loaded, y)
    text = _read_text(file)
    try:
        decisions = parse_csv(text, loaded.wheel, str(file))
    except ConfigError as exc:
        _refuse(file, exc.problems)
    db = _db()
    try:
        stored = store_decisions(db, y, decisions, file.name, datetime.now(UTC))
    finally:
        db.dispose()
    print(f"budget {y}: {stored.total} decisions from {file}: {stored}.")


def register(app: typer.Typer) -> None:
    """Add ``barometer import`` and ``budget import`` to ``app``."""
    barometer = typer.Typer(name="barometer", help="The integrationsbarometer.",
                            no_args_is_help=True, add_completion=False)
    barometer.command("import")(barometer_import)
    budget = typer.Typer(name="budget", help="The budget decisions of October.",
                         no_args_is_help=True, add_completion=False)
    budget.command("import")(budget_import)
    app.add_typer(barometer, name="barometer")
    app.add_typer(budget, name="budget")
