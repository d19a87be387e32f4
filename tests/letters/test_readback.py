"""Reading a submitted form back: the round trip through the form the engine sends, and the
edits committees really make in Word, read with warnings instead of crashes."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letters.intake import Refused, check_docx
from letters.readback import FormReading, Initiative, read_form
from models.form import begins_with_goal_key
from tests import ROOT
from tests.letters import hostile

GOALS = ["HM1", "HM3", "HM5"]  # BUU's goals in the Copenhagen wheel
TEXTS = {
    "HM1": "Udvalget prioriterer sprogstøtte i indskolingen.\n\n"
           "Læsevejledere på de 10 svageste skoler fortsætter i 2013.",
    "HM3": "Andelen af ledere med anden etnisk baggrund end dansk skal øges.",
    "HM5": "Fritidstilbud i udvalgte boligområder, i samarbejde med Kultur- og Fritidsudvalget.",
}
ROWS = [
    ("Mentorordning for tosprogede elever", "HM1", "1.500.000 kr.", "Ja"),
    ("Sprogstøtte i dagtilbud", "HM5", "1,5 mio. kr.", "Nej"),
    ("Rekruttering af ledere", "HM3 – medarbejdere", "kr. 250.000", "delvist"),
    ("Lektiecafeer", "HM1", "500 t.kr.", "Nej"),
    ("Brobyggere", "HM5", "2 mia. kr.", "Ja"),
    ("Forældresamarbejde", "HM1", "75.000", "ja"),  # a sixth row, added by the committee
]
EXPECTED_ROWS = (
    Initiative("Mentorordning for tosprogede elever", "HM1", 1_500_000, "1.500.000 kr.", True, 1,
               "Ja"),
    Initiative("Sprogstøtte i dagtilbud", "HM5", 1_500_000, "1,5 mio. kr.", False, 2, "Nej"),
    Initiative("Rekruttering af ledere", "HM3", 250_000, "kr. 250.000", None, 3, "delvist"),
    Initiative("Lektiecafeer", "HM1", 500_000, "500 t.kr.", False, 4, "Nej"),
    Initiative("Brobyggere", "HM5", 2_000_000_000, "2 mia. kr.", True, 5, "Ja"),
    Initiative("Forældresamarbejde", "HM1", 75_000, "75.000", True, 6, "ja"),
)


def sent_form() -> bytes:
    """The form the engine sends BUU for the 2012 handleplan (the real template)."""
    from letters.context import form_context
    from letters.render import template
    from models.config import load
    from models.plan import year_plan

    wheel = load(ROOT / "aarshjul.yaml").wheel
    assert [g.key for g in wheel.goals_for("BUU")] == GOALS
    return template("formular").render(form_context(wheel, year_plan(wheel, 2012), "handleplan",
                                                    "BUU"))


def goal_heading(d: Any, key: str) -> Any:
    return next(p for p in d.paragraphs if begins_with_goal_key(p.text, key))


def fill(d: Any, texts: dict[str, str] = TEXTS, rows: list[tuple[str, ...]] = ROWS) -> Any:
    """Fill in the form as a committee would in Word: under each heading, and the table."""
    for key, text in texts.items():
        head = goal_heading(d, key)
        anchor = head._p.getnext()
        paras = text.split("\n\n")
        # write into the empty paragraphs under the heading, adding more as needed
        Paragraph = docx.text.paragraph.Paragraph
        prev = head
        for i, para in enumerate(paras):
            if i < 2:
                prev = Paragraph(anchor if i == 0 else anchor.getnext(), head._parent)
                prev.add_run(para)
            else:
                prev = Paragraph(prev._p.getnext(), head._parent).insert_paragraph_before(para)
    table = d.tables[0]
    for i, row in enumerate(rows):
        cells = table.rows[i + 1].cells if i + 1 < len(table.rows) else table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    return d


def save(d: Any) -> bytes:
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def add_table(d: Any, *rows: Sequence[str]) -> Any:
    """A table of ``rows`` (the first: its header) at the end of the document ``d``."""
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    for row, texts in zip(t.rows, rows, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    return t


def edited(edit: Callable[[Any], object] | None = None, **kw: Any) -> bytes:
    d = fill(docx.Document(io.BytesIO(sent_form())), **kw)
    if edit is not None:
        edit(d)
    data = save(d)
    check_docx(data, "edited.docx")  # every edit is still a file the intake accepts
    return data


def read(data: bytes, **kw: Any) -> FormReading:
    return read_form(data, GOALS, **kw)


# --- the round trip ---------------------------------------------------------------------


def test_round_trip_reads_every_goal_text_and_every_row_exactly() -> None:
    data = edited()
    r = read(data)
    assert r.is_form
    assert r.goals == TEXTS
    assert r.initiatives == EXPECTED_ROWS
    assert r.missing_goals == ()
    assert r.warnings == ()
    assert r.table_found
    assert r.headings["HM3"].startswith("HM3 – Kommunens medarbejder")


def test_the_blank_form_reads_as_the_form_with_empty_goals() -> None:
    r = read(sent_form())
    assert r.is_form
    assert r.goals == {"HM1": "", "HM3": "", "HM5": ""}
    assert r.empty_goals == ("HM1", "HM3", "HM5")
    assert r.initiatives == ()
    assert "HM1: der er ikke skrevet noget under overskriften" in r.warnings


# --- real-world edits -------------------------------------------------------------------


def test_renamed_heading_that_keeps_its_key_is_matched() -> None:
    def rename(d: Any) -> None:
        h = goal_heading(d, "HM3")
        for run in h.runs:
            run.text = ""
        h.runs[0].text = "HM3: Vores arbejde med mangfoldighed"

    r = read(edited(rename))
    assert r.goals["HM3"] == TEXTS["HM3"]
    assert r.headings["HM3"] == "HM3: Vores arbejde med mangfoldighed"
    assert r.warnings == ()


def test_heading_without_its_key_is_missing_with_a_warning() -> None:
    def drop_key(d: Any) -> None:
        h = goal_heading(d, "HM1")
        text = h.text.split(" – ", 1)[1]
        for run in h.runs:
            run.text = ""
        h.runs[0].text = text

    data = edited(drop_key)
    r = read(data)
    assert r.missing_goals == ("HM1",)
    assert "HM1" not in r.goals
    assert r.goals["HM3"] == TEXTS["HM3"]
    assert any(w.startswith("HM1: ingen overskrift begynder med HM1; intet er læst for HM1")
               for w in r.warnings)
    assert r.is_form
    # given the titles, the heading is matched by its title, with a warning
    titles = {"HM1": "De faglige resultater skal forbedres for de 25 procent svageste "
                     "tosprogede elever"}
    r2 = read(data, goal_titles=titles)
    assert r2.goals["HM1"] == TEXTS["HM1"]
    assert r2.missing_goals == ()
    assert any("den er genkendt på målets titel" in w for w in r2.warnings)


def test_reordered_sections_are_read_by_key() -> None:
    def reorder(d: Any) -> None:
        body = d.element.body
        h5 = goal_heading(d, "HM5")._p
        section = [h5]
        nxt = h5.getnext()
        while nxt is not None and not (nxt.tag.endswith("}p") and "Heading" in (
                nxt.pPr.pStyle.val if nxt.pPr is not None and nxt.pPr.pStyle is not None
                else "")):
            section.append(nxt)
            nxt = nxt.getnext()
        h1 = goal_heading(d, "HM1")._p
        for el in section:
            body.remove(el)
            h1.addprevious(el)

    data = edited(reorder)
    order = [p.text[:3] for p in docx.Document(io.BytesIO(data)).paragraphs
             if p.style.name == "Heading 2"]
    assert order == ["HM5", "HM1", "HM3"]
    r = read(data)
    assert r.goals == TEXTS
    assert r.warnings == ()


def test_extra_paragraphs_and_subheadings_belong_to_their_goal() -> None:
    def extra(d: Any) -> None:
        d.paragraphs[0].insert_paragraph_before("Bilag til udvalgets møde 12. april 2012")
        if "Heading 3" not in [st.name for st in d.styles]:
            d.styles.add_style("Heading 3", WD_STYLE_TYPE.PARAGRAPH)
        h3 = goal_heading(d, "HM5")
        h3.insert_paragraph_before("Delmål: ledere", style="Heading 3")
        h3.insert_paragraph_before("Måltal følger i budgetbidraget.")
        d.add_paragraph("Med venlig hilsen, sekretariatet")

    r = read(edited(extra))
    assert r.goals["HM3"] == TEXTS["HM3"] + "\n\nDelmål: ledere\n\nMåltal følger i budgetbidraget."
    assert r.goals["HM1"] == TEXTS["HM1"]
    assert r.goals["HM5"] == TEXTS["HM5"]
    assert r.warnings == ()


def test_text_pasted_with_odd_formatting_is_normalised() -> None:
    def odd(d: Any) -> None:
        h = goal_heading(d, "HM3")
        p = docx.text.paragraph.Paragraph(h._p.getnext(), h._parent)
        for run in p.runs:
            run.text = ""
        p.add_run("Andelen  af\u00a0ledere")
        b = p.add_run(" med anden ")
        b.bold = True
        p.add_run("etnisk\tbaggrund").italic = True
        p.add_run(" skal øges.\u200b ")
        p.add_run().add_break(WD_BREAK.LINE)
        p.add_run("Se\u00a0\u00a0også bilag 2.")

    r = read(edited(odd))
    assert r.goals["HM3"] == (
        "Andelen af ledere med anden etnisk baggrund skal øges.\nSe også bilag 2."
    )
    assert r.warnings == ()


def test_deleted_table_gives_a_warning_and_the_goals_are_still_read() -> None:
    def delete_table(d: Any) -> None:
        t = d.tables[0]._tbl
        t.getparent().remove(t)

    r = read(edited(delete_table))
    assert r.is_form
    assert r.goals == TEXTS
    assert r.initiatives == ()
    assert not r.table_found
    assert any(w.startswith("ingen initiativtabel fundet") for w in r.warnings)


def test_an_extra_column_is_ignored_with_a_warning() -> None:
    def add_column(d: Any) -> None:
        t = d.tables[0]
        for tr in t._tbl.tr_lst:
            tr.append(copy.deepcopy(tr.tc_lst[-1]))
        t.rows[0].cells[4].text = "Bemærkning"
        t.rows[1].cells[4].text = "Aftalt med skolerne"

    r = read(edited(add_column))
    assert r.initiatives == EXPECTED_ROWS
    assert r.warnings == (
        "initiativtabellen har en ekstra kolonne “Bemærkning”; den er ikke læst",
    )


def test_heading_turned_into_a_normal_paragraph_is_read_with_a_warning() -> None:
    def unstyle(d: Any) -> None:
        goal_heading(d, "HM5").style = d.styles["Normal"]

    r = read(edited(unstyle))
    assert r.goals == TEXTS
    assert len(r.warnings) == 1 and r.warnings[0].startswith("HM5: afsnittet “HM5 – ")
    assert "er ikke formateret som overskrift; det er læst som målets overskrift" in \
        r.warnings[0]


def test_unreadable_cells_give_warnings_per_row() -> None:
    rows = [
        ("Mentorordning", "HM1", "se bilag", "Ja"),
        ("Sprogstøtte", "skolerne", "100.000 kr.", "måske"),
        ("", "HM5", "1 mio.", "Nej"),
        ("Vejledning", "HM1, HM5", "", ""),
        ("Jobcenter", "HM2", "10.000", "Ja"),
    ]
    r = read(edited(rows=rows), known_goals=["HM1", "HM2", "HM3", "HM4", "HM5", "HM6"])
    assert [(i.title, i.goal, i.amount_dkk, i.financed) for i in r.initiatives] == [
        ("Mentorordning", "HM1", None, True),
        ("Sprogstøtte", None, 100_000, None),
        ("", "HM5", 1_000_000, False),
        ("Vejledning", "HM1", None, None),
        ("Jobcenter", "HM2", 10_000, True),
    ]
    assert r.warnings == (
        "initiativrække 1: beløbet “se bilag” kunne ikke læses som kroner",
        "initiativrække 2: Hovedmål “skolerne” nævner ingen målnøgle (som HM2)",
        "initiativrække 2: Finansieret “måske” er ikke ja, nej eller delvist",
        "initiativrække 3: cellen Initiativ er tom",
        "initiativrække 4: flere mål nævnt (HM1, HM5); talt med under HM1",
        "initiativrække 5: HM2 er ikke blandt formularens mål (HM1, HM3, HM5)",
    )


def test_an_implausible_amount_is_a_warning_not_a_crash() -> None:
    rows = [("Mentorordning", "HM1", "99999999999999999999999999 mia. kr.", "Ja"),
            ("Lektiecafe", "HM1", "1.000 mia. kr.", "Nej")]
    r = read(edited(rows=rows))
    assert [(i.title, i.amount_dkk, i.amount_text) for i in r.initiatives] == [
        ("Mentorordning", None, "99999999999999999999999999 mia. kr."),
        ("Lektiecafe", 1_000_000_000_000, "1.000 mia. kr.")]
    assert r.warnings == (
        "initiativrække 1: beløbet “99999999999999999999999999 mia. kr.” er urealistisk stort "
        "(mere end 1.000 mia. kr.); det er ikke talt med",)


def test_a_document_that_is_not_the_form_is_read_as_such() -> None:
    d = docx.Document()
    d.add_heading("Handleplan for integration 2012", 1)
    d.add_paragraph("Udvalget har drøftet handleplanen og sender hermed sine bemærkninger.")
    t = d.add_table(rows=2, cols=2)
    t.rows[0].cells[0].text = "Aktivitet"
    t.rows[0].cells[1].text = "Ansvarlig"
    data = save(d)
    check_docx(data, "brev.docx")
    r = read(data)
    assert not r.is_form
    assert r.goals == {}
    assert r.initiatives == ()
    assert r.missing_goals == tuple(GOALS)
    assert r.warnings[0] == (
        "dokumentet ligner ikke formularen: hverken en overskrift for et af målene (HM1, HM3, "
        "HM5) eller en initiativtabel er fundet; det er gemt, som det blev sendt")


def test_every_warning_a_coordinator_reads_is_danish() -> None:
    def two_tables_no_goal_column(d: Any) -> None:
        t = d.tables[0]
        t._tbl.addnext(copy.deepcopy(t._tbl))
        t.rows[0].cells[1].text = "Noter"
        goal_heading(d, "HM3").style = d.styles["Normal"]
        h = goal_heading(d, "HM5")
        h.insert_paragraph_before("HM5 – igen", style=h.style)

    def not_the_form() -> bytes:
        d = docx.Document()
        d.add_paragraph("Kære sekretariat.")
        return save(d)

    rows = [("", "HM1, HM9", "se bilag", "måske"), ("Noget", "", "99999999999 mia.", ""),
            ("Andet", "skolerne", "", "")]
    readings = [
        read(edited(two_tables_no_goal_column, rows=rows), known_goals=["HM9"]),
        read(edited(rows=rows), known_goals=["HM9"]),
        read(sent_form()),
        read(not_the_form()),
        read(b"PK\x03\x04 not a zip"),
        read_form(edited(), ["HM2"], known_goals=GOALS, goal_titles={"HM2": "Overledigheden"}),
    ]
    warnings = [w for r in readings for w in r.warnings]
    assert len(warnings) >= 15
    english = (" the ", " is ", " was ", " were ", " not ", " no ", " could ", " has ",
               " row ", " heading", " table", " read ", " found", " kept ")
    for w in warnings:
        assert not any(e in f" {w} " for e in english), w
    assert any(w.startswith("dokumentet kunne ikke læses: det er ikke en zip-fil")
               for w in warnings)
    assert any("mangler kolonnen Hovedmål" in w for w in warnings)
    assert "2 initiativtabeller fundet; alle deres rækker er læst" in warnings
    assert "HM1: en overskrift for et mål, som ikke er blandt formularens mål (HM2); teksten " \
        "under den er læst" in warnings
    assert "initiativrække 1: HM1 er ikke blandt formularens mål (HM2)" in warnings


def test_a_form_built_by_hand_with_python_docx_reads_too() -> None:
    """Not the template: default python-docx styles, a heading 3 per goal, columns reordered."""
    d = docx.Document()
    for key in GOALS:
        d.add_heading(f"{key} – mål", 3)
        d.add_paragraph(TEXTS[key].split("\n\n")[0])
    add_table(d, ["Finansieret", "Beløb (kr.)", "Initiativ", "Hovedmål"],
              ["Nej", "1,5 mio. kr.", "Sprogstøtte", "HM5"])
    r = read(save(d))
    assert r.goals == {k: TEXTS[k].split("\n\n")[0] for k in GOALS}
    assert r.initiatives == (Initiative("Sprogstøtte", "HM5", 1_500_000, "1,5 mio. kr.", False,
                                        1, "Nej"),)
    assert r.warnings == ()


@pytest.mark.parametrize("data", [b"not a zip", hostile.word_zip(b"<x/>"),
                                  hostile.raw_zip([hostile.Member("a", b"b")])])
def test_what_cannot_be_read_gives_a_warning_not_an_exception(data: bytes) -> None:
    r = read(data)
    assert not r.is_form
    assert r.missing_goals == tuple(GOALS)
    assert len(r.warnings) == 1


def test_tracked_changes_placeholders_and_content_controls() -> None:
    w = hostile.W
    body = (
        '<w:p><w:pPr><w:pStyle w:val="Overskrift2"/></w:pPr><w:r><w:t>HM1 – mål</w:t></w:r></w:p>'
        '<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent><w:p><w:r>'
        '<w:t>Klik her for at skrive tekst.</w:t></w:r></w:p></w:sdtContent></w:sdt>'
        '<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t xml:space="preserve">Vi </w:t></w:r>'
        '<w:del><w:r><w:delText>sletter </w:delText></w:r></w:del>'
        '<w:ins><w:r><w:t xml:space="preserve">tilføjer </w:t></w:r></w:ins>'
        '<w:r><w:instrText> PAGE </w:instrText></w:r>'
        '<w:r><w:t>tekst</w:t><w:noBreakHyphen/><w:t>nu</w:t></w:r></w:p></w:sdtContent></w:sdt>'
    )
    styles = (
        f'<w:styles xmlns:w="{w}"><w:style w:type="paragraph" w:styleId="Overskrift2">'
        '<w:name w:val="heading 2"/></w:style></w:styles>'
    ).encode()
    data = hostile.word_zip(hostile.document(body),
                            extra=[hostile.Member("word/styles.xml", styles)])
    check_docx(data, "f.docx")
    r = read_form(data, ["HM1"])
    assert r.goals == {"HM1": "Vi tilføjer tekst-nu"}
    assert r.warnings == ("ingen initiativtabel fundet (en tabel med overskriftsrækken "
                          "Initiativ | Hovedmål | Beløb (kr.) | Finansieret); ingen initiativer "
                          "er læst",)


# --- properties -------------------------------------------------------------------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøåÆØÅ0123456789.,;:!?()–-'\"&<>%",
                min_size=1, max_size=12)
_PARA = st.lists(_WORD, min_size=1, max_size=8).map(" ".join)
_TEXT = st.lists(_PARA, min_size=1, max_size=3).map("\n\n".join)
_ROW = st.tuples(_PARA, st.sampled_from(GOALS), st.integers(0, 10**9),
                 st.sampled_from(["Ja", "Nej", "delvist", ""]))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.fixed_dictionaries({k: _TEXT for k in GOALS}), st.lists(_ROW, max_size=7))
def test_any_filled_in_text_and_rows_read_back_exactly(
    texts: dict[str, str], rows: list[tuple[str, str, int, str]]
) -> None:
    cells = [(t, g, f"{n:,}".replace(",", ".") + " kr.", f) for t, g, n, f in rows]
    r = read(edited(texts=texts, rows=cells))
    assert r.goals == texts
    assert [(i.title, i.goal, i.amount_dkk, i.financed_text) for i in r.initiatives] == [
        (t, g, n, f) for t, g, n, f in rows
    ]
    assert r.warnings == ()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_document_xml_never_raises(body: bytes) -> None:
    data = hostile.word_zip(hostile.document().replace(b"<w:p><w:r><w:t>Hej</w:t></w:r></w:p>",
                                                       body))
    r = read(data)
    assert isinstance(r, FormReading)


@pytest.mark.parametrize("committee", ["OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"])
def test_every_committees_form_round_trips(committee: str) -> None:
    from letters.context import form_context
    from letters.render import template
    from models.config import load
    from models.plan import year_plan

    wheel = load(ROOT / "aarshjul.yaml").wheel
    keys = [g.key for g in wheel.goals_for(committee)]
    data = template("formular").render(
        form_context(wheel, year_plan(wheel, 2013), "redegoerelse", committee))
    texts = {k: f"{committee} om {k}: indsatsen fortsætter." for k in keys}
    rows = [(f"Initiativ {i}", k, f"{(i + 1) * 100_000:,} kr.".replace(",", "."), "Ja")
            for i, k in enumerate(keys)]
    d = fill(docx.Document(io.BytesIO(data)), texts=texts, rows=rows)
    r = read_form(save(d), keys, goal_titles={g.key: g.title for g in wheel.goals})
    assert r.goals == texts
    assert [(i.title, i.goal, i.amount_dkk) for i in r.initiatives] == [
        (t, g, (n + 1) * 100_000) for n, (t, g, _a, _f) in enumerate(rows)
    ]
    assert r.warnings == () and r.is_form


def test_a_form_saved_as_strict_open_xml_reads_the_same() -> None:
    import zipfile

    data = edited()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename in ("word/document.xml", "word/styles.xml"):
                body = body.replace(b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                                    b"http://purl.oclc.org/ooxml/wordprocessingml/main")
            out.writestr(info, body)
    strict = buf.getvalue()
    assert b"purl.oclc.org" in zipfile.ZipFile(io.BytesIO(strict)).read("word/document.xml")
    check_docx(strict, "strict.docx")
    r = read(strict)
    assert r.goals == TEXTS and r.initiatives == EXPECTED_ROWS and r.warnings == ()


@pytest.mark.office
def test_a_form_saved_again_by_libreoffice_reads_the_same(tmp_path: Path) -> None:
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "udfyldt.docx").write_bytes(edited())
    for fmt in ("odt", "docx:MS Word 2007 XML"):
        src = tmp_path / ("in" if fmt == "odt" else "odt") / (
            "udfyldt.docx" if fmt == "odt" else "udfyldt.odt")
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
             "--convert-to", fmt, "--outdir", str(tmp_path / fmt.split(":")[0]), str(src)],
            check=True, capture_output=True, timeout=240,
        )
    # an .odt is refused with its own message; the .docx LibreOffice wrote reads the same
    with pytest.raises(Refused, match="OpenDocument"):
        check_docx((tmp_path / "odt" / "udfyldt.odt").read_bytes(), "udfyldt.odt")
    data = (tmp_path / "docx" / "udfyldt.docx").read_bytes()
    check_docx(data, "udfyldt.docx")
    r = read(data)
    assert r.goals == TEXTS
    assert r.initiatives == EXPECTED_ROWS
    assert r.warnings == ()
