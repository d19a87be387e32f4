"""The public copies: the tagged PDF of the status report, and the read-only wheel site.

Figures:
- the tagged PDF (PDF/UA) of the 7-committee status report (6 charts, about 30 tables) by
  LibreOffice headless, a fresh private profile per call as in production: budget <= 10 s
  (median of 3, after one warm-up call that fills the page cache);
- the same with two conversions at once (each its own profile): the wall time of the pair;
- the site for one year (wheel as SVG, plan tables, the ICS, the status page of 14 rows),
  built in memory: budget <= 2 s (median of 5, after one warm-up that imports matplotlib);
- the SVG drawing alone, most of the site's time, and the whole ``aarshjul site`` process.
Skipped (no figure) when LibreOffice is not installed.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests import CPH, ROOT
from tests.bench import PY, Result, median_seconds, process_median


def _pdf() -> list[Result]:
    from letters.pdf import tagged_pdf
    from letters.reports.status_report import status_report_docx
    from tests.letters.report_data import seven_committee_status

    if shutil.which("soffice") is None:
        return []
    docx = status_report_docx(seven_committee_status())
    title = "Samlet statusrapport 2012"

    def once() -> None:
        copy = tagged_pdf(docx, title=title)
        assert copy.ok, copy.reason

    once()
    t = median_seconds(once, repeat=3)
    pair: list[float] = []
    t0 = time.perf_counter()
    threads = [threading.Thread(target=once) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    pair.append(time.perf_counter() - t0)
    size = len(tagged_pdf(docx, title=title).pdf or b"") / 1024
    return [
        Result("tagged PDF of the status report, 7 committees", t, "s", budget=10.0),
        Result("  two conversions at once (wall time of the pair)", pair[0], "s"),
        Result("  PDF size", size, "KB"),
    ]


def _site() -> list[Result]:
    from letters.ics import calendar_bytes
    from letters.site import StatusRow, build_site
    from letters.wheel_picture import render_wheel
    from models.config import load
    from models.plan import year_plan

    wheel = load(ROOT / "aarshjul.yaml").wheel
    plan = year_plan(wheel, 2012)
    rows = [StatusRow(c.name, d.title, d.due, "on_time", date(2012, 4, 20))
            for d in plan.deliverables for c in wheel.committees]
    stamp = datetime(2026, 11, 22, 8, tzinfo=ZoneInfo("UTC"))

    def once() -> None:
        build_site(wheel, plan, svg=render_wheel(wheel, plan, fmt="svg"),
                   ics=calendar_bytes(wheel, plan, stamp=stamp), status=rows,
                   as_of=datetime(2012, 6, 1, 9, tzinfo=CPH))

    once()
    t = median_seconds(once, repeat=5)
    svg = median_seconds(lambda: render_wheel(wheel, plan, fmt="svg"), repeat=5)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(PY).parent / "aarshjul"), "site", "--year", "2012", "-o", tmp,
               "--config", str(ROOT / "aarshjul.yaml")]
        proc = process_median(cmd, repeat=3)
    return [
        Result("site for one year (wheel SVG, tables, ICS, status)", t, "s", budget=2.0),
        Result("  of which the wheel as SVG", svg, "s"),
        Result("  `aarshjul site --year 2012` (whole process, no status)", proc, "s"),
    ]


def run() -> list[Result]:
    return _pdf() + _site()
