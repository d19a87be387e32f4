"""Alerts: what the coordinator must see about one outbox row.

An alert is an ``outbox_alert`` row, one per outbox row and kind (:class:`AlertKind`:
failed, uncertain, refused, journal). With an :class:`AlertPolicy` each alert is also an
e-mail of kind ``alert`` to the coordinator, queued in the same outbox (never an alert about
an alert).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from letters.delivery.outbox import enqueue
from letters.mail import Outgoing
from models.kinds import AlertKind, MessageKind

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.outbox import OutboxRow


@dataclass(frozen=True)
class AlertPolicy:
    """Who is told of failures and uncertain sends (``policy.coordinator``), and how."""

    sender: tuple[str, str]
    coordinator: tuple[str, str]
    domain: str
    tz: ZoneInfo

    @classmethod
    def from_wheel(cls, wheel: Any) -> AlertPolicy:
        p = wheel.policy
        return cls((p.sender.name, p.sender.email), (p.coordinator.name, p.coordinator.email),
                   wheel.mail_domain, p.tz)


ALERT_TEXT: dict[AlertKind, tuple[str, str]] = {
    AlertKind.FAILED: ("Afsendelse mislykkedes", "blev ikke afsendt. Serveren afviste den"),
    AlertKind.UNCERTAIN: ("Usikker afsendelse", "kan være modtaget to gange (samme Message-ID). "
                          "Forbindelsen blev afbrudt efter at beskeden var sendt"),
    AlertKind.REFUSED: ("Modtager afvist", "blev afsendt, men ikke til alle modtagere"),
    AlertKind.JOURNAL: ("Journalkopi mangler",
                        "blev afsendt, men journalkopien kunne ikke gemmes"),
}


def record_alert(session: Session, row: OutboxRow, kind: AlertKind, code: int | None,
                 detail: str, now: datetime, policy: AlertPolicy | None) -> None:
    """Add the ``kind`` alert of ``row`` (once), and queue its e-mail when there is a policy.
    Added to ``session``, not committed."""
    from sqlmodel import select

    from models.outbox import OutboxAlert

    assert row.id is not None
    exists = session.exec(select(OutboxAlert.id).where(
        OutboxAlert.outbox_id == row.id, OutboxAlert.kind == kind)).first()
    if exists is not None:
        return
    alert = OutboxAlert(outbox_id=row.id, kind=kind, key=row.key, message_id=row.message_id,
                        at=now, code=code, detail=detail)
    if policy is not None and row.kind != MessageKind.ALERT:
        title, what = ALERT_TEXT[kind]
        text = (f"Beskeden «{row.subject}» ({row.key}, Message-ID {row.message_id}) {what}:\n"
                f"{code or ''} {detail}\n\nModtagere: {', '.join(row.recipients)}\n")
        enqueue(session, Outgoing(
            key=f"alert:{kind}:{row.key}", kind=MessageKind.ALERT, year=row.year,
            committee=row.committee, event=row.event, deliverable=row.deliverable,
            slot=row.slot, sender=policy.sender, to=(policy.coordinator[1],), cc=(),
            subject=f"{title}: {row.key}", text=text, html=None, date=now,
        ), policy.domain, policy.tz)
        alert.notified = True
    session.add(alert)
