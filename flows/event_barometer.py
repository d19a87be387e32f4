"""The ``barometer`` event (CONTRACT §2): a snapshot of the integrationsbarometer.

No e-mail. A run writes, under ``<documents>/<year>/<event>/`` (``Setup.documents``, or
``<data>/documents`` when the setup keeps no documents; a dry run writes into its preview
folder instead):

- one chart per goal, ``barometer-<GOAL>.png`` (:func:`letters.charts.goal_chart`): the trend
  of the readings against the target and the baseline (the goal's first reading), with
  "mål ikke fastsat" where the target is not set and an "Illustrative tal" label when the
  readings are illustrative example data (their source says ``illustrativ``);
- ``barometer.md``: the same snapshot as a Danish markdown table (latest value per goal
  against baseline and target), with every chart's alt text, for readers without the
  pictures.

The same markdown is published as a Prefect artifact (key ``aarshjul-<year>-<event>``; no key
for a dry run) when the run is a Prefect flow run, and the run's
:class:`flows.report.RunReport` lists the files (``documents``) and a Danish note.

Which readings: the barometer readings in the state database (``aarshjul barometer import``,
or a simulation's scenario) whose half-year has ended on or before the event's day: the
January run shows up to the second half of last year, the July run up to the first half of
this year. Writing the same snapshot twice gives the same files (the charts are
deterministic), so a rerun is harmless.

Importing this module registers the handler (:func:`flows.engine.register_event_handler`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flows import engine as E
from flows.report import RunReport
from models.barometer import Reading, for_goal, is_illustrative, period_label
from models.plan import PlannedEvent

if TYPE_CHECKING:
    from models.wheel import Goal, Wheel

SNAPSHOT_NAME = "barometer.md"
COLUMNS = ("Hovedmål", "Udgangspunkt", "Seneste måling", "Mål", "Vurdering")


def chart_name(goal: str) -> str:
    return f"barometer-{goal}.png"


def period_end(period: str) -> date:
    """The last day of a half-year period: ``2011-H2`` -> 2011-12-31."""
    year, half = int(period[:4]), int(period[-1])
    return date(year, 6, 30) if half == 1 else date(year, 12, 31)


def readings_until(st: E.Setup, day: date) -> list[Reading]:
    """The stored readings whose half-year has ended on or before ``day``."""
    from sqlmodel import Session, col, select

    from models.state import BarometerReading

    with Session(st.db) as s:
        rows = s.exec(select(BarometerReading).order_by(col(BarometerReading.id))).all()
    out = []
    for r in rows:
        try:
            if period_end(r.period) > day:
                continue
        except ValueError:
            continue
        out.append(Reading(r.goal, r.period, r.value, r.source or None))
    return out


def _tal(value: float, unit: str) -> str:
    from models.numbers import with_unit

    return with_unit(value, unit)


def assessment(goal: Goal, rs: Sequence[Reading]) -> str:
    """A short Danish verdict on the latest reading (against the target, else the baseline)."""
    if not rs:
        return "ingen måling endnu"
    last, base = rs[-1], rs[0]
    better = (lambda a, b: a < b) if goal.direction == "down" else (lambda a, b: a > b)
    if goal.target is not None:
        t = goal.target.value
        if last.value == t or better(last.value, t):
            return "målet er nået"
    if len(rs) == 1 or last.value == base.value:
        trend = "uændret i forhold til udgangspunktet"
    elif better(last.value, base.value):
        trend = "bedre end udgangspunktet"
    else:
        trend = "dårligere end udgangspunktet"
    if goal.target is None:
        return f"{trend}; mål ikke fastsat"
    return trend


@dataclass(frozen=True)
class GoalRow:
    goal: str
    title: str
    baseline: str
    latest: str
    target: str
    verdict: str


def goal_rows(wheel: Wheel, readings: Sequence[Reading]) -> list[GoalRow]:
    rows = []
    for g in wheel.goals:
        rs = for_goal(readings, g.key)
        base = f"{_tal(rs[0].value, g.unit)} ({period_label(rs[0].period)})" if rs else "–"
        last = f"{_tal(rs[-1].value, g.unit)} ({period_label(rs[-1].period)})" if rs else "–"
        if g.target is not None:
            target = f"{_tal(g.target.value, g.unit)} i {g.target.year}"
        else:
            target = "mål ikke fastsat"
        rows.append(GoalRow(g.key, g.title, base, last, target, assessment(g, rs)))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def snapshot_markdown(
    wheel: Wheel, pe: PlannedEvent, year: int, readings: Sequence[Reading], *, dry_run: bool
) -> str:
    """The Danish snapshot: the latest value per goal against baseline and target."""
    from letters.charts import chart_alt_text
    from models.dates import dansk_dato

    illustrative = is_illustrative(readings)
    lines = [f"# {pe.title} {year}", ""]
    lines.append(
        f"Integrationsbarometeret pr. {dansk_dato(pe.day)}: seneste måling pr. hovedmål "
        "sammenholdt med udgangspunktet (første måling) og målet."
    )
    if dry_run:
        lines += ["", "**Prøvekørsel:** graferne er skrevet til prøvemappen."]
    if illustrative:
        lines += ["", "**Illustrative tal:** eksempeldata, ikke målinger."]
    if not readings:
        lines += ["", "Der er endnu ingen målinger i barometeret (`aarshjul barometer import`)."]
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in goal_rows(wheel, readings):
        cells = (f"{r.goal} – {r.title}", r.baseline, r.latest, r.target, r.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "## Grafer", ""]
    for g in wheel.goals:
        rs = for_goal(readings, g.key)
        alt = chart_alt_text(g, rs, illustrative=is_illustrative(rs))
        lines.append(f"- `{chart_name(g.key)}`: {alt}")
    return "\n".join(lines) + "\n"


def in_flow_run() -> bool:
    """Whether we run inside a Prefect flow run (only then is an artifact published)."""
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def artifact_key(year: int, event: str) -> str:
    import re

    from flows.artifacts import artifact_key as key

    return key(year, re.sub(r"[^a-z0-9-]+", "-", event.lower()).strip("-") or "begivenhed")


def publish_markdown(key: str | None, markdown: str, description: str) -> bool:
    """Publish ``markdown`` as an artifact of the current flow run; False outside one."""
    if not in_flow_run():
        return False
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=key, description=description)
    return True


def output_dir(
    st: E.Setup, year: int, event: str, dry_run: bool, preview_dir: Path | None
) -> tuple[Path, Path]:
    """(the folder to write into, the base that report paths are relative to)."""
    if dry_run:
        base = preview_dir or st.data / "preview"
        return base, base
    base = st.documents if st.documents is not None else st.data / "documents"
    return base / str(year) / event, base


def write_snapshot(
    st: E.Setup, pe: PlannedEvent, year: int, directory: Path, *, dry_run: bool = False
) -> tuple[list[Path], str, list[Reading]]:
    """Write one chart per goal and the markdown snapshot; (files, markdown, readings)."""
    from letters.charts import goal_chart

    readings = readings_until(st, pe.day)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for g in st.wheel.goals:
        rs = for_goal(readings, g.key)
        p = directory / chart_name(g.key)
        p.write_bytes(goal_chart(g, rs, fmt="png", illustrative=is_illustrative(rs)))
        written.append(p)
    md = snapshot_markdown(st.wheel, pe, year, readings, dry_run=dry_run)
    p = directory / SNAPSHOT_NAME
    p.write_text(md, encoding="utf-8")
    written.append(p)
    return written, md, readings


def barometer_event(
    st: E.Setup,
    report: RunReport,
    pe: PlannedEvent,
    year: int,
    as_of: datetime,
    dry_run: bool,
    preview_dir: Path | None,
    send: bool,
) -> None:
    """The ``barometer`` handler: charts and snapshot written, artifact published; no e-mail."""
    directory, base = output_dir(st, year, pe.key, dry_run, preview_dir)
    written, md, readings = write_snapshot(st, pe, year, directory, dry_run=dry_run)
    report.documents += [p.relative_to(base).as_posix() for p in written]
    goals = {r.goal for r in readings}
    n_goals = len(st.wheel.goals)
    note = (
        f"Barometeret: {n_goals} grafer (én pr. hovedmål) og en oversigt skrevet til "
        f"{directory}; målinger for {len(goals)} af {n_goals} mål"
    )
    if readings:
        latest = max(readings, key=lambda r: r.order)
        note += f", seneste periode {period_label(latest.period)}"
    note += "."
    if is_illustrative(readings):
        note += " Tallene er illustrative eksempeldata."
    if not readings:
        note += " Der er endnu ingen målinger (`aarshjul barometer import`)."
    untargeted = [g.key for g in st.wheel.goals if g.target is None]
    if untargeted:
        note += f" Mål ikke fastsat for {', '.join(untargeted)}."
    report.notes.append(note)
    publish_markdown(
        None if dry_run else artifact_key(year, pe.key),
        md,
        f"Integrationsbarometeret {year}: {pe.title}" + (" (prøvekørsel)" if dry_run else ""),
    )


E.register_event_handler("barometer", barometer_event)
