"""The year in motion: simulate whole-process, the chase at 10,000 open requests, and a
generated wheel of 1,000 and 2,000 committees.

- ``aarshjul simulate --year 2012`` (Copenhagen, the bundled scenario) as a whole process,
  against a running local Prefect server (budget 30 s) and when it must start one itself
  (budget 60 s); ``--no-prefect`` as the engine's floor.
- One chase over 10,000 open requests, sending excluded: planning (which slot of which
  request is due) with every request due, budget 2 s; building and queueing messages is
  reported per message.
- A full year for generated wheels of 1,000 committees (budget 180 s) and 2,000 (at most
  2.3x the 1,000 time), peak RSS of the simulate process at most 400 MB, run as flow runs
  against a running local Prefect server, as in production. The flows add a constant
  handful of task runs per event or chase whatever the number of committees
  (tests/flows/test_workflows.py); the 1,000-committee year without Prefect
  (``--no-prefect``) is reported next to it. ``AARSHJUL_BENCH_QUICK=1`` skips these
  (they take several minutes).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result

AARSHJUL = str(Path(PY).with_name("aarshjul"))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AARSHJUL_", "PREFECT_API"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def generated_wheel(n: int) -> str:
    """The Copenhagen wheel with ``n`` generated committees (all in letters and requests)."""
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    head, rest = text.split("\ncommittees:\n", 1)
    _, tail = rest.split("\nfocus_areas:", 1)
    committees = "".join(
        f"  - key: U{i:04d}\n    name: Udvalg {i}\n    to: [u{i}@kk.example]\n" for i in range(n)
    )
    committees += (
        "  - key: BIU\n    name: Beskæftigelses- og Integrationsudvalget\n"
        "    to: [biu-sekretariat@bif.kk.example]\n"
    )
    tail = re.sub(r"\n    from: \[[^\]]*\]", "", tail)
    tail = re.sub(r"\n    to: \[[^\]]*\]", "", tail)
    tail = re.sub(r"committees: \[[^\]]*\]", "committees: [BIU]", tail)
    return f"{head}\ncommittees:\n{committees}\nfocus_areas:{tail}"


def bench_simulate(tmp: Path) -> list[Result]:
    from flows.prefect_server import start_local_server

    config = str(ROOT / "aarshjul.yaml")
    base = [AARSHJUL, "simulate", "--year", "2012", "--config", config]
    floor = _timed([*base, "--out", str(tmp / "o0"), "--no-prefect"], _env())
    home = tmp / "prefect-home"
    server = start_local_server(port=None, env=_env(PREFECT_HOME=str(home)))
    try:
        env = _env(PREFECT_HOME=str(home), PREFECT_API_URL=server.api_url)
        _timed([*base, "--out", str(tmp / "warm")], env)  # warm the server's database
        running = _timed([*base, "--out", str(tmp / "o1")], env)
    finally:
        server.stop()
    cold = _timed([*base, "--out", str(tmp / "o2")], _env(PREFECT_HOME=str(tmp / "home2")))
    return [
        Result("simulate 2012, engine only (--no-prefect)", floor, "s"),
        Result(
            "simulate 2012, running local Prefect server",
            running,
            "s",
            budget=30.0,
            note=f"server started in {server.started_in_s:.1f} s beforehand",
        ),
        Result("simulate 2012, starts its own Prefect server", cold, "s", budget=60.0),
    ]


def bench_chase(tmp: Path, n_committees: int = 5000) -> list[Result]:
    """10,000 open requests (5,000 committees x 2 deliverables), all with a slot due."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlmodel import Session

    from flows.services.chase import plan_chase
    from flows.services.outbox import enqueue_actions
    from flows.services.setup import Setup
    from letters.delivery import DirectoryTransport
    from models.config import loads
    from models.db import make_engine, upgrade
    from models.plan import year_plan
    from models.state import Request

    cph = ZoneInfo("Europe/Copenhagen")
    loaded = loads(generated_wheel(n_committees))
    db = make_engine(f"sqlite:///{tmp / 'chase.sqlite'}")
    upgrade(db)
    opened = datetime(2012, 1, 20, 9, tzinfo=cph)
    plan = year_plan(loaded.wheel, 2012)
    loaded_due = {d: plan.deliverable(d).due for d in ("handleplan", "redegoerelse")}
    with Session(db) as s:
        for d in ("handleplan", "redegoerelse"):
            for c in loaded.wheel.committees:
                s.add(
                    Request(
                        year=2012,
                        deliverable=d,
                        committee=c.key,
                        opened_by="opfordring",
                        opened_at=opened,
                        due=loaded_due[d],  # as the letter that opens it records it
                    )
                )
        s.commit()
    st = Setup(loaded.wheel, db, tmp / "data", transport=DirectoryTransport(tmp / "box"))
    as_of = datetime(2012, 5, 2, 9, tzinfo=cph)  # after-1 of handleplan, before-14 of the other
    plan_chase(st, as_of)  # warm the caches of the plan
    t0 = time.perf_counter()
    actions = plan_chase(st, as_of)
    planning = time.perf_counter() - t0
    n = len(actions)
    sample = actions[:500]
    t0 = time.perf_counter()
    enqueue_actions(st, sample, as_of)
    per_message = (time.perf_counter() - t0) / len(sample)
    db.dispose()
    return [
        Result(f"chase planning over {n:,} open requests (all due)", planning, "s", budget=2.0),
        Result(
            "chase build+enqueue per message (500 reminders)",
            per_message * 1000,
            "ms",
            note="slot state + outbox row in one transaction",
        ),
    ]


# Runs the aarshjul entry point in this interpreter and, at exit, writes the process's own
# VmHWM to the file named by argv[1]. Not RUSAGE_CHILDREN: on Linux a child's ru_maxrss
# starts from the parent's high-water mark at fork (vfork/exec keep it), so it reported the
# bench process's peak, not the simulate process's.
_PEAK_WRAPPER = """
import atexit, sys
from pathlib import Path
out = Path(sys.argv.pop(1))
def _peak():
    from tests.bench import peak_rss_mb
    out.write_text(f"{peak_rss_mb():.1f}")
atexit.register(_peak)
sys.argv[0] = "aarshjul"
from flows.cli import main
main()
"""


def _year(n: int, tmp: Path, env: dict[str, str] | None) -> tuple[float, float]:
    """Whole-process time and peak RSS (MB) of a full simulated year for ``n`` committees.

    ``env`` names a running Prefect server (the year runs as flow runs, as in production);
    None runs the engine alone (``--no-prefect``, the floor).
    """
    wheel = tmp / f"wheel-{n}.yaml"
    wheel.write_text(generated_wheel(n), encoding="utf-8")
    scenario = tmp / "empty.yaml"
    scenario.write_text("submissions: []\n")
    flag = "prefect" if env is not None else "engine"
    peak = tmp / f"peak-{n}-{flag}.txt"
    t0 = time.perf_counter()
    subprocess.run(
        [
            PY,
            "-c",
            _PEAK_WRAPPER,
            str(peak),
            "simulate",
            "--year",
            "2012",
            "--config",
            str(wheel),
            "--scenario",
            str(scenario),
            "--out",
            str(tmp / f"year-{n}-{flag}"),
            *([] if env is not None else ["--no-prefect"]),
        ],
        env={**(env if env is not None else _env()), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    seconds = time.perf_counter() - t0
    return seconds, float(peak.read_text())


def bench_year(tmp: Path) -> list[Result]:
    """1,000 and 2,000 committees as flow runs on a running local server; 1,000 engine-only."""
    from flows.prefect_server import start_local_server

    home = tmp / "prefect-home-year"
    server = start_local_server(port=None, env=_env(PREFECT_HOME=str(home)))
    try:
        env = _env(PREFECT_HOME=str(home), PREFECT_API_URL=server.api_url)
        t1, rss1 = _year(1000, tmp, env)
        t2, rss2 = _year(2000, tmp, env)
    finally:
        server.stop()
    t0, rss0 = _year(1000, tmp, None)
    return [
        Result("full year, 1,000 generated committees (flow runs)", t1, "s", budget=180.0,
               note="as flow runs on a running local Prefect server"),
        Result(
            "full year, 2,000 generated committees / 1,000",
            t2 / t1,
            "x",
            budget=2.3,
            note=f"{t2:.1f} s",
        ),
        Result("peak RSS of the simulate process, 2,000 committees", max(rss1, rss2), "MB",
               budget=400.0, note=f"1,000: {rss1:.0f} MB"),
        Result("full year, 1,000 committees, engine only (--no-prefect)", t0, "s",
               note=f"peak RSS {rss0:.0f} MB; the flows add {t1 - t0:.0f} s"),
    ]


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="aarshjul-bench-flows-") as d:
        tmp = Path(d)
        results = bench_chase(tmp)
        if os.environ.get("AARSHJUL_BENCH_QUICK") != "1":
            results += bench_year(tmp)
        results += bench_simulate(tmp)
        return results
