"""`make preview`: the latest report and one copy of each letter and form, picked by the kind
their folder tells, rendered to tagged PDF and PNG by LibreOffice headless and pdftoppm
(office: real tools, real files)."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import docx
import pikepdf
import pytest

from models.kinds import EventKind, MessageKind
from tests import ROOT
from tests.tools import preview as P

CONFIG = ROOT / "aarshjul.yaml"


def _docx(path: Path, text: str, title: str = "") -> Path:
    d = docx.Document()
    d.core_properties.title = title
    d.add_heading(text, level=1)
    d.add_paragraph("Kære udvalg, æøå ÆØÅ – 1.500.000 kr.")
    buf = io.BytesIO()
    d.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def documents(tmp: Path) -> Path:
    """A year as the engine lays it out: ``<year>/<event or kind>/<file>``. The file names
    are chosen so that a pick by name would go wrong: the letter of the opfordring sorts
    after its forms, the form has no "Formular" in its name, and the older report folder is
    the newer on disk."""
    base = tmp / "documents"
    _docx(base / "2011" / "opfordring" / "Opfordring 2011 - BUU.docx", "gammel",
          "Opfordringsskrivelse")
    op = base / "2012" / "opfordring"
    _docx(op / "B brev til BUU.docx", "brev BUU", "Opfordringsskrivelse")
    _docx(op / "C brev til KFU.docx", "brev KFU", "Opfordringsskrivelse")
    _docx(op / "A skema til BUU.docx", "f", "Formular")
    _docx(op / "A skema til KFU.docx", "f", "Formular")
    _docx(base / "2012" / "konference-invitation" / "Invitation - BUU.docx", "inv",
          "Invitation til integrationskonferencen")
    _docx(base / "2012" / "budget" / "Samlet overblik 2012.docx", "overblik", "Samlet overblik")
    newer = _docx(base / "2012" / "statusrapport" / "Rapport 2012.docx", "status", "Statusrapport")
    os.utime(newer, (time.time() + 3600, time.time() + 3600))
    _docx(base / "2012" / "diverse" / "Noter med rapport i navnet.docx", "x")
    return base


def test_folders_take_their_kind_from_the_wheel_or_the_message_kinds() -> None:
    w = P.read_wheel(CONFIG)
    assert P.folder_kind(Path("2012/opfordring"), w) is EventKind.LETTERS
    assert P.folder_kind(Path("2012/budget"), w) is EventKind.BUDGET
    assert P.folder_kind(Path("2012/report"), P.NO_WHEEL) is MessageKind.REPORT
    assert P.folder_kind(Path("2012/diverse"), w) is None
    assert P.folder_kind(Path("2012/opfordring"), P.NO_WHEEL) is None
    assert w.form_titles["opfordring"] == {"Formular"}  # the bundled form template's title


def test_pick_takes_the_latest_report_and_one_copy_of_each_letter(tmp_path: Path) -> None:
    base = documents(tmp_path)
    picking = P.pick(base, P.read_wheel(CONFIG))
    got = [(x.what, x.path.relative_to(base).as_posix()) for x in picking.picked]
    assert got == [
        ("rapport", "2012/budget/Samlet overblik 2012.docx"),  # October's comes after August's
        ("brev", "2012/konference-invitation/Invitation - BUU.docx"),
        ("brev", "2012/opfordring/B brev til BUU.docx"),
        ("formular", "2012/opfordring/A skema til BUU.docx"),
    ]
    assert [f.name for f in picking.skipped] == ["diverse"]
    assert len(P.pick(base, P.read_wheel(CONFIG), everything=True).picked) == 9


def test_without_a_readable_wheel_event_folders_are_of_no_known_kind(tmp_path: Path,
                                                                     capsys) -> None:
    base = documents(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\npolicy: [\n", encoding="utf-8")
    assert P.read_wheel(broken) == P.NO_WHEEL
    picking = P.pick(base, P.NO_WHEEL)
    assert picking.picked == [] and len(picking.skipped) == 5
    rc = P.main(["--documents", str(base), "--out", str(tmp_path / "o"), "--config", str(broken)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "no report or letter to render" in err and "opfordring: not an event of" in err
    _docx(base / "2013" / "report" / "Rapport 2013.docx", "r", "Statusrapport")
    assert [x.what for x in P.pick(base, P.NO_WHEEL).picked] == ["rapport"]


def test_nothing_to_render_is_a_clear_refusal(tmp_path: Path, capsys) -> None:
    assert P.main(["--documents", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 1
    assert "no .docx documents" in capsys.readouterr().err


def test_a_missing_libreoffice_is_a_clear_refusal(tmp_path: Path, capsys,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    base = documents(tmp_path)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pdftoppm").symlink_to(pdftoppm)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    rc = P.main(["--documents", str(base), "--out", str(tmp_path / "o"), "--config", str(CONFIG)])
    assert rc == 1
    assert "LibreOffice (soffice) er ikke installeret" in capsys.readouterr().err


@pytest.mark.office
def test_preview_renders_tagged_pdf_and_png(tmp_path: Path, capsys) -> None:
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice (soffice) or pdftoppm is not installed")
    base = documents(tmp_path)
    out = tmp_path / "preview"
    rc = P.main(["--documents", str(base), "--out", str(out), "--config", str(CONFIG)])
    assert rc == 0, capsys.readouterr().err
    pdfs = sorted((out / "pdf").glob("*.pdf"))
    assert [p.name for p in pdfs] == [
        "2012__budget__Samlet overblik 2012.pdf",
        "2012__konference-invitation__Invitation - BUU.pdf",
        "2012__opfordring__A skema til BUU.pdf",
        "2012__opfordring__B brev til BUU.pdf",
    ]
    for p in pdfs:
        pdf = pikepdf.open(p)
        assert "/StructTreeRoot" in pdf.Root and str(pdf.Root.Lang) == "da-DK"
    assert str(pikepdf.open(pdfs[0]).docinfo.Title) == "Samlet overblik"
    pngs = sorted((out / "png").glob("*.png"))
    assert len(pngs) == 4 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    index = (out / "index.md").read_text(encoding="utf-8")
    assert "| rapport | `2012/budget/Samlet overblik 2012.docx`" in index
    assert "- `2012/diverse`" in index
    assert "4 document(s) (1 report file(s))" in capsys.readouterr().out
