"""serve's mail intake polling (README "Replies by e-mail").

With ``AARSHJUL_IMAP_URL`` set, serve reads the replies mailbox (the flow
``aarshjul-intake``) every ``AARSHJUL_IMAP_POLL`` minutes (default 10) while the chase period
lasts, and once before each chase (the start-up's catch-up chase too), so a reply that came
in is registered before its reminder would go out. The poll is an ``IntervalTrigger`` job
``aarshjul-intake-poll`` in serve's job store, run by the same single worker thread as the
wake-ups, so a pass never overlaps a wake-up. Without the URL there is no such job (one left
in the store from an earlier start is removed).
"""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Any

DEFAULT_POLL = timedelta(minutes=10)
POLL_JOB = "aarshjul-intake-poll"


def keep_poll_job(scheduler: Any, every: timedelta | None, tz: tzinfo, func: str) -> bool:
    """Keep the poll job calling ``func`` (a ``module:function`` reference) ``every`` so
    often in ``scheduler``'s store, or none when ``every`` is None; whether there is one."""
    from apscheduler.triggers.interval import IntervalTrigger

    if every is None:
        if scheduler.get_job(POLL_JOB) is not None:
            scheduler.remove_job(POLL_JOB)
        return False
    scheduler.add_job(func, IntervalTrigger(seconds=every.total_seconds(), timezone=tz),
                      id=POLL_JOB, name="mail intake", replace_existing=True,
                      misfire_grace_time=None, coalesce=True)
    return True
