"""The python-docx helpers both reports share: the cover, tables sized to their content,
charts with alt text, the document language, saving.

Accessible, because the reports go on the council's public agenda: real heading styles, every
chart an inline PNG with a Danish alt text (``wp:docPr descr=``) and a title, every table's
first row a repeating header row (``w:tblHeader``), da-DK in the document defaults, the
Normal style and the core properties.

Table columns are sized so that no word and no amount breaks in the middle on A4
(:func:`fit_columns`): each column is at least as wide as its longest word (the header in
bold), an amount such as ``17.500.000 kr.`` or a date such as ``26. september 2012``
counting as one word; the rest of the text width is shared by the given weights. A table
whose longest words do not fit at 11 pt is set at 10 or 9 pt.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from letters.context import cover_context, dato
from letters.reports.textwidth import text_cm
from models.kinds import EventKind

if TYPE_CHECKING:
    from letters.reports.data import StatusData

LANG = "da-DK"
TEXT_WIDTH_CM = 16.0  # an A4 page (21 cm) less the cover template's margins (2.5 cm a side)
CHART_WIDTH_CM = TEXT_WIDTH_CM
CELL_PADDING_CM = 2 * 108 / 567  # the "Tabel" style's left and right cell margins (108 twips)
SLACK_CM = 0.15  # what layout engines add (kerning, rounding to twips)
BODY_PT = 11.0  # the Normal style's size
SIZES_PT = (BODY_PT, 10.0, 9.0)  # tried in turn until the longest words fit
# what a line may not be broken inside: an amount ("17.500.000 kr.", "1,5 mio. kr."), a Danish
# date ("26. september 2012"), else a word
_UNIT = re.compile(r"-?\d[\d.,]* (?:mio\. |mia\. )?kr\.|\d{1,2}\. [^\W\d_]+ \d{4}|\S+")


def _w(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


def set_language(doc: Any) -> None:
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


# --- tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Column widths in cm and the font size of a table's text."""

    widths: tuple[float, ...]
    size_pt: float = BODY_PT


def _units(text: str) -> list[str]:
    """What a line may not be broken inside: each word, an amount or a date as a whole."""
    return _UNIT.findall(text)


def _least(texts: Iterable[str], size: float, bold: bool) -> float:
    widest = max((text_cm(u, size, bold=bold) for t in texts for u in _units(t)), default=0.0)
    return widest + CELL_PADDING_CM + SLACK_CM


def fit_columns(
    header: Sequence[str], rows: Iterable[Sequence[str]], weights: Sequence[float],
    total: float = TEXT_WIDTH_CM,
) -> Columns:
    """Widths that keep every word of ``header`` and ``rows`` on one line, sharing what is
    left of ``total`` by ``weights`` (the widths a column would get with room to spare)."""
    body = [list(r) for r in rows]
    n = len(header)
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} columns")
    least: list[float] = []
    size = SIZES_PT[-1]
    for size in SIZES_PT:
        least = [max(_least([header[i]], size, True), _least((r[i] for r in body), size, False))
                 for i in range(n)]
        if sum(least) <= total:
            break
    if sum(least) > total:  # words longer than a page: squeeze (they break; nothing better)
        return Columns(tuple(round(x * total / sum(least), 2) for x in least), size)
    widths = [0.0] * n
    free = set(range(n))
    room = total
    while free:
        share = sum(weights[i] for i in free)
        fixed = {i for i in free if room * weights[i] / share < least[i]}
        if not fixed:
            for i in free:
                widths[i] = room * weights[i] / share
            break
        for i in fixed:
            widths[i] = least[i]
            room -= least[i]
        free -= fixed
    return Columns(tuple(round(x, 2) for x in widths), size)


def table(doc: Any, header: Sequence[str], rows: Iterable[Sequence[str]],
          weights: Sequence[float] | None = None, caption: str | None = None,
          columns: Columns | None = None) -> Any:
    """A table with the template's ``Tabel`` style and a repeating header row, its columns
    sized by :func:`fit_columns` (``weights``: even when not given), or as ``columns`` says
    (for tables that should line up with each other)."""
    from docx.oxml import OxmlElement
    from docx.shared import Cm, Pt

    body = [list(r) for r in rows]
    cols = columns or fit_columns(header, body, weights or [1.0] * len(header))
    if caption:
        doc.add_paragraph(caption).paragraph_format.keep_with_next = True  # not left alone
    elif _ends_with_table(doc):
        doc.add_paragraph()  # two tables in a row would be laid out as one
    t = doc.add_table(rows=1, cols=len(header))
    try:
        t.style = doc.styles["Tabel"]
    except KeyError:  # a coordinator's cover template without the style
        pass
    size = [Cm(x) for x in cols.widths]
    t.autofit = False
    for col, w in zip(t.columns, size, strict=True):
        col.width = w  # the grid: what LibreOffice lays out by
    font = Pt(cols.size_pt) if cols.size_pt != BODY_PT else None

    def fill(cells: Sequence[Any], texts: Sequence[str]) -> None:
        # a row stays on one page (cantSplit)
        cells[0]._tc.getparent().get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
            cell.text = text
            cell.width = size[i]  # what Word lays out by
            if font is not None:
                for run in cell.paragraphs[0].runs:
                    run.font.size = font

    fill(t.rows[0].cells, header)
    t.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for row in body:
        fill(t.add_row().cells, row)
    return t


def _ends_with_table(doc: Any) -> bool:
    body = doc.element.body
    last = next((el for el in reversed(body) if el.tag != _w("sectPr")), None)
    return last is not None and last.tag == _w("tbl")


# --- other blocks -------------------------------------------------------------------------


def chart(doc: Any, png: bytes, alt: str, title: str) -> None:
    """An inline chart the width of the text, with its alt text and title."""
    from docx.shared import Cm

    shape = doc.add_picture(io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    pr = shape._inline.docPr
    pr.set("descr", alt)
    pr.set("title", title)


def labelled(doc: Any, label: str, text: str) -> None:
    p = doc.add_paragraph()
    p.add_run(label).bold = True
    p.add_run(" " + text)


def page_break(doc: Any) -> None:
    from docx.enum.text import WD_BREAK

    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def cover(data: StatusData, kind: EventKind) -> Any:
    """The document, begun with the cover template ``statusrapport_forside`` rendered for the
    report ``kind`` (its title and subtitle are the template's ``title`` and ``subtitle``)."""
    import docx

    from letters.render import template

    ctx = cover_context(data.wheel, data.plan, data.report_date, kind)
    raw = template("statusrapport_forside", data.templates_dir).render(ctx)
    doc = docx.Document(io.BytesIO(raw))
    doc.core_properties.title = ctx["title"]
    doc.core_properties.author = data.wheel.policy.sender.name
    set_language(doc)
    page_break(doc)
    return doc


def save(doc: Any) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def when(t: datetime | None) -> str:
    return dato(t.date()) if t is not None else "–"
