"""``aarshjul backup`` and ``restore`` of a year of 1,000 committees (README "Backup and
restore"): the whole verb, in its own process, and the restore's parts."""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result
from tests.bench.bigyear import big_year


def run() -> list[Result]:
    from flows.services.backup import open_archive, restore_database, restore_files
    from models.db import make_engine

    with tempfile.TemporaryDirectory(prefix="aarshjul-bench-backup-") as d:
        tmp = Path(d)
        year = big_year(tmp, n=1000)
        wheel = tmp / "aarshjul.yaml"
        from tests.bench.bench_flows import generated_wheel

        wheel.write_text(generated_wheel(1000), encoding="utf-8")
        env = {**os.environ, "AARSHJUL_DATABASE_URL": year.db_url,
               "AARSHJUL_DATA_DIR": str(year.data)}
        target = tmp / "kopi.tar.gz"
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "flows.cli", "backup", str(target), "--config", str(wheel)],
                       check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        backup_s = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        size_mb = target.stat().st_size / 1e6
        t0 = time.perf_counter()
        archive = open_archive(target, tmp / "unpacked")
        verify_s = time.perf_counter() - t0
        eng = make_engine(f"sqlite:///{tmp / 'restored.sqlite'}")
        t0 = time.perf_counter()
        restored = restore_database(eng, archive)
        db_s = time.perf_counter() - t0
        eng.dispose()
        t0 = time.perf_counter()
        restore_files(archive, tmp / "empty-data")
        files_s = time.perf_counter() - t0
    rows = sum(restored.tables.values())
    note = (f"CPU {cpu_s:.1f} s; {year.described}: {rows} rows in all; archive "
            f"{size_mb:.0f} MB; measured {datetime.now(UTC):%Y-%m-%d}")
    return [
        Result("backup, 1,000 committees (whole process)", backup_s, "s", budget=30.0, note=note),
        Result("restore: unpack and verify the archive", verify_s, "s"),
        Result("restore: the database (SQLite)", db_s, "s"),
        Result("restore: the files into an empty data directory", files_s, "s"),
    ]
