"""The mail intake: one pass over the mailbox, each message handled exactly once (README
"Replies by e-mail").

:func:`intake_pass` lists the mailbox (``letters.mailsource.MessageSource``: the IMAP
:class:`letters.mailbox.Mailbox`, or :class:`letters.mailsource.MemorySource`), and for each
message not handled before calls :func:`handle_message`, which matches it to a request
(``flows.services.intake_match``), registers its form(s) as ``submit`` does and inserts its
``intake_messages`` row, in one transaction with the receipts or the refusal it queues; the
move into the handled or the coordinator's folder comes after the commit. Sending is the
outbox sender's, after the pass, never inside the transaction.

**Once.** The row's primary key is the message key. Two intakes that read the same message
at once both try to insert it; the loser's insert fails (PostgreSQL waits for the winner's
commit, SQLite's write lock is taken when the transaction begins), it rolls back everything
it did for the message and reports it as handled before. A message whose row exists is
only moved (a crash between the commit and the move).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from flows.report import Handled, IntakeReport
from flows.services.deliveries import record_bounce
from flows.services.intake_match import (
    FileMatch,
    Target,
    committees_of,
    match_file,
    refused_files,
    thread_targets,
)
from flows.services.outbox import queue_message
from flows.services.setup import Refused, Setup
from flows.services.submissions import register_accepted
from letters.bodies import refusal_body_context, render_body
from letters.inbound import Inbound, describe
from letters.mail import HeaderInjection, Outgoing, check_message_id
from letters.mailbox import Gone, Listed, MailboxError, TooLarge
from letters.mailsource import MessageSource
from models.db import immediate
from models.intake_state import HandledMessage
from models.kinds import BodyKind, InboundKind, IntakeFolder, IntakeOutcome, MessageKind
from models.outbox import OutboxRow
from models.plan import require_aware

MAX_MESSAGE_BYTES = 32_000_000  # letters.inbound.Limits: a 20 MB file is ~27 MB in base64



@dataclass(frozen=True)
class _Decision:
    outcome: IntakeOutcome
    reason: str
    folder: IntakeFolder
    target: Target | None = None  # (year, committee, deliverable) when there is one
    committee: str | None = None  # the committee a refusal goes to (sender's own address)
    files: tuple[FileMatch, ...] = ()  # to register
    refusal: tuple[tuple[str, str], ...] = ()  # (file name, Danish reason): one refusal


HELD = IntakeFolder.COORDINATOR


def decide(st: Setup, inb: Inbound) -> _Decision:
    """What to do with one described message (README "Replies by e-mail"); reads only."""
    if inb.kind == InboundKind.UNREADABLE:
        return _Decision(IntakeOutcome.HELD, f"kunne ikke læses: {inb.unreadable}", HELD)
    if inb.kind == InboundKind.AUTO_REPLY:
        return _Decision(IntakeOutcome.AUTO_REPLY,
                         f"automatisk svar ({inb.auto_reply}); besvares ikke", HELD)
    if inb.kind == InboundKind.BOUNCE:
        return _bounce(st, inb)
    mine = committees_of(st.wheel, inb.from_address)
    if not mine:
        return _Decision(IntakeOutcome.HELD, "ukendt afsender: ikke en af udvalgenes adresser "
                         "(to, cc eller reply_from); intet er registreret", HELD)
    with Session(st.db) as s:
        thread = [t for t in thread_targets(s, inb.referenced) if t[1] in mine]
    matches = [match_file(st.wheel, a, mine, thread) for a in inb.docx]
    refused = [*refused_files(inb), *((m.attachment.filename, m.refused)
                                      for m in matches if m.refused)]
    usable = [m for m in matches if not m.refused]
    if not usable:
        if refused:
            return _refusal(inb, mine, thread, refused)
        return _Decision(IntakeOutcome.HELD, "ingen Word-fil (.docx) vedhæftet", HELD,
                         target=thread[0] if len(thread) == 1 else None)
    problems = [f"{m.attachment.filename}: {m.problem}" for m in usable if m.problem]
    targets = [m.target for m in usable if m.target is not None]
    if not problems and len(set(targets)) < len(targets):
        problems.append("flere vedhæftede filer til samme aflevering")
    if problems:
        return _Decision(IntakeOutcome.HELD, "; ".join(problems), HELD,
                         target=targets[0] if len(set(targets)) == 1 else None)
    note = "; ".join(f"{n}: {r}" for n, r in refused)
    return _Decision(IntakeOutcome.REGISTERED, f"ikke taget med: {note}" if note else "",
                     IntakeFolder.HANDLED, target=targets[0], files=tuple(usable))


def _refusal(inb: Inbound, mine: list[str], thread: list[Target],
             refused: list[tuple[str, str]]) -> _Decision:
    reason = "; ".join(f"{n}: {r}" for n, r in refused)
    committees = {t[1] for t in thread} or set(mine)
    if len(committees) != 1:
        return _Decision(IntakeOutcome.REFUSED, f"{reason} (afsenderen hører til flere udvalg: "
                         "ingen afvisning sendt)", HELD)
    (committee,) = committees
    target = thread[0] if len(thread) == 1 else None
    return _Decision(IntakeOutcome.REFUSED, reason, HELD, target=target, committee=committee,
                     refusal=tuple(refused))


def _bounce(st: Setup, inb: Inbound) -> _Decision:
    b = inb.bounce
    if b is None or b.about_message_id is None:
        return _Decision(IntakeOutcome.HELD, "en fejlmeddelelse, der ikke siger, hvilken "
                         "besked den handler om", HELD)
    with Session(st.db) as s:
        row = s.exec(select(OutboxRow).where(OutboxRow.message_id == b.about_message_id)).first()
    if row is None:
        return _Decision(IntakeOutcome.HELD, f"en fejlmeddelelse om {b.about_message_id}, som "
                         "ikke er en af årshjulets beskeder", HELD)
    failed = b.failed or b.recipients
    who = ", ".join(f"{r.address} ({r.status or 'ukendt status'})" for r in failed) or "ukendt"
    target = (row.year, row.committee, row.deliverable) if row.committee and row.deliverable \
        else None
    return _Decision(IntakeOutcome.BOUNCED, f"{row.key} kom retur: {who}", HELD, target=target,
                     committee=row.committee)


def answers_of(inb: Inbound) -> tuple[str, tuple[str, ...]] | None:
    """The Message-ID a receipt or refusal answers, and the thread (References, then it)."""
    if inb.message_id is None:
        return None
    refs = []
    for r in (*inb.references, inb.message_id):
        try:
            refs.append(check_message_id(r, "references"))
        except HeaderInjection:
            continue
    try:
        return check_message_id(inb.message_id, "in_reply_to"), tuple(dict.fromkeys(refs))
    except HeaderInjection:
        return None


def refusal_outgoing(st: Setup, inb: Inbound, d: _Decision, as_of: datetime) -> Outgoing:
    """The one refusal to the sender (a committee's own address), answering its message."""
    assert d.committee is not None and inb.from_address is not None
    year = d.target[0] if d.target else st.local(inb.received_at).year
    deliverable = d.target[2] if d.target else None
    ctx = refusal_body_context(st.wheel, st.plan(year), d.committee, inb.received_at,
                               d.refusal, subject=inb.subject, deliverable_key=deliverable)
    subject, text, html = render_body(BodyKind.REFUSAL, ctx, st.templates_dir)
    ans = answers_of(inb)
    return Outgoing(
        key=f"refusal:{hashlib.sha256(inb.key.encode()).hexdigest()[:32]}",
        kind=MessageKind.REFUSAL, year=year, committee=d.committee, event=None,
        deliverable=deliverable, slot=None, sender=st.sender, to=(inb.from_address,), cc=(),
        subject=subject, text=text, html=html, date=st.local(as_of),
        in_reply_to=ans[0] if ans else None, references=ans[1] if ans else ())


def _row(inb: Inbound, d: _Decision, as_of: datetime, journal: str | None) -> HandledMessage:
    return HandledMessage(
        key=inb.key, outcome=d.outcome, reason=d.reason, from_address=inb.from_address,
        subject=inb.subject[:2000], received_at=inb.received_at,
        year=d.target[0] if d.target else None,
        committee=d.target[1] if d.target else d.committee,
        deliverable=d.target[2] if d.target else None, folder=d.folder, journal=journal,
        handled_at=as_of, moved=False)


def handled_of(row: HandledMessage, *, duplicate: bool = False) -> Handled:
    return Handled(
        key=row.key, outcome=IntakeOutcome(row.outcome), reason=row.reason,
        folder=IntakeFolder(row.folder or HELD), from_address=row.from_address,
        subject=row.subject, received_at=row.received_at, year=row.year,
        committee=row.committee, deliverable=row.deliverable,
        submissions=tuple(row.submissions or ()), replies=tuple(row.replies or ()),
        duplicate=duplicate, moved=row.moved)


def find(st: Setup, key: str) -> HandledMessage | None:
    with Session(st.db, expire_on_commit=False) as s:
        return s.get(HandledMessage, key)


def already(st: Setup, key: str) -> HandledMessage | None:
    """The row of a message handled before (a cheap look before the work; the primary key
    decides in the end)."""
    return find(st, key)


def journal_incoming(st: Setup, inb: Inbound, raw: bytes, year: int | None) -> str | None:
    """Keep the incoming message in the journal (.eml, an index entry of kind ``incoming``);
    a journal that cannot be written never stops the intake (None: not kept)."""
    j = st.journal
    if j is None:
        return None
    row = SimpleNamespace(key=f"incoming:{inb.key}", kind="incoming",
                          year=year or st.local(inb.received_at).year,
                          committee=None, event=None, deliverable=None, slot=None,
                          message_id=inb.message_id or inb.key, sent_at=inb.received_at)
    try:
        path = j.record(row, raw, sent_at=inb.received_at)
    except Exception:  # JournalError, or anything: the journal never stops the intake
        return None
    return path.relative_to(j.directory).as_posix()


def handle_message(st: Setup, raw: bytes, received_at: datetime, as_of: datetime, *,
                   dry_run: bool = False) -> Handled:
    """Match and register one message (README "Replies by e-mail"), in one transaction.

    ``received_at`` is the message's INTERNALDATE: the submission's instant. A message
    handled before is returned as it was (``duplicate``), nothing done again."""
    return _handle(st, raw, received_at, as_of, dry_run=dry_run, looked=None)


def _handle(st: Setup, raw: bytes, received_at: datetime, as_of: datetime, *,
            dry_run: bool, looked: str | None) -> Handled:
    """:func:`handle_message`; ``looked``: the key the pass already found unhandled."""
    require_aware(as_of, "as_of")
    require_aware(received_at, "received_at")
    inb = describe(raw, received_at)
    done = already(st, inb.key) if inb.key != looked else None
    if done is not None:
        return handled_of(done, duplicate=True)
    d = decide(st, inb)
    if dry_run:
        return handled_of(_row(inb, d, as_of, None))
    if d.outcome == IntakeOutcome.BOUNCED:
        _record_bounces(st, inb, as_of)
    journal = journal_incoming(st, inb, raw, d.target[0] if d.target else None)
    try:
        return _commit(st, inb, d, as_of, journal)
    except Refused as exc:  # the request is not open (yet): held, nothing registered
        held = _Decision(IntakeOutcome.HELD, _danish_refused(str(exc)), HELD, target=d.target)
        return _commit(st, inb, held, as_of, journal)


def _record_bounces(st: Setup, inb: Inbound, as_of: datetime) -> None:
    """Mark our message bounced (idempotent: a second call records nothing again)."""
    b = inb.bounce
    assert b is not None and b.about_message_id is not None
    failed = b.failed or b.recipients
    r = failed[0] if failed else None
    record_bounce(st, b.about_message_id, r.address if r else "ukendt modtager",
                  r.status if r and r.status else None, inb.received_at
                  if inb.received_at <= as_of else as_of)


def _danish_refused(text: str) -> str:
    if "no open request" in text:
        return "der er ingen åben anmodning om denne aflevering (brevet er ikke sendt)"
    return text


def _commit(st: Setup, inb: Inbound, d: _Decision, as_of: datetime,
            journal: str | None) -> Handled:
    """The row, the registrations and the replies, in one transaction; the key decides."""
    with Session(immediate(st.db), expire_on_commit=False) as s:
        row = _row(inb, d, as_of, journal)
        s.add(row)
        if (lost := _or_lost(s, st, inb.key, s.flush)) is not None:
            return lost
        subs: list[int] = []
        replies: list[str] = []
        ans = answers_of(inb)
        for m in d.files:
            assert m.target is not None and m.accepted is not None
            r = register_accepted(s, st, *m.target, m.accepted, m.attachment.filename,
                                  inb.received_at, answers=ans)
            subs.append(r.submission_id)
            if r.outgoing is not None:  # None: the same file again, no second receipt
                replies.append(r.outgoing.key)
        if d.refusal:
            o = refusal_outgoing(st, inb, d, as_of)
            if queue_message(s, st, o, as_of):
                replies.append(o.key)
        row.submissions, row.replies = subs, replies
        s.add(row)
        if (lost := _or_lost(s, st, inb.key, s.commit)) is not None:
            return lost
        return handled_of(row)


def _or_lost(s: Session, st: Setup, key: str, write: Callable[[], None]) -> Handled | None:
    """``write`` (the flush of the row with primary key ``key``, or the commit); None when
    it went through, else rolled back and what the intake that handled ``key`` first
    recorded."""
    try:
        write()
    except IntegrityError:
        s.rollback()
        return _lost(st, key)
    return None


def _lost(st: Setup, key: str) -> Handled:
    """Another intake handled the message first: what it recorded."""
    row = find(st, key)
    assert row is not None, f"{key}: the insert failed, yet no row exists"
    return handled_of(row, duplicate=True)


MOVE_BATCH = 50  # messages moved (and marked moved) per IMAP command


def mark_moved(st: Setup, keys: Sequence[str]) -> None:
    with Session(st.db) as s:
        s.execute(update(HandledMessage).where(col(HandledMessage.key).in_(list(keys)))
                  .values(moved=True))
        s.commit()


def settle_moved(st: Setup, listed: set[str]) -> None:
    """Rows still marked not moved whose message is no longer in the mailbox (not among the
    ``listed`` Message-IDs): a pass moved it and was killed before it recorded the move."""
    with Session(st.db) as s:
        stale = [k for k in s.exec(select(HandledMessage.key).where(
            col(HandledMessage.moved).is_(False))).all() if k not in listed]
    if stale:
        mark_moved(st, stale)


def known_keys(st: Setup, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` were handled before (one query per 500)."""
    out: set[str] = set()
    with Session(st.db) as s:
        for i in range(0, len(keys), 500):
            out |= set(s.exec(select(HandledMessage.key).where(
                col(HandledMessage.key).in_(keys[i:i + 500]))).all())
    return out


class _Mover:
    """Moves handled messages after their commits, several in one command."""

    def __init__(self, st: Setup, source: MessageSource, report: IntakeReport) -> None:
        self.st, self.source, self.report = st, source, report
        self.waiting: dict[IntakeFolder, list[tuple[int, int]]] = {}  # (uid, report index)

    def add(self, uid: int, h: Handled) -> None:
        self.report.handled.append(h)
        batch = self.waiting.setdefault(h.folder, [])
        batch.append((uid, len(self.report.handled) - 1))
        if len(batch) >= MOVE_BATCH:
            self.flush(h.folder)

    def flush(self, folder: IntakeFolder | None = None) -> None:
        for f in [folder] if folder is not None else list(self.waiting):
            batch, self.waiting[f] = self.waiting.get(f, []), []
            if not batch:
                continue
            hs = self.report.handled
            try:
                self.source.move([uid for uid, _i in batch], f)
            except MailboxError as exc:
                for _uid, i in batch:
                    self.report.problems.append(f"{hs[i].key} blev ikke flyttet til {f}: {exc}")
                continue
            mark_moved(self.st, [hs[i].key for _uid, i in batch])
            for _uid, i in batch:
                hs[i] = replace(hs[i], moved=True)


def intake_pass(st: Setup, source: MessageSource, as_of: datetime, *,
                dry_run: bool = False) -> IntakeReport:
    """Handle every message in ``source`` not handled before; move them after their commits.

    A message that cannot be fetched, read or moved is reported in ``problems`` and the pass
    goes on; nothing is deleted."""
    require_aware(as_of, "as_of")
    report = IntakeReport(as_of=as_of, dry_run=dry_run)
    listed = list(source.pending())
    known = known_keys(st, [m.message_id for m in listed if m.message_id])
    mover = _Mover(st, source, report)
    for m in listed:
        row = find(st, m.message_id) if m.message_id in known else None
        if row is not None:  # handled before: only moved (a crash before the move)
            h = handled_of(row, duplicate=True)
        else:
            try:
                raw = source.fetch(m.uid, max_bytes=MAX_MESSAGE_BYTES)
            except Gone:
                continue  # another intake moved it meanwhile
            except TooLarge as exc:
                h = _hold_large(st, m, exc, as_of) if not dry_run else Handled(
                    m.message_id or f"uid:{m.uid}", IntakeOutcome.HELD, "for stor", HELD)
            except MailboxError as exc:
                report.problems.append(f"besked {m.uid} kunne ikke hentes: {exc}")
                continue
            else:
                try:
                    h = _handle(st, raw, m.internaldate, as_of, dry_run=dry_run,
                                looked=m.message_id)
                except Exception as exc:  # left in the mailbox for the next pass; not lost
                    mid = m.message_id or "uden Message-ID"
                    report.problems.append(f"besked {m.uid} ({mid}) blev ikke behandlet: {exc}")
                    continue
        known.add(h.key)  # the same message again later in this pass: only moved
        if dry_run:
            report.handled.append(h)
        else:
            mover.add(m.uid, h)
    mover.flush()
    if not dry_run:
        settle_moved(st, {m.message_id for m in listed if m.message_id})
    return report


def _hold_large(st: Setup, m: Listed, exc: TooLarge, as_of: datetime) -> Handled:
    """A message over the limit is held without being fetched: the coordinator sees it."""
    key = m.message_id or f"stor:{m.internaldate.isoformat()}:{m.size}"
    row = HandledMessage(
        key=key, outcome=IntakeOutcome.HELD,
        reason=(f"for stor: {exc.size / 1_000_000:.1f} MB, over grænsen på "
                f"{exc.limit / 1_000_000:.0f} MB; ikke hentet").replace(".", ","),
        received_at=m.internaldate, folder=HELD, handled_at=as_of, moved=False)
    with Session(immediate(st.db), expire_on_commit=False) as s:
        s.add(row)
        if (lost := _or_lost(s, st, key, s.commit)) is not None:
            return lost
        return handled_of(row)
