"""The append-only audit log: who did what, when, with which outcome (ids, never bodies)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from flows.services.setup import Setup
from models.state import AuditEntry, CycleYear


def audit(s: Session, st: Setup, at: datetime, action: str, year: int | None,
          committee: str | None, *, deliverable: str | None = None, event: str | None = None,
          slot: str | None = None, ref: str | None = None, outcome: str,
          reason: str | None = None) -> None:
    """Add one entry to the session (the caller commits it with the change it records);
    ``reason``: a coordinator's why."""
    s.add(AuditEntry(at=at, recorded_at=datetime.now(UTC), actor=st.actor, action=action,
                     year=year, committee=committee, deliverable=deliverable, event=event,
                     slot=slot, ref=ref, outcome=outcome, reason=reason))


def ensure_year(s: Session, year: int, as_of: datetime) -> None:
    """Record the cycle year as started (once)."""
    if s.get(CycleYear, year) is None:
        s.add(CycleYear(year=year, started_at=as_of))
        s.flush()
