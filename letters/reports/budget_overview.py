"""The October budget overview (samlet overblik) as a Danish Word document.

The same cover as the status report (its budget title and subtitle), then what the committees
asked for in May set against the budget decisions: Sammenfatning, Pr. udvalg (a bar chart
and its figures), Pr. hovedmål, Initiativerne, decisions that match no initiative, Bilag.
"""

from __future__ import annotations

import io
from collections import defaultdict

from letters.reports import docx as D
from letters.reports.data import (
    OUTCOME_DA,
    BudgetLine,
    BudgetSum,
    BudgetTotals,
    StatusData,
    budget_totals,
)
from letters.reports.status_report import appendix
from models.barometer import is_illustrative
from models.budget import FUNDED_DA
from models.form import goal_heading
from models.kinds import EventKind
from models.numbers import count_text, end_sentence, format_dkk

SUM_WEIGHTS = (4.4, 2.6, 2.6, 1.9, 1.5, 1.5, 1.5)
SUM_HEADER = ("", "Ønsket i maj", "Bevilget", "Finansieret", "Delvist", "Ikke finansieret",
              "Ingen beslutning")


def budget_chart(data: StatusData, totals: BudgetTotals) -> tuple[bytes, str]:
    """A bar chart per committee: asked in May against granted; (PNG, alt text)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = [c.key for c in data.committees]
    asked = [totals.by_committee[k].asked / 1e6 for k in keys]
    granted = [totals.by_committee[k].granted / 1e6 for k in keys]
    with rc_context({"font.family": "DejaVu Sans", "font.size": 8,
                     "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(6.5, 3.4), dpi=150, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.1, 0.2, 0.86, 0.68))
        xs = list(range(len(keys)))
        ax.bar([x - 0.2 for x in xs], asked, width=0.4, color="#9E9E9E", label="Ønsket i maj")
        ax.bar([x + 0.2 for x in xs], granted, width=0.4, color="#1F5AA6", label="Bevilget")
        ax.set_xticks(xs)
        ax.set_xticklabels(keys, rotation=90 if len(keys) > 12 else 0,
                           fontsize=5 if len(keys) > 30 else 7)
        ax.set_ylabel("mio. kr.")
        ax.legend(frameon=False, fontsize=7)
        fig.text(0.01, 0.97, f"Ønsket og bevilget pr. udvalg {data.year}", fontsize=10,
                 fontweight="bold", va="top")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, metadata={"Software": None})
    parts = [f"Søjlediagram: ønsket i maj og bevilget pr. udvalg i {data.year}, i kroner."]
    parts += [f"{k}: ønsket {format_dkk(totals.by_committee[k].asked)}, bevilget "
              f"{format_dkk(totals.by_committee[k].granted)}" for k in keys]
    alt = parts[0] + " " + "; ".join(parts[1:]) if keys else parts[0]
    return buf.getvalue(), end_sentence(alt)


def sum_row(label: str, s: BudgetSum) -> tuple[str, ...]:
    return (label, format_dkk(s.asked), format_dkk(s.granted), str(s.counts["yes"]),
            str(s.counts["partly"]), str(s.counts["no"]), str(s.counts["none"]))


def budget_overview_docx(data: StatusData) -> bytes:
    """The samlet overblik of October as .docx bytes."""
    w = data.wheel
    totals = budget_totals(data)
    doc = D.cover(data, EventKind.BUDGET)

    doc.add_heading("Sammenfatning", level=1)
    t = totals.total
    yes = t.counts["yes"]
    doc.add_paragraph(
        end_sentence(f"Udvalgene ønskede i maj initiativer for i alt {format_dkk(t.asked)}")
        + f" Ved budgetvedtagelsen er der bevilget {format_dkk(t.granted)}: "
        f"{count_text(yes, 'initiativ', 'initiativer')} er finansieret, {t.counts['partly']} "
        f"delvist, {t.counts['no']} ikke, og for {t.counts['none']} er der ingen registreret "
        "beslutning."
    )
    # the three tables of sums share their columns, so that they line up
    whole = [sum_row("Hele kommunen", t)]
    by_committee = [sum_row(k, s) for k, s in totals.by_committee.items()]
    by_goal = [sum_row(goal_heading(k, w.goal[k].title) if k in w.goal else "Uden hovedmål", s)
               for k, s in totals.by_goal.items()]
    columns = D.fit_columns(("Hovedmål", *SUM_HEADER[1:]), whole + by_committee + by_goal,
                            SUM_WEIGHTS)
    D.table(doc, ("I alt", *SUM_HEADER[1:]), whole, columns=columns)
    png, alt = budget_chart(data, totals)
    doc.add_heading("Pr. udvalg", level=1)
    D.chart(doc, png, alt, "Graf: ønsket og bevilget pr. udvalg")
    D.table(doc, ("Udvalg", *SUM_HEADER[1:]), by_committee, caption="Grafens tal:",
            columns=columns)
    doc.add_heading("Pr. hovedmål", level=1)
    D.table(doc, ("Hovedmål", *SUM_HEADER[1:]), by_goal, columns=columns)

    doc.add_heading("Initiativerne", level=1)
    by_c: dict[str, list[BudgetLine]] = defaultdict(list)
    for ln in totals.lines:
        by_c[ln.committee].append(ln)
    lines_header = ("Initiativ", "Hovedmål", "Ønsket i maj", "Beslutning", "Bevilget")
    line_rows = {c.key: [(ln.title, ln.goal or "–",
                          format_dkk(ln.asked) if ln.asked is not None else "ikke ønsket i maj",
                          OUTCOME_DA[ln.outcome], format_dkk(ln.granted))
                         for ln in by_c.get(c.key, [])] for c in data.committees}
    line_columns = D.fit_columns(lines_header, [r for rs in line_rows.values() for r in rs],
                                 (5.2, 2.4, 3.0, 2.4, 3.0))
    for c in data.committees:
        doc.add_heading(f"{c.name} ({c.key})", level=2)
        if not line_rows[c.key]:
            doc.add_paragraph("Ingen initiativer ønsket eller besluttet.")
            continue
        D.table(doc, lines_header, line_rows[c.key], columns=line_columns)
    if totals.unmatched:
        doc.add_heading("Beslutninger uden initiativ i formularerne", level=1)
        doc.add_paragraph("Disse budgetbeslutninger svarer ikke til et initiativ i udvalgenes "
                          "formularer fra maj (titlen er sammenlignet uden hensyn til store og "
                          "små bogstaver og tegnsætning):")
        D.table(doc, ("Udvalg", "Initiativ", "Beslutning", "Bevilget"),
                [(d.committee, d.initiative, FUNDED_DA[d.funded],
                  format_dkk(d.amount_dkk or 0) if d.funded != "no" else format_dkk(0))
                 for d in totals.unmatched], weights=(2.0, 8.0, 3.0, 3.0))
    appendix(doc, data, is_illustrative(data.readings), budget=True)
    return D.save(doc)
