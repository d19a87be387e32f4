"""The timeline of a simulated year: every instant at which something happens, in order.

Computed from the plan, not stepped day by day: every event at its instant (``send_time``
on its day), a chase at every instant where some reminder slot of the year's requests is
due (a business day on which nothing is due sends nothing, so it needs no run), and the
scenario's submissions and actions (with the slots of an extension's ladder). At one instant:
submissions first, then letters, then the coordinator's actions, then the chase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import IntEnum
from zoneinfo import ZoneInfo

from flows.simulate.scenario import PlannedAction, PlannedSubmission, Scenario
from models.kinds import ActionKind
from models.plan import calendar_for, local_instant, reminder_slots, year_plan
from models.wheel import Wheel


class Order(IntEnum):
    """What comes first at one instant."""

    SUBMIT = 0
    EVENT = 1
    ACTION = 2  # the coordinator's: after the submissions and letters, before the chase
    CHASE = 3


@dataclass(frozen=True)
class Step:
    at: datetime
    order: Order
    what: str  # event key, "chase", "committee/deliverable" or "<do> committee/..."
    submission: PlannedSubmission | None = None
    action: PlannedAction | None = None

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.at.astimezone(UTC), self.order)


def timeline(wheel: Wheel, year: int, scenario: Scenario) -> list[Step]:
    """Every instant at which something happens in ``year``, in order."""
    plan = year_plan(wheel, year)
    steps = [Step(pe.at, Order.EVENT, pe.key) for pe in plan.events]
    chase_at = {s.at.astimezone(UTC): s.at for r in plan.requests for s in r.slots}
    cal = calendar_for(wheel)
    for a in scenario.actions:
        if a.at.astimezone(wheel.policy.tz).year != year:
            continue
        steps.append(Step(a.at, Order.ACTION, f"{a.do} {a.committee}/{a.deliverable or a.event}",
                          action=a))
        if a.do == ActionKind.EXTEND and a.until is not None and a.deliverable is not None:
            # the extension's ladder: its slots are chased at their instants too
            d = wheel.deliverable[a.deliverable]
            for s in reminder_slots(wheel, cal, d, a.until, a.at):
                chase_at[s.at.astimezone(UTC)] = s.at
    steps += [Step(at, Order.CHASE, "chase") for at in chase_at.values()]
    for sub in scenario.submissions:
        if sub.at.astimezone(wheel.policy.tz).year == year:
            steps.append(Step(sub.at, Order.SUBMIT, f"{sub.committee}/{sub.deliverable}", sub))
    steps.sort(key=lambda s: s.sort_key)
    return steps


def end_of_year(tz: ZoneInfo, year: int) -> datetime:
    """The last second of the year: a request still open then is missing."""
    return local_instant(tz, date(year, 12, 31), time(23, 59, 59))
