"""The report e-mails carry a tagged PDF copy next to the .docx; without LibreOffice the .docx
goes alone, and the coordinator is told why in the e-mail, the run's notes and its summary."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from flows import runs
from flows.artifacts import summary_markdown
from tests.dbtools import database
from tests.flows.helpers import at, mailbox, make_setup

REPORT = "Samlet statusrapport for integrationsindsatsen 2012"


def _status_report(tmp: Path):  # type: ignore[no-untyped-def]
    with database("sqlite", tmp) as eng:
        st = make_setup(eng, tmp)
        st.documents = tmp / "documents"
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        report = runs.event(st, "statusrapport", 2012, at("2012-08-15T09:00"))
    [m] = [m for m in mailbox(tmp) if m["X-Aarshjul-Kind"] == "report"]
    return report, m


def _attachments(m) -> dict[str, tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    return {p.get_filename(): (p.get_content_type(), p.get_content())
            for p in m.iter_attachments()}


@pytest.mark.office
def test_the_report_goes_out_as_docx_and_tagged_pdf(tmp_path: Path) -> None:
    import pikepdf

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    report, m = _status_report(tmp_path)
    files = _attachments(m)
    assert set(files) == {f"{REPORT}.docx", f"{REPORT}.pdf"}
    kind, pdf = files[f"{REPORT}.pdf"]
    assert kind == "application/pdf"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert doc.Root.MarkInfo.Marked is True
        assert str(doc.Root.Lang) == "da-DK" and "/StructTreeRoot" in doc.Root
    kept = tmp_path / "documents" / "2012" / "statusrapport"
    assert (kept / f"{REPORT}.pdf").read_bytes() == pdf
    assert (tmp_path / "data" / "reports" / "2012" / f"{REPORT}.pdf").is_file()
    assert f"2012/statusrapport/{REPORT}.pdf" in report.documents
    assert "PDF-kopi" not in m.get_body(("plain",)).get_content()


def test_without_libreoffice_the_docx_goes_alone_and_says_why(tmp_path: Path,
                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))  # no soffice anywhere
    report, m = _status_report(tmp_path)
    assert set(_attachments(m)) == {f"{REPORT}.docx"}
    body = m.get_body(("plain",)).get_content()
    assert "Bemærk: Der kunne ikke laves en tilgængelig PDF-kopi" in body
    assert "LibreOffice" in body and "sendt som .docx alene" in body
    notes = [n for n in report.notes if "PDF-kopi" in n]
    assert len(notes) == 1
    assert notes[0] in summary_markdown(report)
    assert not list((tmp_path / "documents").rglob("*.pdf"))
