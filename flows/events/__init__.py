"""The event handlers: one per ``do:`` kind of the wheel, in a fixed table.

A handler takes one :class:`~flows.events.base.EventRun` and returns its
:class:`~flows.events.base.EventResult`. A new kind is a member of
:class:`models.kinds.EventKind`, a module here and one line in :data:`HANDLERS`.
"""

from __future__ import annotations

from flows.events import barometer, letters, meeting, reports
from flows.events.base import EventResult, EventRun, Handler, event_title
from models.kinds import EventKind

HANDLERS: dict[EventKind, Handler] = {
    EventKind.LETTERS: letters.handle,
    EventKind.BAROMETER: barometer.handle,
    EventKind.MEETING: meeting.handle,
    EventKind.STATUS_REPORT: reports.handle_status_report,
    EventKind.BUDGET: reports.handle_budget,
}

__all__ = ["HANDLERS", "EventResult", "EventRun", "Handler", "event_title"]
