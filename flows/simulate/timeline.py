"""The timeline of a simulated year: every instant at which something happens, in order.

Computed from the plan, not stepped day by day: every event at its instant (``send_time``
on its day), a chase at every instant where some reminder slot of the year's requests is
due (a business day on which nothing is due sends nothing, so it needs no run), and the
scenario's submissions. At one instant: submissions first, then letters, then the chase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import IntEnum
from zoneinfo import ZoneInfo

from flows.simulate.scenario import PlannedSubmission, Scenario
from models.plan import local_instant, year_plan
from models.wheel import Wheel


class Order(IntEnum):
    """What comes first at one instant."""

    SUBMIT = 0
    EVENT = 1
    CHASE = 2


@dataclass(frozen=True)
class Step:
    at: datetime
    order: Order
    what: str  # event key, "chase", or "committee/deliverable"
    submission: PlannedSubmission | None = None

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.at.astimezone(UTC), self.order)


def timeline(wheel: Wheel, year: int, scenario: Scenario) -> list[Step]:
    """Every instant at which something happens in ``year``, in order."""
    plan = year_plan(wheel, year)
    steps = [Step(pe.at, Order.EVENT, pe.key) for pe in plan.events]
    chase_at = {s.at.astimezone(UTC): s.at for r in plan.requests for s in r.slots}
    steps += [Step(at, Order.CHASE, "chase") for at in chase_at.values()]
    for sub in scenario.submissions:
        if sub.at.astimezone(wheel.policy.tz).year == year:
            steps.append(Step(sub.at, Order.SUBMIT, f"{sub.committee}/{sub.deliverable}", sub))
    steps.sort(key=lambda s: s.sort_key)
    return steps


def end_of_year(tz: ZoneInfo, year: int) -> datetime:
    """The last second of the year: a request still open then is missing."""
    return local_instant(tz, date(year, 12, 31), time(23, 59, 59))
