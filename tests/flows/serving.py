"""``aarshjul serve`` in a child process on a travelled clock (time-machine, ticking from the
instant given), its output in a log file, and waiting for what it writes there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TRAVEL = """\
import sys
from datetime import datetime

import time_machine

time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
from flows.cli import main

sys.argv = ["aarshjul", *sys.argv[2:]]
main()
"""


def serve_env(tmp: Path, *, unset: tuple[str, ...] = ("PREFECT_API_URL",),
              **extra: str) -> dict[str, str]:
    """This process's environment without ``unset``, with its Prefect home, SQLite store and
    data folder in ``tmp``, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}",
        "AARSHJUL_DATA_DIR": str(tmp / "data"),
        **extra,
    })
    return env


def start_travelled(tmp: Path, instant: str, log: Path, env: dict[str, str],
                    *args: str) -> subprocess.Popen[bytes]:
    """``aarshjul ARGS`` in a child process in ``tmp`` whose clock starts at ``instant`` (ISO
    8601 with its offset); stdout and stderr go to ``log``."""
    script = tmp / "travel.py"
    script.write_text(TRAVEL, encoding="utf-8")
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, str(script), instant, *args],
                                env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Poll ``predicate`` until it holds; fail when ``proc`` exits first or after ``timeout``
    seconds (a generous bound for a shared machine, not a timing assertion), with what
    ``log`` holds by then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"serve exited ({proc.returncode}) before {what}{_tail(log)}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}{_tail(log)}")


def _tail(log: Path | None) -> str:
    return "" if log is None else "\n" + log.read_text(errors="replace")


def logged(log: Path, text: str) -> Callable[[], bool]:
    """Whether ``text`` stands in ``log`` yet (for :func:`wait_for`)."""
    return lambda: text in log.read_text(errors="replace")


@contextmanager
def reaped(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """``proc``, killed on the way out if it is still running (a failed test leaves no serve)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def terminate(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as systemd stops serve, and its exit status."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(120)
