"""Which letters of an event are still to go: one per committee in the event's ``to``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from flows.services.keys import Action, letter_key
from flows.services.outbox import queued_keys
from flows.services.setup import Setup
from models.kinds import BodyKind, MessageKind
from models.plan import require_aware


def plan_letters(st: Setup, year: int, event: str, as_of: datetime) -> list[Action]:
    """The letters of ``event`` in ``year`` not yet queued; each opens the deliverables of the
    event that the committee owes (its ``from``)."""
    require_aware(as_of, "as_of")
    pe = st.plan(year).event(event)
    wanted = {c: letter_key(year, pe.key, c) for c in pe.to}
    with Session(st.db) as s:
        done = queued_keys(s, wanted.values())
    w = st.wheel
    return [
        Action(MessageKind.LETTER, BodyKind.LETTER, key, year, c, event=pe.key,
               opens=tuple(d for d in pe.opens if c in w.deliverable_from(w.deliverable[d])))
        for c, key in wanted.items()
        if key not in done
    ]
