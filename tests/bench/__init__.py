"""Benchmarks for ``make bench``: figures for README, never timed tests.

Each ``tests/bench/bench_*.py`` module has ``run() -> list[Result]``. ``python -m tests.bench``
runs them all (or those named on the command line), prints a table, and exits 1 if any
figure misses its budget. Compare ratios within one run: timings here are noisy.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    value: float
    unit: str
    budget: float | None = None  # the figure must be <= budget (or >= with higher_is_better)
    higher_is_better: bool = False
    note: str = ""

    @property
    def ok(self) -> bool:
        if self.budget is None:
            return True
        return self.value >= self.budget if self.higher_is_better else self.value <= self.budget


def median_seconds(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def process_median(cmd: Sequence[str], repeat: int = 7, **kw: object) -> float:
    """Whole-process wall time median of ``cmd`` (output discarded, must exit 0)."""

    def once() -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]

    once()  # warm the page cache
    return median_seconds(once, repeat)


PY = sys.executable


def peak_rss_mb() -> float:
    """This process's peak RSS in MB, from VmHWM.

    Not ``ru_maxrss``: on Linux that survives fork+exec, so a child of a large benchmark
    process would report its parent's peak as its own.
    """
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
