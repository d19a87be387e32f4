"""Live operation: the local Prefect server, serve's start-up and stop, the wake-up plan."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result, median_seconds

_TRAVEL = """\
import sys
from datetime import datetime

import time_machine

time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
from flows.cli import main

sys.argv = ["aarshjul", *sys.argv[2:]]
main()
"""


def _server_start(home: Path) -> tuple[float, float]:
    from flows.prefect_server import start_local_server

    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    t0 = time.perf_counter()
    srv = start_local_server(port=None, env=env, timeout=300)
    up = time.perf_counter() - t0
    t1 = time.perf_counter()
    srv.stop()
    return up, time.perf_counter() - t1


def _serve_cycle(tmp: Path, api: str) -> tuple[float, float]:
    """serve against a running server: start to "scheduled", and SIGTERM to exit."""
    script = tmp / "travel.py"
    script.write_text(_TRAVEL, encoding="utf-8")
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}",
        "AARSHJUL_DATA_DIR": str(tmp / "data"),
    }
    env.pop("AARSHJUL_SMTP_URL", None)
    log = tmp / "serve.log"
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [PY, str(script), "2012-04-30T09:00:20+02:00", "serve", "--config",
             str(ROOT / "aarshjul.yaml")],
            env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        while "scheduled " not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                raise RuntimeError(log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        ready = time.perf_counter() - t0
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        return ready, time.perf_counter() - t1
    finally:
        if proc.poll() is None:
            proc.kill()


def run() -> list[Result]:
    from flows.prefect_server import start_local_server
    from flows.serve import wakes
    from models.config import load

    wheel = load(ROOT / "aarshjul.yaml").wheel
    tz = wheel.policy.tz
    plan_s = median_seconds(lambda: wakes(wheel, datetime(2010, 12, 31, tzinfo=tz)), repeat=5)
    n = len(wakes(wheel, datetime(2010, 12, 31, tzinfo=tz)))

    with tempfile.TemporaryDirectory(prefix="aarshjul-bench-ops-") as d:
        tmp = Path(d)
        cold_up, stop1 = _server_start(tmp / "home")
        warm_up, stop2 = _server_start(tmp / "home")
        env = {**os.environ, "PREFECT_HOME": str(tmp / "home"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        srv = start_local_server(port=None, env=env, timeout=300)
        try:
            ready, stop_serve = _serve_cycle(tmp, srv.api_url)
        finally:
            srv.stop()
    return [
        Result("prefect server start, fresh PREFECT_HOME (to healthy)", cold_up, "s"),
        Result("prefect server start, existing PREFECT_HOME", warm_up, "s"),
        Result("prefect server stop (SIGTERM to exit)", max(stop1, stop2), "s"),
        Result("serve start to scheduled (catch-up chase incl.)", ready, "s",
               note="against a running server, SQLite, empty state"),
        Result("serve SIGTERM to exit 0", stop_serve, "s"),
        Result(f"wake-up plan, whole policy ({n} wake-ups)", plan_s * 1000, "ms"),
    ]
