"""Barometer charts: one per goal, the trend against its target and baseline (in Danish).

The baseline is the goal's first reading. A goal whose target is not set says so on the chart
("mål ikke fastsat", with the policy's wording of the target where the wheel gives it).
Illustrative example data carry a visible "Illustrative tal" label. Every chart has a Danish
alt text with its figures (:func:`chart_alt_text`) and the same figures as table rows
(:func:`chart_rows`), for accessible documents.

matplotlib is imported inside :func:`goal_chart` only; drawing uses a private Figure on the
Agg canvas (no pyplot, no global backend). Output is deterministic: SVG with a fixed hash salt
and no date, PNG without a software stamp.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

from models.barometer import Reading, for_goal, period_label
from models.numbers import dansk_tal, with_unit

if TYPE_CHECKING:
    from models.wheel import Goal

NO_TARGET = "mål ikke fastsat"
NO_READING = "ingen måling endnu"
ILLUSTRATIVE = "Illustrative tal"
SIZE = (6.5, 3.6)  # inches: the text width of an A4 page
DPI = 150
LINE = "#1F5AA6"
TARGET = "#1B8A5A"
BASELINE = "#757575"
WARN = "#C62828"


def _change_unit(unit: str) -> str:
    return "procentpoint" if unit.strip() == "%" else unit


def _better(goal: Goal) -> str:
    return "lavere er bedre" if goal.direction == "down" else "højere er bedre"


def chart_rows(goal: Goal, readings: Sequence[Reading]) -> list[tuple[str, str]]:
    """The chart's figures as table rows: (``2. halvår 2011``, ``7,4 %``), in time order."""
    return [(period_label(r.period), with_unit(r.value, goal.unit))
            for r in for_goal(readings, goal.key)]


def chart_alt_text(goal: Goal, readings: Sequence[Reading], *, illustrative: bool = False) -> str:
    """A Danish alt text that carries the chart's figures."""
    rs = for_goal(readings, goal.key)
    parts = [f"Graf for {goal.key} – {goal.title}" + (f", målt i {goal.unit}" if goal.unit
                                                      else "") + "."]
    if illustrative:
        parts.append(f"{ILLUSTRATIVE}: eksempeldata, ikke målinger.")
    if not rs:
        parts.append("Ingen målinger endnu.")
    else:
        parts.append("Målinger: " + "; ".join(f"{p}: {v}" for p, v in chart_rows(goal, rs)) + ".")
        base, last = rs[0], rs[-1]
        parts.append(f"Udgangspunkt: {with_unit(base.value, goal.unit)} "
                     f"({period_label(base.period)}).")
        if len(rs) > 1:
            diff = last.value - base.value
            if diff == 0:
                change = "uændret i forhold til udgangspunktet"
            else:
                way = "højere" if diff > 0 else "lavere"
                change = (f"{dansk_tal(abs(diff))} {_change_unit(goal.unit)} {way} end "
                          "udgangspunktet").replace("  ", " ")
            parts.append(f"Seneste: {with_unit(last.value, goal.unit)} "
                         f"({period_label(last.period)}), {change}.")
    if goal.target is None:
        wording = f" (politikken: {goal.target_text})" if goal.target_text else ""
        parts.append(f"Målet er ikke fastsat{wording}.")
    else:
        parts.append(f"Mål: {with_unit(goal.target.value, goal.unit)} i {goal.target.year}.")
    parts.append(_better(goal).capitalize() + ".")
    return " ".join(parts)


def goal_chart(
    goal: Goal,
    readings: Sequence[Reading],
    *,
    fmt: Literal["png", "svg"] = "png",
    illustrative: bool = False,
) -> bytes:
    """The goal's barometer chart as PNG or SVG bytes."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown chart format {fmt!r} (png or svg)")
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    rs = for_goal(readings, goal.key)
    rc: Any = {
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "svg.hashsalt": f"aarshjul-{goal.key}",
        "svg.fonttype": "none",  # text stays text: searchable, æøå intact
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with rc_context(rc):
        fig = Figure(figsize=SIZE, dpi=DPI, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.11, 0.17, 0.60, 0.64))
        fig.text(0.01, 0.97, textwrap.fill(f"{goal.key} – {goal.title}", 62),
                 ha="left", va="top", fontsize=10, fontweight="bold")
        side = 0.73  # the legend column to the right of the axes

        xs = [r.order for r in rs]
        ys = [r.value for r in rs]
        lo_x = min(xs) if xs else None
        hi_x = max(xs) if xs else None
        if goal.target is not None:
            tx = goal.target.year + 0.5
            lo_x = tx if lo_x is None else min(lo_x, tx)
            hi_x = tx if hi_x is None else max(hi_x, tx)
        notes: list[tuple[str, str]] = []
        if rs:
            ax.plot(xs, ys, color=LINE, marker="o", linewidth=2, markersize=4, zorder=3)
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(dansk_tal(y), (x, y), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7, color=LINE)
            ax.axhline(ys[0], color=BASELINE, linestyle=":", linewidth=1, zorder=1)
            notes.append((BASELINE, f"Udgangspunkt ({period_label(rs[0].period)}):\n"
                                    f"{with_unit(ys[0], goal.unit)}"))
            notes.append((LINE, f"Seneste ({period_label(rs[-1].period)}):\n"
                                f"{with_unit(ys[-1], goal.unit)}"))
        else:
            ax.text(0.5, 0.5, NO_READING.capitalize(), transform=ax.transAxes, ha="center",
                    va="center", fontsize=10, color=BASELINE)
        if goal.target is not None:
            tx, ty = goal.target.year + 0.5, goal.target.value
            ax.axhline(ty, color=TARGET, linestyle="--", linewidth=1.2, zorder=2)
            ax.plot([tx], [ty], marker="*", markersize=11, color=TARGET, zorder=4)
            notes.append((TARGET, f"Mål for {goal.target.year}:\n{with_unit(ty, goal.unit)}"))
        else:
            keep = goal.target_text.replace(" %", "\u00a0%") if goal.target_text else ""
            wording = ("\n" + textwrap.fill(f"(politikken: {keep})", 30)
                       if goal.target_text else "")
            notes.append((WARN, NO_TARGET + wording))
        notes.append(("#424242", ("↓ " if goal.direction == "down" else "↑ ") + _better(goal)))

        y = 0.80
        for colour, text in notes:
            fig.text(side, y, text, ha="left", va="top", fontsize=7.5, color=colour)
            y -= 0.045 * (text.count("\n") + 1) + 0.035

        if lo_x is not None and hi_x is not None:
            ax.set_xlim(lo_x - 0.35, hi_x + 0.35)
            ticks = []
            x = lo_x
            while x <= hi_x + 1e-9:
                ticks.append(x)
                x += 0.5
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{'H1' if t % 1 == 0 else 'H2'}\n{int(t)}" for t in ticks],
                               fontsize=7)
        else:
            ax.set_xticks([])
        values = ys + ([goal.target.value] if goal.target is not None else [])
        if values:
            lo, hi = min(values), max(values)
            pad = (hi - lo) * 0.2 or max(abs(hi) * 0.1, 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        else:
            ax.set_yticks([])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: dansk_tal(round(v, 2))))
        if goal.unit:
            ax.set_ylabel(goal.unit)
        ax.grid(axis="y", color="#E0E0E0", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.text(0.01, 0.02, "Kilde: integrationsbarometeret"
                 + (f" ({', '.join(sorted({r.source for r in rs if r.source}))})"
                    if any(r.source for r in rs) else ""), fontsize=6.5, color="#616161")
        if illustrative:
            fig.text(0.99, 0.97, ILLUSTRATIVE, ha="right", va="top", fontsize=10,
                     fontweight="bold", color="white",
                     bbox={"boxstyle": "round,pad=0.3", "facecolor": WARN, "edgecolor": WARN})
            ax.text(0.5, 0.5, ILLUSTRATIVE, transform=ax.transAxes, ha="center", va="center",
                    fontsize=26, color=WARN, alpha=0.12, rotation=20, zorder=0)
        return figure_bytes(fig, fmt, DPI)


def figure_bytes(fig: Any, fmt: Literal["png", "svg"], dpi: int) -> bytes:
    """A matplotlib figure as SVG or PNG bytes, without the date or the software's name in
    the file, so the same figure gives the same bytes."""
    buf = BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None})
    else:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
