"""The reports' figures as text: markdown for the Prefect artifacts, one line for the run.

``status_markdown``/``budget_markdown`` give the tables of the artifact (text from the
wheel escaped by :func:`models.text.markdown_text`); ``status_summary``
/``budget_summary`` the one-line Danish summary the run reports in its notes. Pure.
"""

from __future__ import annotations

from collections import Counter

from letters.context import dato
from letters.reports.budget_overview import sum_row
from letters.reports.data import (
    STATUS_ORDER,
    StatusData,
    budget_totals,
    deliverable_heads,
    status_totals,
)
from models.kinds import RequestStatus
from models.numbers import count_text, end_sentence, format_dkk
from models.text import markdown_text as md


def status_markdown(data: StatusData) -> str:
    t = status_totals(data)
    lines = [f"# {md(data.event_title)}", "",
             f"Statusrapport {data.year}: {t.committees} udvalg, pr. {dato(data.report_date)}.",
             "", "| Aflevering | Rettidig | For sen | Mangler | Afventer | Fritaget |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, title, _ in deliverable_heads(data):
        c = t.by_deliverable.get(key, Counter())
        lines.append(f"| {md(title)} | " + " | ".join(str(c[s]) for s in STATUS_ORDER) + " |")
    f = t.financing
    lines += ["", f"**Finansieret:** {format_dkk(f.financed)} · **ikke finansieret:** "
                  f"{format_dkk(f.not_financed)} · **delvist/uoplyst:** "
                  f"{format_dkk(f.partly_or_unknown)}"]
    if t.missing:
        lines += ["", "**Mangler:** " + ", ".join(f"{md(k)} ({md(d)})" for k, d, _ in t.missing)]
    if t.illustrative:
        lines += ["", "_Barometertallene er illustrative eksempeldata._"]
    return "\n".join(lines) + "\n"


def budget_markdown(data: StatusData) -> str:
    t = budget_totals(data)
    lines = [f"# {md(data.event_title)}", "",
             end_sentence(f"Samlet overblik {data.year}: ønsket {format_dkk(t.total.asked)}, "
                          f"bevilget {format_dkk(t.total.granted)}"), "",
             "| Udvalg | Ønsket | Bevilget | Finansieret | Delvist | Ikke | Ingen beslutning |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for k, s in t.by_committee.items():
        lines.append("| " + " | ".join(md(c) for c in sum_row(k, s)) + " |")
    return "\n".join(lines) + "\n"


def status_summary(data: StatusData) -> str:
    """``Statusrapport 2012: 7 udvalg. Revideret handleplan: 5 rettidige, 1 for sent, 1
    mangler; … Initiativer finansieret 3.100.000 kr., ikke finansieret 11.000.000 kr.``"""
    t = status_totals(data)
    parts = []
    for d in data.wheel.deliverables:
        c = t.by_deliverable.get(d.key)
        if c:
            parts.append(f"{d.title}: "
                         f"{count_text(c[RequestStatus.ON_TIME], 'rettidig', 'rettidige')}, "
                         f"{c[RequestStatus.LATE]} for sent, {c[RequestStatus.MISSING]} mangler")
    f = t.financing
    sentences = [f"Statusrapport {data.year}: {t.committees} udvalg", "; ".join(parts),
                 f"Initiativer finansieret {format_dkk(f.financed)}, ikke finansieret "
                 f"{format_dkk(f.not_financed)}"]
    return " ".join(end_sentence(s) for s in sentences if s)


def budget_summary(data: StatusData) -> str:
    """``Samlet overblik 2012: ønsket i maj 17.500.000 kr., bevilget 8.800.000 kr.; 3
    finansieret, 3 delvist, 3 ikke finansieret, 6 uden beslutning.``"""
    t = budget_totals(data).total
    return (f"Samlet overblik {data.year}: ønsket i maj {format_dkk(t.asked)}, bevilget "
            f"{format_dkk(t.granted)}; {t.counts['yes']} finansieret, {t.counts['partly']} "
            f"delvist, {t.counts['no']} ikke finansieret, {t.counts['none']} uden beslutning.")
