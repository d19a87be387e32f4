"""``make preview``: the latest report and letters as PDF and PNG, for a visual check by humans.

    python -m tests.tools.preview [--documents DIR] [--out DIR] [--config FILE]
                                  [--templates DIR] [--all] [--dpi N]

Where the documents come from (the first that holds a .docx): ``--documents``; ``out/documents``
(what ``aarshjul simulate`` writes); ``<data dir>/documents`` (``AARSHJUL_DATA_DIR``, default
``aarshjul-data``: what live runs write). The layout is ``<documents>/<year>/<event or kind>/``:
the folder says what its files are. A folder named after an event of the wheel has that event's kind
(``do:``); a folder named after a message kind (``letter``, ``report``, ...) has that kind.

What is rendered (unless ``--all``: every .docx), of the latest year that has documents:

- the **latest report**: every .docx of the report folder (``status_report`` or ``budget``
  event, or ``report``) whose event comes last in the wheel's year;
- the **letters**: for each folder of a ``letters`` event, one copy of the letter and one of
  each form (the first in name order), told apart by the template each was made from (the
  title in the document's properties: a form carries the title of a form template of the
  deliverables the event opens).

Folders of no known kind (not an event of the wheel, not a message kind) are listed in the
index as skipped. Each file is converted by :func:`letters.pdf.tagged_pdf` (LibreOffice
headless, tagged PDF/UA, a private profile per file) and every PDF page to PNG by
``pdftoppm``, into ``--out`` (default ``out/preview``): ``pdf/<name>.pdf`` and
``png/<name>-<page>.png``, plus ``index.md`` listing what came from where. Exit 1 with a
message when there is nothing to render, a tool is missing or a conversion fails
(``make preview`` installs ``libreoffice-writer-nogui``, ``fonts-crosextra-carlito``,
``fonts-dejavu-core`` and ``poppler-utils`` from Debian). No Prefect, no database.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from flows.settings import DEFAULT_DATA_DIR, Settings, SettingsError
from letters.pdf import tagged_pdf
from letters.render import TEMPLATES_DIR
from models.config import load
from models.kinds import EventKind, MessageKind
from models.problems import ConfigError

REPORT_KINDS = (EventKind.STATUS_REPORT, EventKind.BUDGET, MessageKind.REPORT)
LETTER_KINDS = (EventKind.LETTERS, MessageKind.LETTER)
PDFTOPPM_TIMEOUT = 300
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
MAX_CORE = 1_000_000


@dataclass(frozen=True)
class Picked:
    path: Path
    what: str  # "rapport" | "brev" | "formular" | "dokument"


@dataclass(frozen=True)
class Wheel:
    """What the preview needs from the wheel: the kind and day of each event, and the
    titles of the form templates each letters event attaches."""

    kinds: dict[str, EventKind]
    days: dict[str, str]  # event key -> MM-DD
    form_titles: dict[str, frozenset[str]]  # event key -> core titles of its forms


NO_WHEEL = Wheel({}, {}, {})


def candidates(explicit: Path | None) -> list[Path]:
    if explicit is not None:
        return [explicit]
    try:
        data = Settings.from_env().data_dir
    except SettingsError:  # a malformed variable elsewhere must not stop a visual check
        data = DEFAULT_DATA_DIR
    return [Path("out") / "documents", data / "documents"]


def find_documents(explicit: Path | None) -> Path | None:
    for d in candidates(explicit):
        if d.is_dir() and any(d.rglob("*.docx")):
            return d
    return None


def core_title(docx: Path) -> str:
    """The title in a .docx's core properties ("" when it has none or cannot be read)."""
    try:
        with zipfile.ZipFile(docx) as z:
            info = z.getinfo("docProps/core.xml")
            if info.file_size > MAX_CORE:
                return ""
            root = ET.fromstring(z.read(info))
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return ""
    el = root.find(DC_TITLE)
    return (el.text or "").strip() if el is not None else ""


def read_wheel(config: Path | None, templates: Path = TEMPLATES_DIR) -> Wheel:
    """The kinds of the wheel's events; :data:`NO_WHEEL` when it cannot be read (a broken
    wheel must not stop a visual check: its folders are then of no known kind)."""
    if config is None or not config.exists():
        return NO_WHEEL
    try:
        w = load(config).wheel
    except (ConfigError, OSError):
        return NO_WHEEL
    forms = {d.key: core_title(templates / f"{d.form or 'formular'}.docx")
             for d in w.deliverables}
    return Wheel(
        {e.key: EventKind(e.do) for e in w.events},
        {e.key: e.date for e in w.events},
        {e.key: frozenset(forms[k] for k in e.opens if forms.get(k)) for e in w.events},
    )


def folder_kind(folder: Path, wheel: Wheel) -> EventKind | MessageKind | None:
    """What the files of ``documents/<year>/<folder>`` are, from the folder's name."""
    if folder.name in wheel.kinds:
        return wheel.kinds[folder.name]
    try:
        return MessageKind(folder.name)
    except ValueError:
        return None


@dataclass(frozen=True)
class Picking:
    picked: list[Picked]
    skipped: list[Path]  # folders of no known kind


def pick(documents: Path, wheel: Wheel, *, everything: bool = False) -> Picking:
    """The latest report and one copy of each letter and form of the latest year."""
    docs = sorted(documents.rglob("*.docx"))
    if everything:
        return Picking([Picked(p, "dokument") for p in docs], [])
    rel = [p.relative_to(documents).parts for p in docs]
    years = sorted({parts[0] for parts in rel if len(parts) == 3})
    if not years:
        return Picking([], [])
    year = documents / years[-1]
    folders = sorted({p.parent for p in year.glob("*/*.docx")})
    kinds = {f: folder_kind(f, wheel) for f in folders}
    out: list[Picked] = []
    reports = [f for f in folders if kinds[f] in REPORT_KINDS]
    if reports:
        latest = max(reports, key=lambda f: (wheel.days.get(f.name, ""), _newest(f)))
        out += [Picked(p, "rapport") for p in sorted(latest.glob("*.docx"))]
    for f in folders:
        if kinds[f] in LETTER_KINDS:
            out += _one_copy(f, wheel.form_titles.get(f.name, frozenset()))
    return Picking(out, [f for f in folders if kinds[f] is None])


def _newest(folder: Path) -> float:
    return max(p.stat().st_mtime for p in folder.glob("*.docx"))


def _one_copy(folder: Path, form_titles: frozenset[str]) -> list[Picked]:
    """The first letter, and the first form of each form template, in name order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in sorted(folder.glob("*.docx")):
        title = core_title(p)
        what = "formular" if title in form_titles else "brev"
        if (what, title if what == "formular" else "") in seen:
            continue
        seen.add((what, title if what == "formular" else ""))
        out.append(Picked(p, what))
    return sorted(out, key=lambda x: x.what != "brev")


def _flat_name(p: Path, documents: Path) -> str:
    rel = p.relative_to(documents).with_suffix("")
    return "__".join(rel.parts)


class PreviewError(Exception):
    """A tool is missing or a conversion failed (the message says which and why)."""


def render(picked: Sequence[Picked], documents: Path, out: Path, dpi: int = 70) -> list[Path]:
    """Each picked file as a tagged PDF, and every page of it as PNG."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise PreviewError("pdftoppm is not installed (make preview installs poppler-utils)")
    pdf_dir, png_dir = out / "pdf", out / "png"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    png_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for x in picked:
        stem = _flat_name(x.path, documents)
        copy = tagged_pdf(x.path.read_bytes(), title=core_title(x.path) or x.path.stem)
        if copy.pdf is None:
            raise PreviewError(f"{x.path}: {copy.reason}")
        pdf = pdf_dir / f"{stem}.pdf"
        pdf.write_bytes(copy.pdf)
        written.append(pdf)
        for old in png_dir.glob(f"{stem}-*.png"):
            old.unlink()
        try:
            subprocess.run([pdftoppm, "-png", "-r", str(dpi), str(pdf), str(png_dir / stem)],
                           check=True, capture_output=True, timeout=PDFTOPPM_TIMEOUT)
        except subprocess.CalledProcessError as exc:
            err = (exc.stderr or b"").decode(errors="replace").strip()
            raise PreviewError(f"pdftoppm failed on {pdf} ({exc.returncode}): {err}") from None
        except subprocess.TimeoutExpired:
            raise PreviewError(f"pdftoppm took more than {PDFTOPPM_TIMEOUT} s on {pdf}") from None
        written += sorted(png_dir.glob(f"{stem}-*.png"))
    return written


def index(picking: Picking, documents: Path, out: Path) -> Path:
    lines = ["# Forhåndsvisning", "", f"Dokumenter fra `{documents}`.", ""]
    lines += ["| Art | Dokument | PDF | Sider (PNG) |", "|---|---|---|---|"]
    for x in picking.picked:
        stem = _flat_name(x.path, documents)
        pages = sorted((out / "png").glob(f"{stem}-*.png"))
        lines.append(
            f"| {x.what} | `{x.path.relative_to(documents)}` | `pdf/{stem}.pdf` | "
            + ", ".join(f"`png/{p.name}`" for p in pages)
            + " |"
        )
    if picking.skipped:
        lines += ["", "Mapper af ukendt art (ikke en begivenhed i årshjulet; se `--all`):", ""]
        lines += [f"- `{f.relative_to(documents)}`" for f in picking.skipped]
    out.mkdir(parents=True, exist_ok=True)
    p = out / "index.md"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.tools.preview",
        description="The latest report and letters as tagged PDF and PNG (LibreOffice, pdftoppm).",
    )
    ap.add_argument("--documents", type=Path, help="the documents folder (see the module text)")
    ap.add_argument("--out", type=Path, default=Path("out") / "preview")
    ap.add_argument("--config", type=Path, default=Path("aarshjul.yaml"))
    ap.add_argument("--templates", type=Path, default=TEMPLATES_DIR,
                    help="the templates the documents were made from (default: the bundled)")
    ap.add_argument("--all", action="store_true", help="render every .docx, not the latest")
    ap.add_argument("--dpi", type=int, default=70, help="PNG resolution (default 70)")
    args = ap.parse_args(argv)
    documents = find_documents(args.documents)
    if documents is None:
        looked = ", ".join(str(d) for d in candidates(args.documents))
        print(
            f"preview: no .docx documents in {looked}; run `aarshjul simulate --year 2012` "
            "(or a status_report event) first",
            file=sys.stderr,
        )
        return 1
    picking = pick(documents, read_wheel(args.config, args.templates), everything=args.all)
    for f in picking.skipped:
        print(f"preview: {f}: not an event of {args.config} nor a message kind; skipped "
              "(--all renders it)", file=sys.stderr)
    if not picking.picked:
        print(f"preview: no report or letter to render in {documents}", file=sys.stderr)
        return 1
    try:
        written = render(picking.picked, documents, args.out, args.dpi)
    except PreviewError as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return 1
    idx = index(picking, documents, args.out)
    pdfs = sum(p.suffix == ".pdf" for p in written)
    pngs = sum(p.suffix == ".png" for p in written)
    reports = sum(x.what == "rapport" for x in picking.picked)
    print(
        f"preview: {len(picking.picked)} document(s) ({reports} report file(s)) from {documents} "
        f"-> {pdfs} tagged PDF(s), {pngs} page image(s) in {args.out} (see {idx})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
