"""``aarshjul barometer import FILE`` and ``aarshjul budget import FILE`` (README "Command line").

Both validate the whole file first (:func:`models.barometer.parse_csv`,
:func:`models.budget.parse_csv`): every problem is printed as ``file:line column: message``
and the verb exits 1 with nothing stored. A valid file is stored in one transaction,
idempotent on its key — (goal, period) for the barometer, (year, committee, initiative) for
the budget — so importing the same file twice changes nothing, and a corrected figure
replaces the old one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    fail,
    load_or_exit,
    settings_or_exit,
    year_or_exit,
)
from flows.services.setup import open_database
from letters.files import FileRefused, FileTooLarge, read_regular
from models import barometer as barometer_csv
from models import budget as budget_csv
from models.barometer import is_illustrative
from models.problems import ConfigError
from models.text import shown

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from flows.services.storage import Stored

Row = TypeVar("Row")

MAX_CSV_BYTES = 10_000_000

FileArg = Annotated[Path, typer.Argument(help="The CSV file.", show_default=False)]


def _read_text(file: Path) -> str:
    """The file's text; a directory, FIFO or device (or a symlink to one) is refused before
    anything is read (letters/files.py)."""
    try:
        data = read_regular(file, MAX_CSV_BYTES)
    except FileTooLarge as exc:
        fail(f"refused: {shown(file)} is {exc.size:,} bytes; at most 10 MB is read. "
             "Nothing was stored.")
    except FileRefused as exc:
        fail(f"refused: {shown(file)}: {exc.reason}. Nothing was stored.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        fail(f"{shown(file)}:{line} (file): not UTF-8 text (save the file as CSV UTF-8). "
             "Nothing was stored.")


def _refuse(file: Path, problems: list[Any]) -> NoReturn:
    for p in problems:
        print(p, file=sys.stderr)
    n = len(problems)
    fail(f"{shown(file)}: refused, {n} problem{'s' if n != 1 else ''}; nothing was stored.")


def _db(config: Path) -> Engine:

    try:
        return open_database(settings_or_exit(config).database_url)
    except Exception as exc:  # a database that cannot be opened is a refusal, not a crash
        fail(f"refused: the state database cannot be opened: {exc}")


def _parsed(file: Path, parse: Callable[[str], list[Row]]) -> list[Row]:
    """The rows ``parse`` reads from the text of ``file``; on any problem, every problem is
    printed and the verb exits 1 with nothing stored."""
    text = _read_text(file)
    try:
        return parse(text)
    except ConfigError as exc:
        _refuse(file, exc.problems)


def _stored(config: Path, store: Callable[[Engine], Stored]) -> Stored:
    """What ``store`` stored, in the state database of ``config``."""
    db = _db(config)
    try:
        return store(db)
    finally:
        db.dispose()


def barometer_import(file: FileArg, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Import integrationsbarometer readings: goal,period,value,source (e.g. HM2,2011-H2,7.4)."""

    loaded = load_or_exit(config)
    readings = _parsed(file, lambda text: barometer_csv.parse_csv(text, loaded.wheel, str(file)))
    from flows.services.storage import store_readings

    stored = _stored(config, lambda db: store_readings(db, readings, datetime.now(UTC)))
    label = " (illustrative example data)" if is_illustrative(readings) else ""
    print(f"barometer: {stored.total} readings from {shown(file)}{label}: {stored}.")


def budget_import(
    file: FileArg,
    config: ConfigOption = DEFAULT_CONFIG,
    year: Annotated[
        int | None,
        typer.Option("--year", help="The budget year (default: this year, policy time zone)."),
    ] = None,
) -> None:
    """Import the budget decisions: committee,initiative,goal,amount,funded (ja/nej/delvist)."""

    loaded = load_or_exit(config)
    y = year if year is not None else datetime.now(loaded.wheel.policy.tz).year
    year_or_exit(loaded, y)
    decisions = _parsed(file, lambda text: budget_csv.parse_csv(text, loaded.wheel, str(file)))
    from flows.services.storage import store_decisions

    stored = _stored(config, lambda db: store_decisions(db, y, decisions, file.name,
                                                        datetime.now(UTC)))
    print(f"budget {y}: {stored.total} decisions from {shown(file)}: {stored}.")


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
