"""AARSHJUL_SMTP_RATE: one sending pace shared by every sender on the database."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from letters.delivery import SmtpTransport, send_pending
from letters.delivery.pace import Pacer
from letters.journal import Journal
from tests.dbtools import BACKENDS, temp_postgres
from tests.letters.mailtools import WINTER, fill, letter, migrated
from tests.smtpd import smtpd  # noqa: F401


class FakeClock:
    """Wall-clock seconds that only move when somebody sleeps (shared by the senders)."""

    def __init__(self, start: float) -> None:
        self.t, self.lock = start, threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.t = max(self.t, self.t + seconds)


def test_reservations_are_one_interval_apart_and_waited_for(tmp_path: Path) -> None:
    engine = migrated(tmp_path)
    clock = FakeClock(1_000_000.0)
    pace = Pacer(engine, 30, clock=clock, sleep=clock.sleep)  # one message every 2 s
    got = [pace.wait() for _ in range(4)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(got)]
    assert gaps == [2.0, 2.0, 2.0]
    assert clock.slept == [2.0, 2.0, 2.0]  # the first goes at once
    clock.t += 60  # a quiet minute: the next goes at once again
    later = pace.wait()
    assert later.timestamp() == clock.t and len(clock.slept) == 3
    with pytest.raises(ValueError, match="positive"):
        Pacer(engine, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_senders_share_one_pace(tmp_path: Path, backend: str, smtpd) -> None:  # noqa: F811
    from models.db import make_engine, upgrade

    if backend == "sqlite":
        engine = migrated(tmp_path)
        run = _two_senders(engine, tmp_path, smtpd)
    else:
        with temp_postgres() as url:
            engine = make_engine(url)
            upgrade(engine)
            run = _two_senders(engine, tmp_path, smtpd)
    starts, received = run
    assert received == 10
    starts.sort()
    gaps = [(b - a) for a, b in itertools.pairwise(starts)]
    assert gaps and min(gaps) >= timedelta(seconds=1)  # 60 a minute, across both
    engine.dispose()


def _two_senders(engine, tmp: Path, smtpd):  # type: ignore[no-untyped-def]  # noqa: F811
    fill(engine, [letter(f"C{i:02d}") for i in range(10)])
    clock = FakeClock(2_000_000.0)
    starts: list = []  # type: ignore[type-arg]

    class Recording(Pacer):
        def wait(self):  # type: ignore[no-untyped-def]
            start = super().wait()
            starts.append(start)
            return start

    def sender(n: int) -> None:
        pace = Recording(engine, 60, clock=clock, sleep=clock.sleep)
        send_pending(engine, SmtpTransport(smtpd.url), Journal(tmp / "journal"), now=WINTER,
                     worker=f"w{n}", batch=2, pace=pace)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return starts, len(smtpd.handler.received)


@pytest.mark.postgres
def test_first_reservations_race_to_create_the_control_row() -> None:
    from models.db import make_engine, upgrade

    with temp_postgres() as url:
        engine = make_engine(url)
        upgrade(engine)
        clock = FakeClock(3_000_000.0)
        got: list = []  # type: ignore[type-arg]
        errors: list = []  # type: ignore[type-arg]
        barrier = threading.Barrier(6)

        def one() -> None:
            pace = Pacer(engine, 60, clock=clock, sleep=lambda s: None)
            barrier.wait()
            try:
                got.append(pace.reserve())
            except Exception as exc:  # pragma: no cover - the failure this test is about
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        engine.dispose()
    assert errors == [] and len(set(got)) == 6
