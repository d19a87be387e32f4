"""Two real workers drill: one of two ``prefect worker`` processes killed mid-batch.

A real local Prefect server (basic auth on, a temporary ``PREFECT_HOME``, analytics off), a
generated wheel of :data:`COMMITTEES` committees deployed with ``aarshjul deploy``, a fresh
PostgreSQL database for the state, and two ``prefect worker start`` processes on one pool.
The January letters (``aarshjul-event/opfordring``, next year) are run through the
deployment; the test SMTP server answers each message after a pause, so the batch takes a
while. When a third of the letters has arrived, the worker that runs the flow run is killed
with SIGKILL, and with it its flow-run process (a machine that dies takes both; Prefect
starts the flow run in a session of its own, so a kill of the worker alone leaves it
running).

What the operator then sees, and does (README "Drills"): the flow run stays ``Running`` in
the UI (nothing is left to report its end); the letters sent so far are ``sent`` in the
outbox, the rest wait (``pending``), and the one in flight at the kill is ``sending``. The
operator marks the dead run ``Crashed`` (the UI's "Change state", here the client's
``set_flow_run_state``) and runs the deployment again with the same parameters; the other
worker takes it. The rerun sends what waited, resends the one in flight once under its own
Message-ID (flagged uncertain, the coordinator alerted) and sends no letter twice under two
Message-IDs.

Result, against a clean run of the same event in this process: the same logical messages,
each delivered, none under two Message-IDs, every second copy flagged uncertain, every
request opened once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import ROOT
from tests.dbtools import temp_postgres
from tests.flows.drilltools import logical, read_state
from tests.smtpd import ScriptedHandler, serve

BIN = Path(sys.executable).parent
COMMITTEES = 60  # generated (plus BIU, the owner, which writes no letter to itself)
YEAR = 2027
ANSWER_PAUSE_S = 0.25  # the server's pause before each 250: the batch takes ~15 s
KILL_AFTER = 20  # letters arrived when the worker is killed
POOL = "drill"
DEPLOYMENT = "aarshjul-event/opfordring"


@dataclass
class SlowHandler(ScriptedHandler):
    """Every message kept at once and answered after :data:`ANSWER_PAUSE_S`."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(ANSWER_PAUSE_S)
        return answer


def wheel(tmp: Path) -> Path:
    from tests.bench.bench_flows import generated_wheel

    text = generated_wheel(COMMITTEES)
    assert "years: [2011, 2014]" in text
    out = tmp / "aarshjul.yaml"
    out.write_text(text.replace("years: [2011, 2014]", "years: [2011, 2028]"), encoding="utf-8")
    return out


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 400) -> str:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), whatever its session."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@contextmanager
def worker(name: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process",
             "--name", name], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        yield proc
    finally:
        for pid in [*descendants(proc.pid), proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(30)


def _wait(what: str, until: Any, timeout: float, poll: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = until()
        if got:
            return got
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def _final(client: Any, flow_run_id: Any, timeout: float = 400) -> Any:
    def done() -> Any:
        fr = client.read_flow_run(flow_run_id)
        return fr if fr.state is not None and fr.state.is_final() else None

    return _wait(f"flow run {flow_run_id} to end", done, timeout, poll=1.0)


def clean_run(cfg: Path, tmp: Path) -> tuple[Counter[tuple[str, ...]], Any]:
    """The same event, once, in this process (no Prefect, no kill): the messages and state."""
    from typer.testing import CliRunner

    from flows.cli import app

    db = f"sqlite:///{tmp / 'clean.sqlite'}"
    with serve() as smtp:
        env: dict[str, str | None] = {
            "AARSHJUL_DATABASE_URL": db, "AARSHJUL_DATA_DIR": str(tmp / "clean-data"),
            "AARSHJUL_SMTP_URL": smtp.url, "PREFECT_API_URL": None}
        res = CliRunner().invoke(app, ["run", "opfordring", "--year", str(YEAR), "--config",
                                       str(cfg)], env=env)
        assert res.exit_code == 0, (res.output, res.exception)
        got = Counter(logical(r.message) for r in smtp.handler.received)
    return got, read_state(db)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1500)
def test_two_workers_one_killed_mid_batch(tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Crashed

    from flows.prefect_auth import generated_credential
    from flows.prefect_server import start_local_server, use_api

    cfg = wheel(tmp_path)
    want, clean = clean_run(cfg, tmp_path)
    assert len(want) >= COMMITTEES and set(want.values()) == {1}  # the owner has none

    home = tmp_path / "prefect-home"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AARSHJUL_", "PREFECT_API"))}
    base.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    credential = generated_credential(home)
    srv = start_local_server(port=None, env=base, log=tmp_path / "server.log", timeout=240,
                             credential=credential)
    t0 = time.monotonic()
    figures: dict[str, Any] = {"committees": COMMITTEES + 1, "letters": len(want)}
    try:
        with temp_postgres() as db_url, serve(SlowHandler()) as smtp:
            env = {**base, **credential.client_env(), "PREFECT_API_URL": srv.api_url,
                   "AARSHJUL_DATABASE_URL": db_url, "AARSHJUL_DATA_DIR": str(tmp_path / "data"),
                   "AARSHJUL_SMTP_URL": smtp.url, "AARSHJUL_CONFIG": str(cfg),
                   "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_LOGGING_LEVEL": "INFO"}
            out = _run([str(BIN / "aarshjul"), "deploy", "--pool", POOL, "--config", str(cfg)],
                       env, tmp_path)
            assert DEPLOYMENT in out
            with use_api(srv.api_url, credential), get_client(sync_client=True) as client, \
                    worker("w1", env, tmp_path / "w1.log") as w1, \
                    worker("w2", env, tmp_path / "w2.log") as w2:
                first = run_deployment(name=DEPLOYMENT, parameters={"year": YEAR}, timeout=0)
                _wait(f"{KILL_AFTER} letters", lambda: len(smtp.handler.received) >= KILL_AFTER,
                      300)
                # the worker whose child runs the flow: kill it and its flow-run process
                running = [w for w in (w1, w2) if descendants(w.pid)]
                assert len(running) == 1, "one worker runs the flow run"
                (dead,) = running
                alive = w2 if dead is w1 else w1
                for pid in [*descendants(dead.pid), dead.pid]:
                    os.kill(pid, signal.SIGKILL)
                dead.wait(30)
                at_kill = len(smtp.handler.received)
                figures["received_at_kill"] = at_kill
                time.sleep(2 * ANSWER_PAUSE_S)
                stale = client.read_flow_run(first.id)
                assert stale.state is not None and stale.state.is_running(), stale.state
                outbox = Counter(r["status"] for r in read_state(db_url).outbox)
                figures["outbox_at_kill"] = dict(outbox)
                assert outbox["pending"] > 0  # mid-batch: letters wait
                # the operator: the dead run marked crashed, the deployment run again
                client.set_flow_run_state(first.id, Crashed(message="worker killed (drill)"),
                                          force=True)
                again = run_deployment(name=DEPLOYMENT, parameters={"year": YEAR}, timeout=0)
                done = _final(client, again.id)
                assert done.state is not None and done.state.is_completed(), done.state
                assert alive.poll() is None
                figures["seconds"] = round(time.monotonic() - t0, 1)
            received = list(smtp.handler.received)
            state = read_state(db_url)
    finally:
        srv.stop()

    by_mid = Counter(r.message_id for r in received)
    mids_of: dict[tuple[str, ...], set[str]] = {}
    for r in received:
        mids_of.setdefault(logical(r.message), set()).add(r.message_id)
    letters = {k: v for k, v in mids_of.items() if k[0] != "alert"}
    # the same logical messages as the clean run, each under one Message-ID
    assert set(letters) == set(want), (set(want) - set(letters), set(letters) - set(want))
    assert all(len(v) == 1 for v in letters.values())
    rows = {r["message_id"]: r for r in state.outbox}
    assert set(by_mid) == set(rows)
    assert {r["status"] for r in state.outbox} == {"sent"}
    resent = {m for m, n in by_mid.items() if n > 1}
    assert all(rows[m]["uncertain"] for m in resent) and all(n <= 2 for n in by_mid.values())
    assert {rows[m]["key"] for m in resent} <= {k for k, kind in state.alerts
                                                if kind == "uncertain"}
    assert {r[:4] for r in state.requests} == {r[:4] for r in clean.requests}
    figures.update(received=len(received), resent_same_message_id=len(resent),
                   flagged_uncertain=sum(bool(r["uncertain"]) for r in state.outbox))
    (tmp_path / "two-workers.json").write_text(json.dumps(figures, indent=2))
    print(f"\ntwo workers drill: {json.dumps(figures)}")
