"""serve and the mail intake (README "Replies by e-mail"): with an intake set, serve reads the
mailbox before each chase (the start-up's catch-up chase too) and keeps an interval job in
its job store that reads it every AARSHJUL_IMAP_POLL minutes while the chase period lasts;
without one there is no such job, and a failing pass never stops a chase."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flows import serve as S
from flows.serve import Serve
from flows.serve_poll import DEFAULT_POLL, POLL_JOB
from flows.settings import Settings, SettingsError
from models.config import load
from tests import CPH


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def event(self, year: int, event: str, as_of: datetime) -> None:
        self.calls.append((f"event {event}", as_of))

    def chase(self, as_of: datetime) -> None:
        self.calls.append(("chase", as_of))

    def digest(self, as_of: datetime) -> None:
        self.calls.append(("digest", as_of))

    def intake(self, as_of: datetime) -> None:
        self.calls.append(("intake", as_of))


def _serve(tmp: Path, wheel_file: Path, now: datetime, rec: Recorder, *,
           intake: bool = True, poll: timedelta = DEFAULT_POLL) -> Serve:
    return Serve(config=wheel_file, wheel=load(wheel_file).wheel,
                 database_url=f"sqlite:///{tmp / 'app.sqlite'}", runner=rec,
                 clock=lambda tz: now, intake=rec.intake if intake else None, poll=poll)


def test_the_mailbox_is_read_before_each_chase_and_before_the_catch_up(
        tmp_path: Path, wheel_file: Path) -> None:
    now = datetime(2012, 1, 20, 9, tzinfo=CPH)
    rec = Recorder()
    s = _serve(tmp_path, wheel_file, now, rec)
    s.run_wake(now, [(2012, "opfordring")], chase=True)
    assert [c for c, _ in rec.calls] == ["event opfordring", "intake", "chase"]
    rec.calls.clear()
    s.run_startup()
    assert [c for c, _ in rec.calls][-2:] == ["intake", "chase"]
    rec.calls.clear()
    s.run_wake(now, [(2012, "opfordring")], chase=False)  # no chase: no pass either
    assert [c for c, _ in rec.calls] == ["event opfordring"]


def test_without_an_intake_nothing_reads_mail(tmp_path: Path, wheel_file: Path) -> None:
    now = datetime(2012, 1, 20, 9, tzinfo=CPH)
    rec = Recorder()
    s = _serve(tmp_path, wheel_file, now, rec, intake=False)
    s.run_wake(now, [], chase=True)
    assert [c for c, _ in rec.calls] == ["chase"]


def test_a_failing_pass_never_stops_the_chase(tmp_path: Path, wheel_file: Path) -> None:
    now = datetime(2012, 4, 30, 9, tzinfo=CPH)
    rec = Recorder()
    s = _serve(tmp_path, wheel_file, now, rec)

    def broken(as_of: datetime) -> None:
        raise OSError("connection refused")

    s.intake = broken
    s.run_wake(now, [], chase=True)
    assert [c for c, _ in rec.calls] == ["chase"]


def test_the_poll_job_is_kept_in_the_store_exactly_while_an_intake_is_set(
        tmp_path: Path, wheel_file: Path) -> None:
    import time_machine

    now = datetime(2012, 4, 27, 12, tzinfo=CPH)
    with time_machine.travel(now, tick=False):
        _poll_job(tmp_path, wheel_file, now)


def _poll_job(tmp_path: Path, wheel_file: Path, now: datetime) -> None:
    rec = Recorder()
    s = _serve(tmp_path, wheel_file, now, rec, poll=timedelta(minutes=7))
    s.scheduler = s.make_scheduler()
    s.scheduler.start(paused=True)
    try:
        assert s.schedule_polling()
        job = s.scheduler.get_job(POLL_JOB)
        assert job is not None and job.trigger.interval == timedelta(minutes=7)
        assert s.schedule_polling()  # again: replaced, not doubled
        assert [j.id for j in s.scheduler.get_jobs()].count(POLL_JOB) == 1
        # the wake-ups' reconciliation leaves it alone
        s.reconcile(now)
        assert s.scheduler.get_job(POLL_JOB) is not None
    finally:
        s.scheduler.shutdown()
    # serve started again without the URL: the stored job is removed
    s2 = _serve(tmp_path, wheel_file, now, rec, intake=False)
    s2.scheduler = s2.make_scheduler()
    s2.scheduler.start(paused=True)
    try:
        assert s2.scheduler.get_job(POLL_JOB) is not None
        assert not s2.schedule_polling()
        assert s2.scheduler.get_job(POLL_JOB) is None
    finally:
        s2.scheduler.shutdown()


@pytest.mark.parametrize(("now", "reads"), [
    (datetime(2012, 4, 27, 12, tzinfo=CPH), True),
    (datetime(2026, 11, 30, 12, tzinfo=CPH), False),  # the policy's years are over
])
def test_the_poll_job_reads_only_while_the_chase_period_lasts(
        tmp_path: Path, wheel_file: Path, now: datetime, reads: bool) -> None:
    rec = Recorder()
    s = _serve(tmp_path, wheel_file, now, rec)
    S._ACTIVE = s
    try:
        S.intake_job()
        s.stopping = True
        S.intake_job()  # a stopping serve takes no new work
    finally:
        S._ACTIVE = None
    assert rec.calls == ([("intake", now)] if reads else [])


def test_imap_poll_is_minutes_from_1_to_1440() -> None:
    assert Settings.from_env({"AARSHJUL_IMAP_POLL": "5"}).imap_poll == 5.0
    assert Settings.from_env({}).imap_poll is None
    for bad in ("0", "-3", "tre", "2000"):
        with pytest.raises(SettingsError) as info:
            Settings.from_env({"AARSHJUL_IMAP_POLL": bad})
        assert info.value.problems == [
            f"AARSHJUL_IMAP_POLL: {bad!r} is not a number of minutes from 1 to 1440"]
