"""The status report and the budget overview built from plain data (no database), reopened
with python-docx: content, totals, accessibility, and text with characters Word escapes."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import docx
import pytest

from letters.intake import check_docx
from letters.readback import FormReading, Initiative
from letters.reports.budget_overview import budget_overview_docx
from letters.reports.data import (
    CommitteeReport,
    Handin,
    StatusData,
    budget_totals,
    financing,
    status_totals,
)
from letters.reports.markdown import status_markdown
from letters.reports.status_report import status_report_docx
from models.barometer import Reading
from models.budget import Decision
from models.config import load
from models.numbers import format_dkk
from models.plan import year_plan
from tests import CPH, ROOT

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"


def init(title: str, goal: str | None, amount: int | None, financed: bool | None,
         text: str = "") -> Initiative:
    return Initiative(title, goal, amount, text or (format_dkk(amount) if amount else ""),
                      financed, 1, "")


def reading(goals: dict[str, str], inits: tuple[Initiative, ...] = (),
            warnings: tuple[str, ...] = ()) -> FormReading:
    return FormReading(goals, inits, warnings, (), True, bool(inits))


@pytest.fixture(scope="module")
def data() -> StatusData:
    wheel = load(ROOT / "aarshjul.yaml").wheel
    plan = year_plan(wheel, 2012)
    got = datetime(2012, 4, 20, 10, tzinfo=CPH)

    def handins(status: str, r: FormReading | None, second: FormReading | None = None) -> Any:
        return (
            Handin("handleplan", "Revideret handleplan", date(2012, 5, 1), status,
                   got if r else None, r, "hp.docx" if r else None),
            Handin("redegoerelse", "Integrationsredegørelse", date(2012, 5, 15),
                   "on_time" if second else "missing", got if second else None, second,
                   "rg.docx" if second else None),
        )

    buu = reading({"HM1": "Skoler & <lektiecafeer>.\n\nAnden paragraf om HM1.", "HM3": "",
                   "HM5": "Boligområder."},
                  (init("Mentorordning", "HM1", 1_500_000, True),
                   init("Sprogstøtte", "HM5", 1_000_000, False),
                   init("Ledere", "HM3", 250_000, None),
                   init("Uklart beløb", "HM1", None, True, "1-2 mio.")),
                  ("initiativtabellen har en ekstra kolonne “Bemærkning”; den er ikke læst",))
    buu2 = reading({"HM1": "Redegørelse om HM1."},
                   (init("mentorordning", "HM1", 2_000_000, True),))  # replaces the first
    committees = (
        CommitteeReport("BUU", "Børne- og Ungdomsudvalget", ("HM1", "HM3", "HM5"),
                        handins("late", buu, buu2)),
        CommitteeReport("TMU", "Teknik- og Miljøudvalget", ("HM3", "HM6"),
                        handins("missing", None)),
    )
    readings = (Reading("HM2", "2011-H1", 7.4, "Illustrative tal", True),
                Reading("HM2", "2011-H2", 7.1, "Illustrative tal", True))
    decisions = (Decision("BUU", "Mentorordning", "HM1", None, "yes"),
                 Decision("BUU", "Sprogstøtte", "HM5", 400_000, "partly"),
                 Decision("TMU", "Cykelstier", "HM6", 900_000, "yes"))
    return StatusData(wheel, plan, 2012, date(2012, 8, 15), "Samlet statusrapport 2012",
                      committees, readings, decisions, ("budget.csv",))


def reopen(raw: bytes) -> Any:
    check_docx(raw, "rapport.docx")  # a file our own intake accepts
    return docx.Document(io.BytesIO(raw))


def text(d: Any) -> str:
    return "\n".join("".join(t.text or "" for t in p.iter(W + "t"))
                     for p in d.element.body.iter(W + "p"))


def test_format_dkk_and_financing() -> None:
    assert format_dkk(1_500_000) == "1.500.000 kr."
    assert format_dkk(0) == "0 kr." and format_dkk(999) == "999 kr."
    f = financing([init("a", None, 10, True), init("b", None, 5, False),
                   init("c", None, 3, None), init("d", None, None, True)])
    assert (f.financed, f.not_financed, f.partly_or_unknown, f.no_amount, f.total) == \
        (10, 5, 3, 1, 18)


def test_totals_count_each_status_and_dedupe_initiatives(data: StatusData) -> None:
    t = status_totals(data)
    assert dict(t.by_deliverable["handleplan"]) == {"late": 1, "missing": 1}
    assert dict(t.by_deliverable["redegoerelse"]) == {"on_time": 1, "missing": 1}
    assert t.missing == [("TMU", "Revideret handleplan", date(2012, 5, 1)),
                         ("TMU", "Integrationsredegørelse", date(2012, 5, 15))]
    # "mentorordning" in the redegørelse replaces "Mentorordning" of the handleplan
    assert (t.financing.financed, t.financing.not_financed, t.financing.partly_or_unknown) == \
        (2_000_000, 1_000_000, 250_000)
    assert t.illustrative


def test_status_report_content(data: StatusData) -> None:
    d = reopen(status_report_docx(data))
    body = text(d)
    assert "Samlet statusrapport 2012" in body  # the cover
    assert "Skoler & <lektiecafeer>." in body and "Anden paragraf om HM1." in body
    assert "Redegørelse om HM1." in body
    assert "Intet skrevet om dette mål." in body  # BUU's empty HM3
    assert "Teknik- og Miljøudvalget (TMU): Har ikke afleveret." in body
    assert "1-2 mio. (kan ikke læses)" in body
    assert "initiativtabellen har en ekstra kolonne “Bemærkning”" in body  # read-back warnings
    assert "budget.csv" not in body  # the status report does not cite the budget
    assert len(d.inline_shapes) == 6
    for el in d.element.body.iter(WP + "docPr"):
        assert el.get("descr", "").startswith("Graf for HM")
    md = status_markdown(data)
    assert "| Revideret handleplan | 0 | 1 | 1 | 0 |" in md and "TMU" in md


def test_status_report_is_accessible(data: StatusData) -> None:
    d = reopen(status_report_docx(data))
    styles = {p.style.name for p in d.paragraphs if p.text}
    assert {"Title", "Heading 1", "Heading 2"} <= styles
    assert all(t.rows[0]._tr.trPr.find(W + "tblHeader") is not None for t in d.tables)
    assert d.core_properties.language == "da-DK"
    lang = d.styles.element.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert lang.get(W + "val") == "da-DK"


def test_budget_overview_matches_decisions_to_may(data: StatusData) -> None:
    t = budget_totals(data)
    lines = {(ln.committee, ln.title): ln for ln in t.lines}
    assert lines[("BUU", "mentorordning")].granted == 2_000_000  # "ja" with no amount: as asked
    assert lines[("BUU", "Sprogstøtte")].granted == 400_000
    assert lines[("BUU", "Ledere")].outcome == "none"
    assert [d.initiative for d in t.unmatched] == ["Cykelstier"]
    assert (t.total.asked, t.total.granted) == (3_250_000, 3_300_000)
    assert t.by_goal["HM6"].granted == 900_000
    d = reopen(budget_overview_docx(data))
    body = text(d)
    assert "Samlet overblik over integrationsindsatsen 2012" in body
    assert "Samlet statusrapport 2012" not in body
    assert "Cykelstier" in body and "budget.csv" in body
    row = [c.text for c in d.tables[0].rows[1].cells]
    assert row == ["Hele kommunen", "3.250.000 kr.", "3.300.000 kr.", "2", "1", "0", "2"]
    assert len(d.inline_shapes) == 1
    assert all(t.rows[0]._tr.trPr.find(W + "tblHeader") is not None for t in d.tables)


def test_a_year_with_nothing_yet(data: StatusData) -> None:
    empty = StatusData(data.wheel, data.plan, 2012, date(2012, 8, 15), "x", ())
    d = reopen(status_report_docx(empty))
    assert "Alle afleveringer med frist før rapporten er modtaget." in text(d)
    assert len(d.inline_shapes) == 6
    reopen(budget_overview_docx(empty))
