"""The coordinator's desk: an action created in the UI, carried out by serve; the digest of a
year with 1,000 committees.

- from ``POST /deployments/{id}/create_flow_run`` (what the UI's Submit does) to the run
  being Completed, with ``aarshjul serve`` running against a running server: a dry run (the
  UI's default) and a real extension (budget 5 s each);
- the digest of a 1,000-committee year (2,000 requests, a chase behind them, some excused
  and extended), gathered, written and queued: ``runs.digest`` (budget 2 s).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.deploy import DESK
from tests import ROOT
from tests.bench import PY, Result


def _api(url: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _until_done(api: str, run_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _api(f"{api}/flow_runs/{run_id}")["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return str(state)
        time.sleep(0.05)
    return "TIMEOUT"


def _ui_action(tmp: Path) -> tuple[list[float], float]:
    from flows.prefect_server import start_local_server
    from models.config import load
    from models.plan import calendar_for

    env = {**os.environ, "PREFECT_HOME": str(tmp / "home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("AARSHJUL_SMTP_URL", None)
    srv = start_local_server(port=None, env=env, timeout=300)
    cfg = tmp / "aarshjul.yaml"
    cfg.write_text((ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
        "years: [2011, 2014]", "years: [2011, 2028]"), encoding="utf-8")
    year = datetime.now().year
    app = {**env, "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}",
           "AARSHJUL_DATA_DIR": str(tmp / "data")}
    exe = str(Path(PY).with_name("aarshjul"))
    subprocess.run([exe, "run", "opfordring", "--year", str(year), "--as-of",
                    f"{year}-01-20T09:00", "--config", str(cfg)], env=app, check=True,
                   capture_output=True)
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([exe, "serve", "--config", str(cfg)],
                                env={**app, "PREFECT_API_URL": srv.api_url},
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while f"serving {len(DESK)} deployments" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        deps = _api(f"{srv.api_url}/deployments/filter", {})
        extend = next(d for d in deps if d["name"] == "forlaeng")
        cal = calendar_for(load(cfg).wheel)
        until = cal.roll(date.today() + timedelta(days=21), "next").isoformat()

        def once(dry_run: bool) -> float:
            t0 = time.perf_counter()
            run = _api(f"{srv.api_url}/deployments/{extend['id']}/create_flow_run", {
                "parameters": {"year": year, "committee": "TMU", "deliverable": "handleplan",
                               "until": until, "dry_run": dry_run}})
            state = _until_done(srv.api_url, run["id"])
            if state != "COMPLETED":
                raise RuntimeError(f"the run ended {state}")
            return time.perf_counter() - t0

        dry = [once(True) for _ in range(3)]
        real = once(False)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        srv.stop()
    return dry, real


def _digest_1000(tmp: Path) -> float:
    from flows import runs
    from flows.services.setup import Setup, open_database
    from letters.delivery import DirectoryTransport
    from models.config import loads

    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    extra = "".join(f"  - key: X{i:04d}\n    name: Udvalg {i}\n    to: [x{i}@kk.example]\n"
                    for i in range(993))
    text = text.replace("\nfocus_areas:", extra + "\nfocus_areas:", 1)
    text = text.replace("    to: [OEU, BUU, KFU, SUU, SOU, TMU, BIU]\n    opens:", "    opens:", 1)
    text = text.replace("    from: [OEU, BUU, KFU, SUU, SOU, TMU, BIU]\n", "", 2)
    wheel = loads(text).wheel
    st = Setup(wheel, open_database(f"sqlite:///{tmp / 'big.sqlite'}"), tmp / "data",
               DirectoryTransport(tmp / "mailbox"))
    tz = wheel.policy.tz
    runs.event(st, "opfordring", 2012, datetime(2012, 1, 20, 9, tzinfo=tz))
    runs.chase(st, datetime(2012, 4, 24, 9, tzinfo=tz))
    for i in range(0, 40, 2):
        runs.excuse(st, 2012, f"X{i:04d}", "handleplan", datetime(2012, 4, 25, 10, tzinfo=tz))
        runs.extend(st, 2012, f"X{i + 1:04d}", "handleplan", date(2012, 5, 11),
                    datetime(2012, 4, 25, 10, tzinfo=tz))
    t0 = time.perf_counter()
    report = runs.digest(st, datetime(2012, 4, 30, 9, tzinfo=tz))
    took = time.perf_counter() - t0
    if len(report.messages) != 1:
        raise RuntimeError(f"no digest: {report.notes}")
    return took


def run() -> list[Result]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        dry, real = _ui_action(Path(d))
    out.append(Result("desk: extension from a UI-created run to done (dry run, median of 3)",
                      statistics.median(dry), "s", 5.0, note="serve's desk, running server"))
    out.append(Result("desk: extension from a UI-created run to done (carried out)", real, "s",
                      5.0, note="state, audit, notice sent"))
    with tempfile.TemporaryDirectory() as d:
        took = _digest_1000(Path(d))
    out.append(Result("desk: the digest of a year with 1,000 committees", took, "s", 2.0,
                      note="2,000 requests, gathered, written, queued, sent"))
    return out
