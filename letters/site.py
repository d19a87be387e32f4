"""The wheel as a static, read-only site for an intranet: plain HTML files in Danish.

:func:`build_site` turns the year plan (``models.plan.year_plan``), the wheel picture as
SVG (``letters.wheel_picture``) and the calendar file (``letters.ics.calendar_bytes``) into
files, relative path -> bytes:

- ``index.html``: the wheel as inline SVG (``role="img"`` with a title and a description),
  with its text alternative: the year's plan as a real table (``<caption>``, ``<th
  scope>``), every event and deadline as moved to a business day (and, where a date moved
  from a closed day, from which and why), the reminder ladder of each deliverable, the
  holidays and closed days, and a link to the calendar file;
- ``status.html`` (only when status rows are given): who has handed in what, by committee
  name, with the status in Danish (rettidig, for sen, mangler, afventer, fritaget) as a
  word and a symbol, never by colour alone; no personal data (no addresses, no names of
  persons);
- ``aarshjul.css``: screen and A4 print styles (``@page { size: A4 }``), visible focus,
  contrast of at least 4.5:1;
- ``aarshjul-<year>.ics``: the calendar bytes as given.

Every link is relative, so the folder can be copied anywhere; the pages need no script.
Everything that comes from the wheel file (titles, committee names) is escaped: the
templates under ``letters/templates/site/`` are rendered with autoescaping, and the SVG is
parsed and written out again as XML. Building is pure: no clock (the status page says
"as of" the instant it is given), no database (the caller hands plain rows), no files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import holidays as hol
import jinja2
from markupsafe import Markup

from letters.wheel_picture import KIND_DA
from models.dates import dansk_tid, dansk_ugedag_dato
from models.kinds import STATUS_DA as STATUS_WORDS
from models.plan import require_aware

if TYPE_CHECKING:
    from models.plan import PlannedEvent, YearPlan
    from models.wheel import Wheel

TEMPLATES = Path(__file__).resolve().parent / "templates" / "site"
SVG_NS = "http://www.w3.org/2000/svg"
INDEX, STATUS, CSS = "index.html", "status.html", "aarshjul.css"

# status -> (Danish word, symbol); the symbol only repeats the word, for the eye
_SYMBOLS = {"on_time": "✓", "late": "!", "missing": "✗", "open": "…", "excused": "–"}
STATUS_DA: dict[str, tuple[str, str]] = {s: (word, _SYMBOLS[s]) for s, word in STATUS_WORDS.items()}
WEEKDAYS_CLOSED = {5: "lørdag", 6: "søndag"}


@dataclass(frozen=True)
class StatusRow:
    """One request as the status page shows it: names, not keys, and no personal data."""

    committee: str  # the committee's name, e.g. "Børne- og Ungdomsudvalget"
    deliverable: str  # the deliverable's title
    due: date  # as moved (a committee's own date where it was extended)
    status: str  # on_time | late | missing | open | excused
    received: date | None = None  # local day of the first arrival


def site_name(year: int) -> str:
    """The calendar file's name in the site folder."""
    return f"aarshjul-{year}.ics"


def build_site(
    wheel: Wheel,
    plan: YearPlan,
    *,
    svg: bytes,
    ics: bytes,
    status: Sequence[StatusRow] | None = None,
    as_of: datetime | None = None,
) -> dict[str, bytes]:
    """The site's files (relative path -> bytes); ``status`` adds ``status.html`` and
    then needs ``as_of`` (aware), the instant the rows are as of."""
    if status is not None:
        if as_of is None:
            raise ValueError("status rows need the instant they are as of (as_of)")
        require_aware(as_of, "as_of")
    env = _environment()
    ics_name = site_name(plan.year)
    common = {
        "year": plan.year,
        "policy_name": wheel.policy.name,
        "owner_name": wheel.committee[wheel.policy.owner].name
        if wheel.policy.owner in wheel.committee else wheel.policy.sender.name,
        "send_time": wheel.policy.send_time.replace(":", "."),
        "timezone": wheel.policy.timezone,
        "ics_name": ics_name,
        "has_status": status is not None,
        "made": f"status pr. {dansk_tid(as_of)}" if status is not None and as_of else "",
    }
    files = {
        INDEX: env.get_template("index.html").render(
            page="index",
            page_title=f"Årshjul {plan.year}",
            svg=inline_svg(svg, wheel, plan.year),
            plan_rows=plan_rows(wheel, plan),
            deadline_rows=deadline_rows(wheel, plan),
            closed_rows=closed_rows(wheel, plan),
            ics_entries=ics.count(b"BEGIN:VEVENT"),
            **common,
        ).encode("utf-8"),
    }
    if status is not None:
        assert as_of is not None
        files[STATUS] = env.get_template("status.html").render(
            page="status",
            page_title=f"Afleveringer {plan.year}",
            as_of=dansk_tid(as_of),
            statuses=[{"key": k, "text": v[0]} for k, v in STATUS_DA.items()],
            summary=status_summary(status),
            groups=status_groups(status),
            **common,
        ).encode("utf-8")
    files[CSS] = (TEMPLATES / CSS).read_bytes()
    files[ics_name] = ics
    return files


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value from the wheel file is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


# --- the wheel picture, inline ----------------------------------------------------------


def inline_svg(svg: bytes, wheel: Wheel, year: int) -> Markup:
    """The wheel picture as an inline ``<svg role="img">`` with a title and a description
    (its text alternative is the plan table), scaled to its container, its style scoped to
    itself. The SVG is parsed and serialised again: only well-formed XML goes in."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True)
    root = etree.fromstring(svg, parser)
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ValueError("not an SVG picture")
    for meta in root.findall(f"{{{SVG_NS}}}metadata"):
        root.remove(meta)
    for style in root.iter(f"{{{SVG_NS}}}style"):  # matplotlib's "*{...}" would style the page
        style.text = re.sub(r"(^|})\s*\*\s*{", r"\1#aarshjul-hjul *{", style.text or "")
    for attr in ("width", "height"):
        root.attrib.pop(attr, None)
    root.set("id", "aarshjul-hjul")
    root.set("role", "img")
    root.set("aria-labelledby", "hjul-titel hjul-beskrivelse")
    root.set("preserveAspectRatio", "xMidYMid meet")
    title = etree.Element(f"{{{SVG_NS}}}title", id="hjul-titel")
    title.text = f"Årshjul {year}: {wheel.policy.name}"
    desc = etree.Element(f"{{{SVG_NS}}}desc", id="hjul-beskrivelse")
    desc.text = ("Årets måneder som en skive, læst med uret fra januar øverst, med "
                 "begivenheder, påmindelser og frister. Indholdet står som tekst i "
                 "tabellerne Årets plan og Frister og påmindelser.")
    root.insert(0, desc)
    root.insert(0, title)
    return Markup(etree.tostring(root, encoding="unicode"))  # noqa: S704 - re-serialised XML


# --- the plan as tables -----------------------------------------------------------------


def _names(wheel: Wheel, keys: Iterable[str]) -> str:
    keys = list(keys)
    if len(keys) > 2 and set(keys) == set(wheel.committee):
        return f"alle {len(keys)} udvalg"
    return ", ".join(wheel.committee[k].name if k in wheel.committee else k for k in keys)


def moved_note(wheel: Wheel, plan: YearPlan, nominal: date, actual: date) -> str:
    """"Flyttet fra søndag den 1. maj 2011 (weekend)" where a date moved from a closed day;
    "" where it did not move."""
    if nominal == actual:
        return ""
    return f"Flyttet fra {dansk_ugedag_dato(nominal)} ({closed_reason(wheel, plan, nominal)})"


def closed_reason(wheel: Wheel, plan: YearPlan, day: date) -> str:
    """Why ``day`` is not a business day, in Danish."""
    names = _holiday_names(wheel.policy.country, day.year)
    for d, name in plan.holidays:
        if d == day:
            return f"helligdag: {names.get(d, name)}"
    if day in plan.closed_days:
        return "lukkedag"
    if day.weekday() in WEEKDAYS_CLOSED:
        return "weekend"
    return "ikke en arbejdsdag"


def _holiday_names(country: str, year: int) -> dict[date, str]:
    """Danish names of the public holidays (the dates come from the plan)."""
    try:
        h = hol.country_holidays(country, years=year, categories=(hol.PUBLIC,), language="da")
    except (NotImplementedError, KeyError):
        return {}
    return dict(h.items())


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _event_who(wheel: Wheel, e: PlannedEvent) -> str:
    if e.do in ("letters", "meeting"):
        return _cap(_names(wheel, e.to))
    if e.do in ("status_report", "budget"):
        return _names(wheel, [wheel.policy.owner]) + " og koordinatorerne"
    return ""


def plan_rows(wheel: Wheel, plan: YearPlan) -> list[dict[str, Any]]:
    """Every event and deadline of the year, in date order (an event before a deadline on
    the same day), with the dates as moved."""
    rows: list[tuple[tuple[date, int], dict[str, Any]]] = []
    for e in plan.events:
        what = e.title
        if e.opens:
            asks = ", ".join(plan.deliverable(k).title for k in e.opens)
            what += f" (beder om: {asks})"
        rows.append(((e.day, 0), {
            "iso": e.day.isoformat(), "date": dansk_ugedag_dato(e.day),
            "time": "" if e.do == "letters" else f"{e.at:%H.%M}",
            "what": what, "kind": e.do, "kind_da": KIND_DA.get(e.do, e.do),
            "who": _event_who(wheel, e), "note": moved_note(wheel, plan, e.nominal, e.day),
        }))
    for d in plan.deliverables:
        rows.append(((d.due, 1), {
            "iso": d.due.isoformat(), "date": dansk_ugedag_dato(d.due), "time": "",
            "what": f"Frist: {d.title}", "kind": "frist", "kind_da": "Frist",
            "who": f"Afleveres af {_names(wheel, d.from_)}" if d.from_ else "",
            "note": moved_note(wheel, plan, d.nominal, d.due),
        }))
    return [r for _, r in sorted(rows, key=lambda x: x[0])]


def _days(days: Iterable[date]) -> str:
    unique = sorted(set(days))
    return ", ".join(dansk_ugedag_dato(d) for d in unique) if unique else "–"


def deadline_rows(wheel: Wheel, plan: YearPlan) -> list[dict[str, Any]]:
    """Per deliverable: the frist as moved, and the days of its reminder ladder."""
    out = []
    for d in plan.deliverables:
        slots = [s for r in plan.requests if r.deliverable == d.key for s in r.slots]
        out.append({
            "title": d.title, "iso": d.due.isoformat(), "due": dansk_ugedag_dato(d.due),
            "note": moved_note(wheel, plan, d.nominal, d.due),
            "before": _days(s.day for s in slots if s.kind == "before"),
            "after": _days(s.day for s in slots if s.kind == "after"),
            "escalate": _days(s.day for s in slots if s.kind == "escalate"),
            "who": _cap(_names(wheel, d.from_)),
        })
    return out


def closed_rows(wheel: Wheel, plan: YearPlan) -> list[dict[str, str]]:
    names = _holiday_names(wheel.policy.country, plan.year)
    rows = {d: names.get(d, n) for d, n in plan.holidays}
    for d in plan.closed_days:
        rows.setdefault(d, "lukkedag")
    return [{"iso": d.isoformat(), "date": dansk_ugedag_dato(d), "name": n}
            for d, n in sorted(rows.items())]


# --- who has handed in what -------------------------------------------------------------


def _status(row: StatusRow) -> str:
    if row.status not in STATUS_DA:
        raise ValueError(f"unknown status {row.status!r} for {row.committee}")
    return row.status


def status_summary(rows: Sequence[StatusRow]) -> list[dict[str, Any]]:
    """Per deliverable (in the order met) the count of each status."""
    order: dict[str, date] = {}
    counts: dict[str, Counter[str]] = {}
    for r in rows:
        order[r.deliverable] = min(order.get(r.deliverable, r.due), r.due)  # before extensions
        counts.setdefault(r.deliverable, Counter())[_status(r)] += 1
    return [{"title": t, "due": dansk_ugedag_dato(due),
             "counts": [counts[t][s] for s in STATUS_DA], "total": sum(counts[t].values())}
            for t, due in order.items()]


def status_groups(rows: Sequence[StatusRow]) -> list[dict[str, Any]]:
    """The rows grouped by deliverable, each row ready for the page."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r.deliverable, {"title": r.deliverable, "rows": [], "day": r.due})
        g["day"] = min(g["day"], r.due)  # the deliverable's frist, before any extension
        word, symbol = STATUS_DA[_status(r)]
        g["rows"].append({
            "committee": r.committee, "due": dansk_ugedag_dato(r.due), "status": r.status,
            "status_da": word, "symbol": symbol,
            "received": dansk_ugedag_dato(r.received) if r.received else "–",
        })
    return [{**g, "due": dansk_ugedag_dato(g["day"])} for g in groups.values()]
