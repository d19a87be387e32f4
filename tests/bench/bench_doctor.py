"""`aarshjul doctor`, whole process, all green (budget 1.0 s): a migrated SQLite store with a
fresh heartbeat, a real SMTP server (session and EHLO, no mail), a Prefect-like API that asks
for the credential, and Dovecot (login and select) where it is installed."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result, process_median


def run() -> list[Result]:
    from flows.services.beats import record_beat
    from models.db import make_engine, upgrade
    from tests.flows.test_doctor import PREFECT_SECRET, credential_file, prefect_api
    from tests.imapd import available
    from tests.imapd import serve as imap_serve
    from tests.smtpd import serve as smtp_serve

    aarshjul = str(Path(PY).with_name("aarshjul"))
    with tempfile.TemporaryDirectory() as d, contextlib.ExitStack() as stack:
        tmp = Path(d)
        db = f"sqlite:///{tmp / 'state.sqlite'}"
        engine = make_engine(db)
        upgrade(engine)
        record_beat(engine, "serve", datetime.now(UTC))
        engine.dispose()
        smtp = stack.enter_context(smtp_serve())
        api = stack.enter_context(prefect_api())
        env = {**os.environ, "AARSHJUL_DATABASE_URL": db, "AARSHJUL_DATA_DIR": str(tmp / "data"),
               "AARSHJUL_SMTP_URL": smtp.url, "PREFECT_API_URL": api,
               "AARSHJUL_PREFECT_AUTH_FILE": str(credential_file(tmp, PREFECT_SECRET))}
        what = "database, SMTP, Prefect"
        if available() is None:
            env["AARSHJUL_IMAP_URL"] = stack.enter_context(imap_serve()).url()
            what += ", IMAP"
        else:
            env.pop("AARSHJUL_IMAP_URL", None)
        cmd = [aarshjul, "doctor", "--config", str(ROOT / "aarshjul.yaml")]
        took = process_median(cmd, repeat=7, env=env)
        check = process_median([aarshjul, "check", "--config", str(ROOT / "aarshjul.yaml")],
                               repeat=7, env=env)
        cpu = _cpu_median(cmd, env)
    return [Result("aarshjul doctor, all green (whole process, median of 7)", took, "s",
                   budget=1.0, note=f"{what}; {took / check:.1f}x `check` in the same run"),
            Result("aarshjul doctor, CPU time user+sys (median of 7)", cpu, "s",
                   note="what the wall time is on an idle machine")]


def _cpu_median(cmd: list[str], env: dict[str, str], repeat: int = 7) -> float:
    """The child's user+sys CPU seconds (from ``wait4``): less at the mercy of a loaded
    machine than the wall time."""
    import statistics
    import subprocess

    times = []
    for _ in range(repeat):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0, cmd
        times.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(times)
