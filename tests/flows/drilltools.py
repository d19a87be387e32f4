"""What the drills read back: a message's logical identity and the state left behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def logical(msg: Any) -> tuple[str, ...]:
    """What a message is, whatever its Message-ID: its kind and what it concerns."""
    return tuple(str(msg[h] or "") for h in (
        "X-Aarshjul-Kind", "X-Aarshjul-Year", "X-Aarshjul-Committee", "X-Aarshjul-Event",
        "X-Aarshjul-Deliverable", "X-Aarshjul-Slot"))


@dataclass(frozen=True)
class State:
    outbox: list[dict[str, Any]]
    alerts: set[tuple[str, str]]  # (outbox key, alert kind)
    requests: set[tuple[Any, ...]]
    slots: set[tuple[Any, ...]]
    submissions: set[tuple[Any, ...]]


def read_state(db_url: str) -> State:
    from sqlmodel import Session, select

    from models.db import make_engine
    from models.outbox import OutboxAlert, OutboxRow
    from models.state import Request, SlotState, Submission

    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            outbox = [r.model_dump(exclude={"raw"}) for r in s.exec(select(OutboxRow))]
            alerts = {(a.key, a.kind) for a in s.exec(select(OutboxAlert))}
            reqs = {r.id: r for r in s.exec(select(Request))}
            requests = {(r.year, r.deliverable, r.committee, r.status, r.received_at,
                         r.closed_at, r.ladder) for r in reqs.values()}
            slots = {(reqs[x.request_id].year, reqs[x.request_id].deliverable,
                      reqs[x.request_id].committee, x.ladder, x.slot, x.state, x.due_at)
                     for x in s.exec(select(SlotState))}
            subs = {(reqs[x.request_id].committee, reqs[x.request_id].deliverable, x.revision,
                     x.outcome, x.received_at) for x in s.exec(select(Submission))}
    finally:
        engine.dispose()
    return State(outbox, alerts, requests, slots, subs)
