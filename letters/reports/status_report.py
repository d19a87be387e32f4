"""The August status report (samlet statusrapport) as a Danish Word document.

It starts from the cover template ``statusrapport_forside`` and goes on with python-docx:
Sammenfatning, Hovedmålene (a barometer chart per goal with its figures as a table, and
what the committees wrote), Udvalgene, Det mangler, Bilag. Building is pure (no clock, no
database): the input is :class:`letters.reports.data.StatusData`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from letters.charts import chart_alt_text, chart_rows, goal_chart
from letters.context import dato
from letters.readback import Initiative
from letters.reports import docx as D
from letters.reports.data import (
    STATUS_ORDER,
    Financing,
    StatusData,
    StatusTotals,
    deliverable_heads,
    financing,
    status_totals,
)
from models.barometer import Reading, for_goal, is_illustrative, period_label
from models.form import TABLE_HEADER, goal_heading
from models.kinds import STATUS_DA, EventKind
from models.numbers import count_text, format_dkk, with_unit

NOTHING_WRITTEN = "Intet skrevet om dette mål."


def _financed_da(i: Initiative) -> str:
    if i.financed is True:
        return "ja"
    if i.financed is False:
        return "nej"
    return i.financed_text or "uoplyst"


def _amount(i: Initiative) -> str:
    if i.amount_dkk is not None:
        return format_dkk(i.amount_dkk)
    return f"{i.amount_text} (kan ikke læses)" if i.amount_text else "–"


def _readings_period(readings: Sequence[Reading]) -> str:
    if not readings:
        return "ingen målinger"
    ordered = sorted(readings, key=lambda r: r.order)
    first, last = period_label(ordered[0].period), period_label(ordered[-1].period)
    return first if first == last else f"{first} til {last}"


def _financing_rows(f: Financing) -> list[tuple[str, str]]:
    rows = [("Finansieret", format_dkk(f.financed)),
            ("Ikke finansieret", format_dkk(f.not_financed))]
    if f.partly_or_unknown:
        rows.append(("Delvist finansieret eller uoplyst", format_dkk(f.partly_or_unknown)))
    rows.append(("I alt", format_dkk(f.total)))
    return rows


def chart_images(data: StatusData) -> dict[str, bytes]:
    """One PNG chart per goal (the barometer: trend against target and baseline)."""

    out = {}
    for g in data.wheel.goals:
        rs = for_goal(data.readings, g.key)
        out[g.key] = goal_chart(g, rs, fmt="png", illustrative=is_illustrative(rs))
    return out


def status_report_docx(data: StatusData, charts: dict[str, bytes] | None = None) -> bytes:
    """The samlet statusrapport as .docx bytes (``charts``: goal key -> PNG, else drawn)."""
    charts = charts if charts is not None else chart_images(data)
    totals = status_totals(data)
    doc = D.cover(data, EventKind.STATUS_REPORT)
    _summary(doc, data, totals)
    _goals(doc, data, charts)
    _committees(doc, data)
    w = data.wheel
    doc.add_heading("Det mangler", level=1)
    if totals.missing:
        D.table(doc, ("Udvalg", "Aflevering", "Frist"),
                [(f"{w.committee[k].name} ({k})" if k in w.committee else k, t, dato(d))
                 for k, t, d in totals.missing], weights=(6.0, 6.0, 4.0))
    else:
        doc.add_paragraph("Alle afleveringer med frist før rapporten er modtaget.")
    appendix(doc, data, totals.illustrative)
    return D.save(doc)


def _summary(doc: Any, data: StatusData, totals: StatusTotals) -> None:
    doc.add_heading("Sammenfatning", level=1)
    doc.add_paragraph(
        f"Rapporten samler status for {data.year} fra {totals.committees} udvalg pr. "
        f"{dato(data.report_date)}: hvad udvalgene har afleveret, hvad de skriver om "
        "hovedmålene, deres initiativer og finansieringen af dem, og hvad der mangler."
    )
    rows = []
    for key, title, due in deliverable_heads(data):
        cnt = totals.by_deliverable.get(key, Counter())
        rows.append((title, dato(due), *(str(cnt[s]) for s in STATUS_ORDER),
                     str(sum(cnt.values()))))
    D.table(doc, ("Aflevering", "Frist", "Rettidig", "For sen", "Mangler", "Afventer",
                  "Fritaget", "I alt"),
            rows, caption="Afleveringer pr. aflevering:",
            weights=(3.8, 2.8, 1.6, 1.6, 1.6, 1.6, 1.6, 1.4))
    missing_n = len(totals.missing)
    doc.add_paragraph(
        "Der mangler ingen afleveringer." if not missing_n
        else f"Der mangler {count_text(missing_n, 'aflevering', 'afleveringer')} "
             "(se afsnittet «Det mangler»)."
    )
    D.table(doc, ("Finansiering af initiativerne", "Beløb"), _financing_rows(totals.financing),
            caption="Udvalgenes initiativer, finansiering i alt:", weights=(10.0, 6.0))
    if totals.financing.no_amount:
        n = totals.financing.no_amount
        doc.add_paragraph(f"{count_text(n, 'initiativ', 'initiativer')} har et beløb, der ikke "
                          f"kunne læses; {'det' if n == 1 else 'de'} indgår ikke i beløbene.")


def _goals(doc: Any, data: StatusData, charts: dict[str, bytes]) -> None:
    doc.add_heading("Hovedmålene", level=1)
    doc.add_paragraph("For hvert hovedmål: integrationsbarometerets udvikling som graf og "
                      "tabel, og hvad de udvalg, målet vedrører, har skrevet om det.")
    by_key = {c.key: c for c in data.committees}
    for g in data.wheel.goals:
        rs = for_goal(data.readings, g.key)
        illustrative = is_illustrative(rs)
        doc.add_heading(goal_heading(g.key, g.title), level=2)
        D.chart(doc, charts[g.key], chart_alt_text(g, rs, illustrative=illustrative),
                f"Graf: {g.key}")
        figures = chart_rows(g, rs)
        if figures:
            D.table(doc, ("Periode", f"Værdi ({g.unit})" if g.unit else "Værdi"), figures,
                    caption=f"Grafens tal{' (illustrative tal)' if illustrative else ''}:",
                    weights=(8.0, 8.0))
        else:
            doc.add_paragraph("Ingen målinger endnu.")
        target = (f"{with_unit(g.target.value, g.unit)} i {g.target.year}"
                  if g.target is not None else "mål ikke fastsat")
        doc.add_paragraph(f"Mål: {target}" + (f" (politikken: {g.target_text})"
                                               if g.target_text else "") + ".")
        for ck in g.committees:
            c = by_key.get(ck)
            if c is None:
                continue
            texts = c.text_for(g.key)
            if not texts:
                D.labelled(doc, f"{c.name} ({c.key}):", "Har ikke afleveret.")
                continue
            for title, text in texts:
                label = f"{c.name} ({c.key}), {title.lower()}:"
                if not text:
                    D.labelled(doc, label, NOTHING_WRITTEN)
                    continue
                parts = text.split("\n\n")
                D.labelled(doc, label, parts[0])
                for more in parts[1:]:
                    doc.add_paragraph(more)


HANDIN_HEADER = ("Aflevering", "Frist", "Status", "Modtaget")
INITIATIVES_HEADER = (*TABLE_HEADER, "Fra")


def _committees(doc: Any, data: StatusData) -> None:
    """Per committee its hand-ins, initiatives and their financing; the tables of every
    committee share their columns, so that they line up from one committee to the next."""
    doc.add_heading("Udvalgene", level=1)
    handins = {c.key: [(h.title, dato(h.due) + (" (forlænget)" if h.extended else ""),
                        STATUS_DA.get(h.status, h.status)
                        + ("" if h.asked else " (ikke anmodet)"), D.when(h.received_at)
                        + (f" ({count_text(h.revisions, 'revision', 'revisioner')})"
                           if h.revisions else ""))
                       for h in c.handins] for c in data.committees}
    inits = {c.key: c.initiatives() for c in data.committees}
    rows = {k: [(i.title, i.goal or "–", _amount(i), _financed_da(i), src) for i, src in v]
            for k, v in inits.items()}
    sums = {k: _financing_rows(financing(i for i, _ in v)) for k, v in inits.items()}
    handin_cols = D.fit_columns(HANDIN_HEADER, [r for v in handins.values() for r in v],
                                (5.2, 3.4, 3.4, 4.0))
    init_cols = D.fit_columns(INITIATIVES_HEADER, [r for v in rows.values() for r in v],
                              (5.0, 2.4, 3.0, 2.4, 3.2))
    sum_cols = D.fit_columns(("Finansiering", "Beløb"), [r for v in sums.values() for r in v],
                             (10.0, 6.0))
    for c in data.committees:
        doc.add_heading(f"{c.name} ({c.key})", level=2)
        D.table(doc, HANDIN_HEADER, handins[c.key], columns=handin_cols)
        if rows[c.key]:
            D.table(doc, INITIATIVES_HEADER, rows[c.key], caption="Initiativer:",
                    columns=init_cols)
            D.table(doc, ("Finansiering", "Beløb"), sums[c.key], columns=sum_cols)
        else:
            doc.add_paragraph("Ingen initiativer læst fra udvalgets formularer.")


def appendix(doc: Any, data: StatusData, illustrative: bool, budget: bool = False) -> None:
    """Bilag (both reports): sources, the files read, illustrative figures, the period, and
    what the read-back noted."""
    doc.add_heading("Bilag", level=1)
    doc.add_heading("Kilder", level=2)
    sources = sorted({r.source for r in data.readings if r.source})
    doc.add_paragraph("Integrationsbarometeret"
                      + (f" ({', '.join(sources)})" if sources else "") + "; udvalgenes "
                      "afleveringer, læst fra de formularer, de har sendt tilbage (den seneste "
                      "udgave pr. aflevering)" + ("; budgetbeslutningerne"
                                                   + (f" ({', '.join(data.decision_sources)})"
                                                      if data.decision_sources else "")
                                                   if budget else "") + ".")
    rows = [(f"{c.key}", h.title, h.file_name or "–", D.when(h.received_at))
            for c in data.committees for h in c.handins if h.file_name]
    if rows:
        D.table(doc, ("Udvalg", "Aflevering", "Fil", "Modtaget"), rows,
                weights=(2.0, 4.5, 6.0, 3.5))
    if illustrative:
        doc.add_heading("Illustrative tal", level=2)
        doc.add_paragraph("Barometertal, der er indlæst som illustrative, er eksempeldata og "
                          "ikke målinger. Graferne med disse tal bærer mærket «Illustrative "
                          "tal».")
    doc.add_heading("Perioden", level=2)
    deliverables = "; ".join(f"{t}: frist {dato(d)}" for _, t, d in deliverable_heads(data))
    doc.add_paragraph(f"Årshjulet {data.year} ({data.wheel.policy.name}), status pr. "
                      f"{dato(data.report_date)}. Barometeret: "
                      f"{_readings_period(data.readings)}. Afleveringer: {deliverables}.")
    notes = [(c.key, h.title, wmsg) for c in data.committees for h in c.handins
             if h.reading is not None for wmsg in h.reading.warnings]
    if notes:
        doc.add_heading("Bemærkninger fra indlæsningen", level=2)
        D.table(doc, ("Udvalg", "Aflevering", "Bemærkning"), notes, weights=(2.0, 4.0, 10.0))
