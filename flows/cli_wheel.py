"""Verbs that read the wheel only: check, plan, calendar, wheel. No Prefect here."""

from __future__ import annotations

import json
from datetime import time
from typing import Annotated, Any

import typer

from flows.common import DEFAULT_CONFIG, ConfigOption, YearOption, load_or_exit, year_or_exit
from models.dates import dansk_dato
from models.dates import dansk_dato as dd
from models.plan import local_instant, year_plan


def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Check the wheel file (and its templates); print every problem, exit 1 on any."""
    loaded = load_or_exit(config)
    w = loaded.wheel
    print(
        f"{config}: OK: {w.policy.name}, {w.policy.years[0]}-{w.policy.years[1]}, "
        f"{len(w.committees)} udvalg, {len(w.goals)} hovedmål, "
        f"{len(w.deliverables)} afleveringer, {len(w.events)} begivenheder."
        + (
            f" {len(loaded.warnings)} warning{'s' if len(loaded.warnings) != 1 else ''} "
            "(above)."
            if loaded.warnings
            else ""
        )
    )


def plan(
    year: YearOption,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Show the year plan: events, deadlines and reminder slots, in Danish."""

    loaded = load_or_exit(config, show_warnings=not as_json)
    year_or_exit(loaded, year)
    p = year_plan(loaded.wheel, year)
    if as_json:
        print(json.dumps(plan_json(p), ensure_ascii=False, indent=2))
        return
    _print_plan(loaded, p)


def plan_json(p: Any) -> dict[str, Any]:
    return {
        "year": p.year,
        "timezone": p.timezone,
        "events": [
            {
                "key": e.key,
                "title": e.title,
                "do": e.do,
                "date": e.day.isoformat(),
                "nominal": e.nominal.isoformat(),
                "at": e.at.isoformat(),
                "letter": e.letter,
                "to": list(e.to),
                "opens": list(e.opens),
            }
            for e in p.events
        ],
        "deliverables": [
            {
                "key": d.key,
                "title": d.title,
                "nominal": d.nominal.isoformat(),
                "due": d.due.isoformat(),
                "if_closed": d.if_closed,
                "from": list(d.from_),
            }
            for d in p.deliverables
        ],
        "requests": [
            {
                "committee": r.committee,
                "deliverable": r.deliverable,
                "opened_by": r.opened_by,
                "opened_at": r.opened_at.isoformat(),
                "due": r.due.isoformat(),
                "slots": [
                    {"slot": s.name, "at": s.at.isoformat(), "merged": list(s.merged)}
                    for s in r.slots
                ],
            }
            for r in p.requests
        ],
        "holidays": [{"date": d.isoformat(), "name": n} for d, n in p.holidays],
        "closed_days": [d.isoformat() for d in p.closed_days],
    }


_DO_DA = {
    "letters": "breve",
    "barometer": "barometer",
    "status_report": "statusrapport",
    "budget": "budget",
    "meeting": "møde",
}


def _print_plan(loaded: Any, p: Any) -> None:
    from rich.console import Console
    from rich.table import Table


    w = loaded.wheel
    console = Console()
    t = Table(title=f"Årshjul {p.year}: {w.policy.name}", title_justify="left")
    t.add_column("Dato", no_wrap=True)
    t.add_column("Kl.", no_wrap=True)
    t.add_column("Hvad")
    t.add_column("Type")
    t.add_column("Modtagere / fra")
    rows: list[tuple[Any, str, str, str, str]] = []
    for e in p.events:
        moved = f" (flyttet fra {dansk_dato(e.nominal)})" if e.day != e.nominal else ""
        who = ", ".join(e.to) if e.do in ("letters", "meeting") else ""
        rows.append((e.at, e.at.strftime("%H.%M"), e.title + moved, _DO_DA[e.do], who))
    for d in p.deliverables:
        moved = f" (flyttet fra {dansk_dato(d.nominal)})" if d.due != d.nominal else ""
        at = local_instant(w.policy.tz, d.due, time(23, 59))
        rows.append((at, "", f"Frist: {d.title}{moved}", "frist", ", ".join(d.from_)))
    slots: dict[tuple[str, Any], list[str]] = {}
    for r in p.requests:
        for s in r.slots:
            slots.setdefault((r.deliverable, s), []).append(r.committee)
    for (dkey, s), committees in slots.items():
        title = w.deliverable[dkey].title
        kind = {"before": "påmindelse", "after": "rykker", "escalate": "eskalering"}[s.kind]
        who = ", ".join(committees)
        rows.append((s.at, s.at.strftime("%H.%M"), f"{title}: {s.name}", kind, who))
    rows.sort(key=lambda r: r[0])
    for at, clock, what, kind, who in rows:
        t.add_row(dansk_dato(at), clock, what, kind, who)
    console.print(t)
    if p.holidays:

        names = ", ".join(f"{dd(d)}" for d, _ in p.holidays)
        console.print(f"Helligdage: {names}")
    if p.closed_days:
        console.print("Lukkedage: " + ", ".join(dansk_dato(d) for d in p.closed_days))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("plan")(plan)
