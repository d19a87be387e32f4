"""serve: the schedule from the plan (fake clock), the job store, DST, and a killed serve."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.serve import (
    JOB_PREFIX,
    JOBS_TABLE,
    MISFIRE_GRACE_S,
    Serve,
    chase_period,
    instance_lock,
    schedule_window,
    serve_forever,
    startup_plan,
    wakes,
)
from models.config import load
from tests import CPH, ROOT
from tests.flows.serving import logged, reaped, serve_env, start_travelled, terminate, wait_for

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture(scope="module")
def cph(wheel_file_module: Path):  # type: ignore[no-untyped-def]
    return load(wheel_file_module).wheel


@pytest.fixture(scope="module")
def wheel_file_module() -> Path:
    return ROOT / "aarshjul.yaml"


def _variant(tmp: Path, src: Path, **subs: str) -> Path:
    text = src.read_text(encoding="utf-8")
    for old, new in subs.items():
        assert old in text, old
        text = text.replace(old, new)
    out = tmp / "aarshjul.yaml"
    out.write_text(text, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- the plan


def test_wakes_on_business_days_at_send_time_with_events_first(cph) -> None:  # type: ignore[no-untyped-def]
    got = wakes(cph, datetime(2012, 1, 19, 12, tzinfo=CPH), datetime(2012, 1, 24, 12, tzinfo=CPH))
    assert [w.at for w in got] == [
        datetime(2012, 1, 20, 9, tzinfo=CPH),  # Friday: opfordring + chase
        datetime(2012, 1, 23, 9, tzinfo=CPH),  # Monday (the weekend has none)
        datetime(2012, 1, 24, 9, tzinfo=CPH),
    ]
    assert got[0].events == ((2012, "opfordring"),) and got[0].chase
    assert got[0].name == "opfordring 2012 + rykkerkørsel"
    assert got[1].events == () and got[1].chase
    assert got[0].job_id == f"{JOB_PREFIX}20120120T0800Z"


def test_no_wake_on_easter_holidays_2012(cph) -> None:  # type: ignore[no-untyped-def]
    days = [w.at.date() for w in wakes(
        cph, datetime(2012, 4, 4, 12, tzinfo=CPH), datetime(2012, 4, 11, 12, tzinfo=CPH)
    )]
    # Skærtorsdag 5 Apr, Langfredag 6 Apr, 2. påskedag 9 Apr are holidays.
    assert days == [date(2012, 4, 10), date(2012, 4, 11)]


def test_every_event_of_the_year_has_a_wake(cph) -> None:  # type: ignore[no-untyped-def]
    from models.plan import year_plan

    got = wakes(cph, datetime(2011, 12, 31, tzinfo=CPH), datetime(2012, 12, 31, 23, tzinfo=CPH))
    planned = {(2012, e.key): e.at for e in year_plan(cph, 2012).events}
    seen = {ev: w.at for w in got for ev in w.events}
    assert seen == planned
    assert len({w.at for w in got}) == len(got)  # one job per instant


def test_chase_period_reaches_into_january_after_the_last_year(cph) -> None:  # type: ignore[no-untyped-def]
    start, end = chase_period(cph)
    assert start == date(2011, 1, 1)
    assert end >= date(2014, 12, 31)


def test_dst_copenhagen_autumn_2012_offsets(cph) -> None:  # type: ignore[no-untyped-def]
    got = wakes(cph, datetime(2012, 10, 25, 12, tzinfo=CPH), datetime(2012, 10, 30, 12, tzinfo=CPH))
    assert [(w.at.date(), w.at.utcoffset()) for w in got] == [
        (date(2012, 10, 26), timedelta(hours=2)),
        (date(2012, 10, 29), timedelta(hours=1)),
        (date(2012, 10, 30), timedelta(hours=1)),
    ]


def test_dst_tehran_2012_09_20_2330_occurs_twice_but_wakes_once(
    tmp_path: Path, wheel_file_module: Path
) -> None:
    """Named DST case: in Asia/Tehran 23:00-23:59 on Thursday 20 Sep 2012 happens twice.

    A cron trigger at 23:30 fires twice that evening (the fact in DEVELOPERS.md); serve's
    explicit instants from the plan fire once, at the first occurrence.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger

    cfg = _variant(
        tmp_path, wheel_file_module,
        **{"timezone: Europe/Copenhagen": "timezone: Asia/Tehran", "country: DK": "country: IR",
           'send_time: "09:00"': 'send_time: "23:30"'},
    )
    wheel = load(cfg).wheel
    day = [w for w in wakes(wheel, datetime(2012, 9, 20, tzinfo=TEHRAN),
                            datetime(2012, 9, 21, 12, tzinfo=TEHRAN))]
    assert len(day) == 1
    at = day[0].at
    assert at.fold == 0 and at.utcoffset() == timedelta(hours=4, minutes=30)

    trigger = DateTrigger(run_date=at)
    first = trigger.get_next_fire_time(None, datetime(2012, 9, 20, 12, tzinfo=TEHRAN))
    assert first == at and trigger.get_next_fire_time(first, first) is None

    cron = CronTrigger(hour=23, minute=30, timezone=TEHRAN)
    now, prev, fired = datetime(2012, 9, 20, 12, tzinfo=TEHRAN), None, []
    for _ in range(3):
        prev = cron.get_next_fire_time(prev, now)
        assert prev is not None
        fired.append(prev)
        now = prev
    assert [f.date() for f in fired[:2]] == [date(2012, 9, 20)] * 2  # the trap


def test_schedule_window_keeps_the_next_wake_beyond_the_horizon(cph) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2012, 12, 21, 12, tzinfo=CPH)  # before Christmas: 24-26 Dec closed
    short = schedule_window(cph, now, timedelta(hours=1))
    assert [w.at for w in short] == [datetime(2012, 12, 27, 9, tzinfo=CPH)]
    assert len(schedule_window(cph, now, timedelta(days=35))) > 15
    assert schedule_window(cph, datetime(2026, 11, 22, tzinfo=CPH)) == []


def test_startup_plan_catches_up_recent_events_and_one_chase(cph) -> None:  # type: ignore[no-untyped-def]
    monday = startup_plan(cph, datetime(2012, 1, 23, 10, tzinfo=CPH))
    assert [(y, k) for y, k, _ in monday.events] == [(2012, "opfordring")]
    assert monday.chase and not monday.finished
    assert startup_plan(cph, datetime(2012, 1, 26, 10, tzinfo=CPH)).events == monday.events
    later = startup_plan(cph, datetime(2012, 1, 28, 10, tzinfo=CPH))
    assert later.events == () and later.chase
    over = startup_plan(cph, datetime(2026, 11, 22, 5, tzinfo=CPH))
    assert over.finished and not over.chase and over.events == ()


# --------------------------------------------------------------------------- the job store


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, datetime]] = []
        self.done = threading.Event()

    def event(self, year: int, event: str, as_of: datetime) -> None:
        self.calls.append(("event", (year, event), as_of))

    def chase(self, as_of: datetime) -> None:
        self.calls.append(("chase", None, as_of))
        self.done.set()


def _serve(tmp_path: Path, wheel_file: Path, clock, runner=None) -> Serve:  # type: ignore[no-untyped-def]
    return Serve(
        config=wheel_file,
        wheel=load(wheel_file).wheel,
        database_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
        runner=runner or Recorder(),
        clock=clock,
    )


def test_job_store_persists_and_reconciles(tmp_path: Path, wheel_file: Path) -> None:
    import time_machine

    with time_machine.travel(datetime(2012, 4, 27, 12, tzinfo=CPH), tick=False):
        _job_store_persists_and_reconciles(tmp_path, wheel_file)


def _job_store_persists_and_reconciles(tmp_path: Path, wheel_file: Path) -> None:
    from sqlalchemy import inspect

    from models.db import make_engine

    now = datetime(2012, 4, 27, 12, tzinfo=CPH)
    s = _serve(tmp_path, wheel_file, lambda tz: now)
    s.scheduler = s.make_scheduler()
    s.scheduler.start(paused=True)
    first = s.reconcile(now)
    jobs = {j.id: j for j in s.scheduler.get_jobs()}
    assert set(jobs) == {w.job_id for w in first}
    job = jobs[first[0].job_id]
    assert job.next_run_time == datetime(2012, 4, 30, 9, tzinfo=CPH)
    assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == MISFIRE_GRACE_S
    assert MISFIRE_GRACE_S >= 86400
    assert s.reconcile(now) == first  # idempotent
    s.scheduler.shutdown()

    engine = make_engine(s.database_url)
    assert JOBS_TABLE in inspect(engine).get_table_names()
    engine.dispose()

    # A restart three days later finds the stored jobs, drops the passed ones, and moves on.
    later = datetime(2012, 5, 2, 12, tzinfo=CPH)
    s2 = _serve(tmp_path, wheel_file, lambda tz: later)
    s2.scheduler = s2.make_scheduler()
    s2.scheduler.start(paused=True)
    assert {j.id for j in s2.scheduler.get_jobs()} == set(jobs)
    dropped = s2.drop_passed(later)
    assert sorted(dropped) == sorted(w.job_id for w in first if w.at <= later)
    window = s2.reconcile(later)
    assert window[0].at == datetime(2012, 5, 3, 9, tzinfo=CPH)
    assert min(j.next_run_time for j in s2.scheduler.get_jobs()) == window[0].at
    s2.scheduler.shutdown()


def test_one_scheduler_per_job_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    with instance_lock(url):
        with pytest.raises(RuntimeError, match="another aarshjul serve"):
            with instance_lock(url):
                pass
    with instance_lock(url):  # released
        pass


def test_serve_forever_catches_up_then_fires_event_before_chase(
    tmp_path: Path, wheel_file: Path
) -> None:
    """A real scheduler on a travelled clock: start-up catch-up, then the 20 Jan wake-up."""
    import contextlib

    import time_machine

    rec = Recorder()
    start = datetime(2012, 1, 20, 8, 59, 57, tzinfo=CPH)
    stop, ready = threading.Event(), threading.Event()

    @contextlib.contextmanager
    def no_server():  # type: ignore[no-untyped-def]
        yield "http://unused.invalid/api"

    with time_machine.travel(start, tick=True):
        s = _serve(tmp_path, wheel_file, lambda tz: datetime.now(tz), rec)
        t = threading.Thread(
            target=serve_forever, args=(s,),
            kwargs={"server": no_server, "ready": ready, "stop": stop}, daemon=True,
        )
        t.start()
        assert ready.wait(60)
        # the start-up: the events of the last 7 days (10 Jan is older), then one chase
        assert [c[0] for c in rec.calls] == ["chase"]
        rec.done.clear()
        assert rec.done.wait(30), "the 09:00 wake-up did not fire"
        stop.set()
        t.join(60)
    assert not t.is_alive()
    kinds = [(c[0], c[1]) for c in rec.calls]
    assert kinds == [("chase", None), ("event", (2012, "opfordring")), ("chase", None)]
    fired_at = rec.calls[1][2]
    assert fired_at >= datetime(2012, 1, 20, 9, tzinfo=CPH)
    assert rec.calls[2][2] == fired_at  # letters and chase of the same instant


# --------------------------------------------------------------------------- a killed serve

@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_killed_and_restarted_serve_sends_one_reminder_and_no_duplicates(
    tmp_path: Path, wheel_file: Path
) -> None:
    """The reminder ladder through serve: letters on 20 Jan 2012; serve starts at 30 Apr 09:00:20
    (a travelled clock) and its catch-up chase sends one before-1 reminder per open
    committee; SIGKILL; a restart a minute later sends nothing more; SIGTERM stops it (0)."""
    import os
    import signal
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL
    from sqlmodel import Session, select

    from models.db import make_engine
    from models.outbox import OutboxRow
    from tests.smtpd import serve as smtp_serve

    api = PREFECT_API_URL.value()
    assert api, "the session harness gives an API URL"
    db_url = f"sqlite:///{tmp_path / 'app.sqlite'}"

    with smtp_serve() as smtp:
        env = {
            **os.environ,
            "AARSHJUL_DATABASE_URL": db_url,
            "AARSHJUL_DATA_DIR": str(tmp_path / "data"),
            "AARSHJUL_SMTP_URL": smtp.url,
            "PREFECT_API_URL": api,
        }
        exe = Path(sys.executable).with_name("aarshjul")
        letters = subprocess.run(
            [str(exe), "run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00",
             "--config", str(wheel_file)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
        assert letters.returncode == 0, letters.stderr

        def start(instant: str, log: Path) -> subprocess.Popen[bytes]:
            return start_travelled(tmp_path, instant, log, env, "serve", "--config",
                                   str(wheel_file))

        engine = make_engine(db_url)

        def reminders() -> list[OutboxRow]:
            with Session(engine) as s:
                return list(s.exec(select(OutboxRow).where(OutboxRow.kind == "reminder")).all())

        log1 = tmp_path / "serve1.log"
        first = start("2012-04-30T09:00:20+02:00", log1)
        try:
            wait_for(logged(log1, "scheduled "), 240, "the first start-up", first)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        sent_first = reminders()
        assert len(sent_first) == 7, log1.read_text(errors="replace")
        assert {r.slot for r in sent_first} == {"before-1"}
        assert {r.deliverable for r in sent_first} == {"handleplan"}
        assert all(r.status == "sent" for r in sent_first)

        log2 = tmp_path / "serve2.log"
        with reaped(start("2012-04-30T09:01:30+02:00", log2)) as second:
            wait_for(logged(log2, "scheduled "), 240, "the restart", second)
            code = terminate(second)
        out2 = log2.read_text(errors="replace")
        assert code == 0, out2
        assert "catch-up chase as of 2012-04-30T09:01" in out2 and "stopped" in out2

        after = reminders()
        engine.dispose()
        assert sorted(r.key for r in after) == sorted(r.key for r in sent_first)
        at_server = [m for m in smtp.handler.received
                     if m.message["X-Aarshjul-Kind"] == "reminder"]
        assert len(at_server) == 7
        assert len({m.message_id for m in at_server}) == 7
        assert {m.message["X-Aarshjul-Slot"] for m in at_server} == {"before-1"}


@pytest.mark.slow
def test_serve_without_api_url_supervises_its_own_server_and_stops_on_sigterm(
    tmp_path: Path, wheel_file: Path
) -> None:
    """No PREFECT_API_URL: serve starts `prefect server start --host 127.0.0.1` as a child,
    reports to it, and on SIGTERM shuts the scheduler down, stops the child and exits 0."""
    from flows.prefect_server import free_port, healthy

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "serve.log"
    with reaped(start_travelled(tmp_path, "2012-05-02T10:00:00+02:00", log, serve_env(tmp_path),
                                "serve", "--prefect-port", str(port), "--config",
                                str(wheel_file))) as proc:
        wait_for(logged(log, "scheduled "), 300, "the start-up", proc)
        assert healthy(api)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children, "the Prefect server runs as serve's child"
        code = terminate(proc)
    text = log.read_text(errors="replace")
    assert code == 0, text
    assert f"UI at http://127.0.0.1:{port}" in text
    assert "Prefect server stopped cleanly" in text and "stopped" in text
    assert not healthy(api)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(
            f"/proc/{pid}/status").read_text()


def test_serve_stops_with_status_1_when_the_prefect_server_is_gone(
    tmp_path: Path, wheel_file: Path
) -> None:
    import contextlib

    import time_machine

    from flows.prefect_server import free_port

    dead = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there

    @contextlib.contextmanager
    def gone():  # type: ignore[no-untyped-def]
        yield dead

    with time_machine.travel(datetime(2012, 5, 2, 10, tzinfo=CPH), tick=True):
        s = _serve(tmp_path, wheel_file, lambda tz: datetime.now(tz))
        s.health_every = 0.2
        assert serve_forever(s, server=gone) == 1


# --------------------------------------------------------------------------- the heartbeat


def test_serve_writes_its_heartbeat_and_a_clean_stop(tmp_path: Path, wheel_file: Path) -> None:
    """Serve's watchdog beats at its interval while serve runs, and says "stopped" at the
    end (doctor then fails on it)."""
    import contextlib
    import os
    import time
    from datetime import UTC

    from flows.binding import setup_for
    from flows.settings import Settings
    from flows.watchdog import Watchdog
    from models.db import make_engine, session
    from models.watch import Heartbeat
    from tests.smtpd import free_port

    s = _serve(tmp_path, wheel_file, lambda tz: datetime.now(tz))
    settings = Settings.from_env({"AARSHJUL_DATABASE_URL": s.database_url,
                                  "AARSHJUL_DATA_DIR": str(tmp_path / "data"),
                                  "AARSHJUL_HEARTBEAT_EVERY": "0.2"})
    st = setup_for(settings, actor="serve", wheel=s.wheel)
    s.watchdog = Watchdog(settings, lambda: st)
    stop, ready = threading.Event(), threading.Event()

    @contextlib.contextmanager
    def no_server():  # type: ignore[no-untyped-def]
        yield f"http://127.0.0.1:{free_port()}/api"

    def beat() -> Heartbeat | None:
        engine = make_engine(s.database_url)
        try:
            with session(engine) as db:
                return db.get(Heartbeat, "serve")
        finally:
            engine.dispose()

    t = threading.Thread(target=serve_forever, args=(s,),
                         kwargs={"server": no_server, "ready": ready, "stop": stop},
                         daemon=True)
    t.start()
    assert ready.wait(60)
    started = datetime.now(UTC)
    wait_for(lambda: (b := beat()) is not None and b.at >= started, 30, "a heartbeat")
    first = beat()
    assert first is not None and first.pid == os.getpid() and not first.stopped
    time.sleep(0.5)
    wait_for(lambda: (b := beat()) is not None and b.at > first.at, 30, "the next heartbeat")
    stop.set()
    t.join(60)
    assert not t.is_alive()
    last = beat()
    assert last is not None and last.stopped
