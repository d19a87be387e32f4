"""The non-letter events and the submission path as the engine runs them (no Prefect):

- the ``barometer`` event for the Copenhagen wheel (6 goals, 3 readings each): 6 PNG charts
  and the snapshot; budget 5 s (warm, median of 3);
- the ``meeting`` event (the .ics invitation for 7 committees); budget 0.2 s;
- ``status`` reading back what was submitted: :func:`flows.services.readings.submission_readings`
  over 14 stored forms (7 committees x 2 deliverables); budget 1 s.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.bench import Result, median_seconds


def run() -> list[Result]:
    from sqlmodel import Session

    from flows import runs
    from flows.services.readings import submission_readings
    from flows.services.submissions import register_submission
    from models.state import BarometerReading
    from tests.bench.bench_intake import _filled_form
    from tests.dbtools import database
    from tests.flows.helpers import at, make_setup

    out: list[Result] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with database("sqlite", tmp) as eng:
            st = make_setup(eng, tmp)
            st.documents = tmp / "documents"
            with Session(eng) as s:
                for g in st.wheel.goals:
                    for i, p in enumerate(("2010-H2", "2011-H1", "2011-H2")):
                        s.add(
                            BarometerReading(
                                goal=g.key,
                                period=p,
                                value=5.0 + i,
                                source="Illustrative tal", illustrative=True,
                                recorded_at=datetime.now(UTC),
                            )
                        )
                s.commit()
            when = at("2012-01-10T09:00")
            runs.event(st, "barometer-januar", 2012, when)  # warm: matplotlib, fonts
            t = median_seconds(lambda: runs.event(st, "barometer-januar", 2012, when), 3)
            out.append(
                Result("barometer event (6 charts + snapshot)", t, "s", 5.0, note="warm median")
            )
            mt = at("2012-03-15T09:00")
            runs.event(st, "konference", 2012, mt)
            t = median_seconds(lambda: runs.event(st, "konference", 2012, mt), 7)
            out.append(Result("meeting event (.ics, 7 committees)", t, "s", 0.2))

            runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"), send=False)
            form = tmp / "form.docx"
            form.write_bytes(_filled_form())
            for c in st.plan(2012).event("opfordring").to:
                for dkey in ("handleplan", "redegoerelse"):
                    register_submission(st, 2012, c, dkey, form, at("2012-04-20T10:00"))
            n = len(submission_readings(st, 2012))
            t = median_seconds(lambda: submission_readings(st, 2012), 5)
            out.append(Result(f"status: read back {n} stored forms", t, "s", 1.0))
    return out
