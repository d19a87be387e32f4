"""Delivery exactly once (README "E-mail, the outbox and journal copies"): the outbox and
its sender.

- :mod:`~letters.delivery.outbox`: :func:`enqueue` (build once, store under the message's
  idempotency key), :func:`is_paused`, :func:`set_paused`, :func:`problem_rows`;
- :mod:`~letters.delivery.sender`: :func:`send_pending`, which claims due rows, sends the
  stored bytes and commits each server answer;
- :mod:`~letters.delivery.transports`: SMTP (:class:`SmtpTransport`) or .eml files
  (:class:`DirectoryTransport`), chosen by :func:`transport_for`;
- :mod:`~letters.delivery.alerts`: what the coordinator is told (:class:`AlertPolicy`);
- :mod:`~letters.delivery.liveness`: whose claims are orphans;
- :mod:`~letters.delivery.faults`: crash-test hooks (:class:`Faults`).
"""

from letters.delivery.alerts import ALERT_TEXT, AlertPolicy, record_alert
from letters.delivery.faults import FAULT_VARIABLE, JOURNAL_PHASES, PHASES, Faults
from letters.delivery.outbox import (
    SenderHealth,
    enqueue,
    is_paused,
    problem_rows,
    sender_health,
    set_paused,
)
from letters.delivery.sender import (
    BACKOFF,
    MAX_ATTEMPTS,
    Delivery,
    DeliveryReport,
    DeliveryStatus,
    default_worker,
    send_pending,
)
from letters.delivery.transports import (
    Accepted,
    DirectoryTransport,
    PermanentFailure,
    SmtpTransport,
    TransientFailure,
    Transport,
    Uncertain,
    transport_for,
)

__all__ = [
    "ALERT_TEXT",
    "BACKOFF",
    "FAULT_VARIABLE",
    "JOURNAL_PHASES",
    "MAX_ATTEMPTS",
    "PHASES",
    "Accepted",
    "AlertPolicy",
    "Delivery",
    "DeliveryReport",
    "DeliveryStatus",
    "DirectoryTransport",
    "Faults",
    "PermanentFailure",
    "SenderHealth",
    "SmtpTransport",
    "TransientFailure",
    "Transport",
    "Uncertain",
    "default_worker",
    "enqueue",
    "is_paused",
    "problem_rows",
    "record_alert",
    "send_pending",
    "sender_health",
    "set_paused",
    "transport_for",
]
