"""The renderer: letters reopened with python-docx, escaping, the fast path against plain
Jinja, split-tag repair on a LibreOffice-saved file, the sandbox, LibreOffice conversion."""

from __future__ import annotations

import logging
import shutil
import subprocess
import zipfile
from io import BytesIO

import jinja2
import pytest

from letters.context import form_context, letter_context
from letters.render import (
    DocxTemplate,
    RenderError,
    TemplateError,
    template,
    template_path,
    xml_value,
)
from models.barometer import Reading
from tests.letters.fixtures.docs import HERE, make_docx, part, reopen, rows, texts

HOSTILE = "R&D <Udvalg> \"citat\" 'apostrof' æøå ÆØÅ"


def test_opfordringsskrivelse_reopened_text_table_and_danish_dates(wheel, plan) -> None:
    readings = {"HM1": [Reading("HM1", "2011-H1", 3.0), Reading("HM1", "2011-H2", 7.4)]}
    data = template("opfordringsskrivelse").render(
        letter_context(wheel, plan, "opfordring", "BUU", readings)
    )
    doc = reopen(data)
    text = texts(doc)
    assert "København, 20. januar 2012" in text
    assert "Til Børne- og Ungdomsudvalget" in text
    assert "Att.: Børne- og Ungdomsborgmesteren" in text
    assert "Opfordringsskrivelse 2012" in text
    assert "Kære formand og medlemmer af Børne- og Ungdomsudvalget" in text
    assert "Revideret handleplan – senest 1. maj 2012" in text
    assert "Integrationsredegørelse – senest 15. maj 2012" in text
    assert "Fyrtårnsprojekt: Integrationsløft på de 10 svageste skoler" in text
    assert "Fyrtårnsprojekt: Fordobling af fleksjobpulje" in text
    # no tag and no hoisted loop paragraph is left over
    assert not any("{" in t or "}" in t for t in text)
    styles = {p.style.name for p in doc.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "Normal"} <= styles
    assert "Københavns Kommune" in doc.sections[0].header.paragraphs[0].text

    (table,) = doc.tables
    got = rows(table)
    assert got[0] == ["Hovedmål", "Seneste måling", "Mål"]
    assert [r[0].split(" – ")[0] for r in got[1:]] == [g.key for g in wheel.goals_for("BUU")]
    by_key = {r[0].split(" – ")[0]: r for r in got[1:]}
    assert by_key["HM1"][1] == "7,4 % (2011-H2)"  # the latest period, Danish decimal comma
    assert by_key["HM1"][2] == "mål ikke fastsat (forbedres med X %)"
    assert by_key["HM3"][1] == "ingen måling endnu"
    assert by_key["HM5"][1] == "ingen måling endnu"
    assert table._tbl.tr_lst[0].trPr.xpath("w:tblHeader")


def test_a_set_target_is_shown_with_value_and_year(wheel, plan) -> None:
    doc = reopen(template("opfordringsskrivelse").render(
        letter_context(wheel, plan, "opfordring", "BIU")))
    by_key = {r[0].split(" – ")[0]: r for r in rows(doc.tables[0])[1:]}
    assert by_key["HM2"][2] == "5,8 % i 2014 (max 5,8 % i 2014)"
    assert by_key["HM4"][2].startswith("mål ikke fastsat")


def test_special_characters_survive_and_newlines_become_breaks(wheel, plan, caplog) -> None:
    ctx = letter_context(wheel, plan, "opfordring", "BUU")
    ctx["committee"] = dict(ctx["committee"], name=HOSTILE, chair="Linje ét\nLinje to\x01")
    ctx["deliverables"] = [dict(d, title=HOSTILE) for d in ctx["deliverables"]]
    with caplog.at_level(logging.WARNING, logger="letters.render"):
        data = template("opfordringsskrivelse").render(ctx)
    assert "removed control characters" in caplog.text
    doc = reopen(data)
    text = texts(doc)
    assert f"Til {HOSTILE}" in text
    assert f"{HOSTILE} – senest 1. maj 2012" in text
    assert "Att.: Linje ét\nLinje to" in text  # <w:br/>, and the \x01 is gone
    xml = part(data)
    assert "R&amp;D &lt;Udvalg&gt;" in xml
    assert "<w:br/>" in xml and "\x01" not in xml


def test_fast_path_document_equals_a_plain_jinja_render(wheel, plan) -> None:
    t = template("opfordringsskrivelse")
    ctx = letter_context(wheel, plan, "opfordring", "OEU",
                         {"HM2": [Reading("HM2", "2011-H2", 7.4)]})
    ctx["committee"] = dict(ctx["committee"], name="Økonomi & <Udvalg> æøå")
    fast = part(t.render(ctx))
    reference_env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, finalize=xml_value,
        keep_trailing_newline=True,
    )
    reference = reference_env.from_string(t.parts["word/document.xml"].source).render(ctx)
    assert fast == reference
    assert "Økonomi &amp; &lt;Udvalg&gt; æøå" in fast


def test_untouched_members_are_copied_byte_for_byte_and_deterministic(wheel, plan) -> None:
    t = template("opfordringsskrivelse")
    ctx = letter_context(wheel, plan, "opfordring", "KFU")
    a, b = t.render(ctx), t.render(ctx)
    assert a == b
    src = zipfile.ZipFile(template_path("opfordringsskrivelse"))
    out = zipfile.ZipFile(BytesIO(a))
    assert out.testzip() is None
    assert sorted(out.namelist()) == sorted(src.namelist())
    for info in src.infolist():
        if info.filename != "word/document.xml":
            o = out.getinfo(info.filename)
            assert (o.CRC, o.compress_size) == (info.CRC, info.compress_size), info.filename
            assert out.read(info.filename) == src.read(info.filename)


def test_distinct_committees_get_distinct_letters(wheel, plan) -> None:
    t = template("opfordringsskrivelse")
    letters = {c: t.render(letter_context(wheel, plan, "opfordring", c))
               for c in wheel.event_to(wheel.event["opfordring"])}
    assert len(set(letters.values())) == len(letters) == 7
    assert "Til Teknik- og Miljøudvalget" in texts(reopen(letters["TMU"]))


def test_libreoffice_saved_template_with_split_runs_is_repaired(wheel, plan) -> None:
    path = HERE / "lo_split.docx"
    xml = part(path.read_bytes())
    # the fixture really is split the way LibreOffice splits runs
    assert "<w:t>Til {{ commi</w:t>" in xml and "<w:t>ttee.na</w:t>" in xml
    assert "{%tr fo</w:t>" in xml
    t = DocxTemplate(path)
    assert t.problems == []
    readings = {"HM1": [Reading("HM1", "2011-H2", 2.5)]}
    ctx = letter_context(wheel, plan, "opfordring", "BUU", readings)
    doc = reopen(t.render(ctx))
    text = texts(doc)
    assert text[0] == "Til Børne- og Ungdomsudvalget"
    assert text[1] == "Kære formand og medlemmer af Børne- og Ungdomsudvalget"
    # Word's typographic quotes inside the tag text are left alone outside tags
    assert text[2] == ("Frist: Revideret handleplan senest “1. maj 2012”"
                       "Integrationsredegørelse senest “15. maj 2012”")
    got = rows(doc.tables[0])
    assert got[1:] == [["HM1", "2,5 % (2011-H2)"], ["HM3", "ingen måling endnu"],
                       ["HM5", "ingen måling endnu"]]


def test_sandbox_refuses_reaching_into_python(tmp_path, wheel, plan) -> None:
    path = make_docx(tmp_path / "ond.docx", ["Hej", "{{ ''.__class__.__mro__ }}"])
    t = DocxTemplate(path)
    with pytest.raises(RenderError) as info:
        t.render(letter_context(wheel, plan, "opfordring", "BUU"))
    assert "paragraph 2" in str(info.value)
    assert "__class__" in str(info.value)
    path2 = make_docx(tmp_path / "ond2.docx", ["{{ committee.__class__.__init__.__globals__ }}"])
    with pytest.raises(RenderError):
        DocxTemplate(path2).render(letter_context(wheel, plan, "opfordring", "BUU"))


def test_undefined_variable_is_an_error_naming_the_paragraph(tmp_path, wheel, plan) -> None:
    path = make_docx(tmp_path / "t.docx", ["A", "B", "Kære {{ committee.navn }}"])
    with pytest.raises(RenderError) as info:
        DocxTemplate(path).render(letter_context(wheel, plan, "opfordring", "BUU"))
    assert info.value.problem.paragraph == 3
    assert "navn" in info.value.problem.message


def test_a_broken_template_refuses_to_render(tmp_path) -> None:
    path = make_docx(tmp_path / "t.docx", ["{% for x in %}", "{%tr for g in goals %}"])
    t = DocxTemplate(path)
    assert not t.ok
    with pytest.raises(TemplateError):
        t.render({})
    with pytest.raises(TemplateError):
        template("t", tmp_path)


def test_template_cache_and_recompile_after_an_edit(tmp_path) -> None:
    make_docx(tmp_path / "brev.docx", ["Hej {{ navn }}"])
    a = template("brev", tmp_path)
    assert template("brev", tmp_path) is a
    make_docx(tmp_path / "brev.docx", ["Goddag {{ navn }} og velkommen"])
    b = template("brev", tmp_path)
    assert b is not a
    assert texts(reopen(b.render({"navn": "Åse"}))) == ["Goddag Åse og velkommen"]


def test_tabs_and_none(tmp_path) -> None:
    t = DocxTemplate(make_docx(tmp_path / "t.docx", ["[{{ a }}][{{ b }}]"]))
    data = t.render({"a": "x\ty", "b": None})
    assert "<w:tab/>" in part(data)
    assert texts(reopen(data)) == ["[x\ty][]"]


def _soffice() -> str:
    exe = shutil.which("soffice")
    if not exe:
        pytest.skip("LibreOffice (soffice) is not installed")
    return exe


@pytest.mark.office
def test_rendered_letters_convert_to_pdf_with_libreoffice(tmp_path, wheel, plan) -> None:
    soffice = _soffice()
    docs = {
        "opfordringsskrivelse.docx": template("opfordringsskrivelse").render(
            letter_context(wheel, plan, "opfordring", "BUU")),
        "formular.docx": template("formular").render(
            form_context(wheel, plan, "handleplan", "BUU")),
    }
    for name, data in docs.items():
        (tmp_path / name).write_bytes(data)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
         *(str(tmp_path / n) for n in docs)],
        check=True, capture_output=True, timeout=240,
    )
    for name in docs:
        pdf = (tmp_path / "pdf" / name).with_suffix(".pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(tmp_path / "pdf" / "opfordringsskrivelse.pdf"), "-"],
                             capture_output=True, text=True, check=True).stdout
        assert "1. maj 2012" in out and "ingen måling endnu" in out
