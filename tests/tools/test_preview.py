"""`make preview`: the latest report and one copy of each letter and form, rendered to PDF and
PNG by LibreOffice headless and pdftoppm (office: real tools, real files)."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import docx
import pytest

from flows import preview as P
from tests.flows.helpers import ROOT

CONFIG = ROOT / "aarshjul.yaml"


def _docx(path: Path, text: str) -> Path:
    d = docx.Document()
    d.add_heading(text, level=1)
    d.add_paragraph("Kære udvalg, æøå ÆØÅ – 1.500.000 kr.")
    buf = io.BytesIO()
    d.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def documents(tmp: Path) -> Path:
    base = tmp / "documents"
    _docx(base / "2011" / "opfordring" / "Opfordring 2011 - BUU.docx", "gammel")
    _docx(base / "2012" / "opfordring" / "Opfordringsskrivelse 2012 - BUU.docx", "brev BUU")
    _docx(base / "2012" / "opfordring" / "Opfordringsskrivelse 2012 - KFU.docx", "brev KFU")
    _docx(base / "2012" / "opfordring" / "Formular - Revideret handleplan 2012 - BUU.docx", "f")
    _docx(base / "2012" / "opfordring" / "Formular - Revideret handleplan 2012 - KFU.docx", "f")
    old = _docx(base / "2012" / "statusrapport" / "Statusrapport 2012.docx", "statusrapport")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    _docx(base / "2012" / "budget" / "Samlet overblik 2012.docx", "overblik")  # the newest
    return base


def test_pick_takes_the_latest_report_and_one_copy_of_each_letter(tmp_path: Path) -> None:
    base = documents(tmp_path)
    picked = P.pick(base, P.event_kinds(CONFIG))
    got = [(x.what, x.path.relative_to(base).as_posix()) for x in picked]
    assert got == [
        ("rapport", "2012/budget/Samlet overblik 2012.docx"),
        ("brev", "2012/opfordring/Opfordringsskrivelse 2012 - BUU.docx"),
        ("formular", "2012/opfordring/Formular - Revideret handleplan 2012 - BUU.docx"),
    ]
    # without a wheel, the report folder is found by its file names
    assert P.pick(base, {})[0].what == "rapport"
    assert len(P.pick(base, {}, everything=True)) == 7


def test_nothing_to_render_is_a_clear_refusal(tmp_path: Path, capsys) -> None:
    assert P.main(["--documents", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 1
    assert "no .docx documents" in capsys.readouterr().err


@pytest.mark.office
def test_preview_renders_pdf_and_png(tmp_path: Path, capsys) -> None:
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice (soffice) or pdftoppm is not installed")
    base = documents(tmp_path)
    out = tmp_path / "preview"
    rc = P.main(["--documents", str(base), "--out", str(out), "--config", str(CONFIG)])
    assert rc == 0, capsys.readouterr().err
    pdfs = sorted((out / "pdf").glob("*.pdf"))
    assert [p.name for p in pdfs] == [
        "2012__budget__Samlet overblik 2012.pdf",
        "2012__opfordring__Formular - Revideret handleplan 2012 - BUU.pdf",
        "2012__opfordring__Opfordringsskrivelse 2012 - BUU.pdf",
    ]
    for p in pdfs:
        assert p.read_bytes().startswith(b"%PDF")
    pngs = sorted((out / "png").glob("*.png"))
    assert len(pngs) == 3 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    index = (out / "index.md").read_text(encoding="utf-8")
    assert "| rapport | `2012/budget/Samlet overblik 2012.docx`" in index
    assert "3 document(s) (1 report file(s))" in capsys.readouterr().out
