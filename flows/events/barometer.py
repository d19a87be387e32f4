"""``do: barometer``: a snapshot of the integrationsbarometer. No e-mail.

A run writes, under ``<documents>/<year>/<event>/`` (a dry run: into its preview folder),
one chart per goal, ``barometer-<GOAL>.png`` (:func:`letters.charts.goal_chart`: the trend
against the target and the baseline, "mål ikke fastsat" where the target is not set, an
"Illustrative tal" label on illustrative readings), and ``barometer.md``, the same snapshot
as a Danish table (:mod:`letters.barometer_text`), which is also the run's artifact (key
``aarshjul-<year>-<event>``; none for a dry run).

Which readings: those stored (``aarshjul barometer import``, or a simulation's scenario)
whose half-year has ended on or before the event's day: the January run shows up to the
second half of last year, the July run up to the first half of this year. The charts are
deterministic, so a rerun writes the same files.
"""

from __future__ import annotations

from pathlib import Path

from flows.artifacts import event_artifact_key
from flows.events.base import EventResult, EventRun
from flows.report import Artifact
from flows.services.storage import barometer_readings
from letters.barometer_text import SNAPSHOT_NAME, chart_name, snapshot_markdown, snapshot_note
from letters.charts import goal_chart
from letters.private import private_dir, write_private
from models.barometer import Reading, for_goal, is_illustrative


def write_snapshot(run: EventRun, directory: Path,
                   readings: list[Reading]) -> tuple[list[Path], str]:
    """One chart per goal and the markdown snapshot; (files, markdown)."""
    private_dir(directory)
    written = []
    for g in run.st.wheel.goals:
        rs = for_goal(readings, g.key)
        p = directory / chart_name(g.key)
        write_private(p, goal_chart(g, rs, fmt="png", illustrative=is_illustrative(rs)))
        written.append(p)
    pe = run.event
    md = snapshot_markdown(run.st.wheel, pe.title, run.year, pe.day, readings,
                           dry_run=run.dry_run)
    p = directory / SNAPSHOT_NAME
    write_private(p, md.encode("utf-8"))
    return [*written, p], md


def handle(run: EventRun) -> EventResult:
    base = run.preview if run.dry_run else run.documents
    directory = base if run.dry_run else base / str(run.year) / run.event.key
    readings = run.step("readings", barometer_readings, run.st.db, run.event.day)
    written, md = run.step("charts", write_snapshot, run, directory, readings)
    dry = " (prøvekørsel)" if run.dry_run else ""
    return EventResult(
        documents=[p.relative_to(base).as_posix() for p in written],
        notes=[snapshot_note(run.st.wheel, readings, str(directory))],
        artifacts=[Artifact(None if run.dry_run else event_artifact_key(run.year, run.event.key),
                            md, f"Integrationsbarometeret {run.year}: {run.event.title}{dry}")],
    )
