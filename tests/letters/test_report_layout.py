"""How the reports read on paper: table columns sized so that no word or amount breaks in the
middle at A4 (checked on LibreOffice's PDF), the cover's title and subtitle from the cover
template, one full stop after an amount, and Danish number agreement."""

from __future__ import annotations

import html
import io
import itertools
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import docx
import pytest

from letters.context import REPORT_COVERS
from letters.readback import FormReading, Initiative
from letters.reports import docx as D
from letters.reports.budget_overview import budget_chart, budget_overview_docx
from letters.reports.data import CommitteeReport, Handin, StatusData, budget_totals
from letters.reports.markdown import (
    budget_markdown,
    budget_summary,
    status_markdown,
    status_summary,
)
from letters.reports.status_report import status_report_docx
from letters.reports.textwidth import text_cm
from models.budget import Decision
from models.config import load
from models.kinds import EventKind
from models.numbers import format_dkk
from models.plan import year_plan
from tests import CPH, ROOT

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def full_year() -> StatusData:
    """Every committee of the Copenhagen wheel with both forms read, long titles, amounts in
    the millions and budget decisions: the widest tables a real year gives."""
    wheel = load(ROOT / "aarshjul.yaml").wheel
    plan = year_plan(wheel, 2012)
    got = datetime(2012, 4, 26, 14, 30, tzinfo=CPH)
    committees = []
    decisions = []
    for n, c in enumerate(wheel.committees):
        goals = [g.key for g in wheel.goals_for(c.key)]
        if not goals:
            continue
        inits = (
            Initiative("Mangfoldig rekruttering i koncernen", goals[0], 17_500_000 + n, "", True,
                       1, "Ja"),
            Initiative("Tryghedsindekset – analyse og opfølgning", goals[-1], 350_000, "", None,
                       2, "Delvist"),
        )
        r = FormReading({g: f"{c.name} arbejder med {g}." for g in goals}, inits,
                        ("initiativrække 2: Hovedmål er ikke udfyldt",), (), True, True)
        handins = tuple(
            Handin(d.key, d.title, plan.deliverable(d.key).due, "on_time" if n % 3 else "late",
                   got, r, f"{d.key}-2012-{c.key}-20120426T1430.docx", revisions=n % 2)
            for d in wheel.deliverables)
        committees.append(CommitteeReport(c.key, c.name, tuple(goals), handins))
        decisions.append(Decision(c.key, "Mangfoldig rekruttering i koncernen", goals[0],
                                  2_550_000, "partly"))
    decisions.append(Decision("BIU", "Virksomhedspraktik for nytilkomne flygtninge", "HM2",
                              12_345_678, "yes"))
    return StatusData(wheel, plan, 2012, date(2012, 8, 15), "Samlet statusrapport 2012",
                      tuple(committees), (), tuple(decisions), ("budget.csv",))


def texts(raw: bytes) -> str:
    d = docx.Document(io.BytesIO(raw))
    return "\n".join("".join(t.text or "" for t in p.iter(W + "t"))
                     for p in d.element.body.iter(W + "p"))


# --- column widths --------------------------------------------------------------------------


def test_every_column_holds_its_longest_word_and_the_table_fills_the_text_width() -> None:
    header = ("Aflevering", "Frist", "Rettidig", "Finansieret")
    rows = [("Integrationsredegørelse", "15. maj 2012", "5", "17.500.000 kr.")]
    cols = D.fit_columns(header, rows, (1, 1, 1, 1))
    assert cols.size_pt == 11.0
    assert sum(cols.widths) == pytest.approx(D.TEXT_WIDTH_CM, abs=0.05)
    padding = D.CELL_PADDING_CM
    assert cols.widths[0] >= text_cm("Integrationsredegørelse", 11) + padding
    assert cols.widths[3] >= text_cm("17.500.000 kr.", 11) + padding  # an amount is one word
    assert cols.widths[3] >= text_cm("Finansieret", 11, bold=True) + padding
    # room to spare is shared by the weights
    even = D.fit_columns(("a", "b"), [("x", "y")], (1, 3))
    assert even.widths == (4.0, 12.0)


def test_a_table_too_dense_for_11_pt_is_set_smaller() -> None:
    data = full_year()
    t = budget_totals(data)
    header = ("Hovedmål", "Ønsket i maj", "Bevilget", "Finansieret", "Delvist",
              "Ikke finansieret", "Ingen beslutning")
    rows = [("HM3 – Kommunens medarbejder- og ledersammensætning", format_dkk(t.total.asked),
             format_dkk(t.total.granted), "1", "2", "3", "4")]
    cols = D.fit_columns(header, rows, (4.4, 2.6, 2.6, 1.9, 1.5, 1.5, 1.5))
    assert cols.size_pt < 11.0
    assert sum(cols.widths) <= D.TEXT_WIDTH_CM + 0.05
    with pytest.raises(ValueError, match="2 weights for 3 columns"):
        D.fit_columns(("a", "b", "c"), [], (1, 1))


def test_words_longer_than_a_page_are_squeezed_into_it() -> None:
    cols = D.fit_columns(("a", "b"), [("x" * 200, "y" * 200)], (1, 1))
    assert cols.size_pt == 9.0 and sum(cols.widths) == pytest.approx(D.TEXT_WIDTH_CM, abs=0.05)


# --- text -----------------------------------------------------------------------------------


def test_the_cover_title_and_subtitle_come_from_the_cover_template() -> None:
    data = full_year()
    status = texts(status_report_docx(data, charts=_no_charts(data)))
    budget = texts(budget_overview_docx(data))
    status_title, status_sub = REPORT_COVERS[EventKind.STATUS_REPORT]
    budget_title, budget_sub = REPORT_COVERS[EventKind.BUDGET]
    assert status_title.format(year=2012) in status and status_sub in status
    assert budget_title.format(year=2012) in budget and budget_sub in budget
    assert status_sub not in budget and budget_sub not in status
    template = zipfile.ZipFile(ROOT / "letters/templates/statusrapport_forside.docx")
    xml = template.read("word/document.xml").decode()
    assert "{{ subtitle }}" in xml and "{{ title }}" in xml
    assert budget_sub not in xml and status_sub not in xml


def test_one_full_stop_after_an_amount_and_danish_number_agreement() -> None:
    data = full_year()
    one = StatusData(**{**data.__dict__, "committees": data.committees[:1]})
    written = [
        texts(status_report_docx(data, charts=_no_charts(data))),
        texts(budget_overview_docx(data)),
        status_markdown(data), budget_markdown(data), status_summary(data),
        budget_summary(data), status_summary(one), budget_chart(one, budget_totals(one))[1],
    ]
    for t in written:
        assert "kr.." not in t and "kr. ." not in t
        assert not re.search(r"(?<![\d.])1 (rettidige|afleveringer|initiativer|revisioner)\b", t)
    assert "Revideret handleplan: 0 rettidige, 1 for sent" in status_summary(one)
    two = StatusData(**{**data.__dict__, "committees": data.committees[1:3]})
    assert "Revideret handleplan: 2 rettidige" in status_summary(two)
    alt = budget_chart(one, budget_totals(one))[1]
    assert alt.endswith(" kr.") and alt.count("kr.") == 2
    summary = status_summary(data)
    assert summary.endswith(" kr.") and not summary.endswith("kr..")


def _no_charts(data: StatusData) -> dict[str, bytes]:
    """A 1x1 PNG per goal: the text tests do not need matplotlib's charts."""
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154"
        "789c63f8ffff3f0005fe02fea7d6a4c30000000049454e44ae426082")
    return {g.key: png for g in data.wheel.goals}


# --- on paper (LibreOffice) -----------------------------------------------------------------


def _words(raw: bytes) -> set[str]:
    xml = zipfile.ZipFile(io.BytesIO(raw)).read("word/document.xml").decode()
    return set(html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<w:p[ >]", " ", xml))).split())


def broken_words(pdf: Path, words: set[str]) -> list[str]:
    """Where a line of ``pdf`` ends inside a word of ``words`` (the line's last piece is not
    a word, and with the next line's first piece it is part of one) or inside an amount: the
    two pieces, ``|`` between them. A break after a hyphen is a break, not a broken word."""
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", out))
    found = []
    for block in root.iter(XHTML + "block"):
        lines = [[w.text or "" for w in line.iter(XHTML + "word")]
                 for line in block.iter(XHTML + "line")]
        for a, b in itertools.pairwise(lines):
            if not a or not b or a[-1].endswith("-"):
                continue
            joined = a[-1] + b[0]
            if (a[-1] not in words and any(joined in w for w in words)) or \
                    (re.fullmatch(r"-?\d[\d.]*", a[-1]) and b[0] == "kr."):
                found.append(f"{a[-1]}|{b[0]}")
    return found


def _to_pdf(tmp: Path, docs: dict[str, bytes]) -> dict[str, Path]:
    soffice = shutil.which("soffice")
    if not soffice or not shutil.which("pdftotext"):
        pytest.skip("LibreOffice (soffice) or pdftotext (poppler-utils) is not installed")
    for name, raw in docs.items():
        (tmp / f"{name}.docx").write_bytes(raw)
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp / "pdf"),
                    *(str(tmp / f"{n}.docx") for n in docs)],
                   check=True, capture_output=True, timeout=240)
    return {n: tmp / "pdf" / f"{n}.pdf" for n in docs}


@pytest.mark.office
def test_no_word_or_amount_breaks_in_the_middle_at_a4(tmp_path: Path) -> None:
    data = full_year()
    docs = {"status": status_report_docx(data, charts=_no_charts(data)),
            "budget": budget_overview_docx(data)}
    # the check itself: a column too narrow for its word is found
    narrow = docx.Document(io.BytesIO(docs["status"]))
    D.table(narrow, ("Aflevering", "Frist"), [("Integrationsredegørelse", "17.500.000 kr.")],
            columns=D.Columns((1.2, 1.2)))
    docs["narrow"] = D.save(narrow)
    pdfs = _to_pdf(tmp_path, docs)
    caught = broken_words(pdfs["narrow"], _words(docs["narrow"]))
    assert any(p.startswith("Integ") for p in caught) and any("|kr." in p for p in caught)
    for name in ("status", "budget"):
        words = _words(docs[name])
        assert {"Integrationsredegørelse", "Finansieret", "17.500.000"} <= words
        assert broken_words(pdfs[name], words) == [], name
