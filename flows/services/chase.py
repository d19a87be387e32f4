"""Which reminders and escalations are due: the chase rule (:func:`models.ladder.decide`)
applied to every request still open, on its current ladder, with slots derived from the
current wheel.

Two things a chase also does:

- a due date moved in the wheel since a request's ladder was made: later, and the chase
  starts the next ladder from now and queues the committee's notice; earlier, and it
  re-derives the same ladder from now (nothing past is replayed). Both are recorded with
  the chase's slot states (:func:`flows.services.ladders.apply_restart`);
- a request whose letter never arrived (failed or bounced) is held: no reminder, no
  escalation, until the letter is sent again and delivered (:mod:`.deliveries`).

:func:`chase_notes` says both in Danish, for the chase's artifact.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from flows.services.deliveries import letter_states
from flows.services.keys import Action, escalation_key, reminder_key
from flows.services.ladders import current, restart_of
from flows.services.notices import notice
from flows.services.setup import Setup
from models.dates import dansk_dato
from models.kinds import UNDELIVERED, BodyKind, MessageKind, NoticeCause, RequestStatus, SlotKind
from models.ladder import decide
from models.plan import require_aware
from models.state import Request, SlotState


def open_at(as_of: datetime) -> Any:
    """Requests with nothing registered (nor excused) at or before ``as_of``."""
    return or_(col(Request.status) == RequestStatus.OPEN, col(Request.closed_at) > as_of)


def _open_requests(st: Setup, as_of: datetime, year: int | None
                   ) -> tuple[list[Request], dict[tuple[int, int], set[str]]]:
    """The open requests and, per (request, ladder), the slots done."""
    done: dict[tuple[int, int], set[str]] = defaultdict(set)
    with Session(st.db) as s:
        q = select(Request).where(open_at(as_of), col(Request.opened_at) <= as_of)
        if year is not None:
            q = q.where(Request.year == year)
        requests = [r for r in s.exec(q).all() if st.ladders.knows(r.deliverable)]
        if requests:
            sq = (select(SlotState.request_id, SlotState.ladder, SlotState.slot)
                  .join(Request, col(Request.id) == col(SlotState.request_id))
                  .where(open_at(as_of), col(Request.opened_at) <= as_of))
            if year is not None:
                sq = sq.where(Request.year == year)
            for rid, ladder, slot in s.exec(sq).all():
                done[(rid, ladder)].add(slot)
    return requests, done


def held(st: Setup, requests: list[Request]) -> list[Request]:
    """The requests whose letter failed or bounced (their reminders are held)."""
    states: dict[tuple[int, str, str], Any] = {}
    for y in sorted({r.year for r in requests}):
        states.update(letter_states(st, y))
    return [r for r in requests if states.get((r.year, r.opened_by, r.committee)) in UNDELIVERED]


def plan_chase(st: Setup, as_of: datetime, year: int | None = None) -> list[Action]:
    """What a chase at ``as_of`` sends: per open request at most one reminder (the others
    due are skipped), plus a due escalation; and the ladders it starts, with their notices."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    requests, done = _open_requests(st, as_of, year)
    holding = {r.id for r in held(st, requests)}
    actions: list[Action] = []
    for r in requests:
        assert r.id is not None
        if r.id in holding:
            continue
        cur = current(st, r, as_of)
        base: dict[str, Any] = {"year": r.year, "committee": r.committee,
                                "deliverable": r.deliverable}
        restart = restart_of(r, cur)
        if restart is not None and cur.new_ladder:
            assert cur.change is not None
            o = notice(st, r.year, r.committee, r.deliverable, NoticeCause.MOVED,
                       str(cur.ladder), as_of, due=cur.due, previous_due=cur.change.previous)
            actions.append(Action(MessageKind.NOTICE, BodyKind.NOTICE, o.key, restart=restart,
                                  outgoing=o, **base))
        elif restart is not None:
            actions.append(Action(MessageKind.REMINDER, BodyKind.REMINDER, "", send=False,
                                  request_id=r.id, restart=restart, **base))
        ladder: dict[str, Any] = {"request_id": r.id, "ladder": cur.ladder, "due": cur.due,
                                  "ladder_slots": cur.slots, **base}
        d = decide(cur.slots, done[(r.id, cur.ladder)], as_of, cur.due, today)
        if d.reminder is not None:
            body = BodyKind.REMINDER if d.reminder.kind == SlotKind.BEFORE else BodyKind.OVERDUE
            key = reminder_key(r.year, r.deliverable, r.committee, d.reminder.name, cur.ladder)
            actions.append(Action(MessageKind.REMINDER, body, key, slot=d.reminder,
                                  skip=d.skipped, **ladder))
        elif d.skipped:
            actions.append(Action(MessageKind.REMINDER, BodyKind.REMINDER, "", skip=d.skipped,
                                  send=False, **ladder))
        if d.escalation is not None:
            actions.append(Action(MessageKind.ESCALATION, BodyKind.ESCALATION,
                                  escalation_key(r.year, r.deliverable, r.committee, cur.ladder),
                                  slot=d.escalation, **ladder))
    return actions


def chase_notes(st: Setup, actions: list[Action], as_of: datetime, year: int | None,
                *, dry_run: bool = False) -> list[str]:
    """Danish notes for the chase's artifact: the due dates it found moved (and what it did
    about them) and the requests whose reminders it held back, and why."""
    notes: list[str] = []
    moved: dict[tuple[int, str, Any, Any, bool], list[str]] = defaultdict(list)
    for a in actions:
        x = a.restart
        if x is not None and x.previous is not None and a.deliverable is not None:
            later = x.new_ladder != x.ladder
            moved[(a.year, a.deliverable, x.previous, x.due, later)].append(a.committee)
    would = "vil få" if dry_run else "får"
    for (y, dkey, previous, due, later), committees in moved.items():
        title = st.wheel.deliverable[dkey].title
        who = ", ".join(committees)
        if later:
            notes.append(f"Fristen for {title} {y} er flyttet fra {dansk_dato(previous)} til "
                         f"{dansk_dato(due)}: {who} {would} en ny række påmindelser fra i dag og "
                         "en meddelelse om den nye frist.")
        else:
            notes.append(f"Fristen for {title} {y} er rykket frem fra {dansk_dato(previous)} til "
                         f"{dansk_dato(due)} ({who}): påmindelserne følger den nye frist, og "
                         "ingen af dem, der allerede er passeret, sendes. Udvalgene får ingen "
                         "meddelelse om det; skriv til dem.")
    with Session(st.db) as s:  # the open requests, without their slot states
        q = select(Request).where(open_at(as_of), col(Request.opened_at) <= as_of)
        if year is not None:
            q = q.where(Request.year == year)
        requests = [r for r in s.exec(q).all() if st.ladders.knows(r.deliverable)]
    by_letter: dict[tuple[int, str, str], list[str]] = defaultdict(list)
    for r in held(st, requests):
        by_letter[(r.year, r.opened_by, r.committee)].append(
            st.wheel.deliverable[r.deliverable].title)
    for (y, ekey, committee), titles in by_letter.items():
        event = st.wheel.event[ekey].title if ekey in st.wheel.event else ekey
        what = " og ".join(titles)
        notes.append(f"Påmindelser til {committee} om {what} {y} holdes tilbage: brevet "
                     f"«{event}» kunne ikke leveres. Ret adressen, og send brevet igen med "
                     f"`aarshjul resend` (se `aarshjul status --year {y}`).")
    return notes
