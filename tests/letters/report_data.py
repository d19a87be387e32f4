"""A full status year as plain data: the 7 Copenhagen committees with a mix of on-time,
late and missing hand-ins, forms read back with text and initiatives for every goal they
concern, and illustrative barometer readings for all six goals. Used by the PDF tests and
the PDF benchmark (the report the council really gets has all seven committees)."""

from __future__ import annotations

from datetime import date, datetime

from letters.readback import FormReading, Initiative
from letters.reports.data import CommitteeReport, Handin, StatusData
from models.barometer import Reading
from models.config import load
from models.numbers import format_dkk
from models.plan import year_plan
from tests import CPH, ROOT

# committee -> (handleplan status, redegørelse status)
STATUSES = {
    "OEU": ("on_time", "on_time"),
    "BUU": ("late", "on_time"),
    "KFU": ("on_time", "late"),
    "SUU": ("missing", "missing"),
    "SOU": ("on_time", "missing"),
    "TMU": ("late", "late"),
    "BIU": ("on_time", "on_time"),
}
VALUES = {"HM1": (42.0, 44.5), "HM2": (7.4, 7.1), "HM3": (3.2, 2.9), "HM4": (61.0, 63.0),
          "HM5": (18.0, 19.5), "HM6": (70.0, 71.0)}


def _reading(goals: tuple[str, ...], n: int) -> FormReading:
    texts = {g: f"Udvalget arbejder med {g} & <lokale> indsatser ({n})." for g in goals}
    inits = tuple(
        Initiative(f"Initiativ {g}-{n}", g, 250_000 * (i + 1), format_dkk(250_000 * (i + 1)),
                   (True, False, None)[i % 3], i + 1, "")
        for i, g in enumerate(goals)
    )
    return FormReading(texts, inits, (), (), True, True)


def seven_committee_status(year: int = 2012) -> StatusData:
    wheel = load(ROOT / "aarshjul.yaml").wheel
    plan = year_plan(wheel, year)
    due = {d.key: d.due for d in plan.deliverables}
    titles = {d.key: d.title for d in wheel.deliverables}
    committees = []
    for n, c in enumerate(wheel.committees):
        goals = tuple(g.key for g in wheel.goals if c.key in g.committees)
        handins = []
        for key, status in zip(("handleplan", "redegoerelse"), STATUSES[c.key], strict=True):
            got = (datetime(year, 4, 20 + n % 5, 10, tzinfo=CPH) if status == "on_time"
                   else datetime(year, 5, 20 + n % 5, 10, tzinfo=CPH))
            received = status != "missing"
            handins.append(Handin(key, titles[key], due[key], status,
                                  got if received else None,
                                  _reading(goals, n) if received else None,
                                  f"{c.key}-{key}.docx" if received else None))
        committees.append(CommitteeReport(c.key, c.name, goals, tuple(handins)))
    readings = tuple(
        Reading(g, period, value, "Illustrative tal", True)
        for g, (v1, v2) in VALUES.items()
        for period, value in ((f"{year - 1}-H1", v1), (f"{year - 1}-H2", v2))
    )
    return StatusData(wheel, plan, year, date(year, 8, 15), f"Samlet statusrapport {year}",
                      tuple(committees), readings)
