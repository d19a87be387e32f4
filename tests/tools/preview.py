"""``make preview``: the latest report and letters as PDF and PNG, for a visual check by humans.

    python -m flows.preview [--documents DIR] [--out DIR] [--config FILE] [--all] [--dpi N]

Where the documents come from (the first that holds a .docx): ``--documents``; ``out/documents``
(what ``aarshjul simulate`` writes); ``$AARSHJUL_DATA_DIR/documents`` (default
``aarshjul-data/documents``: what live runs write). The layout is
``<documents>/<year>/<event>/<file>.docx``.

What is rendered (unless ``--all``: every .docx): of the latest year that has documents,

- the **latest report**: every .docx of the newest event folder whose event is a
  ``status_report`` or ``budget`` in the wheel (without a readable wheel: a folder whose
  files are named ``*rapport*`` or ``*overblik*``);
- the **letters**: for each other event folder of that year, the first letter and the first
  form (``Formular - ...``) in name order, i.e. one committee's copy of each letter.

Each is converted to PDF by LibreOffice headless (``soffice --headless --convert-to pdf``,
one batch, a private profile so a running LibreOffice is not disturbed) and every PDF page to
PNG by ``pdftoppm``, into ``--out`` (default ``out/preview``): ``pdf/<name>.pdf`` and
``png/<name>-<page>.png``, plus ``index.md`` listing what came from where. Exit 1 with a
message when there is nothing to render or a tool is missing (``make preview`` installs
``libreoffice-writer-nogui``, ``fonts-crosextra-carlito`` and ``poppler-utils`` from Debian).
No Prefect, no database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPORT_KINDS = ("status_report", "budget")
REPORT_WORDS = ("rapport", "overblik")
SOFFICE_TIMEOUT = 600


@dataclass(frozen=True)
class Picked:
    path: Path
    what: str  # "rapport" | "brev" | "formular" | "dokument"


def candidates(explicit: Path | None) -> list[Path]:
    if explicit is not None:
        return [explicit]
    data = Path(os.environ.get("AARSHJUL_DATA_DIR") or "aarshjul-data")
    return [Path("out") / "documents", data / "documents"]


def find_documents(explicit: Path | None) -> Path | None:
    for d in candidates(explicit):
        if d.is_dir() and any(d.rglob("*.docx")):
            return d
    return None


def event_kinds(config: Path | None) -> dict[str, str]:
    """Event key -> ``do`` from the wheel; {} when it cannot be read."""
    if config is None or not config.exists():
        return {}
    try:
        from models.config import load

        return {e.key: e.do for e in load(config).wheel.events}
    except Exception:  # a broken wheel must not stop a visual check
        return {}


def _is_report(folder: Path, kinds: dict[str, str]) -> bool:
    if kinds and folder.name in kinds:
        return kinds[folder.name] in REPORT_KINDS
    return any(w in p.name.lower() for p in folder.glob("*.docx") for w in REPORT_WORDS)


def pick(documents: Path, kinds: dict[str, str], *, everything: bool = False) -> list[Picked]:
    """The latest report and one copy of each letter and form of the latest year."""
    docs = sorted(documents.rglob("*.docx"))
    if everything:
        return [Picked(p, "dokument") for p in docs]
    years = sorted({p.relative_to(documents).parts[0] for p in docs if p.parent != documents})
    if not years:
        return [Picked(p, "dokument") for p in docs]
    year = documents / years[-1]
    folders = sorted({p.parent for p in year.rglob("*.docx")})
    reports = [f for f in folders if _is_report(f, kinds)]
    out: list[Picked] = []
    if reports:
        newest = max(reports, key=lambda f: max(p.stat().st_mtime for p in f.glob("*.docx")))
        out += [Picked(p, "rapport") for p in sorted(newest.glob("*.docx"))]
    for f in folders:
        if f in reports:
            continue
        files = sorted(f.glob("*.docx"))
        forms = [p for p in files if p.name.startswith("Formular")]
        letters = [p for p in files if p not in forms]
        out += [Picked(p, "brev") for p in letters[:1]]
        out += [Picked(p, "formular") for p in forms[:1]]
    return out


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise SystemExit(
            f"preview: {name} is not installed (make preview installs libreoffice-writer-nogui, "
            "fonts-crosextra-carlito and poppler-utils)"
        )
    return exe


def _flat_name(p: Path, documents: Path) -> str:
    rel = p.relative_to(documents).with_suffix("")
    return "__".join(rel.parts)


def render(picked: Sequence[Picked], documents: Path, out: Path, dpi: int = 70) -> list[Path]:
    """Convert the picked files to PDF (one soffice batch) and every page to PNG."""
    soffice, pdftoppm = _tool("soffice"), _tool("pdftoppm")
    pdf_dir, png_dir = out / "pdf", out / "png"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    png_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="aarshjul-preview-") as tmp:
        staged = []
        for x in picked:  # flat, unique names: the same file name recurs per year and event
            s = Path(tmp) / "in" / (_flat_name(x.path, documents) + ".docx")
            s.parent.mkdir(exist_ok=True)
            shutil.copyfile(x.path, s)
            staged.append(s)
        cmd = [
            soffice,
            f"-env:UserInstallation=file://{tmp}/profile",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(pdf_dir),
            *map(str, staged),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=SOFFICE_TIMEOUT, cwd=tmp)
    for s in staged:
        pdf = pdf_dir / (s.stem + ".pdf")
        if not pdf.exists():
            raise SystemExit(f"preview: LibreOffice did not convert {s.name}")
        written.append(pdf)
        for old in png_dir.glob(f"{s.stem}-*.png"):
            old.unlink()
        subprocess.run(
            [pdftoppm, "-png", "-r", str(dpi), str(pdf), str(png_dir / s.stem)],
            check=True,
            capture_output=True,
            timeout=SOFFICE_TIMEOUT,
        )
        written += sorted(png_dir.glob(f"{s.stem}-*.png"))
    return written


def index(picked: Sequence[Picked], documents: Path, out: Path) -> Path:
    lines = ["# Forhåndsvisning", "", f"Dokumenter fra `{documents}`.", ""]
    lines += ["| Art | Dokument | PDF | Sider (PNG) |", "|---|---|---|---|"]
    for x in picked:
        stem = _flat_name(x.path, documents)
        pages = sorted((out / "png").glob(f"{stem}-*.png"))
        lines.append(
            f"| {x.what} | `{x.path.relative_to(documents)}` | `pdf/{stem}.pdf` | "
            + ", ".join(f"`png/{p.name}`" for p in pages)
            + " |"
        )
    p = out / "index.md"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m flows.preview",
        description="The latest report and letters as PDF and PNG (LibreOffice, pdftoppm).",
    )
    ap.add_argument("--documents", type=Path, help="the documents folder (see the module text)")
    ap.add_argument("--out", type=Path, default=Path("out") / "preview")
    ap.add_argument("--config", type=Path, default=Path("aarshjul.yaml"))
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
    picked = pick(documents, event_kinds(args.config), everything=args.all)
    try:
        written = render(picked, documents, args.out, args.dpi)
    except subprocess.CalledProcessError as exc:
        err = (exc.stderr or b"").decode(errors="replace").strip()
        print(f"preview: {exc.cmd[0]} failed ({exc.returncode}): {err}", file=sys.stderr)
        return 1
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    idx = index(picked, documents, args.out)
    pdfs = sum(p.suffix == ".pdf" for p in written)
    pngs = sum(p.suffix == ".png" for p in written)
    reports = sum(x.what == "rapport" for x in picked)
    print(
        f"preview: {len(picked)} document(s) ({reports} report file(s)) from {documents} -> "
        f"{pdfs} PDF(s), {pngs} page image(s) in {args.out} (see {idx})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
