"""Records: ``aarshjul purge --dry-run`` over a year of 1,000 committees (README "Data
protection"), budget 10 s as a whole process.

The year is made by ``tests.bench.bigyear`` (1,001 committees, 2,002 requests, about 7,000
messages with their journal copies, 1,800 submissions, 8,800 audit entries), and purged as
of 2030 so that every kind has everything to list: the dry run reads every sent message's
body from the database (to size what slimming would free) and the whole journal index.
The in-process figures split it: finding what is past retention, and the real purge
(on a copy of the year).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests import CPH
from tests.bench import Result, process_median
from tests.bench.bench_flows import AARSHJUL, generated_wheel
from tests.bench.bigyear import big_year


def run() -> list[Result]:
    from flows.services.purge import apply_purge, plan_purge
    from letters.journal import Journal
    from models.db import make_engine
    from models.wheel import Retention

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        t0 = time.perf_counter()
        year = big_year(tmp, n=1000)
        made = time.perf_counter() - t0
        config = tmp / "aarshjul.yaml"
        config.write_text(generated_wheel(1000), encoding="utf-8")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AARSHJUL_", "PREFECT_API"))}
        env.update(AARSHJUL_DATABASE_URL=year.db_url, AARSHJUL_DATA_DIR=str(year.data))
        cmd = [AARSHJUL, "purge", "--dry-run", "--as-of", "2030-01-01T09:00", "--config",
               str(config)]
        whole = process_median(cmd, repeat=1, env=env)
        as_of = datetime(2030, 1, 1, 9, tzinfo=CPH)
        eng = make_engine(year.db_url)
        t0 = time.perf_counter()
        plan = plan_purge(eng, year.data, Journal(year.data / "journal"), Retention(), as_of)
        planned = time.perf_counter() - t0
        eng.dispose()
        copy = tmp / "copy"
        shutil.copytree(year.data, copy / "data")
        shutil.copy(tmp / "bigyear.sqlite", copy / "bigyear.sqlite")
        eng = make_engine(f"sqlite:///{copy / 'bigyear.sqlite'}")
        journal = Journal(copy / "data" / "journal")
        plan = plan_purge(eng, copy / "data", journal, Retention(journal_days=0), as_of)
        t0 = time.perf_counter()
        apply_purge(eng, journal, plan, actor="bench")
        applied = time.perf_counter() - t0
        eng.dispose()
    note = f"{year.described}; made in {made:.1f} s"
    return [
        Result("purge --dry-run, 1,000 committees (whole process)", whole, "s", budget=10.0,
               note=note),
        Result("purge: finding what is past retention, 1,000 committees", planned, "s"),
        Result("purge: removing it all (journal too), 1,000 committees", applied, "s"),
    ]
