"""The status_report and budget events end to end: letters go out, committees hand in filled-in
forms (one late, one never), the barometer and the budget are imported, and the report e-mail
reaches a real SMTP server with the Word document attached, which is reopened and read."""

from __future__ import annotations

import io
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.text.paragraph import Paragraph

from flows import runs
from flows.report import RunReport
from flows.services.keys import report_key
from flows.services.setup import Setup
from flows.services.storage import store_decisions, store_readings
from letters.delivery import SmtpTransport
from letters.mail import message_id
from models.barometer import parse_csv as parse_barometer
from models.budget import parse_csv as parse_budget
from tests.flows.helpers import at, form_docx, wheel_loaded
from tests.smtpd import Server, serve

YEAR = 2012
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
}
# What each committee writes under each of its goals, and its initiatives (title, goal,
# amount, financed). TMU never hands in; BUU's handleplan is late.
TEXTS: dict[str, dict[str, str]] = {
    "OEU": {"HM2": "ØU følger overledigheden tæt.", "HM3": "Rekruttering i koncernen.",
            "HM6": "Tryghed i byrummet: ØU koordinerer."},
    "BUU": {"HM1": "Læsevejledere på de 10 svageste skoler.",
            "HM3": "Flere ledere med anden etnisk baggrund.",
            "HM5": "Fritidstilbud i boligområderne & lektiecafeer <med frivillige>."},
    "KFU": {"HM3": "KFU's medarbejdersammensætning.", "HM4": "Bland dig i Byen fortsætter.",
            "HM5": "Biblioteker i udsatte områder."},
    "SUU": {"HM3": "SUU rekrutterer bredt.", "HM5": "Sundhedsformidlere i boligområder."},
    "SOU": {"HM3": "SOU's ledere.", "HM5": "Opsøgende socialt arbejde.",
            "HM6": "Tryghedsvandringer med beboerne."},
    "BIU": {"HM2": "Jobcentrets virksomhedsrettede indsats.", "HM3": "BIU's egen forvaltning.",
            "HM4": "Dialogmøder med foreninger."},
}
ROWS: dict[str, list[tuple[str, str, str, str]]] = {
    "OEU": [("Koncernfælles mentorordning", "HM3", "1.500.000 kr.", "Ja")],
    "BUU": [("Mentorordning for tosprogede elever", "HM1", "1.500.000 kr.", "Ja"),
            ("Sprogstøtte i dagtilbud", "HM5", "1,5 mio. kr.", "Nej"),
            ("Rekruttering af ledere", "HM3", "kr. 250.000", "delvist")],
    "KFU": [("Bland dig i Byen", "HM4", "800.000 kr.", "Nej")],
    "SUU": [],
    "SOU": [("Tryghedsvandringer", "HM6", "300.000 kr.", "Ja"),
            ("Opsøgende medarbejdere", "HM5", "2 mio. kr.", "Nej")],
    "BIU": [("Virksomhedspraktik", "HM2", "4.000.000 kr.", "Ja")],
}
FINANCED = 1_500_000 + 1_500_000 + 300_000 + 4_000_000
NOT_FINANCED = 1_500_000 + 800_000 + 2_000_000
PARTLY = 250_000
BAROMETER = (
    "goal,period,value,source,illustrative\n"
    + "".join(f"{g},{p},{v},Illustrative tal,ja\n" for g in ("HM1", "HM2", "HM3", "HM4", "HM5")
              for p, v in (("2010-H2", 7.4), ("2011-H1", 7.1), ("2011-H2", 6.8)))
)
BUDGET = """committee;initiative;goal;amount;funded
BUU;Mentorordning for tosprogede elever;HM1;;ja
BUU;sprogstøtte i dagtilbud;HM5;;nej
BUU;Rekruttering af ledere;HM3;100.000 kr.;delvist
SOU;Tryghedsvandringer;HM6;300.000 kr.;ja
BIU;Virksomhedspraktik;HM2;3,5 mio. kr.;delvist
KFU;Nyt bibliotek;HM5;1.000.000 kr.;ja
"""


def filled_form(st: Setup, tmp: Path, committee: str, deliverable: str) -> Path:
    """The real form for (committee, deliverable), filled in through python-docx."""
    path = form_docx(st, tmp / f"{committee}-{deliverable}.docx", committee, deliverable, YEAR)
    d = docx.Document(str(path))
    for key, text in TEXTS[committee].items():
        head = next(p for p in d.paragraphs if p.text.startswith(key + " "))
        Paragraph(head._p.getnext(), head._parent).add_run(f"{text} ({deliverable})")
    table = d.tables[0]
    for i, row in enumerate(ROWS[committee]):
        cells = table.rows[i + 1].cells if i + 1 < len(table.rows) else table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    d.save(str(path))
    return path


@dataclass
class Year:
    st: Setup
    server: Server
    status: RunReport
    status_again: RunReport
    budget: RunReport
    tmp: Path

    def reports(self) -> list[EmailMessage]:
        return [r.message for r in self.server.handler.received
                if r.message["X-Aarshjul-Kind"] == "report"]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from models.db import make_engine, upgrade

    tmp = tmp_path_factory.mktemp("reports")
    eng = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
    upgrade(eng)
    loaded = wheel_loaded()
    with serve() as server:
        st = Setup(loaded.wheel, eng, tmp / "data", transport=SmtpTransport(server.url),
                     documents=tmp / "documents", actor="test")
        runs.event(st, "opfordring", YEAR, at("2012-01-20T09:00"))
        for c in ("OEU", "KFU", "SUU", "SOU", "BIU"):
            runs.submit(st, YEAR, c, "handleplan", filled_form(st, tmp, c, "handleplan"),
                         at("2012-04-25T10:00"))
        runs.submit(st, YEAR, "BUU", "handleplan", filled_form(st, tmp, "BUU", "handleplan"),
                     at("2012-05-03T10:00"))  # late
        for c in ("OEU", "BUU", "KFU", "SUU", "SOU", "BIU"):
            runs.submit(st, YEAR, c, "redegoerelse", filled_form(st, tmp, c, "redegoerelse"),
                         at("2012-05-10T10:00"))
        store_readings(eng, parse_barometer(BAROMETER, loaded.wheel), at("2012-07-01T09:00"))
        status = runs.event(st, "statusrapport", YEAR, at("2012-08-15T09:00"))
        again = runs.event(st, "statusrapport", YEAR, at("2012-08-16T09:00"))
        store_decisions(eng, YEAR, parse_budget(BUDGET, loaded.wheel), "budget.csv",
                        at("2012-10-01T09:00"))
        budget = runs.event(st, "budget", YEAR, at("2012-10-08T09:00"))
        yield Year(st, server, status, again, budget, tmp)
    eng.dispose()


def attachment(m: EmailMessage) -> tuple[str, Any]:
    """The report's .docx (its tagged PDF copy, where LibreOffice is there, is beside it:
    tests/flows/test_report_pdf.py)."""
    parts = [p for p in m.iter_attachments()]
    names = [str(p.get_filename()) for p in parts]
    assert len(parts) in (1, 2) and names[0].endswith(".docx"), names
    assert names[1:] in ([], [names[0].removesuffix(".docx") + ".pdf"])
    return names[0], docx.Document(io.BytesIO(parts[0].get_content()))


def text_of(el: Any) -> str:
    """The text of an element (python-docx's elements override ``itertext``)."""
    return "".join(t.text or "" for t in el.iter(f"{{{NS['w']}}}t"))


def all_text(d: Any) -> str:
    body = d.element.body
    return "\n".join("".join(t.text or "" for t in p.iter(f"{{{NS['w']}}}t"))
                     for p in body.iter(f"{{{NS['w']}}}p"))


# --- the status report ------------------------------------------------------------------


def test_one_report_email_to_the_owner_and_the_coordinator_with_contract_headers(year):
    reports = year.reports()
    status = [m for m in reports if m["X-Aarshjul-Event"] == "statusrapport"]
    assert len(status) == 1  # the second run sent nothing
    m = status[0]
    assert m["X-Aarshjul-Kind"] == "report"
    assert m["X-Aarshjul-Year"] == str(YEAR)
    assert m["X-Aarshjul-Committee"] == "BIU"
    assert m["X-Aarshjul-Deliverable"] is None and m["X-Aarshjul-Slot"] is None
    assert m["Message-ID"] == message_id(report_key(YEAR, "statusrapport"),
                                                 year.st.domain)
    assert "+0200" in m["Date"]
    to = {a.addr_spec for a in m["To"].addresses}
    assert to == {"biu-sekretariat@bif.kk.example", "koordinator@bif.kk.example"}
    got = year.server.handler.by_message_id()[m["Message-ID"]][0]
    assert set(got.rcpt_tos) == to
    name, _ = attachment(m)
    assert name.startswith("Samlet statusrapport for integrationsindsatsen 2012")
    assert [x.kind for x in year.status.messages] == ["report"]
    assert year.status.messages[0].state == "sent"
    assert year.status_again.messages[0].state == "sent"
    assert any("allerede" in n for n in year.status_again.notes)


def test_every_committees_text_is_in_the_report(year):
    _, d = attachment(next(m for m in year.reports() if m["X-Aarshjul-Event"] == "statusrapport"))
    text = all_text(d)
    for c, goals in TEXTS.items():
        for g, t in goals.items():
            assert f"{t} (handleplan)" in text, (c, g)
            assert f"{t} (redegoerelse)" in text, (c, g)
    for rows in ROWS.values():
        for title, *_ in rows:
            assert title in text


def test_totals_status_and_missing_committee(year):
    _, d = attachment(next(m for m in year.reports() if m["X-Aarshjul-Event"] == "statusrapport"))
    summary = d.tables[0]
    header = [c.text for c in summary.rows[0].cells]
    assert header == ["Aflevering", "Frist", "Rettidig", "For sen", "Mangler", "Afventer",
                      "Fritaget", "I alt"]
    rows = {r.cells[0].text: [c.text for c in r.cells[2:]] for r in summary.rows[1:]}
    assert rows["Revideret handleplan"] == ["5", "1", "1", "0", "0", "7"]
    assert rows["Integrationsredegørelse"] == ["6", "0", "1", "0", "0", "7"]
    money = {r.cells[0].text: r.cells[1].text for r in d.tables[1].rows[1:]}
    assert money["Finansieret"] == "7.300.000 kr." == f"{FINANCED:,} kr.".replace(",", ".")
    assert money["Ikke finansieret"] == "4.300.000 kr." == f"{NOT_FINANCED:,} kr.".replace(",", ".")
    assert money["Delvist finansieret eller uoplyst"] == "250.000 kr."
    assert money["I alt"] == "11.850.000 kr."
    # the missing committee is listed under its heading, in the table after it
    body = list(d.element.body.iterchildren())
    head = next(i for i, el in enumerate(body) if el.tag.endswith("}p")
                and text_of(el) == "Det mangler")
    table = next(el for el in body[head:] if el.tag.endswith("}tbl"))
    text = text_of(table)
    assert "Teknik- og Miljøudvalget (TMU)" in text and "Revideret handleplan" in text
    assert "Integrationsredegørelse" in text
    # per committee: BUU's handleplan is late, TMU's missing
    buu = next(t for t in d.tables if "Revideret handleplan" in t.rows[1].cells[0].text
               and t.rows[1].cells[2].text == "for sen")
    assert buu.rows[2].cells[2].text == "rettidig"
    assert "Status på integrationsindsatsen" in all_text(d)


def test_charts_are_embedded_with_alt_text_and_their_figures_as_tables(year):
    _, d = attachment(next(m for m in year.reports() if m["X-Aarshjul-Event"] == "statusrapport"))
    wheel = year.st.wheel
    assert len(d.inline_shapes) == len(wheel.goals) == 6
    descr = [el.get("descr") for el in d.element.body.iter(f"{{{NS['wp']}}}docPr")]
    assert len(descr) == 6 and all(descr)
    assert descr[1].startswith("Graf for HM2") and "7,4 %" in descr[1]
    assert "Illustrative tal" in descr[0]
    assert "Ingen målinger endnu" in descr[5]  # HM6 has no readings
    # the figures right after the chart
    body = list(d.element.body.iterchildren())
    pics = [i for i, el in enumerate(body) if list(el.iter(f"{{{NS['wp']}}}docPr"))]
    after = next(el for el in body[pics[1]:] if el.tag.endswith("}tbl"))
    assert "2. halvår 2010" in text_of(after) and "7,4 %" in text_of(after)


def test_accessible_headings_header_rows_and_danish(year):
    _, d = attachment(next(m for m in year.reports() if m["X-Aarshjul-Event"] == "statusrapport"))
    h1 = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert h1[-5:] == ["Sammenfatning", "Hovedmålene", "Udvalgene", "Det mangler", "Bilag"]
    h2 = [p.text for p in d.paragraphs if p.style.name == "Heading 2"]
    assert "HM2 – Overledigheden blandt etniske minoriteter" in h2
    assert "Børne- og Ungdomsudvalget (BUU)" in h2
    assert "Illustrative tal" in h2
    for t in d.tables:
        assert t.rows[0]._tr.trPr is not None
        assert t.rows[0]._tr.trPr.find(f"{{{NS['w']}}}tblHeader") is not None
    langs = d.styles.element.findall(f".//{{{NS['w']}}}docDefaults//{{{NS['w']}}}lang")
    assert [x.get(f"{{{NS['w']}}}val") for x in langs] == ["da-DK"]
    assert d.styles["Normal"].element.rPr.find(f"{{{NS['w']}}}lang").get(
        f"{{{NS['w']}}}val") == "da-DK"
    assert d.core_properties.language == "da-DK"


def test_the_report_is_kept_and_journaled(year):
    kept = list((year.st.data / "reports" / str(YEAR)).glob("*.docx"))
    assert {p.name.split(" 2012")[0] for p in kept} >= {
        "Samlet statusrapport for integrationsindsatsen"}
    assert year.status.documents and year.status.documents[0].startswith("2012/statusrapport/")
    assert any("Statusrapport 2012: 7 udvalg" in n for n in year.status.notes)


# --- the budget overview ----------------------------------------------------------------


def test_budget_overview_totals_against_may(year):
    m = next(m for m in year.reports() if m["X-Aarshjul-Event"] == "budget")
    assert m["X-Aarshjul-Kind"] == "report"
    name, d = attachment(m)
    assert name.startswith("Budgetvedtagelse")
    assert "Samlet overblik over integrationsindsatsen 2012" in all_text(d)
    total = [c.text for c in d.tables[0].rows[1].cells]
    asked = FINANCED + NOT_FINANCED + PARTLY
    # granted: BUU 1,5 mio (as asked) + 100.000 + SOU 300.000 + BIU 3,5 mio + KFU 1 mio
    granted = 1_500_000 + 100_000 + 300_000 + 3_500_000 + 1_000_000
    assert total == ["Hele kommunen", f"{asked:,} kr.".replace(",", "."),
                     f"{granted:,} kr.".replace(",", "."), "3", "2", "1", "3"]
    by_c = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in d.tables[1].rows[1:]}
    assert by_c["BUU"] == ["3.250.000 kr.", "1.600.000 kr.", "1", "1", "1", "0"]
    assert by_c["KFU"] == ["800.000 kr.", "1.000.000 kr.", "1", "0", "0", "1"]
    assert by_c["TMU"] == ["0 kr.", "0 kr.", "0", "0", "0", "0"]
    by_g = {r.cells[0].text.split(" ")[0]: [c.text for c in r.cells[1:]]
            for r in d.tables[2].rows[1:]}
    assert by_g["HM2"] == ["4.000.000 kr.", "3.500.000 kr.", "0", "1", "0", "0"]
    assert len(d.inline_shapes) == 1
    descr = next(d.element.body.iter(f"{{{NS['wp']}}}docPr")).get("descr")
    assert "BUU: ønsket 3.250.000 kr., bevilget 1.600.000 kr." in descr
    text = all_text(d)
    assert "Nyt bibliotek" in text and "Beslutninger uden initiativ i formularerne" in text
    assert any("bevilget 6.400.000 kr." in n for n in year.budget.notes)


def test_dry_run_builds_the_report_and_sends_nothing(year, tmp_path):
    before = len(year.server.handler.received)
    r = runs.event(year.st, "budget", 2013, at("2013-10-08T09:00"), dry_run=True,
                    preview_dir=tmp_path)
    assert [m.state for m in r.messages] == ["preview"]
    assert any(p.endswith(".docx") for p in r.documents)
    assert len(year.server.handler.received) == before
    from sqlmodel import Session, select

    from models.outbox import OutboxRow

    with Session(year.st.db) as s:
        assert s.exec(select(OutboxRow).where(OutboxRow.year == 2013)).first() is None


# --- under Prefect ----------------------------------------------------------------------


def test_the_event_flow_publishes_the_figures_as_a_markdown_artifact(
    prefect_harness, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows import workflows as W
    from tests.dbtools import database
    from tests.flows.helpers import flow_at, mailbox, make_setup

    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        runs.event(st, "opfordring", YEAR, at("2012-01-20T09:00"))
        state = flow_at(W.event_flow, st, "2012-08-15T09:00", year=YEAR,
                        event="statusrapport", return_state=True)
        assert state.is_completed(), state
        report = state.result()
        run_id = state.state_details.flow_run_id
        assert run_id is not None
        assert [(m.kind, m.state) for m in report.messages] == [("report", "sent")]
        kinds = [m["X-Aarshjul-Kind"] for m in mailbox(tmp_path)]
        assert kinds.count("report") == 1
    with get_client(sync_client=True) as c:
        arts = c.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    md = next(a for a in arts if a.key == "aarshjul-2012-statusrapport")
    assert md.type == "markdown"
    assert "| Revideret handleplan | 0 | 0 | 7 | 0 |" in str(md.data)
    assert "**Mangler:**" in str(md.data)
