"""Verbs that write files from the plan: calendar (ICS) and wheel (picture). No Prefect.

Both read the year plan only (``models.plan.year_plan``); icalendar and matplotlib are
imported inside the verbs, never at module level (``check`` imports this module). The clock
is read here, at the edge, and only for defaults (``--stamp``, ``--today``). Files are
written atomically: a temporary file in the target directory, then a rename, so a reader
never sees half a file and a failed run leaves the old file in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from flows.common import DEFAULT_CONFIG, ConfigOption, YearOption, fail, load_or_exit, year_or_exit
from letters.ics import calendar_bytes
from letters.private import atomic_file
from letters.wheel_picture import render_wheel
from models.plan import year_plan
from models.text import shown

PICTURE_FORMATS: dict[str, Literal["png", "svg"]] = {".png": "png", ".svg": "svg"}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename; OSError if it can't."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(2, "the directory does not exist", str(parent))
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory", str(path))
    with atomic_file(path, private=False, sync=True) as f:  # the umask applies
        f.write(data)


def _write_or_fail(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        fail(f"{shown(path)}: cannot write the file: {exc.strerror or exc}; nothing was written.")


def _suffix(path: Path, allowed: Mapping[str, str], what: str) -> str:
    fmt = allowed.get(path.suffix.lower())
    if fmt is None:
        wanted = " or ".join(allowed)
        raise typer.BadParameter(
            f"{path}: {what} must end in {wanted} (got {path.suffix or 'no suffix'!r})",
            param_hint="'-o' / '--output'",
        )
    return fmt


def _ics_path(value: Path) -> Path:
    _suffix(value, {".ics": "ics"}, "the calendar file")
    return value


def _picture_path(value: Path) -> Path:
    _suffix(value, PICTURE_FORMATS, "the picture")
    return value


def stamp_instant(value: str | None) -> datetime | None:
    """A ``--stamp`` value: an ISO 8601 instant with its UTC offset (no local guess)."""
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 instant") from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a UTC offset (e.g. 2012-01-01T00:00Z)")
    return t


StampOption = Annotated[
    datetime | None,
    typer.Option("--stamp", metavar="INSTANT", parser=stamp_instant,
                 help="DTSTAMP of every calendar entry (ISO 8601 with offset); default: now. "
                      "The same stamp gives the same bytes (`calendar` and `site`)."),
]


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD") from None


def calendar(
    year: YearOption,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The .ics file to write.", callback=_ics_path),
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    waves: Annotated[
        bool,
        typer.Option("--waves/--no-waves",
                     help="Also list when påmindelser, rykkere and eskaleringer go out."),
    ] = True,
    stamp: StampOption = None,
) -> None:
    """Write the year's events, deadlines (with alarms) and reminder waves as an ICS file."""

    when = stamp or datetime.now(UTC)
    loaded = load_or_exit(config)
    year_or_exit(loaded, year)
    plan = year_plan(loaded.wheel, year)
    data = calendar_bytes(loaded.wheel, plan, stamp=when, waves=waves)
    _write_or_fail(output, data)
    n = data.count(b"BEGIN:VEVENT")
    print(f"{shown(output)}: {n} entries for {year} ({loaded.wheel.policy.timezone}).")


def wheel(
    year: YearOption,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The picture to write: .png or .svg.",
                     callback=_picture_path),
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    today: Annotated[
        str | None,
        typer.Option("--today", metavar="YYYY-MM-DD",
                     help="The day of the today marker; default: today in the policy's zone."),
    ] = None,
) -> None:
    """Draw the årshjul: months, events, deadlines and reminders, as PNG (A4, 300 dpi) or SVG."""

    day = _day(today)
    loaded = load_or_exit(config)
    year_or_exit(loaded, year)
    if day is None:
        day = datetime.now(loaded.wheel.policy.tz).date()
    plan = year_plan(loaded.wheel, year)
    fmt = PICTURE_FORMATS[output.suffix.lower()]
    data = render_wheel(loaded.wheel, plan, fmt=fmt, today=day)
    _write_or_fail(output, data)
    marker = ", with today's marker" if day.year == year else ""
    print(f"{shown(output)}: the årshjul for {year} ({fmt.upper()}{marker}).")


def register(app: typer.Typer) -> None:
    """Register the verbs of this module."""
    app.command("calendar")(calendar)
    app.command("wheel")(wheel)
