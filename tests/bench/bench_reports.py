"""The August status report and the October overview, as the event builds them.

Set-up (not timed): a fresh SQLite state, the opfordring letters, every committee's two forms
filled in through python-docx (goal texts and three initiatives) and registered, barometer
readings for every goal, a budget decision per committee. Timed: what the ``status_report``
handler does before queueing — gather the state, read back the latest submission of every
request, draw one chart per goal and write the .docx — and the same for the overview.

Figures:
- status report for the Copenhagen wheel (7 committees, 6 goals, 6 charts): budget <= 3 s
  (median of 3);
- status report for a generated wheel with 100 committees (200 forms read back, 6 charts):
  budget <= 15 s (one run);
- the budget overview for the 100 committees, and the report's size;
- next to each wall time, the CPU time of the process: on the shared 2-core machine the wall
  time includes waiting for a core (six matplotlib charts are ~80 % of the 7-committee figure).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from models.form import begins_with_goal_key
from tests import CPH, ROOT
from tests.bench import Result, median_seconds

YEAR = 2012


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CPH)


def _fill(raw: bytes, goals: list[str], committee: str) -> bytes:
    import io

    import docx
    from docx.text.paragraph import Paragraph

    d = docx.Document(io.BytesIO(raw))
    for key in goals:
        head = next(p for p in d.paragraphs if begins_with_goal_key(p.text, key))
        Paragraph(head._p.getnext(), head._parent).add_run(
            f"{committee} arbejder med {key}: sprogstøtte, mentorer og samarbejde med "
            "foreningerne i de udsatte boligområder. " * 3)
    t = d.tables[0]
    for i in range(3):
        cells = t.rows[i + 1].cells if i + 1 < len(t.rows) else t.add_row().cells
        for cell, value in zip(cells, (f"Initiativ {i} ({committee})", goals[i % len(goals)],
                                       f"{(i + 1) * 250}.000 kr.", ("Ja", "Nej", "delvist")[i]),
                               strict=True):
            cell.text = value
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _year(wheel: Any, tmp: Path) -> Any:
    from flows import runs
    from flows.services.messages import render_docx
    from flows.services.setup import Setup
    from flows.services.storage import store_decisions, store_readings
    from letters.context import form_context
    from letters.delivery import DirectoryTransport
    from models.barometer import Reading
    from models.budget import Decision
    from models.db import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
    upgrade(eng)
    st = Setup(wheel, eng, tmp / "data", transport=DirectoryTransport(tmp / "mail"), actor="bench")
    runs.event(st, "opfordring", YEAR, _at("2012-01-20T09:00"), send=False)
    forms = tmp / "forms"
    forms.mkdir()
    plan = st.plan(YEAR)
    for d in wheel.deliverables:
        for c in wheel.deliverable_from(d):
            goals = [g.key for g in wheel.goals_for(c)]
            raw = render_docx(st, d.form or "formular", form_context(wheel, plan, d.key, c))
            path = forms / f"{c}-{d.key}.docx"
            path.write_bytes(_fill(raw, goals, c) if goals else raw)
            runs.submit(st, YEAR, c, d.key, path, _at("2012-04-25T10:00"), send=False)
    store_readings(eng, [Reading(g.key, p, 5.0 + k + h, "Illustrative tal", True)
                         for k, g in enumerate(wheel.goals)
                         for h, p in enumerate(("2010-H2", "2011-H1", "2011-H2", "2012-H1"))],
                   _at("2012-07-01T09:00"))
    store_decisions(eng, YEAR, [Decision(c.key, f"Initiativ 0 ({c.key})", None, None, "yes")
                                for c in wheel.committees], "budget.csv", _at("2012-10-01T09:00"))
    return st


def _status(st: Any) -> bytes:
    from flows.services.report_data import gather
    from letters.reports.status_report import status_report_docx

    return status_report_docx(gather(st, YEAR, _at("2012-08-15T09:00")))


def _overview(st: Any) -> bytes:
    from flows.services.report_data import gather
    from letters.reports.budget_overview import budget_overview_docx

    return budget_overview_docx(gather(st, YEAR, _at("2012-10-08T09:00"), with_budget=True))


def run() -> list[Result]:
    from models.config import load
    from tests.bench.bench_letters import build_wheel

    out: list[Result] = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        small = tmp / "seven"
        small.mkdir()
        st = _year(load(ROOT / "aarshjul.yaml").wheel, small)
        _status(st)  # warm: imports, matplotlib font cache, template cache
        c0 = time.process_time()
        s7 = median_seconds(lambda: _status(st), repeat=3)
        cpu7 = (time.process_time() - c0) / 3
        out.append(Result("status report, 7 committees, 6 charts", s7, "s", budget=3.0))
        out.append(Result("  the same, CPU time of this process", cpu7, "s",
                          note="wall time above includes waiting for a shared CPU"))
        big = tmp / "hundred"
        big.mkdir()
        st100 = _year(build_wheel(100), big)
        t0, c0 = time.perf_counter(), time.process_time()
        raw = _status(st100)
        s100, cpu100 = time.perf_counter() - t0, time.process_time() - c0
        out.append(Result("status report, 100 committees (200 forms read back), 6 charts",
                          s100, "s", budget=15.0))
        out.append(Result("  the same, CPU time of this process", cpu100, "s"))
        out.append(Result("status report size, 100 committees", len(raw) / 1024, "KB"))
        t0 = time.perf_counter()
        _overview(st100)
        out.append(Result("budget overview, 100 committees", time.perf_counter() - t0, "s"))
        st.db.dispose()
        st100.db.dispose()
    return out


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(f"{r.name}: {r.value:.2f} {r.unit} (budget {r.budget})")
