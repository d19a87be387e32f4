"""``aarshjul purge``: what is past its retention (README "Data protection"), found and removed.

:func:`plan_purge` finds, per :class:`~models.kinds.PurgeKind`, what ``policy.retention``
says may go as of an instant, and :func:`apply_purge` removes exactly that (``--dry-run``
stops after the first). Prefect's artifacts and flow runs are the CLI's part
(``flows.prefect_records``); this module is Prefect-free.

Never removed, whatever its age:

- anything of a (year, committee) with an open request in a cycle year not yet over (as of
  the purge's instant, in the policy's time zone): the messages' bodies, attachments and
  journal copies, the documents of that year, the submissions and audit entries of the
  request;
- any outbox row that is not ``sent`` (waiting, failed, uncertain), or was resent after an
  uncertain attempt, or waits for its resend; rows are never deleted, only their bodies, and
  a row stays ``sent``, so purging can never make a message sendable again;
- an attachment whose journal copy is not on disk with the very bytes sent (the outbox row
  is then the only copy); a journal copy whose outbox row is missing or not ``sent`` (the
  copy is then what reconciles the outbox after a restore).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from letters.journal import Journal
from letters.slim import is_slimmed, slim
from models.db import immediate
from models.kinds import OutboxStatus, PurgeKind, RecordAction, RequestStatus
from models.outbox import OutboxRow
from models.plan import require_aware
from models.state import AuditEntry, Document, Request, Submission
from models.wheel import Retention

BATCH = 500
DOCUMENT_DIRS = ("documents", "reports", "preview")


@dataclass
class Found:
    """What one kind holds past its retention: how many, how many bytes would be freed."""

    kind: PurgeKind
    keep_days: int | None
    count: int = 0
    size: int = 0
    note: str = ""


@dataclass
class PurgePlan:
    as_of: datetime
    found: dict[PurgeKind, Found]
    slim: dict[int, bytes] = field(default_factory=dict)  # outbox id -> slimmed raw
    bodies: list[int] = field(default_factory=list)  # outbox ids
    journal: set[str] = field(default_factory=set)  # journal files (relative)
    files: list[Path] = field(default_factory=list)  # documents/, reports/, preview/
    submissions: dict[int, Path] = field(default_factory=dict)  # document id -> file
    audit: list[int] = field(default_factory=list)  # audit entry ids

    @property
    def empty(self) -> bool:
        return not any(f.count for f in self.found.values())


def _cutoff(as_of: datetime, days: int | None) -> datetime | None:
    return None if days is None else as_of - timedelta(days=days)


def _open(s: Session, as_of: datetime
          ) -> tuple[set[tuple[int, str]], set[tuple[int, str, str]]]:
    """The open requests of cycle years not yet over (one still open after its year is
    missing for good, and keeps nothing past its retention)."""
    rows = s.exec(select(Request.year, Request.committee, Request.deliverable)
                  .where(Request.status == RequestStatus.OPEN,
                         col(Request.year) >= as_of.year)).all()
    return {(y, c) for y, c, _ in rows}, {(y, c, d) for y, c, d in rows}


def plan_purge(db: Engine, data: Path, journal: Journal, retention: Retention,
               as_of: datetime) -> PurgePlan:
    """What ``retention`` lets go as of ``as_of`` (nothing is changed)."""
    require_aware(as_of, "as_of")
    r = retention
    plan = PurgePlan(as_of, {k: Found(k, d) for k, d in (
        (PurgeKind.OUTBOX_ATTACHMENTS, r.outbox_attachments_days),
        (PurgeKind.OUTBOX_BODIES, r.outbox_bodies_days),
        (PurgeKind.JOURNAL, r.journal_days),
        (PurgeKind.DOCUMENTS, r.documents_days),
        (PurgeKind.SUBMISSIONS, r.submissions_days),
        (PurgeKind.AUDIT, r.audit_days),
        (PurgeKind.PREFECT_ARTIFACTS, r.prefect_artifacts_days),
        (PurgeKind.PREFECT_RUNS, r.prefect_runs_days))})
    entries = {str(e["key"]): e for e in journal.entries() if e.get("key")}
    with Session(db) as s:
        open_yc, open_ycd = _open(s, plan.as_of)
        sent = _plan_outbox(s, plan, r, entries, journal, open_yc)
        _plan_submissions(s, plan, data, _cutoff(as_of, r.submissions_days), open_ycd)
        _plan_audit(s, plan, _cutoff(as_of, r.audit_days), open_yc, open_ycd)
    _plan_journal(plan, entries, journal, _cutoff(as_of, r.journal_days), sent, open_yc)
    _plan_documents(plan, data, _cutoff(as_of, r.documents_days), {y for y, _ in open_yc})
    return plan


def _plan_outbox(s: Session, plan: PurgePlan, r: Retention, entries: dict[str, dict],
                 journal: Journal, open_yc: set[tuple[int, str]]) -> set[str]:
    """The sent rows' bodies and attachments; returns the keys of every row that is sent."""
    bodies_cut = _cutoff(plan.as_of, r.outbox_bodies_days)
    slim_cut = _cutoff(plan.as_of, r.outbox_attachments_days)
    sent = set(s.exec(select(OutboxRow.key).where(OutboxRow.status == OutboxStatus.SENT)))
    cuts = [c for c in (bodies_cut, slim_cut) if c is not None]
    if not cuts:
        return sent
    q = (sa.select(col(OutboxRow.id), col(OutboxRow.key), col(OutboxRow.year),
                   col(OutboxRow.committee), col(OutboxRow.sent_at), col(OutboxRow.sha256),
                   sa.func.length(OutboxRow.raw))
         .where(col(OutboxRow.status) == OutboxStatus.SENT, col(OutboxRow.uncertain).is_(False),
                col(OutboxRow.resend_pending).is_(False), col(OutboxRow.sent_at) <= max(cuts),
                sa.func.length(OutboxRow.raw) > 0)
         .order_by(col(OutboxRow.id)))
    to_slim: list[tuple[int, str]] = []
    for rid, key, year, committee, sent_at, sha, size in s.execute(q):
        if committee is not None and (year, committee) in open_yc:
            continue
        if bodies_cut is not None and sent_at <= bodies_cut:
            plan.bodies.append(rid)
            plan.found[PurgeKind.OUTBOX_BODIES].count += 1
            plan.found[PurgeKind.OUTBOX_BODIES].size += size
        elif slim_cut is not None and sent_at <= slim_cut and _journalled(entries.get(key), sha,
                                                                           journal):
            to_slim.append((rid, sha))
    for batch in _batches(to_slim):
        shas = dict(batch)
        for rid, raw in s.execute(sa.select(col(OutboxRow.id), col(OutboxRow.raw))
                               .where(col(OutboxRow.id).in_(list(shas)))):
            smaller = None if is_slimmed(raw, shas[rid]) else slim(raw)
            if smaller is not None:
                plan.slim[rid] = smaller
                plan.found[PurgeKind.OUTBOX_ATTACHMENTS].count += 1
                plan.found[PurgeKind.OUTBOX_ATTACHMENTS].size += len(raw) - len(smaller)
    return sent


def _journalled(entry: dict | None, sha: str, journal: Journal) -> bool:
    """The journal holds this very message: an index entry with its digest, and the file."""
    if entry is None or entry.get("sha256") != sha or not entry.get("file"):
        return False
    return (journal.directory / str(entry["file"])).is_file()


def _batches(items: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    for i in range(0, len(items), BATCH):
        yield items[i:i + BATCH]


def _plan_submissions(s: Session, plan: PurgePlan, data: Path, cut: datetime | None,
                      open_ycd: set[tuple[int, str, str]]) -> None:
    if cut is None:
        return
    q = (sa.select(col(Document.id), col(Document.path), col(Document.size),
                   col(Submission.received_at), col(Request.year), col(Request.committee),
                   col(Request.deliverable))
         .join(Submission, col(Submission.document_id) == col(Document.id))
         .join(Request, col(Request.id) == col(Submission.request_id))
         .where(col(Document.path) != ""))
    keep: set[int] = set()
    old: dict[int, tuple[str, int]] = {}
    for did, path, size, received, y, c, d in s.execute(q):
        if received > cut or (y, c, d) in open_ycd:
            keep.add(did)  # a document handed in twice is kept while one use needs it
        else:
            old[did] = (path, size)
    for did, (path, size) in old.items():
        if did not in keep:
            plan.submissions[did] = data / path
            plan.found[PurgeKind.SUBMISSIONS].count += 1
            plan.found[PurgeKind.SUBMISSIONS].size += size


def _plan_audit(s: Session, plan: PurgePlan, cut: datetime | None,
                open_yc: set[tuple[int, str]], open_ycd: set[tuple[int, str, str]]) -> None:
    if cut is None:
        return
    q = (select(AuditEntry.id, AuditEntry.year, AuditEntry.committee, AuditEntry.deliverable)
         .where(col(AuditEntry.at) <= cut))
    for aid, y, c, d in s.exec(q):
        if c is not None and y is not None and (
                (y, c, d) in open_ycd if d is not None else (y, c) in open_yc):
            continue
        plan.audit.append(aid)  # type: ignore[arg-type]
    plan.found[PurgeKind.AUDIT].count = len(plan.audit)


def _plan_journal(plan: PurgePlan, entries: dict[str, dict], journal: Journal,
                  cut: datetime | None, sent: set[str], open_yc: set[tuple[int, str]]) -> None:
    if cut is None:
        return
    found = plan.found[PurgeKind.JOURNAL]
    for key, e in entries.items():
        at = _instant(e.get("sent_at"))
        if at is None or at > cut or key not in sent or not e.get("file"):
            continue  # no time (rebuilt entry), young, or the only record of the send
        if e.get("committee") and (e.get("year"), e["committee"]) in open_yc:
            continue
        path = journal.directory / str(e["file"])
        try:
            found.size += path.stat().st_size
        except FileNotFoundError:
            pass
        plan.journal.add(str(e["file"]))
        found.count += 1


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _plan_documents(plan: PurgePlan, data: Path, cut: datetime | None,
                    open_years: set[int]) -> None:
    """Generated files, aged by their modification time; a year with an open request kept."""
    if cut is None:
        return
    found = plan.found[PurgeKind.DOCUMENTS]
    limit = cut.timestamp()
    for name in DOCUMENT_DIRS:
        top = data / name
        if not top.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(top):
            rel = Path(dirpath).relative_to(top).parts
            if name != "preview" and rel and rel[0].isdigit() and int(rel[0]) in open_years:
                continue
            for f in files:
                p = Path(dirpath) / f
                st = p.lstat()
                if st.st_mtime <= limit:
                    plan.files.append(p)
                    found.count += 1
                    found.size += st.st_size


def apply_purge(db: Engine, journal: Journal, plan: PurgePlan, *, actor: str) -> None:
    """Remove what ``plan`` found: the files first, then the rows in one transaction with
    an audit entry of the purge. Running it again after a crash finishes the work."""
    if plan.journal:
        journal.forget(plan.journal)
    for p in [*plan.files, *plan.submissions.values()]:
        p.unlink(missing_ok=True)
    _prune_dirs(plan.files)
    with Session(immediate(db)) as s:
        for ids in (plan.bodies[i:i + BATCH] for i in range(0, len(plan.bodies), BATCH)):
            s.execute(sa.update(OutboxRow).where(col(OutboxRow.id).in_(ids))
                      .values(raw=b""))
        for rid, raw in plan.slim.items():
            s.execute(sa.update(OutboxRow).where(col(OutboxRow.id) == rid).values(raw=raw))
        if plan.submissions:
            s.execute(sa.update(Document).where(col(Document.id).in_(list(plan.submissions)))
                      .values(path=""))
        for ids in (plan.audit[i:i + BATCH] for i in range(0, len(plan.audit), BATCH)):
            s.execute(sa.delete(AuditEntry).where(col(AuditEntry.id).in_(ids)))
        s.add(AuditEntry(at=plan.as_of, recorded_at=datetime.now(UTC), actor=actor,
                         action=RecordAction.PURGE, outcome="removed", reason=summary_line(plan)))
        s.commit()


def _prune_dirs(files: list[Path]) -> None:
    """Remove the directories the purge left empty (not the top folders)."""
    for d in sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True):
        while d.name not in DOCUMENT_DIRS and d.is_dir() and not any(d.iterdir()):
            d.rmdir()
            d = d.parent


def summary_line(plan: PurgePlan) -> str:
    return "; ".join(f"{f.kind}: {f.count}" for f in plan.found.values() if f.count)
