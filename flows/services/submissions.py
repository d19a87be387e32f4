"""A handed-in file: checked, stored, registered, and its receipt queued.

The file is checked by :func:`letters.intake.check_docx` (refused: ``refused: <file>:
<reason>``, nothing stored), kept whole and content-addressed under ``<data>/submissions``,
read back (:mod:`.readings`), and registered in one transaction with its receipt: the first
arrival closes the request (on time when registered on or before its due date, local: the
committee's own after an extension) and cancels the remaining slots of its ladder; a later
one is kept as a revision with its own receipt. A request that was never opened is refused;
one that was excused is closed by the arrival (a hand-in beats an excuse).

The same file twice (README "When a committee's file arrives"): bytes identical to the
request's latest registered file (same SHA-256; a second ``submit``, or the same attachment
in two mails) add no revision and queue no receipt; the registration is returned with
``duplicate`` set, a Danish note, and an audit entry (outcome ``duplicate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from sqlmodel import Session, select

from flows.report import Registration
from flows.services.audit import audit
from flows.services.keys import Action, receipt_key
from flows.services.ladders import current
from flows.services.messages import build_outgoing
from flows.services.outbox import queue_message
from flows.services.readings import expected_goals, read_submission, reading_notes
from flows.services.setup import Refused, Setup
from letters import intake
from letters.mail import Outgoing
from letters.readback import FormReading
from models.dates import dansk_dato
from models.db import immediate
from models.kinds import BodyKind, MessageKind, RequestStatus, SlotOutcome
from models.ladder import arrival_status
from models.plan import require_aware
from models.state import Document, Request, SlotState, Submission
from models.wheel import Wheel

MAX_SUBMISSION_BYTES = 20_000_000


@dataclass(frozen=True)
class Registered:
    submission_id: int
    request_id: int
    revision: int
    outcome: RequestStatus  # on_time | late (of this arrival)
    status: RequestStatus  # the request's status (its first arrival)
    document: str  # path relative to the data directory
    action: Action
    outgoing: Outgoing | None  # the receipt as queued; None for a duplicate
    reading: FormReading
    duplicate: bool = False  # the same bytes as the latest registered file: nothing added
    duplicate_of: datetime | None = None  # when that file was registered (a duplicate)

    @property
    def registration(self) -> Registration:
        return Registration(self.submission_id, self.request_id, self.revision, self.outcome,
                            self.status, self.document, self.duplicate)

    def notes(self, wheel: Wheel, file_name: str, tz: tzinfo = UTC) -> list[str]:
        """The Danish notes of the receipt run: what was read and what was missing."""
        if self.duplicate:
            return [duplicate_note(file_name, self.revision, self.duplicate_of, tz)]
        return reading_notes(self.reading, expected_goals(wheel, self.action.committee),
                             file_name, self.document)


def duplicate_note(file_name: str, revision: int, registered_at: datetime | None,
                   tz: tzinfo) -> str:
    """The Danish note for a file identical to the one already registered."""
    which = "den første aflevering" if revision == 0 else f"revision {revision}"
    when = (f", modtaget {dansk_dato(registered_at.astimezone(tz))}"
            if registered_at is not None else "")
    return (f"Filen «{file_name}» er identisk med den allerede registrerede fil ({which}"
            f"{when}). Der er ikke registreret en ny udgave og ikke sendt en ny kvittering.")


def check_submission(file: Path) -> intake.Accepted:
    """Read and check a submitted Word file; refuse it with a reason."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise Refused(f"refused: cannot read {file}: {exc.strerror}") from None
    if size > MAX_SUBMISSION_BYTES:
        raise Refused(
            f"refused: {file.name}: the file is {size / 1_000_000:,.1f} MB, over the limit of "
            f"{MAX_SUBMISSION_BYTES / 1_000_000:,.1f} MB")
    try:
        return intake.check_docx(file.read_bytes(), file.name)
    except intake.Refused as exc:
        raise Refused(f"refused: {file.name}: {exc.reason}") from None


def store_document(data: Path, accepted: intake.Accepted) -> tuple[str, str]:
    """Store an accepted file content-addressed under ``data/submissions``; (sha256, path)."""
    path = intake.store(accepted, data / "submissions")
    return accepted.sha256, path.relative_to(data).as_posix()


def _request(s: Session, year: int, committee: str, deliverable: str, at: datetime) -> Request:
    req = s.exec(select(Request).where(
        Request.year == year, Request.deliverable == deliverable,
        Request.committee == committee)).first()
    if req is None or req.opened_at.astimezone(UTC) > at.astimezone(UTC):
        raise Refused(f"refused: no open request for {deliverable} from {committee} in {year} "
                      "(the letter asking for it has not gone out)")
    return req


def _document(s: Session, st: Setup, accepted: intake.Accepted, name: str,
              at: datetime) -> tuple[Document, str]:
    sha, rel = store_document(st.data, accepted)
    doc = s.exec(select(Document).where(Document.sha256 == sha)).first()
    if doc is None:
        doc = Document(sha256=sha, filename=name, path=rel, size=len(accepted.data),
                       stored_at=at)
        s.add(doc)
        s.flush()
    return doc, rel


def cancel_remaining(s: Session, st: Setup, req: Request, at: datetime) -> None:
    """Cancel the slots of ``req``'s current ladder that were neither sent nor skipped."""
    assert req.id is not None
    cur = current(st, req)
    done = set(s.exec(select(SlotState.slot).where(
        SlotState.request_id == req.id, SlotState.ladder == cur.ladder)).all())
    for x in cur.slots:
        if x.name not in done:
            s.add(SlotState(request_id=req.id, ladder=cur.ladder, slot=x.name, kind=x.kind,
                            state=SlotOutcome.CANCELLED, due_at=x.at, at=at))


def _close(s: Session, st: Setup, req: Request, outcome: RequestStatus, at: datetime) -> None:
    """The first arrival: the request is closed and its remaining slots cancelled."""
    req.status, req.received_at, req.closed_at = outcome, at, at
    s.add(req)
    cancel_remaining(s, st, req, at)


def _same_file(previous: Sequence[Submission], doc: Document,
               first: bool) -> Submission | None:
    """The request's latest counted submission when it holds the same document, else None
    (a first arrival, also after ``reopen``, is never a duplicate)."""
    counted = [p for p in previous if p.withdrawn_at is None]
    if first or not counted or counted[-1].document_id != doc.id:
        return None
    return counted[-1]


def _duplicate(s: Session, st: Setup, req: Request, same: Submission, rel: str,
               reading: FormReading, name: str, at: datetime, due: date) -> Registered:
    """The same file again: nothing registered, no receipt; an audit entry says so."""
    assert req.id is not None and same.id is not None
    audit(s, st, at, "submit", req.year, req.committee, deliverable=req.deliverable,
          ref=f"submission:{same.id}", outcome="duplicate")
    s.commit()
    a = Action(MessageKind.RECEIPT, BodyKind.RECEIPT, receipt_key(same.id), req.year,
               req.committee, deliverable=req.deliverable, request_id=req.id,
               received_at=same.received_at, revision=same.revision, file_name=name, due=due)
    return Registered(same.id, req.id, same.revision, RequestStatus(same.outcome),
                      RequestStatus(req.status), rel, a, None, reading, duplicate=True,
                      duplicate_of=same.received_at)


def register_submission(st: Setup, year: int, committee: str, deliverable: str, file: Path,
                        at: datetime) -> Registered:
    """Register a submission at ``at`` and queue its receipt, in one transaction."""
    require_aware(at, "at")
    w = st.wheel
    if committee not in w.committee:
        raise Refused(f"refused: {committee!r} is not a committee of the wheel")
    if deliverable not in w.deliverable:
        raise Refused(f"refused: {deliverable!r} is not a deliverable of the wheel")
    accepted = check_submission(file)
    reading = read_submission(w, committee, accepted.data)
    with Session(immediate(st.db), expire_on_commit=False) as s:
        req = _request(s, year, committee, deliverable, at)
        assert req.id is not None
        due = current(st, req).due
        outcome = arrival_status(st.local(at).date(), due)
        doc, rel = _document(s, st, accepted, file.name, at)
        previous = s.exec(select(Submission).where(Submission.request_id == req.id)
                          .order_by(Submission.revision)).all()  # type: ignore[arg-type]
        first = req.status in (RequestStatus.OPEN, RequestStatus.EXCUSED)
        same = _same_file(previous, doc, first)
        if same is not None:
            return _duplicate(s, st, req, same, rel, reading, file.name, at, due)
        sub = Submission(request_id=req.id, document_id=doc.id or 0, received_at=at,
                         revision=len(previous), outcome=outcome)
        s.add(sub)
        s.flush()
        assert sub.id is not None
        if first:
            _close(s, st, req, outcome, at)
        audit(s, st, at, "submit", year, committee, deliverable=deliverable,
              ref=f"submission:{sub.id}", outcome=outcome if first else "revision")
        a = Action(MessageKind.RECEIPT, BodyKind.RECEIPT, receipt_key(sub.id), year, committee,
                   deliverable=deliverable, request_id=req.id, received_at=at,
                   revision=0 if first else sub.revision,
                   first_received_at=None if first else req.received_at, file_name=file.name,
                   due=due)
        o = build_outgoing(st, a, at)
        queue_message(s, st, o, at)
        s.commit()
        return Registered(sub.id, req.id, sub.revision, outcome, RequestStatus(req.status),
                          rel, a, o, reading)
