# ruff: noqa: E501  (OOXML boilerplate lines are long)
"""(Re)generate the Word templates in ``letters/templates/`` from code.

    .venv/bin/python -m letters.build_templates [--out DIR]

The templates start from a minimal package written here (a small ``styles.xml`` with the
styles we use: Normal, Title, Heading 1, Heading 2, Header, Footer and the table style
"Tabel"), not python-docx's ~800 KB default; python-docx then adds the content. The zip is
written with fixed dates and a fixed member order, so a rebuild gives identical bytes.
The generated .docx files are committed: a coordinator edits them in Word afterwards.

Tags follow :mod:`letters.render`: ``{{ value }}``, inline ``{% if %}``, and the docxtpl row
and paragraph loops ``{%tr for g in goals %}`` / ``{%p for d in deliverables %}``.
"""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from letters.render import TEMPLATES_DIR
from models.form import TABLE_HEADER

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
FIXED_TIME = (2010, 12, 6, 0, 0, 0)  # the day the policy was adopted

LETTERHEAD = ("Københavns Kommune", "Beskæftigelses- og Integrationsforvaltningen")
FOOTER_LINES = (
    "Beskæftigelses- og Integrationsforvaltningen · Integrationssekretariatet · "
    "Eksempelvej 1 · 1599 København V",
    "Telefon 00 00 00 00 · integration@bif.kk.example · www.kk.example · "
    "EAN 0000000000000",
    "Kontaktoplysningerne er fiktive (eksempel).",
)

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
</Types>"""

ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>
</Relationships>"""

DOC_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>
</Relationships>"""

DOCUMENT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body><w:sectPr>
<w:pgSz w:w="11906" w:h="16838"/>
<w:pgMar w:top="2268" w:right="1418" w:bottom="1701" w:left="1418" w:header="709" w:footer="567" w:gutter="0"/>
</w:sectPr></w:body></w:document>"""

SETTINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="{W}"><w:defaultTabStop w:val="1304"/>
<w:characterSpacingControl w:val="doNotCompress"/><w:compat>
<w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/>
</w:compat><w:themeFontLang w:val="da-DK"/></w:settings>"""

CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>{title}</dc:title><dc:creator>Beskæftigelses- og Integrationsforvaltningen</dc:creator>
<dc:language>da-DK</dc:language>
<dcterms:created xsi:type="dcterms:W3CDTF">2010-12-06T00:00:00Z</dcterms:created>
<dcterms:modified xsi:type="dcterms:W3CDTF">2010-12-06T00:00:00Z</dcterms:modified>
</cp:coreProperties>"""

APP = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>aarshjul</Application></Properties>"""

_COLOR = "1F3864"  # dark blue
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W}">
<w:docDefaults>
 <w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:eastAsia="Calibri" w:cs="Calibri"/>
  <w:sz w:val="22"/><w:szCs w:val="22"/><w:lang w:val="da-DK" w:eastAsia="en-US" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>
 <w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="264" w:lineRule="auto"/></w:pPr></w:pPrDefault>
</w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>
<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/></w:style>
<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:semiHidden/>
 <w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>
<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/><w:semiHidden/></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>
 <w:pPr><w:spacing w:before="240" w:after="240"/><w:contextualSpacing/></w:pPr>
 <w:rPr><w:b/><w:color w:val="{_COLOR}"/><w:kern w:val="28"/><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>
 <w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr>
 <w:rPr><w:b/><w:color w:val="{_COLOR}"/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>
 <w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80"/><w:outlineLvl w:val="1"/></w:pPr>
 <w:rPr><w:b/><w:color w:val="{_COLOR}"/><w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Header"><w:name w:val="header"/><w:basedOn w:val="Normal"/>
 <w:pPr><w:tabs><w:tab w:val="center" w:pos="4819"/><w:tab w:val="right" w:pos="9638"/></w:tabs><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/>
 <w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr>
 <w:rPr><w:color w:val="595959"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>
<w:style w:type="table" w:styleId="Tabel"><w:name w:val="Tabel"/><w:basedOn w:val="TableNormal"/><w:qFormat/>
 <w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>
 <w:tblPr><w:tblBorders>
  <w:top w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/><w:left w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/>
  <w:bottom w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/><w:right w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/>
  <w:insideH w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="8EAADB"/>
 </w:tblBorders><w:tblCellMar><w:top w:w="57" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="57" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr>
 <w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:color w:val="FFFFFF"/></w:rPr><w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{_COLOR}"/></w:tcPr></w:tblStylePr>
</w:style>
</w:styles>"""


def base_package(title: str) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("word/document.xml", DOCUMENT),
            ("word/_rels/document.xml.rels", DOC_RELS),
            ("word/styles.xml", STYLES),
            ("word/settings.xml", SETTINGS),
            ("docProps/core.xml", CORE.format(title=title)),
            ("docProps/app.xml", APP),
        ):
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


# --- building blocks -------------------------------------------------------------------------


def _letterhead(doc: Any) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.shared import Pt, RGBColor

    section = doc.sections[0]
    header = section.header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    p.style = doc.styles["Header"]
    r = p.add_run(LETTERHEAD[0])
    r.bold = True
    r.font.size = Pt(16)
    r.font.color.rgb = RGBColor(0x1F, 0x38, 0x64)
    p2 = header.add_paragraph(LETTERHEAD[1], style="Header")
    p2.runs[0].font.size = Pt(11)
    p2._p.get_or_add_pPr().append(parse_xml(
        f'<w:pBdr xmlns:w="{W}"><w:bottom w:val="single" w:sz="6" w:space="4" w:color="1F3864"/></w:pBdr>'
    ))
    footer = section.footer
    footer.is_linked_to_previous = False
    fp = footer.paragraphs[0]
    fp.style = doc.styles["Footer"]
    fp.add_run(FOOTER_LINES[0])
    for line in FOOTER_LINES[1:]:
        q = footer.add_paragraph(line, style="Footer")
        q.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _p(doc: Any, text: str = "", style: str | None = None, *, align: str | None = None,
       bold: bool = False) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    p = doc.add_paragraph(style=style)
    if text:
        r = p.add_run(text)
        r.bold = bold or None
    if align == "right":
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return p


def _header_row(row: Any) -> None:
    from docx.oxml import parse_xml

    tr = row._tr
    tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader xmlns:w="{W}"/>'))


def _table(doc: Any, header: list[str], rows: list[list[str]], widths_cm: list[float]) -> Any:
    from docx.shared import Cm

    t = doc.add_table(rows=1 + len(rows), cols=len(header))
    t.style = doc.styles["Tabel"]
    for i, h in enumerate(header):
        t.rows[0].cells[i].text = h
    _header_row(t.rows[0])
    for r, values in enumerate(rows, 1):
        for i, v in enumerate(values):
            if v:
                t.rows[r].cells[i].text = v
    for i, w in enumerate(widths_cm):
        t.columns[i].width = Cm(w)
    for row in t.rows:
        for i, w in enumerate(widths_cm):
            row.cells[i].width = Cm(w)
    return t


def _date_and_recipient(doc: Any) -> None:
    _p(doc, "København, {{ letter_date }}", align="right")
    _p(doc, "Til {{ committee.name }}")
    _p(doc, "{%p if committee.chair %}")
    _p(doc, "Att.: {{ committee.chair }}")
    _p(doc, "{%p endif %}")


def _signature(doc: Any) -> None:
    _p(doc, "Med venlig hilsen")
    _p(doc, "")
    _p(doc, "{{ owner.name }}", bold=True)
    _p(doc, "v/ {{ sender.name }}")
    _p(doc, "Kontakt: {{ coordinator.name }}, {{ coordinator.email }}")


# --- the templates --------------------------------------------------------------------------


def opfordringsskrivelse(doc: Any) -> None:
    _date_and_recipient(doc)
    _p(doc, "Opfordringsskrivelse {{ year }}", "Title")
    _p(doc, "Kære {{ salutation }}")
    _p(doc, "{{ policy.name }} forpligter hvert stående udvalg til at arbejde for "
            "integrationspolitikkens mål på sit eget område. {{ owner.name }} opfordrer "
            "hermed {{ committee.name }} til at revidere sin handleplan for integration og "
            "til at lade integrationsudfordringerne nedenfor indgå i udvalgets budgetarbejde "
            "og i den årlige redegørelse for status på integrationsindsatsen.")
    _p(doc, "Integrationsudfordringer på jeres område", "Heading 1")
    _p(doc, "{%p for a in focus_areas %}")
    _p(doc, "{{ a.title }}", "Heading 2")
    _p(doc, "{{ a.challenge }}")
    _p(doc, "Fyrtårnsprojekt: {{ a.lighthouse }}")
    _p(doc, "{%p endfor %}")
    _p(doc, "Hovedmål og seneste målinger", "Heading 1")
    _p(doc, "Tabellen viser de hovedmål, der vedrører udvalgets område, med den seneste "
            "måling i integrationsbarometeret og målet for perioden.")
    _table(
        doc,
        ["Hovedmål", "Seneste måling", "Mål"],
        [
            ["{%tr for g in goals %}", "", ""],
            ["{{ g.key }} – {{ g.title }}", "{{ g.latest }}",
             "{{ g.target }}{% if g.target_text %} ({{ g.target_text }}){% endif %}"],
            ["{%tr endfor %}", "", ""],
        ],
        [8.0, 3.6, 5.0],
    )
    _p(doc, "")
    _p(doc, "Det beder vi udvalget om", "Heading 1")
    _p(doc, "{%p for d in deliverables %}")
    _p(doc, "{{ d.title }} – senest {{ d.due }}")
    _p(doc, "{%p endfor %}")
    _p(doc, "Brug venligst de vedlagte formularer, og send dem som svar på denne e-mail. "
            "Udvalget modtager en kvittering, når bidraget er registreret, og en påmindelse "
            "inden fristen.")
    _signature(doc)


def konferenceinvitation(doc: Any) -> None:
    _date_and_recipient(doc)
    _p(doc, "Invitation til {{ conference.title | lower }} {{ year }}", "Title")
    _p(doc, "Kære {{ salutation }}")
    _p(doc, "{{ owner.name }} inviterer hermed {{ committee.name }} til årets "
            "integrationskonference {{ conference.weekday_date }}.")
    _p(doc, "På konferencen gør vi status på {{ policy.name }}: hvordan det går med "
            "hovedmålene, hvad integrationsbarometeret viser, og hvilke erfaringer udvalgene "
            "har med deres handleplaner. Konferencen er en forberedelse af de reviderede "
            "handleplaner, der skal være forvaltningen i hænde i maj.")
    _p(doc, "Hovedmål på udvalgets område", "Heading 1")
    _p(doc, "{%p for g in goals %}")
    _p(doc, "{{ g.key }} – {{ g.title }}")
    _p(doc, "{%p endfor %}")
    _p(doc, "Tilmelding", "Heading 1")
    _p(doc, "Giv venligst besked om deltagelse til {{ coordinator.email }}.")
    _signature(doc)


def formular(doc: Any) -> None:
    _p(doc, "{{ deliverable.title }} {{ year }}", "Title")
    _p(doc, "Udvalg: {{ committee.name }} ({{ committee.key }})")
    _p(doc, "Frist: {{ deliverable.due }}")
    _p(doc, "Skriv under hvert hovedmål udvalgets prioriteter og indsatser for målet. "
            "Lad overskrifterne stå uændrede: teksten under dem læses automatisk. "
            "Udfyld tabellen med initiativer nederst, én række pr. initiativ (tilføj rækker "
            "efter behov).")
    _p(doc, "Hovedmål", "Heading 1")
    _p(doc, "{%p for g in goals %}")
    _p(doc, "{{ g.heading }}", "Heading 2")  # models.form.goal_heading: key, a space, ...
    _p(doc, "")
    _p(doc, "")
    _p(doc, "{%p endfor %}")
    _p(doc, "Initiativer", "Heading 1")
    _table(
        doc,
        list(TABLE_HEADER),
        [["" for _ in TABLE_HEADER] for _ in range(5)],
        [7.0, 2.6, 3.4, 3.6],
    )
    _p(doc, "")
    _p(doc, "Angiv hovedmålet med dets nøgle (fx HM2), beløbet i hele kroner og under "
            "Finansieret ja, nej eller delvist.")
    _p(doc, "Returneres til {{ sender.email }} senest {{ deliverable.due }}.")


def statusrapport_forside(doc: Any) -> None:
    _p(doc, "")
    _p(doc, "{{ title }}", "Title")
    _p(doc, "{{ policy.name }}", "Heading 1")
    _p(doc, "{{ subtitle }}")
    _p(doc, "")
    _p(doc, "Til {{ owner.name }} og Borgerrepræsentationen")
    _p(doc, "{{ sender.name }}")
    _p(doc, "{{ report_date }}")


TEMPLATES: dict[str, tuple[str, Callable[[Any], None], bool]] = {
    "opfordringsskrivelse": ("Opfordringsskrivelse", opfordringsskrivelse, True),
    "konferenceinvitation": ("Invitation til integrationskonferencen", konferenceinvitation, True),
    "formular": ("Formular", formular, True),
    "statusrapport_forside": ("Samlet statusrapport – forside", statusrapport_forside, True),
}


def build(name: str) -> bytes:
    """The bytes of template ``name`` (deterministic)."""
    import docx

    title, fill, letterhead = TEMPLATES[name]
    doc = docx.Document(BytesIO(base_package(title)))
    if letterhead:
        _letterhead(doc)
    fill(doc)
    buf = BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed dates and [Content_Types].xml first (reproducible bytes)."""
    src = zipfile.ZipFile(BytesIO(data))
    names = src.namelist()
    names.sort(key=lambda n: (n != "[Content_Types].xml", n))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n in names:
            info = zipfile.ZipInfo(n, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, src.read(n), compresslevel=9)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=TEMPLATES_DIR)
    ap.add_argument("names", nargs="*", default=list(TEMPLATES))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        data = build(name)
        path = args.out / f"{name}.docx"
        path.write_bytes(data)
        print(f"{path}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
