"""Accessible PDF copies of our Word documents (PDF/UA, for the council's public agenda).

The August status report and the October budget overview go on Borgerrepræsentationen's
public agenda, and public documents must meet EN 301 549 (WCAG 2.1 AA). :func:`tagged_pdf`
turns the .docx we built into a tagged PDF with LibreOffice headless (Writer's PDF export
with ``UseTaggedPDF`` and ``PDFUACompliance``): a structure tree with headings, tables with
header cells (``/TH``, from the rows marked ``w:tblHeader``), an ``/Alt`` text on every figure
(from the pictures' ``descr``), the document language (``/Lang``), a title shown in the
viewer's title bar (``/Title`` and ``/DisplayDocTitle``), and the fonts embedded (Carlito for
Calibri, DejaVu as the fallback; Debian's ``fonts-crosextra-carlito`` and
``fonts-dejavu-core``).

Use in the report events (``status_report``, ``budget``)::

    copy = tagged_pdf(report_docx, title="Samlet statusrapport 2012")
    attachments = [("Samlet statusrapport 2012.docx", report_docx)]
    if copy.pdf is not None:
        attachments.append(("Samlet statusrapport 2012.pdf", copy.pdf))  # application/pdf
        # and write it next to the .docx under documents/<year>/<event>/
    else:
        tell_the_coordinator(no_pdf_note("Samlet statusrapport 2012", copy.reason))

The function never raises for a conversion that fails: LibreOffice missing, a conversion
that hangs (the whole process group is killed after ``timeout`` seconds), a non-zero exit
or no PDF written all give ``PdfCopy(pdf=None, reason=...)`` with a Danish reason that a
coordinator can act on, so that the report still goes out as .docx alone.

Each call has its own temporary directory (input, output, a private LibreOffice profile
given with ``-env:UserInstallation``, and ``HOME``), so two conversions never share a
profile and a running LibreOffice of the user is not disturbed; the directory is removed
afterwards, whatever happened. No clock, no configuration: the caller passes what it knows.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LANG = "da-DK"
DEFAULT_TIMEOUT = 120.0  # seconds; the 7-committee status report takes about 2 s here
FILTER = (
    'pdf:writer_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"true"},'
    '"PDFUACompliance":{"type":"boolean","value":"true"}}'
)
MAX_XML_PART = 20_000_000  # bytes: core.xml and styles.xml are a few KB in our documents
OUTPUT_LINES = 5  # lines of LibreOffice's output quoted in a reason
# LibreOffice prints this on every run without Java; it explains nothing
_NOISE = ("failed to launch javaldx", "java may not function correctly")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DC = "http://purl.org/dc/elements/1.1/"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"


@dataclass(frozen=True)
class PdfCopy:
    """A tagged PDF, or the Danish reason why there is none."""

    pdf: bytes | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.pdf is not None


def no_pdf_note(document: str, reason: str) -> str:
    """The sentence for the coordinator when a report goes out without its PDF copy."""
    return (
        f"Der kunne ikke laves en tilgængelig PDF-kopi af «{document}»: {reason}. "
        "Dokumentet er sendt som .docx alene; lav PDF-kopien i Word (Gem som PDF, "
        "«Dokumentstrukturkoder til tilgængelighed») før det lægges på dagsordenen."
    )


def tagged_pdf(
    docx: bytes,
    *,
    title: str,
    lang: str = LANG,
    timeout: float = DEFAULT_TIMEOUT,
    soffice: str | None = None,
) -> PdfCopy:
    """``docx`` as a PDF/UA-tagged PDF, titled ``title`` in language ``lang``.

    ``soffice`` is the LibreOffice program (default: ``soffice`` on ``PATH``). The title
    and language are written into the copy that is converted (core properties and the
    document defaults), so a document without them still gets both. Never raises for a
    failed conversion: see :class:`PdfCopy` and the module text.
    """
    if not title.strip():
        raise ValueError("a PDF for the public needs a title")
    exe = soffice or shutil.which("soffice")
    if exe is None:
        return PdfCopy(None, "LibreOffice (soffice) er ikke installeret på maskinen")
    try:
        prepared = with_title_and_language(docx, title, lang)
    except ValueError as exc:
        return PdfCopy(None, f"dokumentet kan ikke læses som .docx ({exc})")
    try:
        with tempfile.TemporaryDirectory(prefix="aarshjul-pdf-") as tmp:
            return _convert(exe, prepared, Path(tmp), timeout)
    except OSError as exc:
        return PdfCopy(None, f"konverteringen kunne ikke køres: {exc.strerror or exc}")


def _convert(exe: str, docx: bytes, tmp: Path, timeout: float) -> PdfCopy:
    src, out, home = tmp / "dokument.docx", tmp / "ud", tmp / "hjem"
    out.mkdir()
    home.mkdir()
    src.write_bytes(docx)
    cmd = [
        exe,
        f"-env:UserInstallation={(tmp / 'profil').as_uri()}",
        "--headless",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        FILTER,
        "--outdir",
        str(out),
        str(src),
    ]
    env = _child_env(os.environ, home)
    proc = subprocess.Popen(
        cmd,
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a timeout kills all of it
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return PdfCopy(None, f"konverteringen tog mere end {timeout:g} s og blev afbrudt")
    finally:
        _kill_group(proc)  # whatever LibreOffice left running in its group
    text = _last_lines(output)
    pdf = out / "dokument.pdf"
    if proc.returncode != 0:
        return PdfCopy(None, f"LibreOffice stoppede med status {proc.returncode}"
                             + (f": {text}" if text else ""))
    if not pdf.is_file() or pdf.stat().st_size == 0:
        return PdfCopy(None, "LibreOffice skrev ingen PDF" + (f": {text}" if text else ""))
    data = pdf.read_bytes()
    if not data.startswith(b"%PDF-"):
        return PdfCopy(None, "LibreOffice skrev en fil, der ikke er en PDF")
    return PdfCopy(data)


def _child_env(env: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment of LibreOffice: ours, with a private HOME (dconf and font caches
    go there, not into the user's home) and a UTF-8 locale for the file names."""
    out = dict(env)
    out["HOME"] = str(home)
    out.setdefault("LANG", "C.UTF-8")
    out.pop("SAL_USE_VCLPLUGIN", None)
    return out


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _last_lines(output: bytes | None) -> str:
    lines = [
        line.strip()
        for line in (output or b"").decode("utf-8", errors="replace").splitlines()
        if line.strip() and not any(n in line for n in _NOISE)
    ]
    return " / ".join(lines[-OUTPUT_LINES:])


# --- the copy that is converted: title and language -------------------------------------


def with_title_and_language(docx: bytes, title: str, lang: str) -> bytes:
    """``docx`` with ``title`` and ``lang`` in its core properties and its document
    defaults (what LibreOffice exports as ``/Title`` and ``/Lang``); other parts unchanged.
    ValueError when it is not a .docx."""
    try:
        src = zipfile.ZipFile(io.BytesIO(docx))
        names = src.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"ikke en zip-fil: {exc}") from None
    if "word/document.xml" not in names:
        raise ValueError("word/document.xml mangler")
    buf = io.BytesIO()
    with src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = _core(_xml_part(info, data), title, lang)
            elif info.filename == "word/styles.xml":
                data = _styles(_xml_part(info, data), lang)
            dst.writestr(info, data)
        if "docProps/core.xml" not in names:
            # a package without core properties: LibreOffice then has no title
            dst.writestr("docProps/core.xml", _core(_EMPTY_CORE, title, lang))
    return buf.getvalue()


_EMPTY_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<cp:coreProperties xmlns:cp="' + CP.encode() + b'" xmlns:dc="' + DC.encode() + b'"/>'
)


def _xml_part(info: zipfile.ZipInfo, data: bytes) -> bytes:
    if info.file_size > MAX_XML_PART or len(data) > MAX_XML_PART:
        raise ValueError(f"{info.filename} er for stor")
    return data


def _parse(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"ugyldig XML: {exc}") from None


def _serialise(root: Any) -> bytes:
    from lxml import etree

    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _core(data: bytes, title: str, lang: str) -> bytes:
    from lxml import etree

    root = _parse(data)
    for tag, value in (("title", title), ("language", lang)):
        el = root.find(f"{{{DC}}}{tag}")
        if el is None:
            el = etree.SubElement(root, f"{{{DC}}}{tag}")
        el.text = value
    return _serialise(root)


def _styles(data: bytes, lang: str) -> bytes:
    from lxml import etree

    root = _parse(data)
    defaults = root.find(f"{{{W}}}docDefaults")
    if defaults is None:
        defaults = etree.Element(f"{{{W}}}docDefaults")
        root.insert(0, defaults)
    rpr_default = defaults.find(f"{{{W}}}rPrDefault")
    if rpr_default is None:
        rpr_default = etree.Element(f"{{{W}}}rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(f"{{{W}}}rPr")
    if rpr is None:
        rpr = etree.SubElement(rpr_default, f"{{{W}}}rPr")
    el = rpr.find(f"{{{W}}}lang")
    if el is None:
        el = etree.SubElement(rpr, f"{{{W}}}lang")
    el.set(f"{{{W}}}val", lang)
    return _serialise(root)
