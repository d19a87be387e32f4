"""The coordinator's actions: extend, excuse, reopen, resend, pause and resume.

Each is one function over one transaction: the state change, its audit entry (who, when,
what, why) and, where a committee is concerned, its notice, committed together; a dry run
reads the same state, builds the same notice and writes nothing. A refusal is
:class:`~flows.services.setup.Refused` with a Danish message saying why (the CLI exits 1).
What was done, or would be done, comes back as an :class:`Outcome` in Danish, for the CLI
and the run's artifact. README "The coordinator's desk" has the rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from flows.services.audit import audit
from flows.services.keys import resend_key
from flows.services.ladders import current
from flows.services.notices import notice, stamp
from flows.services.outbox import queue_message
from flows.services.setup import Refused, Setup
from flows.services.submissions import cancel_remaining
from letters.delivery import set_paused
from letters.mail import HeaderInjection, Outgoing, check_address, message_id
from letters.resend import resent
from models.dates import dansk_dato, dansk_tid
from models.db import immediate
from models.kinds import (
    WAITING,
    ActionKind,
    MessageKind,
    NoticeCause,
    OutboxStatus,
    RequestStatus,
    SlotOutcome,
)
from models.ladder import arrival_status, extension_problem
from models.outbox import OutboxRow
from models.plan import require_aware
from models.state import Document, Request, SlotState, Submission


@dataclass(frozen=True)
class Outcome:
    """What an action did, or (a dry run) would do."""

    action: ActionKind
    done: str  # Danish, one or two sentences
    dry_run: bool = False
    year: int | None = None
    committee: str | None = None
    deliverable: str | None = None
    messages: tuple[Outgoing, ...] = ()  # the notice, as built (queued unless a dry run)
    keys: tuple[str, ...] = ()  # outbox keys queued (or that would be)
    reason: str | None = None
    details: tuple[str, ...] = field(default=())  # more Danish lines for the artifact


def _queue_notice(s: Session, st: Setup, as_of: datetime, o: Outgoing, kind: ActionKind,
                  year: int, committee: str, deliverable: str, *, ref: str, outcome: str,
                  reason: str | None) -> None:
    """Write the action to the audit log, queue its notice ``o`` to the committee and commit
    both together."""
    audit(s, st, as_of, kind, year, committee, deliverable=deliverable, ref=ref,
          outcome=outcome, reason=reason)
    queue_message(s, st, o, as_of)
    s.commit()


def _noticed(kind: ActionKind, text: str, dry_run: bool, year: int, committee: str,
             deliverable: str, o: Outgoing, reason: str | None) -> Outcome:
    """The outcome of an action whose one message is the notice ``o``."""
    return Outcome(kind, text, dry_run, year, committee, deliverable, (o,), (o.key,), reason)


def _clean(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    if len(text) > 500:
        raise Refused("afvist: begrundelsen er over 500 tegn; skriv den kortere")
    return text or None


@contextmanager
def _session(st: Setup, dry_run: bool) -> Iterator[Session]:
    """A write transaction (SQLite: the write lock first), or a read-only look for a dry run."""
    with Session(st.db if dry_run else immediate(st.db), expire_on_commit=False) as s:
        yield s  # a dry run never commits: closing the session rolls back, nothing expires


def _title(st: Setup, deliverable: str) -> str:
    return st.wheel.deliverable[deliverable].title


def _request(s: Session, st: Setup, year: int, committee: str, deliverable: str) -> Request:
    w = st.wheel
    first, last = w.policy.years
    if not first <= year <= last:
        raise Refused(f"afvist: {year} er ikke et cykelår i politikken ({first}-{last})")
    if committee not in w.committee:
        known = ", ".join(c.key for c in w.committees)
        raise Refused(f"afvist: {committee!r} er ikke et udvalg i årshjulet (udvalg: {known})")
    if deliverable not in w.deliverable:
        known = ", ".join(d.key for d in w.deliverables)
        raise Refused(f"afvist: {deliverable!r} er ikke en aflevering i årshjulet "
                      f"(afleveringer: {known})")
    r = s.exec(select(Request).where(Request.year == year, Request.committee == committee,
                                     Request.deliverable == deliverable)).first()
    if r is None:
        raise Refused(f"afvist: {committee} er ikke bedt om «{_title(st, deliverable)}» for "
                      f"{year}: brevet, der beder om den, er ikke sendt")
    return r


def _closed(st: Setup, r: Request) -> str | None:
    """Danish: how ``r`` is closed, or None while it is open."""
    if r.status == RequestStatus.EXCUSED and r.closed_at is not None:
        return f"fritaget {dansk_dato(st.local(r.closed_at))}"
    if r.status != RequestStatus.OPEN and r.received_at is not None:
        return f"modtaget {dansk_dato(st.local(r.received_at))}"
    return None


def _what(st: Setup, r: Request) -> str:
    return f"«{_title(st, r.deliverable)}» {r.year} fra {r.committee}"


def _say(dry_run: bool, did: str, would: str) -> str:
    """What was done, or (a dry run) what would be done."""
    return f"Prøvekørsel, intet er ændret: {would}" if dry_run else did


# --- extend --------------------------------------------------------------------------------


def extend(st: Setup, year: int, committee: str, deliverable: str, until: date,
           as_of: datetime, *, reason: str | None = None, dry_run: bool = False) -> Outcome:
    """The committee's own due date becomes ``until`` (a later business day): a new ladder
    from ``as_of`` (its slots after ``as_of`` are sent even where one of the same name was
    sent before) and a notice. On time means on or before ``until``."""
    require_aware(as_of, "as_of")
    reason = _clean(reason)
    with _session(st, dry_run) as s:
        r = _request(s, st, year, committee, deliverable)
        closed = _closed(st, r)
        if closed is not None:
            raise Refused(f"afvist: {_what(st, r)} er {closed}; en lukket anmodning kan ikke "
                          "forlænges")
        cur = current(st, r, as_of)
        problem = extension_problem(st.cal, cur.due, until, st.local(as_of).date())
        if problem is not None:
            raise Refused(f"afvist: {problem}")
        ladder = r.ladder + 1
        o = notice(st, year, committee, deliverable, NoticeCause.EXTENDED, str(ladder), as_of,
                   due=until, previous_due=cur.due, reason=reason)
        change = (f"fra {dansk_dato(cur.due)} til {dansk_dato(until)}; påmindelserne følger "
                  f"den nye frist fra {dansk_tid(st.local(as_of))}")
        text = _say(dry_run,
                    f"Fristen for {_what(st, r)} er forlænget {change}, og udvalget har fået "
                    "en meddelelse.",
                    f"fristen for {_what(st, r)} ville blive forlænget {change}, og udvalget "
                    "ville få en meddelelse.")
        if not dry_run:
            moved = s.execute(update(Request).where(
                col(Request.id) == r.id, col(Request.ladder) == r.ladder).values(
                ladder=ladder, due=until, ladder_from=as_of, extended_to=until))
            if not moved.rowcount:  # type: ignore[attr-defined]
                raise Refused("afvist: anmodningen blev ændret imens; prøv igen")
            _queue_notice(s, st, as_of, o, ActionKind.EXTEND, year, committee, deliverable,
                          ref=f"until:{until.isoformat()}", outcome="extended", reason=reason)
    return _noticed(ActionKind.EXTEND, text, dry_run, year, committee, deliverable, o, reason)


# --- excuse --------------------------------------------------------------------------------


def excuse(st: Setup, year: int, committee: str, deliverable: str, as_of: datetime, *,
           reason: str | None = None, dry_run: bool = False) -> Outcome:
    """The request is closed as excused (fritaget): its remaining slots are cancelled and the
    committee gets a notice; the reports list it as excused, not as missing."""
    require_aware(as_of, "as_of")
    reason = _clean(reason)
    with _session(st, dry_run) as s:
        r = _request(s, st, year, committee, deliverable)
        closed = _closed(st, r)
        if closed is not None and r.status == RequestStatus.EXCUSED:
            raise Refused(f"afvist: {_what(st, r)} er allerede {closed}")
        if closed is not None:
            raise Refused(f"afvist: {_what(st, r)} er allerede {closed}; en modtaget aflevering "
                          "kan ikke fritages (træk registreringen tilbage med `aarshjul reopen "
                          "--submission ID` først)")
        cur = current(st, r)
        o = notice(st, year, committee, deliverable, NoticeCause.EXCUSED, stamp(as_of), as_of,
                   due=cur.due, reason=reason)
        text = _say(dry_run,
                    f"{_what(st, r)} er fritaget: der sendes ikke flere påmindelser, og udvalget "
                    "har fået en meddelelse.",
                    f"{_what(st, r)} ville blive fritaget: der ville ikke blive sendt flere "
                    "påmindelser, og udvalget ville få en meddelelse.")
        if not dry_run:
            r.status, r.closed_at = RequestStatus.EXCUSED, as_of
            s.add(r)
            cancel_remaining(s, st, r, as_of)
            _queue_notice(s, st, as_of, o, ActionKind.EXCUSE, year, committee, deliverable,
                          ref=f"request:{r.id}", outcome="excused", reason=reason)
    return _noticed(ActionKind.EXCUSE, text, dry_run, year, committee, deliverable, o, reason)


# --- reopen --------------------------------------------------------------------------------


def _as_if_never_closed(s: Session, st: Setup, r: Request) -> None:
    """Open again, its slots derived as if it had never closed: the slot states cancelled
    when it closed are taken away (the next chase then sends at most one reminder)."""
    r.status, r.received_at, r.closed_at = RequestStatus.OPEN, None, None
    s.add(r)
    s.execute(delete(SlotState).where(col(SlotState.request_id) == r.id,
                                      col(SlotState.ladder) == r.ladder,
                                      col(SlotState.state) == SlotOutcome.CANCELLED))


def reopen(st: Setup, as_of: datetime, *, submission: int | None = None,
           year: int | None = None, committee: str | None = None,
           deliverable: str | None = None, reason: str | None = None,
           dry_run: bool = False) -> Outcome:
    """Undo a wrong registration: the submission ``submission`` is kept but withdrawn, and
    the request is open again (or, when another registration of it stands, stays closed by
    that one); the committee gets a notice. Without ``submission``, the request (``year``,
    ``committee``, ``deliverable``) must be excused: the excuse is withdrawn."""
    require_aware(as_of, "as_of")
    reason = _clean(reason)
    if submission is None:
        if year is None or committee is None or deliverable is None:
            raise Refused("afvist: giv --submission ID (en registreret aflevering; se "
                          "`aarshjul status --json`) eller, for en fritaget anmodning, --year, "
                          "--committee og --deliverable")
        return _unexcuse(st, year, committee, deliverable, as_of, reason, dry_run)
    with _session(st, dry_run) as s:
        sub = s.get(Submission, submission)
        if sub is None:
            raise Refused(f"afvist: der er ingen aflevering nr. {submission} (numrene står i "
                          "`aarshjul status --json` under submissions)")
        r = s.get(Request, sub.request_id)
        assert r is not None and r.id is not None
        if sub.withdrawn_at is not None:
            raise Refused(f"afvist: aflevering nr. {submission} ({_what(st, r)}) er allerede "
                          f"trukket tilbage {dansk_dato(st.local(sub.withdrawn_at))}")
        others = [x for x in s.exec(select(Submission).where(
            Submission.request_id == r.id, col(Submission.id) != sub.id,
            col(Submission.withdrawn_at).is_(None)).order_by(col(Submission.received_at))).all()]
        cur = current(st, r)
        received = dansk_tid(st.local(sub.received_at))
        standing = others[0] if others else None
        cause = NoticeCause.WITHDRAWN if standing is not None else NoticeCause.REOPENED
        file_name = _file_name(s, sub)
        o = notice(st, r.year, r.committee, r.deliverable, cause, f"submission-{sub.id}", as_of,
                   due=cur.due, reason=reason, received_at=sub.received_at,
                   file_name=file_name, standing_at=standing.received_at if standing else None)
        which = f"Registreringen af {_what(st, r)} (nr. {sub.id}, modtaget {received})"
        if standing is None:
            after = ("anmodningen er åben igen, og næste rykkerkørsel sender højst én "
                     "påmindelse; udvalget har fået en meddelelse.")
        else:
            after = (f"afleveringen fra {dansk_tid(st.local(standing.received_at))} står; "
                     "udvalget har fået en meddelelse.")
        text = _say(dry_run, f"{which} er trukket tilbage: {after}",
                    f"{which[0].lower()}{which[1:]} ville blive trukket tilbage: "
                    + after.replace("er åben", "ville være åben").replace(
                        "har fået", "ville få"))
        if not dry_run:
            sub.withdrawn_at = as_of
            s.add(sub)
            if standing is None:
                _as_if_never_closed(s, st, r)
            elif r.received_at is not None and r.status in (RequestStatus.ON_TIME,
                                                            RequestStatus.LATE):
                r.received_at = standing.received_at
                r.status = arrival_status(st.local(standing.received_at).date(), cur.due)
                s.add(r)
            _queue_notice(s, st, as_of, o, ActionKind.REOPEN, r.year, r.committee,
                          r.deliverable, ref=f"submission:{sub.id}",
                          outcome="reopened" if standing is None else "withdrawn",
                          reason=reason)
    return _noticed(ActionKind.REOPEN, text, dry_run, r.year, r.committee, r.deliverable, o,
                    reason)


def _file_name(s: Session, sub: Submission) -> str | None:
    doc = s.get(Document, sub.document_id)
    return doc.filename if doc is not None else None


def _unexcuse(st: Setup, year: int, committee: str, deliverable: str, as_of: datetime,
              reason: str | None, dry_run: bool) -> Outcome:
    with _session(st, dry_run) as s:
        r = _request(s, st, year, committee, deliverable)
        if r.status != RequestStatus.EXCUSED:
            raise Refused(f"afvist: {_what(st, r)} er ikke fritaget; giv --submission ID for at "
                          "trække en registreret aflevering tilbage")
        cur = current(st, r)
        o = notice(st, year, committee, deliverable, NoticeCause.UNEXCUSED, stamp(as_of),
                   as_of, due=cur.due, reason=reason)
        text = _say(dry_run,
                    f"Fritagelsen af {_what(st, r)} er trukket tilbage: anmodningen er åben "
                    "igen, næste rykkerkørsel sender højst én påmindelse, og udvalget har fået "
                    "en meddelelse.",
                    f"fritagelsen af {_what(st, r)} ville blive trukket tilbage: anmodningen "
                    "ville være åben igen, og udvalget ville få en meddelelse.")
        if not dry_run:
            _as_if_never_closed(s, st, r)
            _queue_notice(s, st, as_of, o, ActionKind.REOPEN, year, committee, deliverable,
                          ref=f"request:{r.id}", outcome="unexcused", reason=reason)
    return _noticed(ActionKind.REOPEN, text, dry_run, year, committee, deliverable, o, reason)


# --- resend --------------------------------------------------------------------------------


def _original(s: Session, st: Setup, ref: str) -> OutboxRow:
    """The outbox row of a Message-ID (with or without <>), a Resent-Message-ID or a key."""
    mid = ref.strip()
    wanted = mid if mid.startswith("<") else f"<{mid}>"
    row = s.exec(select(OutboxRow).where(OutboxRow.message_id == wanted)).first()
    if row is None:
        row = s.exec(select(OutboxRow).where(OutboxRow.key == mid)).first()
    if row is None:
        raise Refused(f"afvist: {mid} er ikke en besked fra årshjulet (Message-ID'erne står i "
                      "`aarshjul status --json` og i journalens index.csv)")
    while row.key.startswith("resend:"):  # a resend of a resend is a resend of the original
        base = row.key.removeprefix("resend:").rsplit(":", 1)[0]
        found = s.exec(select(OutboxRow).where(OutboxRow.key == base)).first()
        if found is None:
            break
        row = found
    return row


def _recipients(st: Setup, row: OutboxRow, to: Sequence[str]) -> list[str]:
    if to:
        out = []
        for a in to:
            try:
                out.append(check_address(a.strip(), "--to"))
            except HeaderInjection:
                raise Refused(f"afvist: {a!r} er ikke en e-mailadresse") from None
        return list(dict.fromkeys(out))
    c = st.wheel.committee.get(row.committee or "")
    if c is None:
        return list(row.recipients)
    if row.kind == MessageKind.ESCALATION:
        return list(dict.fromkeys((*st.wheel.escalate_to(c), *c.to, *c.cc)))
    if row.kind in (MessageKind.LETTER, MessageKind.REMINDER, MessageKind.RECEIPT,
                    MessageKind.NOTICE, MessageKind.REFUSAL):
        return list(dict.fromkeys((*c.to, *c.cc)))
    return list(row.recipients)


def _sent_bytes(st: Setup, row: OutboxRow) -> bytes:
    """The bytes that were sent: the outbox's copy, or, once ``purge`` has slimmed or
    removed it (README "Data protection"), the journal copy."""
    if row.raw and hashlib.sha256(row.raw).hexdigest() == row.sha256:
        return row.raw
    copy = st.journal.path_for(row) if st.journal is not None else None
    if copy is not None and copy.is_file():
        data = copy.read_bytes()
        if hashlib.sha256(data).hexdigest() == row.sha256:
            return data
    raise Refused(f"afvist: {row.message_id} ({row.key}) kan ikke sendes igen: beskeden er "
                  "slettet efter opbevaringsfristen (policy.retention), og journalkopien "
                  "findes ikke")


def resend(st: Setup, ref: str, as_of: datetime, *, to: Sequence[str] = (),
           reason: str | None = None, dry_run: bool = False) -> Outcome:
    """Send the message ``ref`` again (after an address was corrected): its stored bytes
    with RFC 5322 Resent-* fields before them, to the committee's current addresses or to
    ``to``; the original Message-ID is kept, the Resent-Message-ID is new. The resend is an
    outbox row of its own (``resend:<key>:<n>``), so both copies are in the journal."""
    require_aware(as_of, "as_of")
    reason = _clean(reason)
    with _session(st, dry_run) as s:
        row = _original(s, st, ref)
        if OutboxStatus(row.status) in WAITING:
            raise Refused(f"afvist: {row.message_id} ({row.key}) er ikke sendt endnu; den venter "
                          "i udbakken og går med de nye adresser, når den sendes")
        rcpts = _recipients(st, row, to)
        n = len(s.exec(select(OutboxRow.id).where(
            col(OutboxRow.key).startswith(f"resend:{row.key}:", autoescape=True))).all()) + 1
        key = resend_key(row.key, n)
        resent_id = message_id(key, st.domain)
        try:
            raw = resent(_sent_bytes(st, row), sender=st.sender, to=rcpts, date=st.local(as_of),
                         message_id=resent_id)
        except ValueError as exc:
            raise Refused(f"afvist: beskeden kan ikke sendes igen: {exc}") from None
        how = (f"til {', '.join(rcpts)} med Resent-*-felter (samme Message-ID "
               f"{row.message_id}, ny Resent-Message-ID {resent_id})")
        text = _say(dry_run, f"«{row.subject}» ({row.key}) er sat i kø til at blive sendt igen "
                    f"{how}.", f"«{row.subject}» ({row.key}) ville blive sendt igen {how}.")
        if not dry_run:
            s.add(OutboxRow(
                key=key, kind=row.kind, year=row.year, committee=row.committee, event=row.event,
                deliverable=row.deliverable, slot=row.slot, message_id=resent_id,
                envelope_from=st.sender[1], recipients=rcpts, subject=row.subject, raw=raw,
                sha256=hashlib.sha256(raw).hexdigest(), queued_at=as_of,
                status=OutboxStatus.PENDING))
            audit(s, st, as_of, ActionKind.RESEND, row.year, row.committee,
                  deliverable=row.deliverable, event=row.event, slot=row.slot, ref=key,
                  outcome="queued", reason=reason)
            s.commit()
    return Outcome(ActionKind.RESEND, text, dry_run, row.year, row.committee, row.deliverable,
                   (), (key,), reason)


# --- pause and resume ------------------------------------------------------------------------


def pause(st: Setup, paused: bool, as_of: datetime, *, reason: str | None = None,
          dry_run: bool = False) -> Outcome:
    """Hold all sending (the outbox keeps its messages), or resume it."""
    require_aware(as_of, "as_of")
    reason = _clean(reason)
    kind = ActionKind.PAUSE if paused else ActionKind.RESUME
    did = ("Afsendelse er sat på pause: beskederne venter i udbakken." if paused
           else "Afsendelse er genoptaget: det, der venter i udbakken, sendes nu.")
    would = ("afsendelse ville blive sat på pause." if paused
             else "afsendelse ville blive genoptaget, og det, der venter i udbakken, sendt.")
    if not dry_run:
        with _session(st, dry_run) as s:
            set_paused(s, paused, as_of)
            audit(s, st, as_of, kind, None, None, outcome="done", reason=reason)
            s.commit()
    return Outcome(kind, _say(dry_run, did, would), dry_run, reason=reason)
