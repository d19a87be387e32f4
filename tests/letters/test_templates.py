"""The shipped Word templates: lean, reproducible, real styles, the form (README "Submitted
forms")."""

from __future__ import annotations

import re
import zipfile

import pytest

from letters.build_templates import TEMPLATES, build
from letters.context import cover_context, form_context, letter_context
from letters.render import DocxTemplate, template, template_path
from tests.letters.fixtures.docs import part, reopen, rows, texts


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_is_lean_reproducible_and_compiles(name: str) -> None:
    path = template_path(name)
    data = path.read_bytes()
    assert len(data) < 40_000
    assert build(name) == data, f"{path} differs from letters/build_templates.py: rebuild it"
    z = zipfile.ZipFile(path)
    assert z.namelist()[0] == "[Content_Types].xml"
    styles = z.read("word/styles.xml").decode()
    for style_id in ("Normal", "Title", "Heading1", "Heading2", "Tabel", "Header", "Footer"):
        assert f'w:styleId="{style_id}"' in styles
    doc = reopen(data)
    assert "Københavns Kommune" in doc.sections[0].header.paragraphs[0].text
    assert "fiktive" in " ".join(p.text for p in doc.sections[0].footer.paragraphs)
    assert DocxTemplate(path).problems == []


def test_form_follows_the_contract(wheel, plan) -> None:
    data = template("formular").render(form_context(wheel, plan, "handleplan", "BUU"))
    doc = reopen(data)
    paras = doc.paragraphs
    headings = [(i, p.text) for i, p in enumerate(paras) if p.style.name == "Heading 2"]
    goals = wheel.goals_for("BUU")
    assert [t for _, t in headings] == [f"{g.key} – {g.title}" for g in goals]
    for (i, text), g in zip(headings, goals, strict=True):
        assert text.startswith(g.key + " ")
        assert paras[i + 1].text == "" and paras[i + 2].text == ""  # room to write
    assert "Revideret handleplan 2012" in texts(doc)
    assert "Frist: 1. maj 2012" in texts(doc)
    (table,) = doc.tables
    got = rows(table)
    assert got[0] == ["Initiativ", "Hovedmål", "Beløb (kr.)", "Finansieret"]
    assert len(got) >= 4 and all(c == "" for r in got[1:] for c in r)
    assert table._tbl.tr_lst[0].trPr.xpath("w:tblHeader")


def test_form_for_another_committee_has_its_own_goals(wheel, plan) -> None:
    doc = reopen(template("formular").render(form_context(wheel, plan, "redegoerelse", "TMU")))
    heads = [p.text.split(" ")[0] for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert heads == ["HM3", "HM6"]
    assert "Integrationsredegørelse 2012" in texts(doc)
    assert "Frist: 15. maj 2012" in texts(doc)


def test_conference_invitation(wheel, plan) -> None:
    doc = reopen(template("konferenceinvitation").render(
        letter_context(wheel, plan, "konference-invitation", "KFU")))
    body = "\n".join(texts(doc))
    assert "Invitation til årlig integrationskonference 2012" in body
    assert "torsdag den 15. marts 2012" in body
    assert "HM4 – Etniske minoriteters inklusionsindeks" in body
    assert "København, 15. februar 2012" in body


def test_status_report_cover(wheel, plan) -> None:
    doc = reopen(template("statusrapport_forside").render(
        cover_context(wheel, plan, plan.event("statusrapport").day)))
    body = texts(doc)
    assert "Samlet statusrapport 2012" in body
    assert "Københavns Integrationspolitik 2011-2014" in body
    assert "15. august 2012" in body


def test_templates_use_row_loops_in_plain_sight() -> None:
    xml = part(template_path("opfordringsskrivelse").read_bytes())
    assert re.search(r"<w:t>\{%tr for g in goals %\}</w:t>", xml)
    assert "<w:t>{%tr endfor %}</w:t>" in xml
