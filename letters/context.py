"""The data a template sees: plain dicts built from the wheel and the year plan.

Every value a template prints is ready to print (Danish dates, Danish numbers, "ingen
måling endnu", "mål ikke fastsat"), so templates stay simple for coordinators to edit.
The names available to each template are listed in README ("Letters and templates").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from models.barometer import Reading
from models.dates import dansk_dato, dansk_ugedag_dato
from models.form import goal_heading
from models.kinds import EventKind
from models.numbers import with_unit
from models.plan import YearPlan
from models.wheel import Committee, Goal, Wheel

NO_READING = "ingen måling endnu"
NO_TARGET = "mål ikke fastsat"


@lru_cache(maxsize=4096)
def dato(d: date) -> str:
    """``1. maj 2012`` (Babel, cached: dates repeat across letters)."""

    return dansk_dato(d)


@lru_cache(maxsize=4096)
def ugedag_dato(d: date) -> str:
    """``tirsdag den 1. maj 2012``."""

    return dansk_ugedag_dato(d)


def latest(readings: Sequence[Reading] | None) -> Reading | None:
    """The reading of the latest period (periods sort as text: ``2011-H2`` < ``2012-H1``)."""
    if not readings:
        return None
    return max(readings, key=lambda r: r.period)


@lru_cache(maxsize=1024)
def _goal_static(goal: Goal, area_title: str) -> dict[str, Any]:
    if goal.target is None:
        target = NO_TARGET
    else:
        target = f"{with_unit(goal.target.value, goal.unit)} i {goal.target.year}"
    return {
        "key": goal.key,
        "title": goal.title,
        "heading": goal_heading(goal.key, goal.title),
        "area": area_title,
        "unit": goal.unit,
        "direction": "op" if goal.direction == "up" else "ned",
        "better": "højere er bedre" if goal.direction == "up" else "lavere er bedre",
        "target": target,
        "target_set": goal.target is not None,
        "target_text": goal.target_text or "",
    }


class _Index:
    """Look-ups by committee, computed once per wheel (a wheel may have 1,000 committees)."""

    def __init__(self, wheel: Wheel) -> None:
        self.wheel = wheel  # held, so that id(wheel) stays this wheel's
        self.goals: dict[str, list[tuple[Goal, dict[str, Any]]]] = {}
        self.areas: dict[str, list[dict[str, Any]]] = {}
        for a in wheel.focus_areas:
            for g in a.goals:
                static = _goal_static(g, a.title)
                for c in g.committees:
                    self.goals.setdefault(c, []).append((g, static))
        self.from_: dict[str, frozenset[str]] = {
            d.key: frozenset(wheel.deliverable_from(d)) for d in wheel.deliverables
        }


_INDEX: dict[int, _Index] = {}


def _index(wheel: Wheel) -> _Index:
    ix = _INDEX.get(id(wheel))
    if ix is None or ix.wheel is not wheel:
        if len(_INDEX) > 16:
            _INDEX.clear()
        ix = _INDEX[id(wheel)] = _Index(wheel)
    return ix


def goal_rows(
    wheel: Wheel, committee_key: str, readings: Mapping[str, Sequence[Reading]] | None = None
) -> list[dict[str, Any]]:
    """The goals that concern the committee, each with its latest reading against target."""
    rows = []
    for g, static in _index(wheel).goals.get(committee_key, ()):
        row = dict(static)
        r = latest(readings.get(g.key)) if readings else None
        if r is None:
            row.update(latest=NO_READING, latest_value=None, latest_period="")
        else:
            row.update(
                latest=f"{with_unit(r.value, g.unit)} ({r.period})",
                latest_value=r.value,
                latest_period=r.period,
            )
        rows.append(row)
    return rows


def focus_area_rows(wheel: Wheel, committee_key: str) -> list[dict[str, Any]]:
    """The focus areas with goals that concern the committee: title, challenge, lighthouse."""
    out = []
    mine_all = {g.key for g, _ in _index(wheel).goals.get(committee_key, ())}
    for a in wheel.focus_areas:
        mine = [g for g in a.goals if g.key in mine_all]
        if not mine:
            continue
        if len(mine) == 1:
            challenge = f"Udvalget bidrager til hovedmålet {mine[0].key}: {mine[0].title}."
        else:
            listed = "; ".join(f"{g.key}: {g.title}" for g in mine)
            challenge = f"Udvalget bidrager til hovedmålene {listed}."
        out.append({
            "key": a.key,
            "title": a.title,
            "lighthouse": a.lighthouse,
            "challenge": challenge,
            "goals": [g.key for g in mine],
        })
    return out


def _committee(c: Committee) -> dict[str, Any]:
    return {"key": c.key, "name": c.name, "chair": c.chair or "", "to": list(c.to),
            "cc": list(c.cc)}


def salutation(c: Committee) -> str:
    """``formand og medlemmer af Børne- og Ungdomsudvalget`` (after "Kære")."""
    return f"formand og medlemmer af {c.name}" if c.chair else f"medlemmer af {c.name}"


def _common(wheel: Wheel, plan: YearPlan) -> dict[str, Any]:
    p = wheel.policy
    owner = wheel.committee.get(p.owner)
    return {
        "year": plan.year,
        "policy": {"name": p.name, "owner": p.owner},
        "owner": {"key": p.owner, "name": owner.name if owner else p.owner},
        "sender": {"name": p.sender.name, "email": p.sender.email},
        "coordinator": {"name": p.coordinator.name, "email": p.coordinator.email},
    }


def invited_to(wheel: Wheel, plan: YearPlan, event_key: str) -> dict[str, Any]:
    """The event a letter invites to (``conference`` in the templates): the one its
    ``invites_to`` names, else the letter's own event."""
    e = plan.event(wheel.event[event_key].invites_to or event_key)
    return {"key": e.key, "title": e.title, "date": dato(e.day),
            "weekday_date": ugedag_dato(e.day), "iso": e.day.isoformat()}


def deliverable_rows(
    wheel: Wheel, plan: YearPlan, event_key: str, committee_key: str
) -> list[dict[str, Any]]:
    """What the event's letter asks of the committee: its ``opens`` where it is in ``from``."""
    ev = wheel.event[event_key]
    from_ = _index(wheel).from_
    out = []
    for dkey in ev.opens:
        d = wheel.deliverable[dkey]
        if committee_key not in from_[dkey]:
            continue
        pd = plan.deliverable(dkey)
        out.append({"key": dkey, "title": d.title, "due": dato(pd.due),
                    "due_iso": pd.due.isoformat(), "form": d.form or "formular"})
    return out


def letter_context(
    wheel: Wheel,
    plan: YearPlan,
    event_key: str,
    committee_key: str,
    readings: Mapping[str, Sequence[Reading]] | None = None,
) -> dict[str, Any]:
    """Everything a letter template (opfordringsskrivelse, konferenceinvitation) can use.

    ``readings`` maps a goal key to its barometer readings (any order); a goal without one
    shows "ingen måling endnu".
    """
    c = wheel.committee[committee_key]
    pe = plan.event(event_key)
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c),
        salutation=salutation(c),
        event={"key": pe.key, "title": pe.title, "date": dato(pe.day), "iso": pe.day.isoformat()},
        letter_date=dato(pe.day),
        goals=goal_rows(wheel, committee_key, readings),
        focus_areas=focus_area_rows(wheel, committee_key),
        deliverables=deliverable_rows(wheel, plan, event_key, committee_key),
        conference=invited_to(wheel, plan, event_key),
    )
    return ctx


def form_context(
    wheel: Wheel, plan: YearPlan, deliverable_key: str, committee_key: str
) -> dict[str, Any]:
    """The fill-in form for one deliverable and committee (README "Submitted forms")."""
    c = wheel.committee[committee_key]
    d = wheel.deliverable[deliverable_key]
    pd = plan.deliverable(deliverable_key)
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c),
        deliverable={"key": d.key, "title": d.title, "due": dato(pd.due),
                     "due_iso": pd.due.isoformat()},
        goals=goal_rows(wheel, committee_key),
    )
    return ctx


# the title and subtitle of each report's cover ({year}: the cycle year)
REPORT_COVERS: dict[EventKind, tuple[str, str]] = {
    EventKind.STATUS_REPORT: (
        "Samlet statusrapport {year}",
        "Status på integrationsindsatsen i de stående udvalg",
    ),
    EventKind.BUDGET: (
        "Samlet overblik over integrationsindsatsen {year}",
        "Budgetvedtagelsen: finansierede og ikke finansierede initiativer, sammenholdt med "
        "udvalgenes ønsker i maj",
    ),
}


def cover_context(
    wheel: Wheel, plan: YearPlan, report_date: date,
    kind: EventKind = EventKind.STATUS_REPORT,
) -> dict[str, Any]:
    """The cover of a report (statusrapport_forside): the status report's, or with ``kind``
    ``budget`` the budget overview's; ``title`` and ``subtitle`` say which."""
    if kind not in REPORT_COVERS:
        raise ValueError(f"no report cover for {kind!r} (known: {', '.join(REPORT_COVERS)})")
    title, subtitle = REPORT_COVERS[kind]
    ctx = _common(wheel, plan)
    ctx.update(report_date=dato(report_date), report_date_iso=report_date.isoformat(),
               kind=str(kind), title=title.format(year=plan.year), subtitle=subtitle)
    return ctx
