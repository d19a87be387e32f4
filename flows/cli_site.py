"""``aarshjul site --year Y -o DIR [--with-status]``: the wheel as static HTML for an intranet.

The pages are built by :mod:`letters.site` from the year plan, the wheel picture (SVG) and
the calendar file (the same bytes ``aarshjul calendar`` writes with the same ``--stamp``).
With ``--with-status`` the rows of who has handed in what come from the state database,
read here and handed to the page builder as plain rows (committee names, deliverable
titles, dates and statuses; no addresses, no names of persons). Heavy imports live inside
the verb. Each file is written atomically (a temporary file, then a rename); a
``status.html`` left by an earlier run with ``--with-status`` is removed when the new
site has no status page, so that no stale status stays on the intranet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.binding import setup_for
from flows.cli_outputs import StampOption, write_atomic
from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    YearOption,
    fail,
    load_or_exit,
    settings_or_exit,
    year_or_exit,
)
from letters.ics import calendar_bytes
from letters.wheel_picture import render_wheel
from models.kinds import RequestStatus
from models.plan import parse_instant, year_plan
from models.text import shown

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from letters.site import StatusRow
    from models.config import Loaded



def _as_of(value: str | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, tz)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--as-of'") from None


def status_rows(config: Path, loaded: Loaded, year: int, as_of: datetime) -> list[StatusRow]:
    """Who has handed in what, as of ``as_of``, from the state database, as plain rows."""
    from flows.services.status import request_rows  # SQLAlchemy
    from letters.site import StatusRow

    settings = settings_or_exit(config)
    try:
        st = setup_for(settings, actor="cli:site", wheel=loaded.wheel)
    except Exception as exc:  # a database that cannot be opened is a refusal, not a crash
        fail(f"refused: the state database cannot be opened: {exc}")
    try:
        rows = request_rows(st, year, as_of)
    finally:
        st.db.dispose()
    w = loaded.wheel
    out = []
    for r in rows:
        status = str(RequestStatus.MISSING if r.overdue else r.status)
        out.append(StatusRow(
            committee=w.committee[r.committee].name if r.committee in w.committee
            else r.committee,
            deliverable=w.deliverable[r.deliverable].title if r.deliverable in w.deliverable
            else r.deliverable,
            due=r.due,
            status=status,
            received=r.received_at.astimezone(w.policy.tz).date() if r.received_at else None,
        ))
    return out


def site(
    year: YearOption,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder to write the pages into.")
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    with_status: Annotated[
        bool, typer.Option("--with-status", help="Add who has handed in what (status.html).")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="INSTANT",
                     help="The instant of the status (ISO 8601; no offset = local); "
                          "default: now."),
    ] = None,
    stamp: StampOption = None,
) -> None:
    """Write the year as static HTML pages (no script needed): the wheel, the plan and
    deadlines as moved, and the calendar file; --with-status adds who has handed in what."""
    from letters.site import STATUS, build_site  # Jinja, at its top

    if as_of is not None and not with_status:
        raise typer.BadParameter("--as-of is the instant of the status: give --with-status",
                                 param_hint="'--as-of'")
    loaded = load_or_exit(config)
    year_or_exit(loaded, year)
    tz = loaded.wheel.policy.tz
    at = _as_of(as_of, tz)
    if output.exists() and not output.is_dir():
        fail(f"{shown(output)}: not a folder; nothing was written.")
    plan = year_plan(loaded.wheel, year)
    status = None
    if with_status:
        at = at or datetime.now(UTC).astimezone(tz)
        status = status_rows(config, loaded, year, at)
    files = build_site(
        loaded.wheel, plan,
        svg=render_wheel(loaded.wheel, plan, fmt="svg"),
        ics=calendar_bytes(loaded.wheel, plan, stamp=stamp or datetime.now(UTC)),
        status=status, as_of=at,
    )
    written: list[str] = []
    try:
        output.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(output / name, data)
            written.append(name)
        stale = output / STATUS
        if status is None and stale.is_file():
            stale.unlink()
    except OSError as exc:
        fail(f"{shown(output)}: cannot write the site: {exc.strerror or exc}"
             + (f" (written before the error: {', '.join(written)})" if written else
                "; nothing was written") + ".")
    extra = f", status pr. {at:%Y-%m-%d %H:%M}" if at is not None else ""
    print(f"{shown(output)}: {', '.join(files)} for {year}{extra} ({len(files)} files).")


def register(app: typer.Typer) -> None:
    app.command("site")(site)
