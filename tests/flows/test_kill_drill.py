"""Whole-process kill -9 drill: the real CLI killed at seeded random instants, then rerun.

A year of the Copenhagen wheel (two letters events, the chases of the reminder ladder and a
few hand-ins) is played as a list of :class:`Step` s, each one verb of the real CLI
(``.venv/bin/aarshjul run|chase|submit ...``) started as a process of its own against a test
SMTP server. Each cycle starts the current step and, by a plan drawn from a seeded
``random.Random``, kills the whole process group with SIGKILL:

- ``clock``: at a random instant after the start (anywhere: imports, the migration, the
  build, the enqueue, the send, the commit);
- ``data``: when the server gets the n-th message of the process, either before it answers
  (the message is kept, the sender never hears the 250) or a few milliseconds after the
  answer (between the 250 and the commit, or just after it);
- ``none``: not at all.

A killed step is rerun by the next cycle (the operator reruns the verb); a finished one must
exit 0, and the next cycle goes on with the next step. The wheel's years are begun one after
another while cycles are left; after the last cycle, the rest of the year begun runs without
a kill (the "clean finish").

The same steps are also run once, in this process through the CLI runner, against a second
server and database: the reference. Then, for the drill:

- 0 lost: every logical message of the reference arrived at least once;
- 0 duplicates: no logical message arrived under two Message-IDs, and nothing arrived that
  the reference does not have (an alert to the coordinator aside);
- every Message-ID that arrived more than once is on an outbox row flagged uncertain, with an
  ``uncertain`` alert;
- state consistent: every outbox row sent (or uncertain twice: arrived, never sent a third
  time) and unclaimed; the journal holds each sent row once under its Message-ID; the
  requests, their slot states and the submissions are the reference's.

The two backends are drilled at once, one process each at a time (the machine has two
cores). The counts (cycles, kills by plan, resends flagged) are printed (``pytest -s``) and
written to ``drill.json`` in the test's temporary folder. README "Drills" has the figures.

Adding a verb (e.g. ``intake`` once it exists): one entry in :data:`VERBS` (its argv from
the step's arguments) and its steps in :func:`year_steps`; the checks need no change.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import ROOT
from tests.dbtools import temp_postgres
from tests.flows.drilltools import logical, read_state
from tests.smtpd import ScriptedHandler, Server, serve

AARSHJUL = str(Path(sys.executable).with_name("aarshjul"))
SEED = 20261202
CYCLES = 100  # per backend
CLOCK_KILL_S = (0.05, 2.5)  # a "clock" kill falls uniformly in this window after the start
STEP_TIMEOUT_S = 120


@dataclass(frozen=True)
class Step:
    verb: str
    args: tuple[str, ...]

    def label(self) -> str:
        return " ".join((self.verb, *self.args))


# verb -> its argv (after ``aarshjul``) from a step's arguments; README "Drills".
VERBS: dict[str, Callable[[Step, Path], list[str]]] = {
    "run": lambda s, cfg: ["run", *s.args, "--config", str(cfg)],
    "chase": lambda s, cfg: ["chase", *s.args, "--config", str(cfg)],
    "submit": lambda s, cfg: ["submit", *s.args, "--config", str(cfg)],
}


def year_steps(year: int, forms: Path) -> list[Step]:
    """One year: letters, the ladder's chases (before, after, escalation) and hand-ins."""

    def submit(committee: str, deliverable: str, at: str) -> Step:
        return Step("submit", (str(forms / f"{committee}-{deliverable}-{year}.docx"), "--year",
                               str(year), "--committee", committee, "--deliverable",
                               deliverable, "--at", f"{year}-{at}"))

    def chase(day: str) -> Step:
        return Step("chase", ("--as-of", f"{year}-{day}T09:00"))

    return [
        Step("run", ("opfordring", "--year", str(year), "--as-of", f"{year}-01-20T09:00")),
        Step("run", ("konference-invitation", "--year", str(year), "--as-of",
                     f"{year}-02-15T09:00")),
        chase("04-17"),
        submit("BUU", "handleplan", "04-20T10:00"),
        chase("04-24"),
        submit("KFU", "handleplan", "04-27T11:00"),
        chase("04-30"),
        chase("05-02"),
        submit("SUU", "redegoerelse", "05-03T12:00"),
        chase("05-08"),
        chase("05-14"),
        chase("05-16"),
        chase("05-22"),
        chase("05-29"),
    ]


SUBMITTED = (("BUU", "handleplan"), ("KFU", "handleplan"), ("SUU", "redegoerelse"))
YEARS = (2011, 2012, 2013, 2014)  # the wheel's years, begun one after the other


# --------------------------------------------------------------------------- the server


@dataclass
class Trigger:
    """Kill ``pgid`` when the server gets the ``nth`` message (before its answer, or
    ``delay`` seconds after it)."""

    pgid: int
    nth: int
    before_answer: bool
    delay: float
    seen: int = 0
    fired: bool = False
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fire(self) -> None:
        with self.lock:
            if self.done or self.fired:
                return
            self.fired = True
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@dataclass
class KillingHandler(ScriptedHandler):
    trigger: Trigger | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        t = self.trigger
        if t is not None:
            t.seen += 1
            if t.seen == t.nth:
                if t.before_answer:  # the server keeps it; the sender dies before the 250
                    answer = await super().handle_DATA(server, session, envelope)
                    t.fire()
                    await asyncio.sleep(0.05)
                    return answer
                asyncio.get_running_loop().call_later(t.delay, t.fire)
        return await super().handle_DATA(server, session, envelope)


# --------------------------------------------------------------------------- the drill


@dataclass
class Tally:
    cycles: int = 0
    kills: Counter[str] = field(default_factory=Counter)  # plan -> processes killed
    plans: Counter[str] = field(default_factory=Counter)  # plan -> cycles drawn
    finished: int = 0  # steps that ran to the end (in the cycles)
    clean: int = 0  # steps of the clean finish
    seconds: float = 0.0


def _env(db_url: str, tmp: Path, smtp_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AARSHJUL_", "PREFECT_API"))}
    env.update(AARSHJUL_DATABASE_URL=db_url, AARSHJUL_DATA_DIR=str(tmp / "data"),
               AARSHJUL_SMTP_URL=smtp_url, PREFECT_HOME=str(tmp / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def _start(step: Step, cfg: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    try:
        return subprocess.Popen([AARSHJUL, *VERBS[step.verb](step, cfg)], env=env, cwd=log.parent,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()


def _cycle(step: Step, cfg: Path, env: dict[str, str], log: Path, handler: KillingHandler,
           plan: tuple[str, float, int, bool]) -> bool:
    """Run ``step`` once under ``plan``; True when it was killed, False when it finished."""
    kind, delay, nth, before = plan
    proc = _start(step, cfg, env, log)
    trigger = None
    if kind == "data":
        trigger = Trigger(proc.pid, nth, before, delay)
        handler.trigger = trigger
    try:
        proc.wait(timeout=delay if kind == "clock" else STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        if kind != "clock":
            raise
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STEP_TIMEOUT_S)
    finally:
        if trigger is not None:
            with trigger.lock:
                trigger.done = True
            handler.trigger = None
    if proc.returncode == -signal.SIGKILL:
        return True
    assert proc.returncode == 0, (
        f"{step.label()} exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
    return False


def _plan(rng: random.Random) -> tuple[str, float, int, bool]:
    r = rng.random()
    if r < 0.35:
        return ("clock", rng.uniform(*CLOCK_KILL_S), 0, False)
    if r < 0.95:
        return ("data", rng.uniform(0.0, 0.03), rng.randint(1, 3), rng.random() < 0.5)
    return ("none", 0.0, 0, False)


def drill(years: list[list[Step]], cfg: Path, env: dict[str, str], tmp: Path,
          handler: KillingHandler, rng: random.Random) -> tuple[Tally, list[Step]]:
    """The cycles over the years' steps (a year is begun while cycles are left); then the
    rest of the year begun runs clean. Returns the tally and the steps played."""
    tally = Tally()
    t0 = time.perf_counter()
    steps: list[Step] = []
    i = 0
    pending = list(years)
    while tally.cycles < CYCLES:
        if i == len(steps):
            assert pending, "more cycles than steps: add a year"
            steps += pending.pop(0)
        plan = _plan(rng)
        tally.cycles += 1
        tally.plans[plan[0]] += 1
        killed = _cycle(steps[i], cfg, env, tmp / "cycle.log", handler, plan)
        with (tmp / "cycles.txt").open("a") as f:
            f.write(f"{tally.cycles} {time.perf_counter() - t0:.1f}s {plan} "
                    f"{'killed' if killed else 'done'}: {steps[i].label()}\n")
        if killed:
            tally.kills[plan[0]] += 1
        else:
            tally.finished += 1
            i += 1
    for step in steps[i:]:  # the clean finish
        assert not _cycle(step, cfg, env, tmp / "cycle.log", handler, ("none", 0, 0, False))
        tally.clean += 1
    tally.seconds = time.perf_counter() - t0
    return tally, steps


def reference(steps: list[Step], cfg: Path, env: dict[str, str]) -> None:
    """The same steps, once each, in this process (the CLI runner), nothing killed."""
    from typer.testing import CliRunner

    from flows.cli import app

    runner = CliRunner()
    for step in steps:
        res = runner.invoke(app, VERBS[step.verb](step, cfg), env=env)
        assert res.exit_code == 0, (step.label(), res.output, res.exception)


# --------------------------------------------------------------------------- what is left


def check(tmp: Path, db_url: str, server: Server, ref_db: str, ref_server: Server,
          tally: Tally) -> dict[str, Any]:
    from letters.journal import Journal

    got, ref = read_state(db_url), read_state(ref_db)
    received = list(server.handler.received)
    ref_received = list(ref_server.handler.received)
    by_mid = Counter(r.message_id for r in received)
    rows = {r["message_id"]: r for r in got.outbox}
    mid_of = {r["key"]: r["message_id"] for r in got.outbox}

    # state: every row sent (or uncertain twice, then never sent a third time) and
    # unclaimed, each Message-ID one row, nothing sent outside the outbox
    assert len(rows) == len(got.outbox)
    assert {r["status"] for r in got.outbox} <= {"sent", "uncertain"}
    assert all(r["uncertain"] for r in got.outbox if r["status"] == "uncertain")
    assert all(r["claimed_by"] is None for r in got.outbox)
    assert set(by_mid) == set(rows), "a message arrived that no outbox row holds, or none did"
    # 0 duplicates: one Message-ID per logical message
    mids_of: dict[tuple[str, ...], set[str]] = {}
    for r in received:
        mids_of.setdefault(logical(r.message), set()).add(r.message_id)
    dupes = {k: v for k, v in mids_of.items() if len(v) > 1 and k[0] != "alert"}
    assert not dupes, f"logical messages sent under two Message-IDs: {dupes}"
    # 0 lost, 0 extra: the reference's logical messages, the coordinator's alerts aside
    want = Counter(logical(r.message) for r in ref_received)
    have = {k for k in mids_of if k[0] != "alert"}
    assert set(want) == have, (set(want) - have, have - set(want))
    assert all(n == 1 for n in want.values())
    # every resend under the same Message-ID is flagged uncertain, and alerted
    resent = {m for m, n in by_mid.items() if n > 1}
    assert all(rows[m]["uncertain"] for m in resent)
    assert {rows[m]["key"] for m in resent} <= {k for k, kind in got.alerts
                                                if kind == "uncertain"}
    assert all(n <= 2 for n in by_mid.values()), "a third copy"
    # the journal holds every sent row once, under its Message-ID (a row uncertain twice has
    # no 250 to journal: it is in the outbox, flagged, and in `status`)
    entries = list(Journal(tmp / "data" / "journal").entries())
    keys = [e["key"] for e in entries]
    assert len(keys) == len(set(keys))
    sent = {r["key"] for r in got.outbox if r["status"] == "sent"}
    assert sent <= set(keys) <= {r["key"] for r in got.outbox}
    assert all(e["message_id"] == mid_of[e["key"]] for e in entries)
    # the requests, their slots and the hand-ins are the reference's
    assert got.requests == ref.requests
    assert got.slots == ref.slots
    assert got.submissions == ref.submissions
    assert {(c, d) for c, d, *_ in got.submissions} <= set(SUBMITTED)
    return {
        "cycles": tally.cycles,
        "kills": sum(tally.kills.values()),
        "kills_by_plan": dict(tally.kills),
        "plans": dict(tally.plans),
        "steps_finished_in_cycles": tally.finished,
        "steps_of_clean_finish": tally.clean,
        "logical_messages": len(want),
        "received": len(received),
        "resent_same_message_id": len(resent),
        "flagged_uncertain": sum(bool(r["uncertain"]) for r in got.outbox),
        "alerts_uncertain": sum(kind == "uncertain" for _, kind in got.alerts),
        "seconds": round(tally.seconds, 1),
    }


# --------------------------------------------------------------------------- the test


def make_forms(tmp: Path, cfg: Path) -> Path:
    """The real form of each hand-in, filled in as a committee would send it back."""
    from models.db import make_engine
    from tests.flows.helpers import form_docx, make_setup, wheel_loaded

    forms = tmp / "forms"
    forms.mkdir()
    engine = make_engine(f"sqlite:///{tmp / 'forms.sqlite'}")
    st = make_setup(engine, tmp / "forms-setup", wheel_loaded(cfg.read_text(encoding="utf-8")))
    for year in YEARS:
        for committee, deliverable in SUBMITTED:
            form_docx(st, forms / f"{committee}-{deliverable}-{year}.docx", committee,
                      deliverable, year)
    engine.dispose()
    return forms


@dataclass
class Run:
    """One backend's drill: its database, its server, what it played, what it found."""

    backend: str
    db_url: str
    tmp: Path
    server: Server
    tally: Tally | None = None
    steps: list[Step] = field(default_factory=list)
    error: BaseException | None = None


def _play(run: Run, years: list[list[Step]], cfg: Path) -> None:
    try:
        assert isinstance(run.server.handler, KillingHandler)
        run.tally, run.steps = drill(years, cfg, _env(run.db_url, run.tmp, run.server.url),
                                     run.tmp, run.server.handler,
                                     random.Random(f"{SEED}:{run.backend}"))
    except BaseException as exc:  # re-raised in the test's thread
        run.error = exc


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(3600)
def test_kill_9_drill_on_sqlite_and_postgresql(tmp_path: Path) -> None:
    """Both backends at once (one process each at a time: the machine's two cores)."""
    cfg = tmp_path / "aarshjul.yaml"
    cfg.write_text((ROOT / "aarshjul.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    forms = make_forms(tmp_path, cfg)
    years = [year_steps(y, forms) for y in YEARS]
    for d in ("sqlite", "postgres"):
        (tmp_path / d).mkdir()
    with temp_postgres() as pg_url, serve(KillingHandler()) as s1, \
            serve(KillingHandler()) as s2:
        runs = [Run("sqlite", f"sqlite:///{tmp_path / 'sqlite' / 'state.sqlite'}",
                    tmp_path / "sqlite", s1),
                Run("postgres", pg_url, tmp_path / "postgres", s2)]
        threads = [threading.Thread(target=_play, args=(r, years, cfg)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in runs:
            if r.error is not None:
                raise r.error
        report = {}
        for r in runs:
            assert r.tally is not None
            ref = tmp_path / f"ref-{r.backend}"
            ref.mkdir()
            ref_db = f"sqlite:///{ref / 'state.sqlite'}"
            with serve() as ref_server:
                reference(r.steps, cfg, _env(ref_db, ref, ref_server.url))
                report[r.backend] = check(r.tmp, r.db_url, r.server, ref_db, ref_server,
                                          r.tally)
    (tmp_path / "drill.json").write_text(json.dumps(report, indent=2))
    print(f"\nkill drill: {json.dumps(report)}")
    for counts in report.values():
        assert counts["cycles"] == CYCLES and counts["kills"] >= CYCLES // 2
        assert counts["kills_by_plan"].get("data", 0) >= 10
