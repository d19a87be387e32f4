"""The barometer snapshot in Danish: a verdict per goal, the snapshot table, the note.

What the ``barometer`` event writes next to its charts (``barometer.md``) and publishes as
an artifact: the latest value per goal against the baseline (the goal's first reading) and
the target, with every chart's alt text for readers without the pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from letters.charts import chart_alt_text
from models.barometer import Reading, for_goal, is_illustrative, period_label
from models.dates import dansk_dato
from models.numbers import with_unit
from models.text import markdown_text
from models.wheel import Goal, Wheel

SNAPSHOT_NAME = "barometer.md"
COLUMNS = ("Hovedmål", "Udgangspunkt", "Seneste måling", "Mål", "Vurdering")


def chart_name(goal: str) -> str:
    return f"barometer-{goal}.png"


def assessment(goal: Goal, rs: Sequence[Reading]) -> str:
    """A short Danish verdict on the latest reading (against the target, else the baseline)."""
    if not rs:
        return "ingen måling endnu"
    last, base = rs[-1], rs[0]

    def better(a: float, b: float) -> bool:
        return a < b if goal.direction == "down" else a > b

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
    return f"{trend}; mål ikke fastsat" if goal.target is None else trend


@dataclass(frozen=True)
class GoalRow:
    goal: str
    title: str
    baseline: str
    latest: str
    target: str
    verdict: str


def _at(r: Reading, unit: str) -> str:
    return f"{with_unit(r.value, unit)} ({period_label(r.period)})"


def goal_rows(wheel: Wheel, readings: Sequence[Reading]) -> list[GoalRow]:
    rows = []
    for g in wheel.goals:
        rs = for_goal(readings, g.key)
        target = (f"{with_unit(g.target.value, g.unit)} i {g.target.year}"
                  if g.target is not None else "mål ikke fastsat")
        rows.append(GoalRow(g.key, g.title, _at(rs[0], g.unit) if rs else "–",
                            _at(rs[-1], g.unit) if rs else "–", target, assessment(g, rs)))
    return rows


def _cell(text: str) -> str:
    return markdown_text(text)


def snapshot_markdown(wheel: Wheel, title: str, year: int, day: date,
                      readings: Sequence[Reading], *, dry_run: bool) -> str:
    """The Danish snapshot: the latest value per goal against baseline and target."""
    lines = [f"# {markdown_text(title)} {year}", "",
             f"Integrationsbarometeret pr. {dansk_dato(day)}: seneste måling pr. hovedmål "
             "sammenholdt med udgangspunktet (første måling) og målet."]
    if dry_run:
        lines += ["", "**Prøvekørsel:** graferne er skrevet til prøvemappen."]
    if is_illustrative(readings):
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
        lines.append(f"- `{chart_name(g.key)}`: {markdown_text(alt)}")
    return "\n".join(lines) + "\n"


def snapshot_note(wheel: Wheel, readings: Sequence[Reading], where: str) -> str:
    """The run's Danish note: what was written, what the readings cover."""
    goals = {r.goal for r in readings}
    n_goals = len(wheel.goals)
    note = (f"Barometeret: {n_goals} grafer (én pr. hovedmål) og en oversigt skrevet til "
            f"{where}; målinger for {len(goals)} af {n_goals} mål")
    if readings:
        latest = max(readings, key=lambda r: r.order)
        note += f", seneste periode {period_label(latest.period)}"
    note += "."
    if is_illustrative(readings):
        note += " Tallene er illustrative eksempeldata."
    if not readings:
        note += " Der er endnu ingen målinger (`aarshjul barometer import`)."
    untargeted = [g.key for g in wheel.goals if g.target is None]
    if untargeted:
        note += f" Mål ikke fastsat for {', '.join(untargeted)}."
    return note
