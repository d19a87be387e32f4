"""``aarshjul serve``: the embedded scheduler for one machine (APScheduler 3.x).

What it does:

- At start: it takes a lock so that one scheduler uses the job store (a second ``serve`` on
  the same database is refused), makes sure a Prefect server is there (``PREFECT_API_URL``,
  else a supervised local ``prefect server start --host 127.0.0.1``, UI at
  http://127.0.0.1:4200), drops persisted wake-ups whose instant has passed, runs the events
  of the last ``catch_up`` days (default 7) that were missed, and then one catch-up chase as
  of now. Missed runs are not replayed one by one: the chase computes what is due as of now,
  so a serve that was down for days sends one reminder per request, not a burst.
- Then it wakes at ``send_time`` on every business day (a chase) and on event days (the
  event first, then the chase of the same instant, in one job); on the digest's day the
  coordinator's digest follows the chase. It carries out the runs coordinators create in
  the UI (:mod:`flows.desk_runner`), without a worker. Each wake-up is an explicit
  ``DateTrigger`` instant from the year plan, never a cron expression, so a time that occurs
  twice on the autumn DST day fires once. After each wake-up the wheel is read again and the
  next ``horizon`` days (default 35) are reconciled with it: a moved deadline needs no restart.
- The job store is APScheduler's ``SQLAlchemyJobStore`` in the application database
  (table ``aarshjul_scheduler_jobs``), with ``coalesce=True``, ``misfire_grace_time`` of
  3 days and ``max_instances=1``; one worker thread, so wake-ups never overlap.
- With ``AARSHJUL_IMAP_URL`` set it reads the replies mailbox (flow ``aarshjul-intake``)
  every ``AARSHJUL_IMAP_POLL`` minutes while the chase period lasts, and before each chase
  (:mod:`flows.serve_poll`).
- Its watchdog (:mod:`flows.watchdog`) writes the heartbeat and alerts the coordinator when
  Prefect, SMTP or IMAP stays unreachable, a flow run crashed or the outbox waits too long.
- Every 30 s it checks the Prefect server; after three failed checks in a row it stops with
  status 1 (systemd's ``Restart=on-failure`` then starts serve, and its server, afresh).
- On SIGTERM or SIGINT it stops taking new work, lets a running wake-up finish, shuts the
  scheduler down, stops the Prefect server it started and exits 0.

The pure core (:func:`wakes`, :func:`schedule_window`, :func:`startup_plan`) takes the wheel
and an aware instant and reads no clock; tests drive it with a fake clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flows.binding import mailbox, setup_for
from flows.compose import Runner
from flows.prefect_server import ensure_server, healthy
from flows.serve_poll import DEFAULT_POLL, keep_poll_job
from models.calendar import BusinessCalendar
from models.config import load
from models.digest import is_digest_day
from models.plan import calendar_for, local_instant, require_aware, year_plan
from models.problems import ConfigError
from models.wheel import Wheel

if TYPE_CHECKING:
    from flows.services.setup import Setup
    from flows.settings import Settings

log = logging.getLogger("aarshjul.serve")

JOB_PREFIX = "aarshjul-wake-"
JOBS_TABLE = "aarshjul_scheduler_jobs"
MISFIRE_GRACE_S = 3 * 86400
DEFAULT_HORIZON = timedelta(days=35)
DEFAULT_CATCH_UP = timedelta(days=7)  # an Easter or Christmas outage included


# --------------------------------------------------------------------------- pure core


@dataclass(frozen=True)
class Wake:
    """One wake-up: the events of that instant in plan order, then a chase."""

    at: datetime  # aware, in policy.timezone
    events: tuple[tuple[int, str], ...] = ()  # (year, event key)
    chase: bool = True
    digest: bool = False  # the coordinator's weekly digest after the chase

    @property
    def job_id(self) -> str:
        return f"{JOB_PREFIX}{self.at.astimezone(UTC):%Y%m%dT%H%MZ}"

    @property
    def name(self) -> str:
        what = ", ".join(f"{key} {year}" for year, key in self.events)
        return f"{what} + rykkerkørsel" if what else "rykkerkørsel"

    def job_args(self) -> list[Any]:
        return [self.at.isoformat(), [list(e) for e in self.events], self.chase, self.digest]


def chase_period(wheel: Wheel) -> tuple[date, date]:
    """First and last day on which serve chases: the policy's years, plus the slots of the
    last year that fall after its 31 December (a December deadline's rykker in January)."""
    first, last = wheel.policy.years
    slots = [s.day for r in year_plan(wheel, last).requests for s in r.slots]
    return date(first, 1, 1), max([date(last, 12, 31), *slots])


def wakes(
    wheel: Wheel,
    after: datetime,
    until: datetime | None = None,
    *,
    cal: BusinessCalendar | None = None,
) -> list[Wake]:
    """Every wake-up with ``after < at <= until`` (``until`` default: the end of the policy).

    A chase at ``send_time`` on each business day of the chase period, and each event at its
    planned instant (events are always on business days) merged into that day's wake-up,
    letters before the chase.
    """
    require_aware(after, "after")
    if until is not None:
        require_aware(until, "until")
    cal = cal or calendar_for(wheel)
    tz, clock = wheel.policy.tz, wheel.policy.send_clock
    start, end = chase_period(wheel)
    start = max(start, after.astimezone(tz).date())
    if until is not None:
        end = min(end, until.astimezone(tz).date())
    events: dict[datetime, list[tuple[int, str]]] = {}
    for year in wheel.policy.year_range:
        if year < start.year - 1 or year > end.year:
            continue
        for pe in year_plan(wheel, year, cal).events:
            events.setdefault(pe.at, []).append((year, pe.key))
    out: list[Wake] = []
    instants = {local_instant(tz, d, clock) for d in cal.business_days(start, end)}
    instants |= set(events)
    for at in sorted(instants):
        if at <= after or (until is not None and at > until):
            continue
        digest = wheel.policy.digest and is_digest_day(cal, at.astimezone(tz).date())
        out.append(Wake(at=at, events=tuple(events.get(at, ())), chase=True, digest=digest))
    return out


def schedule_window(
    wheel: Wheel, now: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> list[Wake]:
    """The wake-ups to keep in the job store at ``now``: those within ``horizon``, and at
    least the next one (so a quiet stretch longer than the horizon still wakes up)."""
    window = wakes(wheel, now, now + horizon)
    if not window:
        window = wakes(wheel, now)[:1]
    return window


@dataclass(frozen=True)
class Startup:
    """What serve runs at start, as of ``now``."""

    now: datetime
    events: tuple[tuple[int, str, datetime], ...]  # missed events within catch_up, plan order
    chase: bool  # a catch-up chase as of now (inside the chase period)
    finished: bool  # the policy's chase period is over: nothing will ever be scheduled


def startup_plan(
    wheel: Wheel, now: datetime, catch_up: timedelta = DEFAULT_CATCH_UP
) -> Startup:
    """Events planned within ``(now - catch_up, now]`` (the engine sends each letter once, so
    an event that did run is not sent again), then one chase as of ``now``."""
    require_aware(now, "now")
    missed = tuple(
        (year, key, w.at)
        for w in wakes(wheel, now - catch_up, now)
        for year, key in w.events
    )
    start, end = chase_period(wheel)
    local = now.astimezone(wheel.policy.tz).date()
    return Startup(
        now=now,
        events=missed,
        chase=start <= local <= end + timedelta(days=1),
        finished=local > end,
    )


# --------------------------------------------------------------------------- running


class WakeRunner(Protocol):
    """What a wake-up runs. The default runs the Prefect flows of :mod:`flows.workflows`."""

    def event(self, year: int, event: str, as_of: datetime) -> None: ...

    def chase(self, as_of: datetime) -> None: ...

    def digest(self, as_of: datetime) -> None: ...


class FlowRunner:
    """Runs a wake-up's events and chase as Prefect flow runs in this process (they report
    to PREFECT_API_URL), through the one runner of :mod:`flows.compose`, against the setup
    that ``setup()`` gives (serve's, made again when the wheel is read again)."""

    def __init__(self, setup: Callable[[], Setup]) -> None:
        self.setup = setup

    def event(self, year: int, event: str, as_of: datetime) -> None:

        Runner(self.setup(), prefect=True).event(event, year, as_of)

    def chase(self, as_of: datetime) -> None:

        Runner(self.setup(), prefect=True).chase(as_of)

    def digest(self, as_of: datetime) -> None:
        Runner(self.setup(), prefect=True).action("digest", as_of)

    def intake(self, as_of: datetime, imap_url: str) -> None:
        """One pass over the replies mailbox at ``imap_url`` (flow ``aarshjul-intake``)."""
        with mailbox(imap_url) as box:
            Runner(self.setup(), prefect=True).intake(as_of, box)


class ServeSetup:
    """Serve's setup, made from its settings at the first wake-up and made again (same
    database, transport and journal) whenever the wheel has been read again."""

    def __init__(self, settings: Settings, serve: Serve) -> None:
        self.settings, self.serve = settings, serve
        self._setup: Setup | None = None

    def __call__(self) -> Setup:


        wheel = self.serve.wheel
        if self._setup is None:
            self._setup = setup_for(self.settings, actor="serve", wheel=wheel)
        elif self._setup.wheel is not wheel:
            self._setup = replace(self._setup, wheel=wheel)
        return self._setup


def _now(tz: Any) -> datetime:
    return datetime.now(tz)


@dataclass
class Serve:
    """One serve process: the scheduler, its job store and what a wake-up does."""

    config: Path
    wheel: Wheel
    database_url: str
    runner: WakeRunner
    clock: Callable[[Any], datetime] = _now
    horizon: timedelta = DEFAULT_HORIZON
    catch_up: timedelta = DEFAULT_CATCH_UP
    scheduler: Any = None
    # Held by a wake-up while it runs and reconciles; ``stopping`` is set under it, so that
    # shutdown (which holds APScheduler's job-store lock while joining the worker) never
    # waits on a job that waits for that lock.
    busy: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False
    health_every: float = 30.0  # seconds between checks of the Prefect server
    desk: Any = None  # flows.desk_runner.DeskRunner: the coordinators' deployments
    intake: Callable[[datetime], None] | None = None  # a mail intake pass (IMAP URL set)
    poll: timedelta = DEFAULT_POLL  # between intake passes
    watchdog: Any = None  # flows.watchdog.Watchdog: the heartbeat and the alerts

    def now(self) -> datetime:
        return self.clock(self.wheel.policy.tz)

    # -- the scheduler
    def make_scheduler(self) -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        from models.db import make_engine

        store = SQLAlchemyJobStore(engine=make_engine(self.database_url), tablename=JOBS_TABLE)
        return BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": MISFIRE_GRACE_S,
                "max_instances": 1,
            },
            timezone=self.wheel.policy.tz,
        )

    def reconcile(self, now: datetime) -> list[Wake]:
        """Make the job store hold exactly the wake-ups of the window from ``now``."""
        from apscheduler.triggers.date import DateTrigger

        desired = {w.job_id: w for w in schedule_window(self.wheel, now, self.horizon)}
        for job in self.scheduler.get_jobs():
            if not job.id.startswith(JOB_PREFIX):
                continue
            w = desired.get(job.id)
            if w is None or list(job.args) != w.job_args():
                self.scheduler.remove_job(job.id)
        have = {j.id for j in self.scheduler.get_jobs()}
        for jid, w in desired.items():
            if jid in have:
                continue
            self.scheduler.add_job(
                "flows.serve:wake_job",
                trigger=DateTrigger(run_date=w.at),
                args=w.job_args(),
                id=jid,
                name=w.name,
                replace_existing=True,
            )
        return list(desired.values())

    def drop_passed(self, now: datetime) -> list[str]:
        """Remove persisted wake-ups at or before ``now``: the start-up catch-up covers them."""
        dropped = []
        for job in self.scheduler.get_jobs():
            nxt = job.next_run_time
            if job.id.startswith(JOB_PREFIX) and (nxt is None or nxt <= now):
                self.scheduler.remove_job(job.id)
                dropped.append(job.id)
        return dropped

    def reload(self) -> None:
        """Read the wheel again (a broken file keeps the last good one, with a warning)."""

        try:
            self.wheel = load(self.config).wheel
        except ConfigError as exc:
            log.warning(
                "%s is invalid (%d problems); keeping the schedule of the last valid wheel",
                self.config, len(exc.problems),
            )

    # -- what runs
    def run_wake(self, at: datetime, events: list[tuple[int, str]], chase: bool,
                 digest: bool = False) -> None:
        as_of = max(self.now(), at)
        for year, key in events:
            log.info("event %s %s as of %s", key, year, as_of.isoformat())
            try:
                self.runner.event(year, key, as_of)
            except Exception:
                log.exception("event %s %s failed; the next chase goes on", key, year)
        if chase:
            self.read_mail(as_of)
            log.info("chase as of %s", as_of.isoformat())
            try:
                self.runner.chase(as_of)
            except Exception:
                log.exception("chase as of %s failed; the next wake-up catches up", as_of)
        if digest:
            try:
                self.runner.digest(as_of)
            except Exception:
                log.exception("the digest as of %s failed", as_of)

    def read_mail(self, as_of: datetime) -> None:
        """A mail intake pass, when one is configured; a failure is logged, never fatal."""
        if self.intake is None:
            return
        try:
            self.intake(as_of)
        except Exception:
            log.exception("the mail intake as of %s failed; the next poll tries again", as_of)

    def schedule_polling(self) -> bool:
        """Keep the intake's interval job in the store exactly when an intake is set."""
        return keep_poll_job(self.scheduler, self.poll if self.intake else None,
                             self.wheel.policy.tz, "flows.serve:intake_job")

    def run_startup(self) -> Startup:
        plan = startup_plan(self.wheel, self.now(), self.catch_up)
        for year, key, at in plan.events:
            log.info("catch-up: event %s %s (planned %s)", key, year, at.isoformat())
            try:
                self.runner.event(year, key, self.now())
            except Exception:
                log.exception("catch-up event %s %s failed", key, year)
        if plan.chase:
            self.read_mail(self.now())
            as_of = self.now()
            log.info("catch-up chase as of %s", as_of.isoformat())
            try:
                self.runner.chase(as_of)
            except Exception:
                log.exception("catch-up chase failed; the next wake-up catches up")
        return plan


_ACTIVE: Serve | None = None


def wake_job(at_iso: str, events: list[list[Any]], chase: bool, digest: bool = False) -> None:
    """The job function stored in the job store (by reference: ``flows.serve:wake_job``)."""
    serve = _ACTIVE
    if serve is None:  # pragma: no cover - only the scheduler of a running serve calls this
        log.error("wake-up at %s without a running serve; ignored", at_iso)
        return
    with serve.busy:
        if serve.stopping:
            log.info("wake-up at %s not run: serve is stopping", at_iso)
            return
        at = datetime.fromisoformat(at_iso)
        serve.run_wake(at, [(int(y), str(k)) for y, k in events], chase, digest)
        serve.reload()
        serve.reconcile(serve.now())


def intake_job() -> None:
    """The poll job (by reference: ``flows.serve:intake_job``): a mail intake pass while the
    chase period lasts; never beside a wake-up (one worker thread, and ``busy``)."""
    serve = _ACTIVE
    if serve is None:  # pragma: no cover - only the scheduler of a running serve calls this
        return
    with serve.busy:
        if serve.stopping:
            return
        now = serve.now()
        start, end = chase_period(serve.wheel)
        if start <= now.date() <= end + timedelta(days=1):
            serve.read_mail(now)


# --------------------------------------------------------------------------- one per store


@contextlib.contextmanager
def instance_lock(database_url: str) -> Iterator[None]:
    """Hold the job store's single-scheduler lock, or raise ``RuntimeError``.

    SQLite: an exclusive ``flock`` on ``<database>.serve.lock``; PostgreSQL: a session
    advisory lock held on a dedicated connection. Both vanish with the process, also on
    SIGKILL, so a restart after a crash is never refused.
    """
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        db = url.database or ""
        lock_path = Path(db + ".serve.lock") if db and db != ":memory:" else None
        if lock_path is None:
            yield
            return
        with open(lock_path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(
                    f"another aarshjul serve already runs against {db} (lock {lock_path})"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    key = int.from_bytes(hashlib.sha256(b"aarshjul-serve").digest()[:8], "big", signed=True)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise RuntimeError("another aarshjul serve already runs against this database")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the loop


def serve_forever(
    serve: Serve,
    *,
    server: Callable[[], contextlib.AbstractContextManager[str]] | None = None,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop`` is set); 0 on a clean stop.

    ``server`` gives the Prefect API (default :func:`flows.prefect_server.ensure_server`).
    """
    global _ACTIVE
    from models.db import make_engine, upgrade

    stop = stop or threading.Event()
    installed: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            installed[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        engine = make_engine(serve.database_url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        with instance_lock(serve.database_url), (server or ensure_server)() as api_url:
            log.info("reporting to the Prefect API at %s", api_url)
            serve.scheduler = serve.make_scheduler()
            serve.scheduler.start(paused=True)
            _ACTIVE = serve
            try:
                now = serve.now()
                dropped = serve.drop_passed(now)
                if dropped:
                    log.info("dropped %d passed wake-ups (the catch-up covers them)", len(dropped))
                plan = serve.run_startup()
                if plan.finished:
                    log.warning(
                        "the policy's years (%s-%s) are over: nothing left to schedule",
                        *serve.wheel.policy.years,
                    )
                window = serve.reconcile(serve.now())
                if window:
                    log.info(
                        "scheduled %d wake-ups; next %s (%s)",
                        len(window), window[0].at.isoformat(), window[0].name,
                    )
                if serve.schedule_polling():
                    log.info("reading the replies mailbox every %s", serve.poll)
                serve.scheduler.resume()
                _start_desk(serve)
                if serve.watchdog is not None:
                    serve.watchdog.start(api_url)
                if ready is not None:
                    ready.set()
                code = _watch(stop, api_url, serve.health_every)
                log.info("stopping: letting a running wake-up finish")
            finally:
                if serve.watchdog is not None:
                    serve.watchdog.stop()
                if serve.desk is not None:
                    serve.desk.stop()
                serve.scheduler.pause()
                with serve.busy:
                    serve.stopping = True
                serve.scheduler.shutdown(wait=True)
                _ACTIVE = None
    finally:
        for sig, handler in installed.items():
            signal.signal(sig, handler)
    log.info("stopped")
    return code


def _start_desk(serve: Serve) -> None:
    """Register the coordinators' deployments and start carrying out their runs; serve goes
    on without them (and says so) when the server refuses."""
    if serve.desk is None:
        return
    try:
        names = serve.desk.register()
    except Exception:
        log.exception("the coordinators' deployments could not be registered; serve goes on "
                      "without them")
        serve.desk = None
        return
    serve.desk.start()
    log.info("serving %d deployments for the coordinators: %s", len(names), ", ".join(names))


HEALTH_FAILURES = 3


def _watch(stop: threading.Event, api_url: str, every: float) -> int:
    """Wait for a stop signal while checking the Prefect server; 0 on a signal, 1 when the
    server stopped answering (so systemd's Restart=on-failure starts serve and it afresh)."""


    failures, last = 0, time.monotonic()
    while not stop.wait(1.0):
        if time.monotonic() - last < every:
            continue
        last = time.monotonic()
        if healthy(api_url, timeout=10):
            failures = 0
            continue
        failures += 1
        log.warning("the Prefect server at %s does not answer (%d/%d)",
                    api_url, failures, HEALTH_FAILURES)
        if failures >= HEALTH_FAILURES:
            log.error("giving up on the Prefect server at %s: stopping with status 1", api_url)
            return 1
    return 0
