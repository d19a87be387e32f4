"""The årshjul as a picture, in the style of Plandisc: a year as a disc, read clockwise.

From the outside in: the 12 months with their Danish names (holidays and closed days as
small ticks), a ring of **events** (numbered markers, coloured by kind), a ring of
**deadlines** (for each deliverable the working period from the letter to the frist, the
frist as a red diamond, then the rykker period up to the eskalering), a ring of
**reminders** (påmindelser, rykkere, eskalering, one lane per deliverable), and the policy
name and year in the centre. Every event and deadline has a label outside the disc, joined
by a leader line; labels on one side are stacked so that they never overlap. A today
marker (a radial line, SVG id ``today-marker``) is drawn only when ``today`` falls in the
plan's year.

The page is A4 landscape (PNG at 300 dpi: 3507 x 2481 px); text is DejaVu Sans (shipped
with matplotlib), 7-10 pt for labels, so it reads on paper. matplotlib is imported inside
:func:`render_wheel` only, and drawing uses an explicit Agg canvas on a private Figure
(no pyplot, no global backend switch). SVG keeps its text as text (searchable, with æøå)
and is deterministic (fixed hash salt, no date).
"""

from __future__ import annotations

import math
import textwrap
from calendar import isleap
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

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
TEXT = "#222222"
MUTED = "#666666"
RING_FILLS = ("#F7F7F7", "#FFFFFF", "#F7F7F7")

# radii in inches (data units are inches; the centre of the disc is the origin)
R_OUT = 2.85
R_MONTH = 2.38  # inner edge of the month ring
R_EVENTS = 1.80  # inner edge of the events ring
R_DEADLINES = 1.34  # inner edge of the deadlines ring
R_SLOTS = 0.92  # inner edge of the reminders ring
MARKER_R = 0.085  # event markers; the three lanes of the events ring are 0.174 apart
LABEL_X = R_OUT + 0.42  # where the label columns start (either side)
WRAP = 38  # characters per label line


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


def _xy(r: float, deg: float) -> tuple[float, float]:
    t = math.radians(deg)
    return r * math.cos(t), r * math.sin(t)


@dataclass
class _Label:
    number: int
    angle: float
    anchor: tuple[float, float]  # marker position
    head: str  # bold first line
    body: list[str]  # title lines
    detail: list[str] = field(default_factory=list)  # small grey lines
    colour: str = TEXT
    gid: str = ""
    y: float = 0.0
    scale: float = 1.0  # < 1 when a side is crowded: smaller text, tighter lines

    @property
    def side(self) -> int:
        return 1 if math.cos(math.radians(self.angle)) >= -1e-9 else -1

    @property
    def height(self) -> float:
        return (LINE + BODY_LINE * len(self.body) + DETAIL_LINE * len(self.detail)) * self.scale


LINE = 0.145  # inches per label line at full size (8-8.5 pt)
DETAIL_LINE = 0.12  # inches per detail line (6.8 pt)
BODY_LINE = 0.134  # inches per title line (8 pt, line spacing 1.2)
MIN_SCALE = 0.55


def _stack(labels: list[_Label], top: float, bottom: float, gap: float = 0.07) -> None:
    """Place labels of one side near their anchors' heights without overlaps.

    When the labels don't fit between ``top`` and ``bottom`` at full size, the side is
    scaled down (text and spacing) until they do, to at most :data:`MIN_SCALE`.
    """
    if not labels:
        return
    need = sum(lab.height for lab in labels) + gap * (len(labels) - 1)
    scale = max(MIN_SCALE, min(1.0, (top - bottom) / need))
    for lab in labels:
        lab.scale = scale
    gap *= scale
    for lab in labels:
        _, ey = _xy(R_OUT + 0.16, lab.angle)
        lab.y = ey + lab.height / 2 - 0.07  # the first line level with the elbow
    labels.sort(key=lambda lab: -lab.y)
    # top down: push below the previous
    prev_bottom = top
    for lab in labels:
        lab.y = min(lab.y, prev_bottom)
        prev_bottom = lab.y - lab.height - gap
    # bottom up: pull back inside the page
    floor = bottom
    for lab in reversed(labels):
        if lab.y - lab.height < floor:
            lab.y = floor + lab.height
        floor = lab.y + gap


def _place(angles: list[float], min_sep: float, lanes: int) -> list[tuple[int, float]]:
    """(lane, angle) per item, items in time order (angles decreasing), so that no two
    markers in a lane are closer than ``min_sep`` degrees: the first free lane, else the
    lane that frees first, with the marker nudged clockwise just past its neighbour."""
    last: list[float | None] = [None] * lanes
    out: list[tuple[int, float]] = []
    for a in angles:
        for i in range(lanes):
            prev = last[i]
            if prev is None or prev - a >= min_sep:
                last[i] = a
                out.append((i, a))
                break
        else:
            i = max(range(lanes), key=lambda k: last[k] or 0.0)
            prev = last[i]
            assert prev is not None
            placed = min(a, prev - min_sep)
            last[i] = placed
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
        buf = BytesIO()
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata={"Date": None})
        else:
            fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
        return buf.getvalue()


def draw_wheel(wheel: Wheel, plan: YearPlan, *, today: date | None = None) -> Figure:
    """The figure of the årshjul; ``today`` draws the today marker if it is in the year."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Patch, Wedge

    year = plan.year
    with rc_context(_style(year)):
        fig = Figure(figsize=A4_LANDSCAPE, dpi=DPI, facecolor="white")
        FigureCanvasAgg(fig)  # explicit Agg canvas: no pyplot, no global backend
        ax = fig.add_axes((0, 0, 1, 1))
        w, h = A4_LANDSCAPE
        cy = -0.12  # the disc sits a little low: the title is above it
        ax.set_xlim(-w / 2, w / 2)
        ax.set_ylim(-h / 2 - cy, h / 2 - cy)
        ax.set_aspect("equal")
        ax.axis("off")

        def ang(when: date | datetime) -> float:
            return year_angle(year, when)

        # --- the months ----------------------------------------------------------------
        days_in_year = 366 if isleap(year) else 365
        for m in range(1, 13):
            start = date(year, m, 1)
            first_doy = start.timetuple().tm_yday - 1
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
            # month divider through every ring
            x0, y0 = _xy(R_SLOTS, a0)
            x1, y1 = _xy(R_MONTH, a0)
            ax.plot([x0, x1], [y0, y1], color="#D0D0D0", linewidth=0.6, zorder=1)
        for i, (r_in, r_out) in enumerate(
            ((R_EVENTS, R_MONTH), (R_DEADLINES, R_EVENTS), (R_SLOTS, R_DEADLINES))
        ):
            ax.add_patch(Wedge((0, 0), r_out, 0, 360, width=r_out - r_in,
                               facecolor=RING_FILLS[i], edgecolor="#BBBBBB",
                               linewidth=0.5, zorder=0))
        # holidays and closed days: small ticks on the inside of the month ring
        off_days = sorted({d for d, _ in plan.holidays} | set(plan.closed_days))
        for off in off_days:
            a = ang(off)
            x0, y0 = _xy(R_MONTH - 0.07, a)
            x1, y1 = _xy(R_MONTH, a)
            ax.plot([x0, x1], [y0, y1], color="#555555", linewidth=1.0, zorder=2,
                    solid_capstyle="butt")

        labels: list[_Label] = []
        items: list[tuple[datetime | date, str, Any]] = [
            (e.at, "event", e) for e in plan.events
        ] + [(d.due, "deadline", d) for d in plan.deliverables]

        def sort_key(item: tuple[datetime | date, str, Any]) -> tuple[date, int]:
            when = item[0]
            day = when.date() if isinstance(when, datetime) else when
            return (day, 0 if item[1] == "event" else 1)

        items.sort(key=sort_key)
        numbers = {(kind, obj.key): i + 1 for i, (_, kind, obj) in enumerate(items)}

        # --- events ring ---------------------------------------------------------------
        ring = R_MONTH - R_EVENTS
        ev_r_lanes = (R_EVENTS + ring * 0.8, R_EVENTS + ring * 0.5, R_EVENTS + ring * 0.2)
        ev_angles = [ang(e.at) for e in plan.events]
        min_sep = math.degrees((2 * MARKER_R + 0.03) / ev_r_lanes[-1])
        for e, a, (lane, placed) in zip(
            plan.events, ev_angles, _place(ev_angles, min_sep, len(ev_r_lanes)), strict=True
        ):
            colour = KIND_COLOURS[e.do]
            # the true date as a tick on the ring's outer edge, the marker in its lane
            tx0, ty0 = _xy(R_MONTH - 0.05, a)
            tx1, ty1 = _xy(R_MONTH, a)
            ax.plot([tx0, tx1], [ty0, ty1], color=colour, linewidth=1.4, zorder=4,
                    solid_capstyle="butt")
            x, y = _xy(ev_r_lanes[lane], placed)
            if placed != a or lane:
                ax.plot([tx0, x], [ty0, y], color=colour, linewidth=0.6, zorder=4)
            n = numbers[("event", e.key)]
            ax.add_patch(Circle((x, y), MARKER_R, facecolor=colour, edgecolor="white",
                                linewidth=0.8, zorder=5, gid=f"event-{e.key}"))
            ax.text(x, y, str(n), ha="center", va="center_baseline", fontsize=6.5,
                    fontweight="bold", color="white", zorder=6)
            head = f"{n}  {dansk_kort(e.day)}"
            if e.day != e.nominal:
                head += f"  (flyttet fra {_month_short(e.nominal)})"
            detail = [KIND_DA[e.do] + (f" kl. {e.at:%H.%M}" if e.do != "letters" else "")]
            labels.append(_Label(n, a, (x, y), head, textwrap.wrap(e.title, WRAP), detail,
                                 colour, f"label-event-{e.key}"))

        # --- deadlines ring ------------------------------------------------------------
        nd = max(1, len(plan.deliverables))
        lane_w = (R_EVENTS - R_DEADLINES) / nd
        slot_lane_w = (R_DEADLINES - R_SLOTS) / nd
        for i, d in enumerate(plan.deliverables):
            r_top = R_EVENTS - i * lane_w - 0.04
            width = lane_w - 0.08
            r_mid = r_top - width / 2
            reqs = [r for r in plan.requests if r.deliverable == d.key]
            a_due = ang(d.due)
            if reqs:
                opened = min(r.opened_at for r in reqs)
                ax.add_patch(Wedge((0, 0), r_top, a_due, ang(opened), width=width,
                                   facecolor=PERIOD, edgecolor="none", zorder=2,
                                   gid=f"period-{d.key}"))
                last = max((s.at for r in reqs for s in r.slots), default=None)
                if last is not None and last.date() > d.due:
                    ax.add_patch(Wedge((0, 0), r_top, ang(last), a_due, width=width,
                                       facecolor=OVERDUE, edgecolor=PERIOD, hatch="////",
                                       linewidth=0, zorder=2, gid=f"overdue-{d.key}"))
            x, y = _xy(r_mid, a_due)
            n = numbers[("deadline", d.key)]
            size = min(0.13, width / 2 + 0.02)
            ax.add_patch(_diamond(x, y, size, a_due, DEADLINE, f"deadline-{d.key}"))
            ax.text(x, y, str(n), ha="center", va="center_baseline", fontsize=6.5,
                    fontweight="bold", color="white", zorder=6)
            head = f"{n}  Frist {dansk_kort(d.due)}"
            if d.due != d.nominal:
                head += f"  (flyttet fra {_month_short(d.nominal)})"
            by_kind: dict[str, list[date]] = {}
            for r in reqs:
                for s in r.slots:
                    kind_days = by_kind.setdefault(s.kind, [])
                    if s.day not in kind_days:
                        kind_days.append(s.day)
            detail = []
            for kind, word in (("before", "påmindelser"), ("after", "rykkere"),
                               ("escalate", "eskalering")):
                if by_kind.get(kind):
                    days = sorted(by_kind[kind])
                    detail.append(f"{word} " + ", ".join(_month_short(x) for x in days))
            detail = [" · ".join(detail[:2]), *detail[2:]] if detail else []
            labels.append(_Label(n, a_due, (x, y), head, textwrap.wrap(d.title, WRAP), detail,
                                 DEADLINE, f"label-deadline-{d.key}"))

            # --- reminders ring (same lane order) ---------------------------------------
            s_top = R_DEADLINES - i * slot_lane_w
            s_mid = s_top - slot_lane_w / 2
            slot_angles = [ang(s.at) for r in reqs for s in r.slots]
            if len(slot_angles) > 1:
                ax.add_patch(Wedge((0, 0), s_mid + 0.006, min(slot_angles), max(slot_angles),
                                   width=0.012, facecolor="#9E9E9E", edgecolor="none",
                                   zorder=4))
            seen: set[tuple[str, date]] = set()
            for r in reqs:
                for s in r.slots:
                    if (s.kind, s.day) in seen:
                        continue
                    seen.add((s.kind, s.day))
                    sx, sy = _xy(s_mid, ang(s.at))
                    marker = {"before": "o", "after": "s", "escalate": "X"}[s.kind]
                    ax.plot([sx], [sy], marker=marker,
                            markersize=5.5 if s.kind != "escalate" else 6.5,
                            color=SLOT_COLOURS[s.kind], markeredgecolor="white",
                            markeredgewidth=0.5, zorder=5, linestyle="none",
                            gid=f"slot-{d.key}-{s.name}")

        # --- ring names in the emptiest sector -----------------------------------------
        used = [lab.angle for lab in labels]
        used += [ang(s.at) for r in plan.requests for s in r.slots]
        today_in_year = today is not None and today.year == year
        if today is not None and today_in_year:
            used.append(ang(today))
        gap = _largest_gap(year, used)
        for radius, name in (((R_MONTH + R_EVENTS) / 2, "Begivenheder"),
                             ((R_EVENTS + R_DEADLINES) / 2, "Frister"),
                             ((R_DEADLINES + R_SLOTS) / 2, "Påmindelser")):
            tx, ty = _xy(radius, gap)
            ax.text(tx, ty, name.upper(), rotation=_tangent_rotation(gap), rotation_mode="anchor",
                    ha="center", va="center", fontsize=6.5, color="#8A8A8A",
                    fontweight="bold", zorder=3)

        # --- centre ----------------------------------------------------------------------
        ax.add_patch(Circle((0, 0), R_SLOTS, facecolor="white", edgecolor="#BBBBBB",
                            linewidth=0.5, zorder=3))
        ax.text(0, 0.2, str(year), ha="center", va="center", fontsize=30, fontweight="bold",
                color="#1A1A1A", zorder=4, gid="centre-year")
        name_lines = textwrap.wrap(wheel.policy.name, 22)
        ax.text(0, -0.16, "\n".join(name_lines), ha="center", va="top", fontsize=8.5,
                color="#333333", linespacing=1.25, zorder=4, gid="centre-policy")

        # --- today -----------------------------------------------------------------------
        if today is not None and today_in_year:
            a = ang(today)
            x0, y0 = _xy(R_SLOTS, a)
            x1, y1 = _xy(R_OUT + 0.14, a)
            ax.plot([x0, x1], [y0, y1], color=TODAY, linewidth=1.8, zorder=7,
                    solid_capstyle="round", gid="today-marker")
            tx, ty = _xy(R_OUT + 0.36, a)
            ax.text(tx, ty, f"I dag\n{dansk_kort(today)}", ha="center", va="center", fontsize=7,
                    fontweight="bold", color=TODAY, zorder=8, gid="today-label",
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                          "edgecolor": TODAY, "linewidth": 0.6})

        # --- labels outside the disc -----------------------------------------------------
        top, bottom = R_OUT + 0.55, -R_OUT - 0.35
        for side in (1, -1):
            group = [lab for lab in labels if lab.side == side]
            _stack(group, top, bottom)
            for lab in group:
                ex, ey = _xy(R_OUT + 0.16, lab.angle)
                lx = side * LABEL_X
                first = lab.y - 0.07 * lab.scale  # the middle of the first line
                knee = lx - side * 0.2
                if side * (knee - ex) < 0.05:  # the elbow is already near the column
                    knee = ex + side * 0.05
                ax.plot([lab.anchor[0], ex, knee, lx - side * 0.05],
                        [lab.anchor[1], ey, first, first],
                        color="#8C8C8C", linewidth=0.6, zorder=1.5, gid=f"{lab.gid}-leader")
                ha = "left" if side == 1 else "right"
                k = lab.scale
                ax.text(lx, lab.y, lab.head, ha=ha, va="top", fontsize=8.5 * k,
                        fontweight="bold", color=lab.colour, gid=lab.gid)
                y = lab.y - LINE * k
                if lab.body:
                    ax.text(lx, y, "\n".join(lab.body), ha=ha, va="top", fontsize=8 * k,
                            color=TEXT, linespacing=1.2, gid=f"{lab.gid}-title")
                    y -= BODY_LINE * k * len(lab.body)
                if lab.detail:
                    ax.text(lx, y - 0.01 * k, "\n".join(lab.detail), ha=ha, va="top",
                            fontsize=6.8 * k, color=MUTED, linespacing=1.2,
                            gid=f"{lab.gid}-detail")

        # --- title and legend ------------------------------------------------------------
        ax.text(-w / 2 + 0.45, h / 2 - cy - 0.4, f"Årshjul {year}", ha="left", va="top",
                fontsize=20, fontweight="bold", color="#1A1A1A")
        ax.text(-w / 2 + 0.45, h / 2 - cy - 0.78, wheel.policy.name, ha="left", va="top",
                fontsize=11, color="#444444")
        ax.text(w / 2 - 0.45, h / 2 - cy - 0.4,
                "Datoer er flyttet til arbejdsdage.\n"
                f"Breve og påmindelser sendes kl. {wheel.policy.send_time.replace(':', '.')}"
                f" ({wheel.policy.timezone}).",
                ha="right", va="top", fontsize=7.5, color=MUTED, linespacing=1.3)
        handles: list[Any] = []
        for kind in KIND_COLOURS:
            if any(e.do == kind for e in plan.events):
                handles.append(Line2D([], [], marker="o", linestyle="none", markersize=8,
                                      color=KIND_COLOURS[kind], label=KIND_DA[kind]))
        handles.append(Line2D([], [], marker="D", linestyle="none", markersize=7,
                              color=DEADLINE, label="Frist"))
        handles.append(Patch(facecolor=PERIOD, label="Fra brev til frist"))
        handles.append(Patch(facecolor=OVERDUE, edgecolor=PERIOD, hatch="////",
                             label="Rykkerperiode"))
        for kind, marker in (("before", "o"), ("after", "s"), ("escalate", "X")):
            handles.append(Line2D([], [], marker=marker, linestyle="none", markersize=7,
                                  color=SLOT_COLOURS[kind], label=SLOT_DA[kind]))
        handles.append(Line2D([], [], color="#555555", linewidth=1.5,
                              label="Helligdag / lukkedag"))
        if today_in_year:
            handles.append(Line2D([], [], color=TODAY, linewidth=1.8, label="I dag"))
        ncol = math.ceil(len(handles) / 2)
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.012),
                  ncol=ncol, frameon=False, fontsize=8, handlelength=1.6,
                  columnspacing=1.6, borderaxespad=0.2)
        return fig


def _diamond(x: float, y: float, size: float, angle: float, colour: str, gid: str) -> Any:
    from matplotlib.patches import RegularPolygon

    return RegularPolygon((x, y), numVertices=4, radius=size, orientation=math.radians(angle),
                          facecolor=colour, edgecolor="white", linewidth=0.8, zorder=5, gid=gid)
