"""The årshjul as a picture, in the style of Plandisc: a year as a disc, read clockwise.

From the outside in: the 12 months with their Danish names (holidays and closed days as
small ticks), a ring of **events** (numbered markers, coloured by kind), a ring of
**reminders** (the widest ring left, so that its markers can be large: per deliverable a
row of påmindelser and a row of rykkere and the eskalering), a ring of **deadlines** (for
each deliverable the working period from the letter to the frist, the frist as a red
diamond, then the rykker period up to the eskalering), and the policy name and year in the
centre. Every event and deadline has a label outside the disc, joined by a leader line;
the labels and their lines are laid out by :mod:`letters.wheel_labels` (no overlaps, no
crossings). A today marker (a radial line, SVG id ``today-marker``) is drawn only when
``today`` falls in the plan's year.

The page is A4 landscape (PNG at 300 dpi: 3507 x 2481 px); text is DejaVu Sans (shipped
with matplotlib), 7.5-9 pt for labels and 10.5 pt for months, reminder markers about 3 mm:
legible on paper and on a 1280 px wide screen. matplotlib is imported inside the drawing
functions only, and drawing uses an explicit Agg canvas on a private Figure (no pyplot, no
global backend switch). SVG keeps its text as text (``svg.fonttype: none``: searchable,
with æøå) and is deterministic (fixed hash salt, no date).
"""

from __future__ import annotations

import math
import textwrap
from calendar import isleap
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from letters.charts import figure_bytes
from letters.wheel_labels import (
    BODY_LINE,
    BODY_PT,
    DETAIL_PT,
    HEAD_PT,
    LABEL_X,
    LINE,
    R_OUT,
    TEXT,
    _Label,
    _stack,
    _xy,
    route_leaders,
)
from models.dates import MAANEDER
from models.plan import YearPlan

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from models.wheel import Wheel

A4_LANDSCAPE = (11.69, 8.27)  # inches
DPI = 300

# colours that print well (and stay apart in grey scale and for colour-blind readers)
KIND_COLOURS = {
    "letters": "#1F5AA6",
    "meeting": "#1B8A5A",
    "barometer": "#7B4FA0",
    "status_report": "#00838F",
    "budget": "#6D4C41",
}
# the Danish name of each kind of event: the legend here and the site's kind column
KIND_DA = {
    "letters": "Breve",
    "meeting": "Møde",
    "barometer": "Integrationsbarometer",
    "status_report": "Statusrapport",
    "budget": "Budget",
}
DEADLINE = "#C62828"
PERIOD = "#F4C7C3"
OVERDUE = "#FBE3E1"
SLOT_COLOURS = {"before": "#F2A900", "after": "#E65100", "escalate": "#7F0000"}
SLOT_DA = {"before": "Påmindelse", "after": "Rykker", "escalate": "Eskalering"}
TODAY = "#D81B60"
SEASONS = {  # month -> fill of the month sector
    12: "#DCE8F5", 1: "#DCE8F5", 2: "#DCE8F5",
    3: "#E2F0D9", 4: "#E2F0D9", 5: "#E2F0D9",
    6: "#FFF2C2", 7: "#FFF2C2", 8: "#FFF2C2",
    9: "#F8DFCB", 10: "#F8DFCB", 11: "#F8DFCB",
}
MUTED = "#666666"
RING_FILLS = ("#F7F7F7", "#FFFFFF", "#F7F7F7")

# radii in inches (data units are inches; the centre of the disc is the origin)
R_MONTH = 2.38  # inner edge of the month ring
R_EVENTS = 1.80  # inner edge of the events ring
R_SLOTS = 1.30  # inner edge of the reminders ring (the wider middle ring: room for markers)
R_DEADLINES = 0.88  # inner edge of the deadlines ring; the centre is inside it
MARKER_R = 0.085  # event markers; the three lanes of the events ring are 0.174 apart
SLOT_MAX = 0.12  # inches: the largest reminder marker (8.6 pt, about 3 mm on A4)
WRAP = 34  # characters per label line

# text sizes in points besides the labels' (letters/wheel_labels.py)
NUMBER_PT = 7.0
LEGEND_PT = 8.5


def _month_short(d: date) -> str:
    return f"{d.day}/{d.month}"


def dansk_kort(d: date) -> str:
    """``20. januar``."""
    return f"{d.day}. {MAANEDER[d.month - 1]}"


def year_angle(year: int, when: date | datetime) -> float:
    """Degrees (counter-clockwise from 3 o'clock) of ``when``: 1 January at 12 o'clock,
    the year running clockwise; a date stands for the middle of its day."""
    days = 366 if isleap(year) else 365
    if isinstance(when, datetime):
        frac_day = (when.hour * 60 + when.minute) / 1440
        doy = (when.date() - date(year, 1, 1)).days + frac_day
    else:
        doy = (when - date(year, 1, 1)).days + 0.5
    # a day moved past New Year's Eve (a closed 31 December) stays at the end of the wheel
    doy = min(max(doy, 0.0), days - 0.01)
    return 90.0 - 360.0 * doy / days


def _place(angles: list[float], min_sep: float, lanes: int,
           apart: float = 0.0) -> list[tuple[int, float]]:
    """(lane, angle) per item, items in time order (angles decreasing), so that no two
    markers in a lane are closer than ``min_sep`` degrees: the first free lane, else the
    lane that frees first, with the marker nudged clockwise just past its neighbour.
    Successive markers, in whatever lanes, are at least ``apart`` degrees apart, so that
    their leader lines, which run along their own radii, stay apart too."""
    last: list[float | None] = [None] * lanes
    prev_any: float | None = None
    out: list[tuple[int, float]] = []
    for a in angles:
        for i in range(lanes):
            prev = last[i]
            if prev is None or prev - a >= min_sep:
                placed = a
                break
        else:
            i = max(range(lanes), key=lambda k: last[k] or 0.0)
            prev = last[i]
            assert prev is not None
            placed = min(a, prev - min_sep)
        if prev_any is not None:
            placed = min(placed, prev_any - apart)
        last[i] = prev_any = placed
        out.append((i, placed))
    return out


def _largest_gap(year: int, angles: list[float]) -> float:
    """The middle (degrees) of the widest empty sector between the given angles."""
    if not angles:
        return year_angle(year, date(year, 11, 20))
    norm = sorted(a % 360 for a in angles)
    best, mid = -1.0, norm[0]
    for i, a in enumerate(norm):
        b = norm[(i + 1) % len(norm)] + (360 if i == len(norm) - 1 else 0)
        if b - a > best:
            best, mid = b - a, (a + b) / 2
    return mid


def _tangent_rotation(deg: float) -> float:
    """Text rotation that follows the circle and never reads upside down."""
    rot = deg - 90
    if math.sin(math.radians(deg)) < -1e-9:
        rot += 180
    return (rot + 180) % 360 - 180


def _style(year: int) -> Any:
    return {
        "font.family": "DejaVu Sans",
        "svg.fonttype": "none",  # text stays text in the SVG
        "svg.hashsalt": f"aarshjul-{year}",  # deterministic ids
        "path.simplify": True,
        "text.color": TEXT,
    }


def render_wheel(
    wheel: Wheel,
    plan: YearPlan,
    *,
    fmt: Literal["png", "svg"] = "png",
    today: date | None = None,
) -> bytes:
    """The årshjul of ``plan`` as PNG or SVG bytes (see the module text)."""
    from matplotlib import rc_context

    with rc_context(_style(plan.year)):
        fig = draw_wheel(wheel, plan, today=today)
        return figure_bytes(fig, fmt, DPI)


CY = -0.12  # the disc sits a little low: the title is above it


def draw_wheel(wheel: Wheel, plan: YearPlan, *, today: date | None = None) -> Figure:
    """The figure of the årshjul; ``today`` draws the today marker if it is in the year."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    year = plan.year
    with rc_context(_style(year)):
        fig = Figure(figsize=A4_LANDSCAPE, dpi=DPI, facecolor="white")
        FigureCanvasAgg(fig)  # explicit Agg canvas: no pyplot, no global backend
        ax = fig.add_axes((0, 0, 1, 1))
        w, h = A4_LANDSCAPE
        ax.set_xlim(-w / 2, w / 2)
        ax.set_ylim(-h / 2 - CY, h / 2 - CY)
        ax.set_aspect("equal")
        ax.axis("off")
        today_in_year = today is not None and today.year == year
        _draw_months(ax, plan)
        numbers = _numbers(plan)
        labels = _draw_events(ax, plan, numbers)
        for i, d in enumerate(plan.deliverables):
            labels.append(_draw_deadline(ax, plan, i, d, numbers[("deadline", d.key)]))
            _draw_reminders(ax, plan, i, d)
        used = [lab.angle for lab in labels]
        used += [year_angle(year, s.at) for r in plan.requests for s in r.slots]
        if today is not None and today_in_year:
            used.append(year_angle(year, today))
        _draw_ring_names(ax, _largest_gap(year, used))
        _draw_centre(ax, wheel, year)
        if today is not None and today_in_year:
            _draw_today(ax, year, today)
        _draw_labels(ax, labels)
        _draw_title(ax, wheel, year)
        _draw_legend(ax, plan, today_in_year)
        return fig


def _numbers(plan: YearPlan) -> dict[tuple[str, str], int]:
    """The label numbers: events and deadlines in date order (an event before a deadline
    on the same day)."""
    items: list[tuple[date, int, str, str]] = [
        (e.at.date(), 0, "event", e.key) for e in plan.events
    ] + [(d.due, 1, "deadline", d.key) for d in plan.deliverables]
    items.sort(key=lambda item: (item[0], item[1]))
    return {(kind, key): i + 1 for i, (_, _, kind, key) in enumerate(items)}


def _draw_months(ax: Any, plan: YearPlan) -> None:
    """The month ring, the month dividers, the three inner rings, and holiday ticks."""
    from matplotlib.patches import Wedge

    year = plan.year
    days_in_year = 366 if isleap(year) else 365
    for m in range(1, 13):
        first_doy = date(year, m, 1).timetuple().tm_yday - 1
        end_doy = days_in_year if m == 12 else date(year, m + 1, 1).timetuple().tm_yday - 1
        a0 = 90 - 360 * first_doy / days_in_year
        a1 = 90 - 360 * end_doy / days_in_year
        ax.add_patch(Wedge((0, 0), R_OUT, a1, a0, width=R_OUT - R_MONTH,
                           facecolor=SEASONS[m], edgecolor="white", linewidth=1.5,
                           zorder=2, gid=f"month-{MAANEDER[m - 1]}"))
        mid = (a0 + a1) / 2
        tx, ty = _xy((R_OUT + R_MONTH) / 2, mid)
        ax.text(tx, ty, MAANEDER[m - 1], rotation=_tangent_rotation(mid),
                rotation_mode="anchor", ha="center", va="center", fontsize=10.5,
                fontweight="bold", color="#333333", zorder=3)
        x0, y0 = _xy(R_DEADLINES, a0)  # month divider through every ring
        x1, y1 = _xy(R_MONTH, a0)
        ax.plot([x0, x1], [y0, y1], color="#D0D0D0", linewidth=0.6, zorder=1)
    for i, (r_in, r_out) in enumerate(
        ((R_EVENTS, R_MONTH), (R_SLOTS, R_EVENTS), (R_DEADLINES, R_SLOTS))
    ):
        ax.add_patch(Wedge((0, 0), r_out, 0, 360, width=r_out - r_in,
                           facecolor=RING_FILLS[i], edgecolor="#BBBBBB",
                           linewidth=0.5, zorder=0))
    for off in sorted({d for d, _ in plan.holidays} | set(plan.closed_days)):
        a = year_angle(year, off)
        x0, y0 = _xy(R_MONTH - 0.08, a)
        x1, y1 = _xy(R_MONTH, a)
        ax.plot([x0, x1], [y0, y1], color="#555555", linewidth=1.2, zorder=2,
                solid_capstyle="butt")


def _draw_events(ax: Any, plan: YearPlan, numbers: dict[tuple[str, str], int]) -> list[_Label]:
    """The numbered event markers in up to three lanes, each with a tick on its true day."""
    from matplotlib.patches import Circle

    year = plan.year
    ring = R_MONTH - R_EVENTS
    lanes = (R_EVENTS + ring * 0.8, R_EVENTS + ring * 0.5, R_EVENTS + ring * 0.2)
    angles = [year_angle(year, e.at) for e in plan.events]
    min_sep = math.degrees((2 * MARKER_R + 0.03) / lanes[-1])
    # a leader from an inner lane passes the outer lanes: it must clear their markers
    apart = math.degrees(math.asin((MARKER_R + 0.015) / lanes[0]))
    labels = []
    for e, a, (lane, placed) in zip(
        plan.events, angles, _place(angles, min_sep, len(lanes), apart), strict=True
    ):
        colour = KIND_COLOURS[e.do]
        tx0, ty0 = _xy(R_MONTH - 0.06, a)
        tx1, ty1 = _xy(R_MONTH, a)
        ax.plot([tx0, tx1], [ty0, ty1], color=colour, linewidth=1.6, zorder=4,
                solid_capstyle="butt")
        x, y = _xy(lanes[lane], placed)
        if placed != a or lane:
            ax.plot([tx0, x], [ty0, y], color=colour, linewidth=0.7, zorder=4)
        n = numbers[("event", e.key)]
        ax.add_patch(Circle((x, y), MARKER_R, facecolor=colour, edgecolor="white",
                            linewidth=0.8, zorder=5, gid=f"event-{e.key}"))
        ax.text(x, y, str(n), ha="center", va="center_baseline", fontsize=NUMBER_PT,
                fontweight="bold", color="white", zorder=6)
        head = f"{n}  {dansk_kort(e.day)}"
        if e.day != e.nominal:
            head += f"  (flyttet fra {_month_short(e.nominal)})"
        detail = [KIND_DA[e.do] + (f" kl. {e.at:%H.%M}" if e.do != "letters" else "")]
        labels.append(_Label(n, placed, (x, y), head, textwrap.wrap(e.title, WRAP), detail,
                             colour, f"label-event-{e.key}"))
    return labels


def _lane(r_in: float, r_out: float, i: int, n: int) -> tuple[float, float]:
    """(outer radius, width) of lane ``i`` of ``n`` in a ring, the first lane outermost."""
    width = (r_out - r_in) / max(1, n)
    return r_out - i * width, width


def _draw_deadline(ax: Any, plan: YearPlan, i: int, d: Any, n: int) -> _Label:
    """Deliverable ``i``'s lane of the deadlines ring: the period from the letter to the
    frist, the rykker period after it, and the numbered frist diamond."""
    from matplotlib.patches import Wedge

    year = plan.year
    top, lane_w = _lane(R_DEADLINES, R_SLOTS, i, len(plan.deliverables))
    band_top, band_w = top - 0.03, lane_w - 0.06
    reqs = [r for r in plan.requests if r.deliverable == d.key]
    a_due = year_angle(year, d.due)
    if reqs:
        opened = min(r.opened_at for r in reqs)
        ax.add_patch(Wedge((0, 0), band_top, a_due, year_angle(year, opened), width=band_w,
                           facecolor=PERIOD, edgecolor="none", zorder=2,
                           gid=f"period-{d.key}"))
        last = max((s.at for r in reqs for s in r.slots), default=None)
        if last is not None and last.date() > d.due:
            ax.add_patch(Wedge((0, 0), band_top, year_angle(year, last), a_due, width=band_w,
                               facecolor=OVERDUE, edgecolor=PERIOD, hatch="////",
                               linewidth=0, zorder=2, gid=f"overdue-{d.key}"))
    x, y = _xy(top - lane_w / 2, a_due)
    ax.add_patch(_diamond(x, y, min(0.125, lane_w / 2), a_due, DEADLINE, f"deadline-{d.key}"))
    ax.text(x, y, str(n), ha="center", va="center_baseline", fontsize=NUMBER_PT,
            fontweight="bold", color="white", zorder=6)
    head = f"{n}  Frist {dansk_kort(d.due)}"
    if d.due != d.nominal:
        head += f"  (flyttet fra {_month_short(d.nominal)})"
    by_kind: dict[str, list[date]] = {}
    for r in reqs:
        for s in r.slots:
            days = by_kind.setdefault(s.kind, [])
            if s.day not in days:
                days.append(s.day)
    detail = [
        f"{word} " + ", ".join(_month_short(x) for x in sorted(by_kind[kind]))
        for kind, word in (("before", "påmindelser"), ("after", "rykkere"),
                           ("escalate", "eskalering"))
        if by_kind.get(kind)
    ]
    return _Label(n, a_due, (x, y), head, textwrap.wrap(d.title, WRAP), detail, DEADLINE,
                  f"label-deadline-{d.key}")


SLOT_MARKERS = {"before": ("o", 1.0), "after": ("s", 0.92), "escalate": ("X", 1.1)}


def _draw_reminders(ax: Any, plan: YearPlan, i: int, d: Any) -> None:
    """Deliverable ``i``'s lane of the reminders ring, in two rows: påmindelser on the
    outer row, rykkere and the eskalering on the inner one. Markers that would touch are
    nudged clockwise along their row; the plan's days are in the label."""
    from matplotlib.patches import Wedge

    year = plan.year
    top, lane_w = _lane(R_SLOTS, R_EVENTS, i, len(plan.deliverables))
    pitch = lane_w / 2
    size = min(SLOT_MAX, pitch * 0.9)  # inches, the marker's diameter
    seen: set[tuple[str, date]] = set()
    rows: dict[int, list[Any]] = {0: [], 1: []}
    for r in plan.requests:
        if r.deliverable != d.key:
            continue
        for s in sorted(r.slots, key=lambda s: s.at):
            if (s.kind, s.day) not in seen:
                seen.add((s.kind, s.day))
                rows[0 if s.kind == "before" else 1].append(s)
    for row, slots in rows.items():
        if not slots:
            continue
        slots.sort(key=lambda s: s.at)
        radius = top - pitch * (row + 0.5)
        angles = [year_angle(year, s.at) for s in slots]
        if len(angles) > 1:  # a thin guide along the row
            ax.add_patch(Wedge((0, 0), radius + 0.006, min(angles), max(angles), width=0.012,
                               facecolor="#9E9E9E", edgecolor="none", zorder=4))
        min_sep = math.degrees((size + 0.02) / radius)
        for s, (_, placed) in zip(slots, _place(angles, min_sep, 1), strict=True):
            marker, k = SLOT_MARKERS[s.kind]
            sx, sy = _xy(radius, placed)
            ax.plot([sx], [sy], marker=marker, markersize=size * 72 * k,
                    color=SLOT_COLOURS[s.kind], markeredgecolor="white", markeredgewidth=0.7,
                    zorder=5, linestyle="none", gid=f"slot-{d.key}-{s.name}")


def _draw_ring_names(ax: Any, gap: float) -> None:
    for radius, name in (((R_MONTH + R_EVENTS) / 2, "Begivenheder"),
                         ((R_EVENTS + R_SLOTS) / 2, "Påmindelser"),
                         ((R_SLOTS + R_DEADLINES) / 2, "Frister")):
        tx, ty = _xy(radius, gap)
        ax.text(tx, ty, name.upper(), rotation=_tangent_rotation(gap), rotation_mode="anchor",
                ha="center", va="center", fontsize=7.5, color="#6E6E6E",
                fontweight="bold", zorder=3)


def _draw_centre(ax: Any, wheel: Wheel, year: int) -> None:
    from matplotlib.patches import Circle

    ax.add_patch(Circle((0, 0), R_DEADLINES, facecolor="white", edgecolor="#BBBBBB",
                        linewidth=0.5, zorder=3))
    ax.text(0, 0.2, str(year), ha="center", va="center", fontsize=28, fontweight="bold",
            color="#1A1A1A", zorder=4, gid="centre-year")
    ax.text(0, -0.14, "\n".join(textwrap.wrap(wheel.policy.name, 22)), ha="center",
            va="top", fontsize=8.5, color="#333333", linespacing=1.25, zorder=4,
            gid="centre-policy")


def _draw_today(ax: Any, year: int, today: date) -> None:
    a = year_angle(year, today)
    x0, y0 = _xy(R_DEADLINES, a)
    x1, y1 = _xy(R_OUT + 0.14, a)
    ax.plot([x0, x1], [y0, y1], color=TODAY, linewidth=1.8, zorder=7,
            solid_capstyle="round", gid="today-marker")
    tx, ty = _xy(R_OUT + 0.38, a)
    ax.text(tx, ty, f"I dag\n{dansk_kort(today)}", ha="center", va="center", fontsize=7.5,
            fontweight="bold", color=TODAY, zorder=8, gid="today-label",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                  "edgecolor": TODAY, "linewidth": 0.6})


def _draw_labels(ax: Any, labels: list[_Label]) -> None:
    """The labels outside the disc, stacked per side, each with its leader line."""
    top, bottom = R_OUT + 0.55, -R_OUT - 0.35
    for side in (1, -1):
        _stack([lab for lab in labels if lab.side == side], top, bottom)
    route_leaders(labels)
    for side in (1, -1):
        group = [lab for lab in labels if lab.side == side]
        for lab in group:
            xs, ys = zip(*lab.leader, strict=True)
            ax.plot(xs, ys, color="#8C8C8C", linewidth=0.7, zorder=1.5,
                    gid=f"{lab.gid}-leader")
            lx = side * LABEL_X
            ha = "left" if side == 1 else "right"
            k = lab.scale
            ax.text(lx, lab.y, lab.head, ha=ha, va="top", fontsize=HEAD_PT * k,
                    fontweight="bold", color=lab.colour, gid=lab.gid)
            y = lab.y - LINE * k
            if lab.body:
                ax.text(lx, y, "\n".join(lab.body), ha=ha, va="top", fontsize=BODY_PT * k,
                        color=TEXT, linespacing=1.2, gid=f"{lab.gid}-title")
                y -= BODY_LINE * k * len(lab.body)
            if lab.detail:
                ax.text(lx, y - 0.01 * k, "\n".join(lab.detail), ha=ha, va="top",
                        fontsize=DETAIL_PT * k, color=MUTED, linespacing=1.2,
                        gid=f"{lab.gid}-detail")


def _draw_title(ax: Any, wheel: Wheel, year: int) -> None:
    w, h = A4_LANDSCAPE
    ax.text(-w / 2 + 0.45, h / 2 - CY - 0.4, f"Årshjul {year}", ha="left", va="top",
            fontsize=20, fontweight="bold", color="#1A1A1A")
    ax.text(-w / 2 + 0.45, h / 2 - CY - 0.78, wheel.policy.name, ha="left", va="top",
            fontsize=11, color="#444444")
    ax.text(w / 2 - 0.45, h / 2 - CY - 0.4,
            "Datoer er flyttet til arbejdsdage.\n"
            f"Breve og påmindelser sendes kl. {wheel.policy.send_time.replace(':', '.')}"
            f" ({wheel.policy.timezone}).",
            ha="right", va="top", fontsize=8, color=MUTED, linespacing=1.3)


def _draw_legend(ax: Any, plan: YearPlan, today_in_year: bool) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for kind in KIND_COLOURS:
        if any(e.do == kind for e in plan.events):
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=9,
                                  color=KIND_COLOURS[kind], label=KIND_DA[kind]))
    handles.append(Line2D([], [], marker="D", linestyle="none", markersize=8,
                          color=DEADLINE, label="Frist"))
    handles.append(Patch(facecolor=PERIOD, label="Fra brev til frist"))
    handles.append(Patch(facecolor=OVERDUE, edgecolor=PERIOD, hatch="////",
                         label="Rykkerperiode"))
    for kind, (marker, k) in SLOT_MARKERS.items():
        handles.append(Line2D([], [], marker=marker, linestyle="none", markersize=8.5 * k,
                              color=SLOT_COLOURS[kind], label=SLOT_DA[kind]))
    handles.append(Line2D([], [], color="#555555", linewidth=1.5,
                          label="Helligdag / lukkedag"))
    if today_in_year:
        handles.append(Line2D([], [], color=TODAY, linewidth=1.8, label="I dag"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.008),
              ncol=math.ceil(len(handles) / 2), frameon=False, fontsize=LEGEND_PT,
              handlelength=1.6, columnspacing=1.5, borderaxespad=0.2)


def _diamond(x: float, y: float, size: float, angle: float, colour: str, gid: str) -> Any:
    from matplotlib.patches import RegularPolygon

    return RegularPolygon((x, y), numVertices=4, radius=size, orientation=math.radians(angle),
                          facecolor=colour, edgecolor="white", linewidth=0.8, zorder=5, gid=gid)
