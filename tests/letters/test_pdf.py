"""Tagged PDF copies: the 7-committee status report converted by real LibreOffice and read
back with pikepdf (structure tree, language, title, figure alt texts, table headers,
embedded fonts); the fallbacks (no LibreOffice, a hang, a failure) driven by small fake
``soffice`` programs."""

from __future__ import annotations

import io
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import docx
import pikepdf
import pytest

from letters.pdf import PdfCopy, no_pdf_note, tagged_pdf, with_title_and_language
from letters.reports.status_report import status_report_docx
from tests.letters.report_data import seven_committee_status

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is missing")
TITLE = "Samlet statusrapport 2012"


@pytest.fixture(scope="module")
def report() -> bytes:
    return status_report_docx(seven_committee_status())


@pytest.fixture(scope="module")
def pdf(report: bytes) -> Any:
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is missing")
    copy = tagged_pdf(report, title=TITLE)
    assert copy.ok, copy.reason
    assert copy.pdf is not None
    return pikepdf.open(io.BytesIO(copy.pdf))


def _elements(node: Any, out: list[Any]) -> list[Any]:
    """Every structure element under ``node`` (depth first)."""
    if isinstance(node, pikepdf.Array):
        for kid in node:
            _elements(kid, out)
    elif isinstance(node, pikepdf.Dictionary):
        if "/S" in node:
            out.append(node)
        if "/K" in node:
            _elements(node.K, out)
    return out


def _fonts(pdf: Any) -> dict[str, bool]:
    """Base font name -> embedded, over every page."""
    found: dict[str, bool] = {}
    for page in pdf.pages:
        for font in page.Resources.get("/Font", {}).values():
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font.DescendantFonts[0].get("/FontDescriptor")
            embedded = desc is not None and any(
                k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font.BaseFont)] = embedded
    return found


@pytest.mark.office
@needs_soffice
def test_the_status_report_pdf_is_tagged_for_accessibility(pdf: Any, report: bytes) -> None:
    root = pdf.Root
    assert "/StructTreeRoot" in root
    assert root.MarkInfo.Marked is True
    assert str(root.Lang) == "da-DK"
    assert str(pdf.docinfo.Title) == TITLE
    with pdf.open_metadata() as meta:
        assert meta.get("dc:title") == TITLE
    assert root.ViewerPreferences.DisplayDocTitle is True

    elements = _elements(root.StructTreeRoot.K, [])
    kinds = Counter(str(e.S) for e in elements)
    assert kinds["/H1"] >= 4 and kinds["/H2"] >= 6  # headings stay headings
    # one chart per goal, each with the report's alt text (which carries the figures)
    figures = [e for e in elements if str(e.S) == "/Figure"]
    assert len(figures) == 6
    for fig in figures:
        assert "/Alt" in fig, "a figure without alternative text"
    alts = [str(f.Alt) for f in figures]
    assert all(a.strip() for a in alts)
    assert any("Graf for HM2" in a and "7,1 %" in a for a in alts)
    # every table starts with a row of header cells (the rows marked w:tblHeader)
    tables = [e for e in elements if str(e.S) == "/Table"]
    assert len(tables) >= 10
    for t in tables:
        assert _row_kinds(t)[0] == {"/TH"}, "a table whose first row is not headers"
    fonts = _fonts(pdf)
    assert fonts and all(fonts.values()), fonts
    assert any("Carlito" in name for name in fonts)  # Calibri's metric-compatible stand-in


def _row_kinds(table: Any) -> list[set[str]]:
    rows = [e for e in _elements(table.K, []) if str(e.S) == "/TR"]
    return [{str(c.S) for c in _elements(r.K, []) if str(c.S) in ("/TH", "/TD")} for r in rows]


def _adjacent_tables(docx_bytes: bytes) -> int:
    """Tables in the .docx that follow another table with nothing between them."""
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    body = docx.Document(io.BytesIO(docx_bytes)).element.body
    return sum(1 for t in body.iter(w + "tbl")
               if t.getprevious() is not None and t.getprevious().tag == w + "tbl")


@pytest.mark.office
@needs_soffice
def test_every_header_row_of_the_docx_is_a_header_row_in_the_pdf(pdf: Any, report: bytes) -> None:
    """Each table's header row (w:tblHeader) comes out as /TH cells, except where the .docx
    puts a table right after another: LibreOffice joins adjacent tables, and the second
    header row becomes data cells. The status report does that with each committee's
    financing table after its initiatives table (6 of them here); a paragraph between the
    two would give every header row its /TH."""
    header_rows = sum(sum(k == {"/TH"} for k in _row_kinds(t))
                      for t in _elements(pdf.Root.StructTreeRoot.K, [])
                      if str(t.S) == "/Table")
    tables = len(docx.Document(io.BytesIO(report)).tables)
    assert header_rows == tables - _adjacent_tables(report)


@pytest.mark.office
@needs_soffice
def test_a_document_without_title_or_language_gets_both(tmp_path: Path) -> None:
    d = docx.Document()  # python-docx's template: en-US, no title
    d.add_heading("Forside", level=1)
    d.add_paragraph("Kære udvalg, æøå ÆØÅ.")
    buf = io.BytesIO()
    d.save(buf)
    copy = tagged_pdf(buf.getvalue(), title="Prøve på en titel")
    assert copy.ok, copy.reason
    assert copy.pdf is not None
    pdf = pikepdf.open(io.BytesIO(copy.pdf))
    assert str(pdf.Root.Lang) == "da-DK"
    assert str(pdf.docinfo.Title) == "Prøve på en titel"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle is True


@pytest.mark.office
@needs_soffice
def test_two_conversions_at_once_each_with_its_own_profile(
    report: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    results: list[PdfCopy] = []

    def convert() -> None:
        results.append(tagged_pdf(report, title=TITLE))

    threads = [threading.Thread(target=convert) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.ok for r in results] == [True, True], [r.reason for r in results]
    assert list(tmp_path.iterdir()) == []  # input, output, profile and HOME are gone


# --- fallbacks: never an exception, always a Danish reason ------------------------------


def _fake(tmp: Path, script: str) -> str:
    exe = tmp / "bin" / "soffice"
    exe.parent.mkdir(exist_ok=True)
    exe.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe)


def test_without_libreoffice_the_reason_says_so(
    report: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an environment without soffice
    copy = tagged_pdf(report, title=TITLE)
    assert copy == PdfCopy(None, "LibreOffice (soffice) er ikke installeret på maskinen")
    assert not copy.ok
    note = no_pdf_note(TITLE, copy.reason)
    assert note.startswith("Der kunne ikke laves en tilgængelig PDF-kopi af «Samlet")
    assert "sendt som .docx alene" in note


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_hanging_conversion_is_killed_with_its_children(
    report: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("FAKE_PIDFILE", str(pidfile))
    exe = _fake(tmp_path, 'sleep 300 &\necho $! > "$FAKE_PIDFILE"\nwait\n')
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    copy = tagged_pdf(report, title=TITLE, soffice=exe, timeout=1)
    assert copy == PdfCopy(None, "konverteringen tog mere end 1 s og blev afbrudt")
    child = int(pidfile.read_text())
    # the whole process group went, not only the shell (a SIGKILL takes effect when the
    # kernel next schedules the process: on a busy machine that can be a moment later)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)
    assert list(work.iterdir()) == []


def test_a_failing_conversion_gives_its_status_and_last_lines(
    report: bytes, tmp_path: Path
) -> None:
    exe = _fake(tmp_path, "for i in 1 2 3 4 5 6 7; do echo linje $i; done\n"
                          "echo 'Warning: failed to launch javaldx - java may not function "
                          "correctly' >&2\necho 'Error: source file could not be loaded' >&2\n"
                          "exit 81\n")
    copy = tagged_pdf(report, title=TITLE, soffice=exe)
    assert copy.pdf is None
    assert copy.reason == (
        "LibreOffice stoppede med status 81: linje 4 / linje 5 / linje 6 / linje 7 / "
        "Error: source file could not be loaded"
    )


def test_an_exit_without_a_pdf_is_a_reason_too(report: bytes, tmp_path: Path) -> None:
    exe = _fake(tmp_path, "echo 'convert ... using filter : writer_pdf_Export'\nexit 0\n")
    copy = tagged_pdf(report, title=TITLE, soffice=exe)
    assert copy == PdfCopy(None, "LibreOffice skrev ingen PDF: convert ... using filter : "
                                 "writer_pdf_Export")


def test_the_program_sees_a_private_profile_and_home(report: bytes, tmp_path: Path) -> None:
    """What LibreOffice is given: its own profile URL and HOME inside the call's directory,
    the tagged-PDF filter, and a copy of the document (written back as a "PDF" here)."""
    log = tmp_path / "args.txt"
    exe = _fake(tmp_path, f'echo "$HOME" > {log}\nfor a in "$@"; do echo "$a" >> {log}; done\n'
                          'for a in "$@"; do last="$a"; done\n'
                          'out=$(dirname "$last")/ud\n'
                          'printf "%%PDF-1.7 fake" > "$out/dokument.pdf"\n')
    copy = tagged_pdf(report, title=TITLE, soffice=exe)
    assert copy == PdfCopy(b"%PDF-1.7 fake")
    home, *args = log.read_text(encoding="utf-8").splitlines()
    profile = next(a for a in args if a.startswith("-env:UserInstallation=file://"))
    base = Path(home).parent
    assert Path(home).name == "hjem" and profile.endswith(f"{base}/profil")
    assert '"UseTaggedPDF":{"type":"boolean","value":"true"}' in args[args.index("--convert-to")
                                                                     + 1]
    assert '"PDFUACompliance":{"type":"boolean","value":"true"}' in " ".join(args)
    assert not base.exists()  # removed afterwards


def test_not_a_docx_is_a_reason(tmp_path: Path) -> None:
    exe = _fake(tmp_path, "exit 0\n")
    copy = tagged_pdf(b"PK\x03\x04 not really", title=TITLE, soffice=exe)
    assert copy.pdf is None and copy.reason.startswith("dokumentet kan ikke læses som .docx")
    with pytest.raises(ValueError, match="title"):
        tagged_pdf(b"", title="  ")


def test_title_and_language_are_written_into_the_copy(report: bytes) -> None:
    out = with_title_and_language(report, "Ny titel & <mere>", "da-DK")
    d = docx.Document(io.BytesIO(out))
    assert d.core_properties.title == "Ny titel & <mere>"
    assert d.core_properties.language == "da-DK"
    # every other part is byte for byte what it was
    before, after = zipfile.ZipFile(io.BytesIO(report)), zipfile.ZipFile(io.BytesIO(out))
    assert before.namelist() == after.namelist()
    for name in before.namelist():
        if name not in ("docProps/core.xml", "word/styles.xml"):
            assert before.read(name) == after.read(name), name
    plain = docx.Document()
    buf = io.BytesIO()
    plain.save(buf)
    styled = docx.Document(io.BytesIO(with_title_and_language(buf.getvalue(), "T", "da-DK")))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    lang = styled.styles.element.find(f"{w}docDefaults/{w}rPrDefault/{w}rPr/{w}lang")
    assert lang.get(f"{w}val") == "da-DK"
