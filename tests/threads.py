"""Work run in several threads at once, for the tests of what must hold when processes or
threads race (two chases, first heartbeats, ...)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_threads(work: Callable[[int], object], n: int) -> list[BaseException]:
    """``work(0)`` to ``work(n - 1)``, each in its own thread, all started before any is
    waited for; what they raised (an empty list: none failed)."""
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
