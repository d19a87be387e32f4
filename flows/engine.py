"""The engine: what a letters run, a chase and a submission do (CONTRACT §2). No Prefect.

Plain functions over the wheel, the database and an aware ``as_of``; the Prefect flows in
:mod:`flows.workflows` are a thin layer over them, and ``simulate`` drives the very same
functions with a virtual clock.

Each action is split in steps the flows map onto a handful of tasks:

1. **plan** (read only): what is due as of ``as_of`` — a list of :class:`Action`.
2. **build + enqueue** (one transaction): for every action, the slot-state row and the
   outbox row (the built message, unique idempotency key) are written together, so a rerun,
   a crash or a second worker never sends twice and never loses a message. A race with a
   second worker ends in a unique-constraint violation, a rollback and a fresh plan.
3. **send**: the outbox is drained by ``letters.delivery.send_pending``.
4. **report**: a :class:`flows.report.RunReport` for the CLI, the artifacts and simulate.

Idempotency keys: ``letter:{year}:{event}:{committee}``,
``reminder:{year}:{deliverable}:{committee}:{slot}``,
``escalation:{year}:{deliverable}:{committee}``,
``receipt:{submission_id}``, ``report:{year}:{event}``.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from flows import ports
from flows.report import MessageRow, RequestRow, RunReport
from models.calendar import BusinessCalendar
from models.dates import dansk_dato
from models.plan import (
    PlannedEvent,
    Slot,
    YearPlan,
    calendar_for,
    due_date,
    reminder_slots,
    require_aware,
    year_plan,
)
from models.state import (
    CANCELLED,
    LATE,
    ON_TIME,
    OPEN,
    SENT,
    SKIPPED,
    AuditEntry,
    BarometerReading,
    CycleYear,
    Document,
    Request,
    SlotState,
    Submission,
)
from models.wheel import Wheel

log = logging.getLogger("aarshjul.engine")

DATA_DIR_ENV = "AARSHJUL_DATA_DIR"
DEFAULT_DATA_DIR = Path("aarshjul-data")
LETTER_EVENTS = frozenset({"letters"})
# Event kinds built by the next issue; until then a run says so visibly (note + warning).
NOT_YET_BUILT = {
    "barometer": "opdatering af integrationsbarometeret",
    "status_report": "statusrapport",
    "budget": "budgetoverblik",
    "meeting": "møde",
}


class Refused(Exception):
    """A request the engine will not carry out; the message says why (CLI: exit 1)."""


# --- set-up ----------------------------------------------------------------------------


def data_dir(explicit: Path | None = None) -> Path:
    return explicit or Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def open_database(url: str | None = None) -> Engine:
    """The state database at ``url`` (default ``AARSHJUL_DATABASE_URL``), migrated to head."""
    from models.db import database_url, make_engine, upgrade

    engine = make_engine(database_url(url))
    upgrade(engine)
    return engine


@dataclass
class Setup:
    """Everything a run needs besides the instant: the wheel, the store, where files go."""

    wheel: Wheel
    db: Engine
    data: Path
    transport: Any = None  # letters.delivery transport; None: from the environment
    journal: Any = None
    documents: Path | None = None  # where generated letters/forms are written (None: not kept)
    actor: str = "aarshjul"
    clock: Callable[[], datetime] | None = None  # the sender's "now" (simulate: virtual)
    cal: BusinessCalendar = field(init=False)
    _plans: dict[int, YearPlan] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.cal = calendar_for(self.wheel)
        if self.journal is None:
            self.journal = ports.Journal(self.data / "journal")
        if self.transport is None:
            self.transport = ports.transport_from_env(self.data / "outgoing")

    def plan(self, year: int) -> YearPlan:
        if year not in self._plans:
            self._plans[year] = year_plan(self.wheel, year, self.cal)
        return self._plans[year]

    @property
    def tz(self) -> Any:
        return self.wheel.policy.tz

    @property
    def domain(self) -> str:
        return self.wheel.mail_domain

    @property
    def sender(self) -> tuple[str, str]:
        s = self.wheel.policy.sender
        return (s.name, s.email)

    def local(self, instant: datetime) -> datetime:
        return require_aware(instant, "as_of").astimezone(self.tz)


# --- actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One logical message to queue (or, with ``send=False``, only slot bookkeeping)."""

    kind: str  # header kind: letter | reminder | escalation | receipt | report
    body: str  # body kind: letter | reminder | overdue | escalation | receipt | report
    key: str
    year: int
    committee: str
    event: str | None = None
    deliverable: str | None = None
    slot: str | None = None
    slot_at: datetime | None = None
    request_id: int | None = None
    skip: tuple[tuple[str, datetime], ...] = ()  # (slot, due instant) marked skipped
    opens: tuple[str, ...] = ()  # letters: deliverables this letter opens for the committee
    send: bool = True
    # receipts
    received_at: datetime | None = None
    revision: int = 0
    first_received_at: datetime | None = None
    file_name: str | None = None


def letter_key(year: int, event: str, committee: str) -> str:
    return f"letter:{year}:{event}:{committee}"


def reminder_key(year: int, deliverable: str, committee: str, slot: str) -> str:
    return f"reminder:{year}:{deliverable}:{committee}:{slot}"


def escalation_key(year: int, deliverable: str, committee: str) -> str:
    return f"escalation:{year}:{deliverable}:{committee}"


def receipt_key(submission_id: int) -> str:
    return f"receipt:{submission_id}"


def report_key(year: int, event: str) -> str:
    return f"report:{year}:{event}"


def _outbox_keys(s: Session, keys: Iterable[str]) -> set[str]:
    from models.outbox import OutboxRow

    keys = list(keys)
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(s.exec(select(OutboxRow.key).where(col(OutboxRow.key).in_(chunk))).all())
    return found


# --- letters ---------------------------------------------------------------------------


def plan_letters(st: Setup, year: int, event: str, as_of: datetime) -> list[Action]:
    """The letters of ``event`` in ``year`` not yet queued, one per committee in its ``to``."""
    require_aware(as_of, "as_of")
    plan = st.plan(year)
    pe = plan.event(event)
    wanted = {c: letter_key(year, pe.key, c) for c in pe.to}
    with Session(st.db) as s:
        done = _outbox_keys(s, wanted.values())
    actions = []
    for c, key in wanted.items():
        if key in done:
            continue
        opens = tuple(
            d for d in pe.opens if c in st.wheel.deliverable_from(st.wheel.deliverable[d])
        )
        actions.append(Action("letter", "letter", key, year, c, event=pe.key, opens=opens))
    return actions


def _readings(st: Setup) -> dict[str, list[Any]]:
    """Barometer readings by goal, in the shape letters.context expects."""
    Reading = ports.Reading
    out: dict[str, list[Any]] = defaultdict(list)
    with Session(st.db) as s:
        for r in s.exec(select(BarometerReading).order_by(col(BarometerReading.id))).all():
            out[r.goal].append(Reading(r.goal, r.period, r.value, r.source or None))
    return dict(out)


def _safe(name: str) -> str:
    return re.sub(r"[^\w .-]+", "-", name).strip("- ")


def build_outgoing(
    st: Setup, a: Action, as_of: datetime, readings: dict[str, list[Any]] | None = None
) -> Any:
    """The message for an action (pure apart from reading templates)."""
    w = st.wheel
    c = w.committee[a.committee]
    plan = st.plan(a.year)
    attachments: list[Any] = []
    if a.kind == "letter":
        pe = plan.event(a.event or "")
        lctx = ports.letter_context(w, plan, pe.key, c.key, readings)
        name = pe.letter or pe.key
        attachments.append(
            ports.Attachment(
                f"{_safe(pe.title)} {a.year} - {c.key}.docx", ports.render_docx(name, lctx)
            )
        )
        for dkey in a.opens:
            d = w.deliverable[dkey]
            fctx = ports.form_context(w, plan, dkey, c.key)
            attachments.append(
                ports.Attachment(
                    f"Formular - {_safe(d.title)} {a.year} - {c.key}.docx",
                    ports.render_docx(d.form or "formular", fctx),
                )
            )
    ctx = body_context(st, a, as_of, tuple(x.filename for x in attachments))
    subject, text, html = ports.render_body(a.body, ctx)  # type: ignore[arg-type]
    if a.kind == "escalation":
        to, cc = w.escalate_to(c), (*c.to, *c.cc)
    else:
        to, cc = c.to, c.cc
    return ports.Outgoing(
        key=a.key,
        kind=a.kind,  # type: ignore[arg-type]
        year=a.year,
        committee=c.key,
        event=a.event,
        deliverable=a.deliverable,
        slot=a.slot,
        sender=st.sender,
        to=tuple(to),
        cc=tuple(x for x in cc if x not in to),
        subject=subject,
        text=text,
        html=html,
        attachments=tuple(attachments),
        date=st.local(as_of),
    )


def body_context(
    st: Setup, a: Action, as_of: datetime, attachments: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The context of the e-mail body (``letters.bodies.body_context``)."""
    return ports.body_context(
        a.body,  # type: ignore[arg-type]
        st.wheel,
        st.plan(a.year),
        committee=a.committee,
        event=a.event,
        deliverable=a.deliverable,
        slot=a.slot,
        received_at=a.received_at,
        revision=a.revision > 0,
        first_received_at=a.first_received_at,
        file_name=a.file_name,
        attachments=attachments,
    )


def _open_requests_for(s: Session, st: Setup, a: Action, as_of: datetime) -> None:
    for dkey in a.opens:
        existing = s.exec(
            select(Request.id).where(
                Request.year == a.year,
                Request.deliverable == dkey,
                Request.committee == a.committee,
            )
        ).first()
        if existing is None:
            s.add(
                Request(
                    year=a.year,
                    deliverable=dkey,
                    committee=a.committee,
                    opened_by=a.event or "",
                    opened_at=as_of,
                )
            )
            _audit(
                s,
                st,
                as_of,
                "open",
                a.year,
                a.committee,
                deliverable=dkey,
                event=a.event,
                outcome="opened",
            )


def _audit(
    s: Session,
    st: Setup,
    at: datetime,
    action: str,
    year: int | None,
    committee: str | None,
    *,
    deliverable: str | None = None,
    event: str | None = None,
    slot: str | None = None,
    ref: str | None = None,
    outcome: str,
) -> None:
    s.add(
        AuditEntry(
            at=at,
            recorded_at=datetime.now(UTC),
            actor=st.actor,
            action=action,
            year=year,
            committee=committee,
            deliverable=deliverable,
            event=event,
            slot=slot,
            ref=ref,
            outcome=outcome,
        )
    )


def _ensure_year(s: Session, year: int, as_of: datetime) -> None:
    if s.get(CycleYear, year) is None:
        s.add(CycleYear(year=year, started_at=as_of))
        s.flush()


CHUNK = 200  # messages per transaction: bounded memory for the January batch at scale


@dataclass(frozen=True)
class Queued:
    """What the report keeps of a queued message (the attachments' bytes are let go)."""

    key: str
    kind: str
    year: int
    committee: str | None
    event: str | None
    deliverable: str | None
    slot: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime
    attachments: tuple[str, ...]

    @classmethod
    def of(cls, o: Any) -> Queued:
        return cls(
            o.key,
            o.kind,
            o.year,
            o.committee,
            o.event,
            o.deliverable,
            o.slot,
            tuple(o.to),
            tuple(o.cc),
            o.subject,
            o.date,
            tuple(a.filename for a in o.attachments),
        )


def enqueue_actions(
    st: Setup,
    actions: list[Action],
    as_of: datetime,
    *,
    replan: Callable[[], list[Action]] | None = None,
) -> list[Any]:
    """Build and queue ``actions``: each message in the same transaction as its slot states
    (and, for a letter, the requests it opens), in transactions of :data:`CHUNK` messages.

    Returns what was queued (:class:`Queued`; already-queued ones are left out). On a
    unique-constraint race with another worker the transaction rolls back and the rest is
    planned again with ``replan()`` (committed chunks are then no longer due).
    """
    readings = _readings(st) if any(a.kind == "letter" for a in actions) else None
    queued: list[Queued] = []
    attempts = 0
    i = 0
    while i < len(actions):
        chunk = actions[i : i + CHUNK]
        try:
            queued += _enqueue_chunk(st, chunk, as_of, readings)
        except IntegrityError:
            attempts += 1
            if replan is None or attempts > 2:
                raise
            log.warning("another worker got there first; planning again")
            actions, i = replan(), 0
            continue
        i += CHUNK
    return queued


def _enqueue_chunk(
    st: Setup, actions: list[Action], as_of: datetime, readings: dict[str, list[Any]] | None
) -> list[Queued]:
    from models.db import immediate

    built = [(a, build_outgoing(st, a, as_of, readings) if a.send else None) for a in actions]
    queued: list[Any] = []
    with Session(immediate(st.db), expire_on_commit=False) as s:
        for y in sorted({a.year for a in actions}):
            _ensure_year(s, y, as_of)
        for a, o in built:
            if a.request_id is not None:
                for name, due_at in a.skip:
                    s.add(
                        SlotState(
                            request_id=a.request_id,
                            slot=name,
                            state=SKIPPED,
                            due_at=due_at,
                            at=as_of,
                        )
                    )
                    _audit(
                        s,
                        st,
                        as_of,
                        "slot",
                        a.year,
                        a.committee,
                        deliverable=a.deliverable,
                        slot=name,
                        outcome=SKIPPED,
                    )
                if a.send and a.slot:
                    s.add(
                        SlotState(
                            request_id=a.request_id,
                            slot=a.slot,
                            state=SENT,
                            due_at=a.slot_at,
                            at=as_of,
                            outbox_key=a.key,
                        )
                    )
            if o is None:
                continue
            row = ports.enqueue(s, o, st.domain, st.tz)
            _audit(
                s,
                st,
                as_of,
                a.kind,
                a.year,
                a.committee,
                deliverable=a.deliverable,
                event=a.event,
                slot=a.slot,
                ref=a.key,
                outcome="already-queued" if row is None else "queued",
            )
            if row is None:
                continue
            queued.append(o)
            if a.kind == "letter":
                _open_requests_for(s, st, a, as_of)
        s.commit()
    if st.documents is not None:
        write_documents(st.documents, queued)
    return [Queued.of(o) for o in queued]


def write_documents(directory: Path, outgoing: Iterable[Any]) -> list[Path]:
    """Write the attachments of ``outgoing`` into ``directory`` (generated letters/forms)."""
    paths = []
    for o in outgoing:
        for att in o.attachments:
            sub = directory / str(o.year) / (o.event or o.kind)
            sub.mkdir(parents=True, exist_ok=True)
            p = sub / att.filename
            p.write_bytes(att.content)
            paths.append(p)
    return paths


# --- chase -----------------------------------------------------------------------------


class _SlotCache:
    def __init__(self, st: Setup) -> None:
        self.st = st
        self._due: dict[tuple[str, int], date] = {}
        self._slots: dict[tuple[str, int, datetime], tuple[Slot, ...]] = {}

    def due(self, deliverable: str, year: int) -> date:
        k = (deliverable, year)
        if k not in self._due:
            self._due[k] = due_date(
                self.st.wheel, self.st.cal, self.st.wheel.deliverable[deliverable], year
            )
        return self._due[k]

    def slots(self, deliverable: str, year: int, opened_at: datetime) -> tuple[Slot, ...]:
        k = (deliverable, year, opened_at)
        if k not in self._slots:
            d = self.st.wheel.deliverable[deliverable]
            self._slots[k] = reminder_slots(
                self.st.wheel, self.st.cal, d, self.due(deliverable, year), opened_at
            )
        return self._slots[k]


def _open_at(as_of: datetime) -> Any:
    return or_(col(Request.status) == OPEN, col(Request.received_at) > as_of)


def plan_chase(st: Setup, as_of: datetime, year: int | None = None) -> list[Action]:
    """What a chase at ``as_of`` sends (CONTRACT §2): per open request at most one reminder
    (the latest due; the others skipped; no before-* after the due date), plus a due
    escalation. Slots are derived from the current wheel."""
    require_aware(as_of, "as_of")
    as_of_utc = as_of.astimezone(UTC)
    today = st.local(as_of).date()
    cache = _SlotCache(st)
    with Session(st.db) as s:
        q = select(Request).where(_open_at(as_of), col(Request.opened_at) <= as_of)
        if year is not None:
            q = q.where(Request.year == year)
        requests = [r for r in s.exec(q).all() if r.deliverable in st.wheel.deliverable]
        done: dict[int, set[str]] = defaultdict(set)
        if requests:
            sq = (
                select(SlotState.request_id, SlotState.slot)
                .join(Request, col(Request.id) == col(SlotState.request_id))
                .where(_open_at(as_of), col(Request.opened_at) <= as_of)
            )
            for rid, slot in s.exec(sq).all():
                done[rid].add(slot)
    actions: list[Action] = []
    for r in requests:
        assert r.id is not None
        due = cache.due(r.deliverable, r.year)
        unsent = [
            x for x in cache.slots(r.deliverable, r.year, r.opened_at) if x.name not in done[r.id]
        ]
        eligible = [x for x in unsent if x.is_reminder and x.at.astimezone(UTC) <= as_of_utc]
        if today > due:
            late_before = [x for x in eligible if x.kind == "before"]
            eligible = [x for x in eligible if x.kind != "before"]
        else:
            late_before = []
        base: dict[str, Any] = {
            "year": r.year,
            "committee": r.committee,
            "deliverable": r.deliverable,
            "request_id": r.id,
        }
        if eligible or late_before:
            chosen = max(eligible, key=lambda x: x.at.astimezone(UTC)) if eligible else None
            skip = tuple((x.name, x.at) for x in [*late_before, *eligible] if x is not chosen)
            if chosen is None:
                actions.append(Action("reminder", "reminder", "", skip=skip, send=False, **base))
            else:
                actions.append(
                    Action(
                        "reminder",
                        "reminder" if chosen.kind == "before" else "overdue",
                        reminder_key(r.year, r.deliverable, r.committee, chosen.name),
                        slot=chosen.name,
                        slot_at=chosen.at,
                        skip=skip,
                        **base,
                    )
                )
        for x in unsent:
            if x.kind == "escalate" and x.at.astimezone(UTC) <= as_of_utc:
                actions.append(
                    Action(
                        "escalation",
                        "escalation",
                        escalation_key(r.year, r.deliverable, r.committee),
                        slot="escalate",
                        slot_at=x.at,
                        **base,
                    )
                )
    return actions


# --- submissions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    submission_id: int
    request_id: int
    revision: int
    outcome: str  # on_time | late (of this arrival)
    status: str  # the request's status (first arrival)
    document: str  # path relative to the data directory
    action: Action
    outgoing: Any  # the receipt as queued
    reading: Any = None  # letters.readback.FormReading of the file (flows.intake_wiring)


MAX_SUBMISSION_BYTES = 20_000_000


def check_submission(file: Path) -> Any:
    """Read and check a submitted Word file (``letters.intake``); refuse it with a reason."""
    from letters import intake

    try:
        size = file.stat().st_size
    except OSError as exc:
        raise Refused(f"refused: cannot read {file}: {exc.strerror}") from None
    if size > MAX_SUBMISSION_BYTES:
        raise Refused(
            f"refused: {file.name}: the file is {size / 1_000_000:,.1f} MB, over the limit of "
            f"{MAX_SUBMISSION_BYTES / 1_000_000:,.1f} MB"
        )
    try:
        return intake.check_docx(file.read_bytes(), file.name)
    except intake.Refused as exc:
        raise Refused(f"refused: {file.name}: {exc.reason}") from None


def store_document(data: Path, accepted: Any) -> tuple[str, str]:
    """Store an accepted file content-addressed under ``data/submissions``; (sha256, path)."""
    from letters import intake

    path = intake.store(accepted, data / "submissions")
    return accepted.sha256, path.relative_to(data).as_posix()


def register_submission(
    st: Setup, year: int, committee: str, deliverable: str, file: Path, at: datetime
) -> Registered:
    """Register a submission at ``at`` and queue its receipt, in one transaction.

    The first arrival closes the request (on time when registered on or before the due
    date, local) and cancels its remaining slots; a later one is kept as a revision with its
    own receipt. A request that was never opened is refused.
    """
    from models.db import immediate

    require_aware(at, "at")
    w = st.wheel
    if committee not in w.committee:
        raise Refused(f"refused: {committee!r} is not a committee of the wheel")
    if deliverable not in w.deliverable:
        raise Refused(f"refused: {deliverable!r} is not a deliverable of the wheel")
    accepted = check_submission(file)
    content = accepted.data
    from flows.intake_wiring import read_submission

    reading = read_submission(w, committee, content)
    due = due_date(w, st.cal, w.deliverable[deliverable], year)
    outcome = ON_TIME if st.local(at).date() <= due else LATE
    with Session(immediate(st.db), expire_on_commit=False) as s:
        req = s.exec(
            select(Request).where(
                Request.year == year,
                Request.deliverable == deliverable,
                Request.committee == committee,
            )
        ).first()
        if req is None or req.opened_at.astimezone(UTC) > at.astimezone(UTC):
            raise Refused(
                f"refused: no open request for {deliverable} from {committee} in {year} "
                "(the letter asking for it has not gone out)"
            )
        assert req.id is not None
        sha, rel = store_document(st.data, accepted)
        doc = s.exec(select(Document).where(Document.sha256 == sha)).first()
        if doc is None:
            doc = Document(
                sha256=sha, filename=file.name, path=rel, size=len(content), stored_at=at
            )
            s.add(doc)
            s.flush()
        previous = s.exec(select(Submission.id).where(Submission.request_id == req.id)).all()
        first = req.status == OPEN
        sub = Submission(
            request_id=req.id,
            document_id=doc.id or 0,
            received_at=at,
            revision=len(previous),
            outcome=outcome,
        )
        s.add(sub)
        s.flush()
        assert sub.id is not None
        if first:
            req.status, req.received_at, req.closed_at = outcome, at, at
            s.add(req)
            done = set(s.exec(select(SlotState.slot).where(SlotState.request_id == req.id)).all())
            slots = reminder_slots(w, st.cal, w.deliverable[deliverable], due, req.opened_at)
            for x in slots:
                if x.name not in done:
                    s.add(
                        SlotState(
                            request_id=req.id, slot=x.name, state=CANCELLED, due_at=x.at, at=at
                        )
                    )
        _audit(
            s,
            st,
            at,
            "submit",
            year,
            committee,
            deliverable=deliverable,
            ref=f"submission:{sub.id}",
            outcome=outcome if first else "revision",
        )
        a = Action(
            "receipt",
            "receipt",
            receipt_key(sub.id),
            year,
            committee,
            deliverable=deliverable,
            request_id=req.id,
            received_at=at,
            revision=sub.revision,
            first_received_at=None if first else req.received_at,
            file_name=file.name,
        )
        o = build_outgoing(st, a, at)
        if ports.enqueue(s, o, st.domain, st.tz) is not None:
            _audit(
                s,
                st,
                at,
                "receipt",
                year,
                committee,
                deliverable=deliverable,
                ref=a.key,
                outcome="queued",
            )
        s.commit()
        return Registered(sub.id, req.id, sub.revision, outcome, req.status, rel, a, o, reading)


# --- sending and reporting ---------------------------------------------------------------


def deliver(st: Setup, now: datetime | None = None) -> Any:
    """Drain the outbox (unless paused); returns letters.delivery's report."""
    return ports.send_pending(
        st.db,
        st.transport,
        st.journal,
        now=now or (st.clock() if st.clock else datetime.now(UTC)),
        alert=ports.AlertPolicy.from_wheel(st.wheel),
    )


def paused(st: Setup) -> bool:
    with Session(st.db) as s:
        return bool(ports.is_paused(s))


def set_paused(st: Setup, value: bool, as_of: datetime) -> None:
    from models.db import immediate

    with Session(immediate(st.db)) as s:
        ports.set_paused(s, value, as_of)
        _audit(s, st, as_of, "pause" if value else "resume", None, None, outcome="done")
        s.commit()


def message_rows(
    st: Setup, keys: list[str], *, dry_run: bool = False, outgoing: list[Any] | None = None
) -> list[MessageRow]:
    """Rows for the report, in ``keys`` order, with each message's outbox state."""
    from models.outbox import OutboxRow

    by_key: dict[str, Any] = {}
    if outgoing is not None:
        by_key = {o.key: o for o in outgoing}
    rows: dict[str, Any] = {}
    if not dry_run and keys:
        with Session(st.db) as s:
            for i in range(0, len(keys), 500):
                for found in s.exec(
                    select(OutboxRow).where(col(OutboxRow.key).in_(keys[i : i + 500]))
                ).all():
                    rows[found.key] = found
    out = []
    for k in keys:
        o = by_key.get(k)
        r: Any = rows.get(k)
        if r is None and o is None:
            continue
        state = "preview" if dry_run else _state(r)
        if o is not None:
            out.append(
                MessageRow(
                    message_id=ports.message_id(k, st.domain),
                    kind=o.kind,
                    committee=o.committee,
                    event=o.event,
                    deliverable=o.deliverable,
                    slot=o.slot,
                    to=tuple(o.to),
                    cc=tuple(o.cc),
                    date=o.date,
                    subject=o.subject,
                    attachments=tuple(getattr(a, "filename", a) for a in o.attachments),
                    state=state,
                )
            )
        else:
            out.append(
                MessageRow(
                    message_id=r.message_id,
                    kind=r.kind,
                    committee=r.committee,
                    event=r.event,
                    deliverable=r.deliverable,
                    slot=r.slot,
                    to=tuple(r.recipients),
                    cc=(),
                    date=st.local(r.queued_at),
                    subject=r.subject,
                    attachments=(),
                    state=state,
                )
            )
    return out


def send_problems(st: Setup, year: int | None = None) -> list[dict[str, Any]]:
    """Failed and uncertain sends (the outbox's alerts), for ``status`` and the coordinator."""
    from models.outbox import OutboxAlert, OutboxRow

    with Session(st.db) as s:
        q = select(OutboxAlert, OutboxRow).join(
            OutboxRow, col(OutboxRow.id) == col(OutboxAlert.outbox_id)
        )
        if year is not None:
            q = q.where(OutboxRow.year == year)
        found = s.exec(q.order_by(col(OutboxAlert.id))).all()
    return [
        {
            "state": alert.kind,
            "kind": row.kind,
            "key": row.key,
            "message_id": row.message_id,
            "committee": row.committee,
            "event": row.event,
            "deliverable": row.deliverable,
            "slot": row.slot,
            "at": st.local(alert.at).isoformat(),
            "code": alert.code,
            "detail": alert.detail,
        }
        for alert, row in found
    ]


def pending_count(st: Setup, year: int | None = None) -> int:
    """Messages queued and not yet sent (waiting, being sent or waiting for a retry)."""
    from sqlalchemy import func

    from models.outbox import OutboxRow

    with Session(st.db) as s:
        q = select(func.count()).select_from(OutboxRow)
        q = q.where(col(OutboxRow.status).in_(("pending", "claimed", "sending")))
        if year is not None:
            q = q.where(OutboxRow.year == year)
        return int(s.exec(q).one())


def _state(row: Any) -> str:
    if row is None:
        return "queued"
    status = str(row.status)
    if status == "sent":
        return "uncertain" if getattr(row, "uncertain", False) else "sent"
    if status in ("failed", "uncertain"):
        return status
    return "queued"


def request_rows(st: Setup, year: int | None, as_of: datetime) -> list[RequestRow]:
    """Who has handed in what, as of ``as_of`` (status open/on_time/late; ``overdue`` flag)."""
    require_aware(as_of, "as_of")
    today = st.local(as_of).date()
    cache = _SlotCache(st)
    with Session(st.db) as s:
        q = select(Request)
        if year is not None:
            q = q.where(Request.year == year)
        reqs = list(s.exec(q).all())
        states: dict[int, list[SlotState]] = defaultdict(list)
        sq = select(SlotState).join(Request, col(Request.id) == col(SlotState.request_id))
        if year is not None:
            sq = sq.where(Request.year == year)
        for ss in s.exec(sq.order_by(col(SlotState.id))).all():
            states[ss.request_id].append(ss)
    order_c = {c.key: i for i, c in enumerate(st.wheel.committees)}
    order_d = {d.key: i for i, d in enumerate(st.wheel.deliverables)}
    reqs.sort(key=lambda r: (r.year, order_d.get(r.deliverable, 99), order_c.get(r.committee, 999)))
    rows = []
    for r in reqs:
        assert r.id is not None
        due = (
            cache.due(r.deliverable, r.year)
            if r.deliverable in st.wheel.deliverable
            else r.opened_at.date()
        )
        received = r.received_at if r.received_at and r.received_at <= as_of else None
        status = r.status if received is not None else OPEN
        sent = [x for x in states[r.id] if x.state == SENT and x.at <= as_of]
        if received is not None:
            last = f"modtaget {dansk_dato(st.local(received))}"
        elif sent:
            x = sent[-1]
            what = (
                "eskalering"
                if x.slot == "escalate"
                else ("påmindelse" if x.slot.startswith("before") else "rykker")
            )
            last = f"{what} {x.slot} sendt {dansk_dato(st.local(x.at))}"
        else:
            last = f"brev sendt {dansk_dato(st.local(r.opened_at))}"
        rows.append(
            RequestRow(
                year=r.year,
                committee=r.committee,
                deliverable=r.deliverable,
                due=due,
                status=status,
                received_at=st.local(received) if received else None,
                reminders_sent=len(sent),
                last_action=last,
                overdue=status == OPEN and today > due,
            )
        )
    return rows


# --- whole runs (what the flows and simulate call) -------------------------------------


def _preview(st: Setup, directory: Path, outgoing: list[Any]) -> list[str]:
    """Dry run: write each message (.eml) and its attachments into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for o in outgoing:
        base = directory / _safe(o.key.replace(":", "_"))
        raw = ports.build(o, st.domain, st.tz)
        base.with_suffix(".eml").write_bytes(raw)
        written.append(str(base.with_suffix(".eml")))
        for att in o.attachments:
            p = directory / f"{base.name}--{att.filename}"
            p.write_bytes(att.content)
            written.append(str(p))
    return written


def event_title(st: Setup, pe: PlannedEvent, year: int) -> str:
    return f"{pe.title} {year} ({dansk_dato(pe.day)})"


def run_event(
    st: Setup,
    event: str,
    year: int,
    as_of: datetime,
    *,
    dry_run: bool = False,
    preview_dir: Path | None = None,
    send: bool = True,
) -> RunReport:
    """Carry out ``event`` of ``year`` as of ``as_of``, dispatched by its ``do:`` kind."""
    from flows import event_barometer, event_meeting, event_reports  # noqa: F401  (register)

    require_aware(as_of, "as_of")
    plan = st.plan(year)
    try:
        pe = plan.event(event)
    except StopIteration:
        raise Refused(
            f"refused: {event!r} is not an event of the wheel "
            f"(events: {', '.join(e.key for e in plan.events)})"
        ) from None
    report = RunReport(
        title=event_title(st, pe, year),
        kind="event",
        year=year,
        as_of=st.local(as_of),
        dry_run=dry_run,
    )
    handler = EVENT_HANDLERS.get(pe.do)
    if handler is None:
        note = (
            f"Hændelsen «{pe.title}» ({pe.do}: {NOT_YET_BUILT.get(pe.do, pe.do)}) er endnu "
            "ikke bygget i denne version; intet er sendt eller skrevet for den."
        )
        log.warning("event %s (do: %s) is not built yet; nothing was done for it", pe.key, pe.do)
        report.notes.append(note)
    else:
        handler(st, report, pe, year, as_of, dry_run, preview_dir, send)
    report.requests = request_rows(st, year, as_of)
    return report


def _letters(
    st: Setup,
    report: RunReport,
    pe: PlannedEvent,
    year: int,
    as_of: datetime,
    dry_run: bool,
    preview_dir: Path | None,
    send: bool,
) -> None:
    actions = plan_letters(st, year, pe.key, as_of)
    if dry_run:
        readings = _readings(st)
        outgoing = [build_outgoing(st, a, as_of, readings) for a in actions]
        report.documents += _preview(st, preview_dir or st.data / "preview", outgoing)
        report.messages = message_rows(
            st, [o.key for o in outgoing], dry_run=True, outgoing=outgoing
        )
        return
    queued = enqueue_actions(
        st, actions, as_of, replan=lambda: plan_letters(st, year, pe.key, as_of)
    )
    finish(st, report, queued, as_of, send)


def finish(st: Setup, report: RunReport, queued: list[Any], as_of: datetime, send: bool) -> None:
    """Send what was queued (unless told not to) and fill in the report's messages."""
    if send:
        deliver(st)
    if paused(st):
        report.notes.append(PAUSED_NOTE)
    report.messages = message_rows(st, [o.key for o in queued], outgoing=queued)
    if st.documents is not None:
        report.documents += document_paths(queued)


PAUSED_NOTE = "Afsendelse er sat på pause: beskederne venter i udbakken indtil `aarshjul resume`."


def document_paths(queued: Iterable[Any]) -> list[str]:
    """Where :func:`write_documents` put the attachments, relative to ``Setup.documents``."""
    return [
        (Path(str(o.year)) / (o.event or o.kind) / getattr(a, "filename", a)).as_posix()
        for o in queued
        for a in o.attachments
    ]


EventHandler = Callable[
    [Setup, RunReport, PlannedEvent, int, datetime, bool, Path | None, bool], None
]
EVENT_HANDLERS: dict[str, EventHandler] = {"letters": _letters}


def register_event_handler(kind: str, handler: EventHandler) -> None:
    """Where the next issue plugs in barometer, status_report, budget and meeting."""
    EVENT_HANDLERS[kind] = handler


def run_chase(
    st: Setup,
    as_of: datetime,
    *,
    dry_run: bool = False,
    preview_dir: Path | None = None,
    year: int | None = None,
    send: bool = True,
) -> RunReport:
    require_aware(as_of, "as_of")
    local = st.local(as_of)
    report = RunReport(
        title=f"Rykkerkørsel {dansk_dato(local)}",
        kind="chase",
        year=year,
        as_of=local,
        dry_run=dry_run,
    )
    actions = plan_chase(st, as_of, year)
    if dry_run:
        outgoing = [build_outgoing(st, a, as_of) for a in actions if a.send]
        report.documents += _preview(st, preview_dir or st.data / "preview", outgoing)
        report.messages = message_rows(
            st, [o.key for o in outgoing], dry_run=True, outgoing=outgoing
        )
    else:
        queued = enqueue_actions(st, actions, as_of, replan=lambda: plan_chase(st, as_of, year))
        finish(st, report, queued, as_of, send)
    report.requests = request_rows(st, year, as_of)
    return report


def run_submit(
    st: Setup,
    year: int,
    committee: str,
    deliverable: str,
    file: Path,
    at: datetime,
    *,
    send: bool = True,
) -> tuple[Registered, RunReport]:
    reg = register_submission(st, year, committee, deliverable, file, at)
    local = st.local(at)
    report = RunReport(
        title=f"Aflevering {deliverable} fra {committee} {dansk_dato(local)}",
        kind="receipt",
        year=year,
        as_of=local,
    )
    from flows.intake_wiring import registered_notes

    report.notes += registered_notes(st.wheel, reg, file.name)
    finish(st, report, [reg.outgoing], at, send)
    report.requests = request_rows(st, year, at)
    return reg, report
