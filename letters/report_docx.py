"""The August status report and the October budget overview, as Danish Word documents.

Both start from the cover template ``statusrapport_forside`` (rendered like a letter) and go on
with python-docx. Accessible, because the report goes on the council's public agenda:

- real heading styles (``Heading 1`` / ``Heading 2`` of the template: "heading 1/2");
- every chart is an inline PNG with a Danish alt text (``wp:docPr descr=``) that carries its
  figures, and the same figures follow as a table;
- every table's first row is a repeating header row (``w:tblHeader``);
- the language is da-DK in the document defaults, the Normal style and the core properties.

The input is plain data (:class:`StatusData`), gathered by :mod:`flows.event_reports` from the
state database and the stored submissions; building is pure (no clock, no database).
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from letters.readback import FormReading, Initiative
from models.barometer import Reading, for_goal, is_illustrative, period_label
from models.budget import FUNDED_DA, Decision, title_key

if TYPE_CHECKING:
    from models.plan import YearPlan
    from models.wheel import Goal, Wheel

STATUS_DA = {"on_time": "rettidig", "late": "for sen", "missing": "mangler", "open": "afventer",
             "excused": "fritaget"}
STATUS_ORDER = ("on_time", "late", "missing", "open", "excused")
CHART_WIDTH_CM = 16.0  # the text width of an A4 page with the cover's margins
LANG = "da-DK"
NOTHING_WRITTEN = "Intet skrevet om dette mål."


def format_dkk(amount: int) -> str:
    """``1500000`` -> ``1.500.000 kr.``"""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} kr.".replace(",", ".")


# --- the data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Handin:
    """One deliverable of one committee as of the report: its status and what was read."""

    deliverable: str
    title: str
    due: date  # the committee's own after an extension (``extended``)
    status: str  # on_time | late | missing | open | excused
    received_at: datetime | None = None
    reading: FormReading | None = None  # the latest submission read back
    file_name: str | None = None
    revisions: int = 0  # submissions after the first
    asked: bool = True  # False: no request was ever opened (the letter did not go out)
    extended: bool = False  # ``due`` was extended for this committee


@dataclass(frozen=True)
class CommitteeReport:
    key: str
    name: str
    goals: tuple[str, ...]
    handins: tuple[Handin, ...]

    def initiatives(self) -> list[tuple[Initiative, str]]:
        """The initiatives of every form read, with the deliverable's title; one per title
        (a later deliverable's row replaces an earlier one with the same title)."""
        by_key: dict[str, tuple[Initiative, str]] = {}
        for h in self.handins:
            if h.reading is None:
                continue
            for i in h.reading.initiatives:
                if i.title.strip():
                    by_key.pop(title_key(i.title), None)
                    by_key[title_key(i.title)] = (i, h.title)
        return list(by_key.values())

    def text_for(self, goal: str) -> list[tuple[str, str]]:
        """(deliverable title, text) for ``goal`` from each form read; text may be ""."""
        return [(h.title, h.reading.goals.get(goal, "")) for h in self.handins
                if h.reading is not None and h.reading.is_form]


@dataclass(frozen=True)
class StatusData:
    wheel: Wheel
    plan: YearPlan
    year: int
    report_date: date
    event_title: str
    committees: tuple[CommitteeReport, ...]
    readings: tuple[Reading, ...] = ()
    decisions: tuple[Decision, ...] = ()
    decision_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Financing:
    financed: int = 0
    not_financed: int = 0
    partly_or_unknown: int = 0
    no_amount: int = 0  # initiatives whose amount could not be read

    @property
    def total(self) -> int:
        return self.financed + self.not_financed + self.partly_or_unknown


def financing(initiatives: Iterable[Initiative]) -> Financing:
    f, n, p, missing = 0, 0, 0, 0
    for i in initiatives:
        if i.amount_dkk is None:
            missing += 1
        elif i.financed is True:
            f += i.amount_dkk
        elif i.financed is False:
            n += i.amount_dkk
        else:
            p += i.amount_dkk
    return Financing(f, n, p, missing)


@dataclass(frozen=True)
class StatusTotals:
    by_deliverable: dict[str, Counter[str]]  # deliverable key -> status -> count
    financing: Financing
    missing: list[tuple[str, str, date]]  # (committee, deliverable title, due)
    committees: int
    illustrative: bool


def status_totals(data: StatusData) -> StatusTotals:
    by: dict[str, Counter[str]] = {d.key: Counter() for d in data.wheel.deliverables}
    inits: list[Initiative] = []
    missing = []
    for c in data.committees:
        for h in c.handins:
            by.setdefault(h.deliverable, Counter())[h.status] += 1
            if h.status == "missing":
                missing.append((c.key, h.title, h.due))
        inits += [i for i, _ in c.initiatives()]
    return StatusTotals(by, financing(inits), missing, len(data.committees),
                        is_illustrative(data.readings))


# --- budget matching --------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetLine:
    committee: str
    title: str
    goal: str | None
    asked: int | None  # as asked in May (None: not readable / not asked)
    decision: Decision | None

    @property
    def outcome(self) -> str:  # yes | no | partly | none
        return self.decision.funded if self.decision is not None else "none"

    @property
    def granted(self) -> int:
        d = self.decision
        if d is None or d.funded == "no":
            return 0
        if d.amount_dkk is not None:
            return d.amount_dkk
        return self.asked or 0


OUTCOME_DA = {**FUNDED_DA, "none": "ingen beslutning"}


@dataclass
class BudgetSum:
    asked: int = 0
    granted: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, line: BudgetLine) -> None:
        self.asked += line.asked or 0
        self.granted += line.granted
        self.counts[line.outcome] += 1


@dataclass(frozen=True)
class BudgetTotals:
    lines: list[BudgetLine]
    unmatched: list[Decision]  # decisions whose initiative was not in any form
    total: BudgetSum
    by_committee: dict[str, BudgetSum]
    by_goal: dict[str, BudgetSum]  # goal key, or "" for rows without a goal


def budget_totals(data: StatusData) -> BudgetTotals:
    decisions = {(d.committee, d.key): d for d in data.decisions}
    used: set[tuple[str, str]] = set()
    lines = []
    for c in data.committees:
        for i, _ in c.initiatives():
            k = (c.key, title_key(i.title))
            d = decisions.get(k)
            if d is not None:
                used.add(k)
            lines.append(BudgetLine(c.key, i.title, i.goal or (d.goal if d else None),
                                    i.amount_dkk, d))
    unmatched = [d for k, d in decisions.items() if k not in used]
    for d in unmatched:
        lines.append(BudgetLine(d.committee, d.initiative, d.goal, None, d))
    total = BudgetSum()
    by_c: dict[str, BudgetSum] = {c.key: BudgetSum() for c in data.committees}
    by_g: dict[str, BudgetSum] = {g.key: BudgetSum() for g in data.wheel.goals}
    for ln in lines:
        total.add(ln)
        by_c.setdefault(ln.committee, BudgetSum()).add(ln)
        by_g.setdefault(ln.goal or "", BudgetSum()).add(ln)
    return BudgetTotals(lines, unmatched, total, by_c, by_g)


# --- docx helpers -----------------------------------------------------------------------


def _w(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


def _set_language(doc: Any) -> None:
    from docx.oxml import OxmlElement

    styles = doc.styles.element
    defaults = styles.find(_w("docDefaults"))
    targets = []
    if defaults is not None:
        rpr_default = defaults.find(_w("rPrDefault"))
        if rpr_default is not None and rpr_default.find(_w("rPr")) is not None:
            targets.append(rpr_default.find(_w("rPr")))
    normal = doc.styles["Normal"].element
    targets.append(normal.get_or_add_rPr())
    for rpr in targets:
        lang = rpr.find(_w("lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(_w("val"), LANG)
        lang.set(_w("eastAsia"), LANG)
    doc.core_properties.language = LANG


def _table(doc: Any, header: Sequence[str], rows: Iterable[Sequence[str]],
           caption: str | None = None, widths: Sequence[float] | None = None) -> Any:
    """A table with the template's ``Tabel`` style and a repeating header row (``widths``:
    column widths in cm, else Word's automatic layout)."""
    from docx.oxml import OxmlElement
    from docx.shared import Cm

    if caption:
        doc.add_paragraph(caption)
    t = doc.add_table(rows=1, cols=len(header))
    try:
        t.style = doc.styles["Tabel"]
    except KeyError:  # a coordinator's cover template without the style
        pass
    size = [Cm(x) for x in widths] if widths else None
    if size:
        t.autofit = False
        for col, w in zip(t.columns, size, strict=True):
            col.width = w  # the grid: what LibreOffice lays out by
    for i, (cell, text) in enumerate(zip(t.rows[0].cells, header, strict=True)):
        cell.text = text
        if size:
            cell.width = size[i]
    trpr = t.rows[0]._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))
    for row in rows:
        for i, (cell, text) in enumerate(zip(t.add_row().cells, row, strict=True)):
            cell.text = text
            if size:
                cell.width = size[i]
    return t


def _chart(doc: Any, png: bytes, alt: str, title: str) -> None:
    from docx.shared import Cm

    shape = doc.add_picture(io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    pr = shape._inline.docPr
    pr.set("descr", alt)
    pr.set("title", title)


def _labelled(doc: Any, label: str, text: str) -> None:
    p = doc.add_paragraph()
    p.add_run(label).bold = True
    p.add_run(" " + text)


def _page_break(doc: Any) -> None:
    from docx.enum.text import WD_BREAK

    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _cover(data: StatusData, title: str | None = None, subtitle: str | None = None) -> Any:
    import docx

    from letters.context import cover_context
    from letters.render import template

    raw = template("statusrapport_forside").render(cover_context(data.wheel, data.plan,
                                                                 data.report_date))
    doc = docx.Document(io.BytesIO(raw))
    paras = doc.paragraphs
    if title is not None:
        for p in paras:
            if p.style is not None and p.style.name == "Title":
                _retext(p, title)
                break
    if subtitle is not None:
        for p in paras:
            if p.text.startswith("Status på integrationsindsatsen"):
                _retext(p, subtitle)
                break
    doc.core_properties.title = title or f"Samlet statusrapport {data.year}"
    doc.core_properties.author = data.wheel.policy.sender.name
    _set_language(doc)
    _page_break(doc)
    return doc


def _retext(p: Any, text: str) -> None:
    runs = p.runs
    if runs:
        runs[0].text = text
        for r in runs[1:]:
            r.text = ""
    else:
        p.add_run(text)


def _save(doc: Any) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _dato(d: date) -> str:
    from letters.context import dato

    return dato(d)


def _when(t: datetime | None) -> str:
    return _dato(t.date()) if t is not None else "–"


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


def _goal_label(g: Goal) -> str:
    return f"{g.key} – {g.title}"


def _readings_period(readings: Sequence[Reading]) -> str:
    if not readings:
        return "ingen målinger"
    ordered = sorted(readings, key=lambda r: r.order)
    first, last = period_label(ordered[0].period), period_label(ordered[-1].period)
    return first if first == last else f"{first} til {last}"


def _deliverable_heads(data: StatusData) -> list[tuple[str, str, date]]:
    return [(d.key, d.title, data.plan.deliverable(d.key).due) for d in data.wheel.deliverables]


def _financing_rows(f: Financing) -> list[tuple[str, str]]:
    rows = [("Finansieret", format_dkk(f.financed)),
            ("Ikke finansieret", format_dkk(f.not_financed))]
    if f.partly_or_unknown:
        rows.append(("Delvist finansieret eller uoplyst", format_dkk(f.partly_or_unknown)))
    rows.append(("I alt", format_dkk(f.total)))
    return rows


# --- the status report ------------------------------------------------------------------


def chart_images(data: StatusData) -> dict[str, bytes]:
    """One PNG chart per goal (the barometer: trend against target and baseline)."""
    from letters.charts import goal_chart

    out = {}
    for g in data.wheel.goals:
        rs = for_goal(data.readings, g.key)
        out[g.key] = goal_chart(g, rs, fmt="png", illustrative=is_illustrative(rs))
    return out


def status_report_docx(data: StatusData, charts: dict[str, bytes] | None = None) -> bytes:
    """The samlet statusrapport as .docx bytes (``charts``: goal key -> PNG, else drawn)."""
    from letters.charts import chart_alt_text, chart_rows
    from letters.context import dansk_tal

    w = data.wheel
    totals = status_totals(data)
    charts = charts if charts is not None else chart_images(data)
    doc = _cover(data)

    # summary
    doc.add_heading("Sammenfatning", level=1)
    doc.add_paragraph(
        f"Rapporten samler status for {data.year} fra {totals.committees} udvalg pr. "
        f"{_dato(data.report_date)}: hvad udvalgene har afleveret, hvad de skriver om "
        "hovedmålene, deres initiativer og finansieringen af dem, og hvad der mangler."
    )
    heads = _deliverable_heads(data)
    rows = []
    for key, title, due in heads:
        cnt = totals.by_deliverable.get(key, Counter())
        rows.append((title, _dato(due), *(str(cnt[s]) for s in STATUS_ORDER),
                     str(sum(cnt.values()))))
    _table(doc, ("Aflevering", "Frist", "Rettidig", "For sen", "Mangler", "Afventer",
                 "Fritaget", "I alt"),
           rows, caption="Afleveringer pr. aflevering:",
           widths=(3.8, 2.8, 1.6, 1.6, 1.6, 1.6, 1.6, 1.4))
    missing_n = len(totals.missing)
    doc.add_paragraph(
        "Der mangler ingen afleveringer." if not missing_n
        else f"Der mangler {missing_n} aflevering{'er' if missing_n != 1 else ''} "
             "(se afsnittet «Det mangler»)."
    )
    _table(doc, ("Finansiering af initiativerne", "Beløb"), _financing_rows(totals.financing),
           caption="Udvalgenes initiativer, finansiering i alt:")
    if totals.financing.no_amount:
        doc.add_paragraph(f"{totals.financing.no_amount} initiativer har et beløb, der ikke "
                          "kunne læses; de indgår ikke i beløbene.")

    # per goal
    doc.add_heading("Hovedmålene", level=1)
    doc.add_paragraph("For hvert hovedmål: integrationsbarometerets udvikling som graf og "
                      "tabel, og hvad de udvalg, målet vedrører, har skrevet om det.")
    by_key = {c.key: c for c in data.committees}
    for g in w.goals:
        rs = for_goal(data.readings, g.key)
        illustrative = is_illustrative(rs)
        doc.add_heading(_goal_label(g), level=2)
        _chart(doc, charts[g.key], chart_alt_text(g, rs, illustrative=illustrative),
               f"Graf: {g.key}")
        figures = chart_rows(g, rs)
        if figures:
            _table(doc, ("Periode", f"Værdi ({g.unit})" if g.unit else "Værdi"), figures,
                   caption=f"Grafens tal{' (illustrative tal)' if illustrative else ''}:")
        else:
            doc.add_paragraph("Ingen målinger endnu.")
        target = (f"{dansk_tal(g.target.value)} {g.unit} i {g.target.year}"
                  if g.target is not None else "mål ikke fastsat")
        doc.add_paragraph(f"Mål: {target}" + (f" (politikken: {g.target_text})"
                                               if g.target_text else "") + ".")
        for ck in g.committees:
            c = by_key.get(ck)
            if c is None:
                continue
            texts = c.text_for(g.key)
            if not texts:
                _labelled(doc, f"{c.name} ({c.key}):", "Har ikke afleveret.")
                continue
            for title, text in texts:
                label = f"{c.name} ({c.key}), {title.lower()}:"
                if not text:
                    _labelled(doc, label, NOTHING_WRITTEN)
                    continue
                parts = text.split("\n\n")
                _labelled(doc, label, parts[0])
                for more in parts[1:]:
                    doc.add_paragraph(more)

    # per committee
    doc.add_heading("Udvalgene", level=1)
    for c in data.committees:
        doc.add_heading(f"{c.name} ({c.key})", level=2)
        _table(doc, ("Aflevering", "Frist", "Status", "Modtaget"),
               [(h.title, _dato(h.due) + (" (forlænget)" if h.extended else ""),
                 STATUS_DA.get(h.status, h.status)
                 + ("" if h.asked else " (ikke anmodet)"), _when(h.received_at)
                 + (f" ({h.revisions} revision{'er' if h.revisions != 1 else ''})"
                    if h.revisions else ""))
                for h in c.handins], widths=(5.2, 3.4, 3.4, 4.0))
        inits = c.initiatives()
        if inits:
            _table(doc, ("Initiativ", "Hovedmål", "Beløb (kr.)", "Finansieret", "Fra"),
                   [(i.title, i.goal or "–", _amount(i), _financed_da(i), src)
                    for i, src in inits], caption="Initiativer:",
                   widths=(5.0, 2.4, 3.0, 2.4, 3.2))
            _table(doc, ("Finansiering", "Beløb"), _financing_rows(financing(
                i for i, _ in inits)))
        else:
            doc.add_paragraph("Ingen initiativer læst fra udvalgets formularer.")

    # what is missing
    doc.add_heading("Det mangler", level=1)
    if totals.missing:
        _table(doc, ("Udvalg", "Aflevering", "Frist"),
               [(f"{w.committee[k].name} ({k})" if k in w.committee else k, t, _dato(d))
                for k, t, d in totals.missing])
    else:
        doc.add_paragraph("Alle afleveringer med frist før rapporten er modtaget.")

    # appendix
    _appendix(doc, data, totals.illustrative)
    return _save(doc)


def _appendix(doc: Any, data: StatusData, illustrative: bool, budget: bool = False) -> None:
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
    rows = [(f"{c.key}", h.title, h.file_name or "–", _when(h.received_at))
            for c in data.committees for h in c.handins if h.file_name]
    if rows:
        _table(doc, ("Udvalg", "Aflevering", "Fil", "Modtaget"), rows)
    if illustrative:
        doc.add_heading("Illustrative tal", level=2)
        doc.add_paragraph("Barometertal, hvis kilde er mærket «illustrativ», er eksempeldata og "
                          "ikke målinger. Graferne med disse tal bærer mærket «Illustrative "
                          "tal».")
    doc.add_heading("Perioden", level=2)
    deliverables = "; ".join(f"{t}: frist {_dato(d)}" for _, t, d in _deliverable_heads(data))
    doc.add_paragraph(f"Årshjulet {data.year} ({data.wheel.policy.name}), status pr. "
                      f"{_dato(data.report_date)}. Barometeret: "
                      f"{_readings_period(data.readings)}. Afleveringer: {deliverables}.")
    notes = [(c.key, h.title, wmsg) for c in data.committees for h in c.handins
             if h.reading is not None for wmsg in h.reading.warnings]
    if notes:
        doc.add_heading("Bemærkninger fra indlæsningen", level=2)
        _table(doc, ("Udvalg", "Aflevering", "Bemærkning"), notes)


# --- the budget overview ----------------------------------------------------------------


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
    return buf.getvalue(), " ".join(parts[:1]) + " " + "; ".join(parts[1:]) + "."


def _sum_row(label: str, s: BudgetSum) -> tuple[str, ...]:
    return (label, format_dkk(s.asked), format_dkk(s.granted), str(s.counts["yes"]),
            str(s.counts["partly"]), str(s.counts["no"]), str(s.counts["none"]))


SUM_WIDTHS = (4.4, 2.6, 2.6, 1.9, 1.5, 1.5, 1.5)
SUM_HEADER = ("", "Ønsket i maj", "Bevilget", "Finansieret", "Delvist", "Ikke finansieret",
              "Ingen beslutning")


def budget_overview_docx(data: StatusData) -> bytes:
    """The samlet overblik of October as .docx bytes."""
    w = data.wheel
    totals = budget_totals(data)
    doc = _cover(data, title=f"Samlet overblik over integrationsindsatsen {data.year}",
                 subtitle="Budgetvedtagelsen: finansierede og ikke finansierede initiativer, "
                          "sammenholdt med udvalgenes ønsker i maj")

    doc.add_heading("Sammenfatning", level=1)
    t = totals.total
    doc.add_paragraph(
        f"Udvalgene ønskede i maj initiativer for i alt {format_dkk(t.asked)} Ved "
        f"budgetvedtagelsen er der bevilget {format_dkk(t.granted)}: {t.counts['yes']} "
        f"initiativer er finansieret, {t.counts['partly']} delvist, {t.counts['no']} ikke, "
        f"og for {t.counts['none']} er der ingen registreret beslutning."
    )
    _table(doc, ("I alt", *SUM_HEADER[1:]), [_sum_row("Hele kommunen", t)], widths=SUM_WIDTHS)
    png, alt = budget_chart(data, totals)
    doc.add_heading("Pr. udvalg", level=1)
    _chart(doc, png, alt, "Graf: ønsket og bevilget pr. udvalg")
    _table(doc, ("Udvalg", *SUM_HEADER[1:]),
           [_sum_row(k, totals.by_committee[k]) for k in totals.by_committee],
           caption="Grafens tal:", widths=SUM_WIDTHS)

    doc.add_heading("Pr. hovedmål", level=1)
    _table(doc, ("Hovedmål", *SUM_HEADER[1:]),
           [_sum_row(_goal_label(w.goal[k]) if k in w.goal else "Uden hovedmål", s)
            for k, s in totals.by_goal.items()], widths=SUM_WIDTHS)

    doc.add_heading("Initiativerne", level=1)
    by_c: dict[str, list[BudgetLine]] = defaultdict(list)
    for ln in totals.lines:
        by_c[ln.committee].append(ln)
    for c in data.committees:
        doc.add_heading(f"{c.name} ({c.key})", level=2)
        lines = by_c.get(c.key, [])
        if not lines:
            doc.add_paragraph("Ingen initiativer ønsket eller besluttet.")
            continue
        _table(doc, ("Initiativ", "Hovedmål", "Ønsket i maj", "Beslutning", "Bevilget"),
               [(ln.title, ln.goal or "–",
                 format_dkk(ln.asked) if ln.asked is not None else "ikke ønsket i maj",
                 OUTCOME_DA[ln.outcome], format_dkk(ln.granted)) for ln in lines],
               widths=(5.2, 2.4, 3.0, 2.4, 3.0))
    if totals.unmatched:
        doc.add_heading("Beslutninger uden initiativ i formularerne", level=1)
        doc.add_paragraph("Disse budgetbeslutninger svarer ikke til et initiativ i udvalgenes "
                          "formularer fra maj (titlen er sammenlignet uden hensyn til store og "
                          "små bogstaver og tegnsætning):")
        _table(doc, ("Udvalg", "Initiativ", "Beslutning", "Bevilget"),
               [(d.committee, d.initiative, FUNDED_DA[d.funded],
                 format_dkk(d.amount_dkk or 0) if d.funded != "no" else format_dkk(0))
                for d in totals.unmatched])
    _appendix(doc, data, is_illustrative(data.readings), budget=True)
    return _save(doc)


# --- markdown for the artifacts ---------------------------------------------------------


def status_markdown(data: StatusData) -> str:
    t = status_totals(data)
    lines = [f"# {data.event_title}", "",
             f"Statusrapport {data.year}: {t.committees} udvalg, pr. {_dato(data.report_date)}.",
             "", "| Aflevering | Rettidig | For sen | Mangler | Afventer | Fritaget |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, title, _ in _deliverable_heads(data):
        c = t.by_deliverable.get(key, Counter())
        lines.append(f"| {title} | " + " | ".join(str(c[s]) for s in STATUS_ORDER) + " |")
    f = t.financing
    lines += ["", f"**Finansieret:** {format_dkk(f.financed)} · **ikke finansieret:** "
                  f"{format_dkk(f.not_financed)} · **delvist/uoplyst:** "
                  f"{format_dkk(f.partly_or_unknown)}"]
    if t.missing:
        lines += ["", "**Mangler:** " + ", ".join(f"{k} ({d})" for k, d, _ in t.missing)]
    if t.illustrative:
        lines += ["", "_Barometertallene er illustrative eksempeldata._"]
    return "\n".join(lines) + "\n"


def budget_markdown(data: StatusData) -> str:
    t = budget_totals(data)
    lines = [f"# {data.event_title}", "",
             f"Samlet overblik {data.year}: ønsket {format_dkk(t.total.asked)}, bevilget "
             f"{format_dkk(t.total.granted)}", "",
             "| Udvalg | Ønsket | Bevilget | Finansieret | Delvist | Ikke | Ingen beslutning |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for k, s in t.by_committee.items():
        lines.append("| " + " | ".join(_sum_row(k, s)) + " |")
    return "\n".join(lines) + "\n"
