"""The seam between the engine and the letters/mail layer.

The engine needs Word rendering (``letters.render``), letter/form contexts
(``letters.context``), e-mail bodies (``letters.bodies``), the message shape and builder
(``letters.mail``), the outbox and its sender (``letters.delivery``) and the journal
(``letters.journal``). They are imported from here so the engine names one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.settings import Settings
from letters.bodies import body_context, render_body
from letters.context import form_context, letter_context
from letters.delivery import (
    AlertPolicy,
    DirectoryTransport,
    SmtpTransport,
    enqueue,
    is_paused,
    send_pending,
    set_paused,
    transport_for,
)
from letters.journal import Journal
from letters.mail import Attachment, Outgoing, build, message_id
from models.barometer import Reading


def transport_from_env(default_dir: Path) -> Any:
    """SMTP at ``AARSHJUL_SMTP_URL`` (read by the Settings object) when set, else .eml
    files in ``default_dir``."""
    return transport_for(Settings.from_env().smtp_url, default_dir)


def render_docx(name: str, ctx: dict[str, Any]) -> bytes:
    from letters.render import template

    return template(name).render(ctx)


__all__ = [
    "AlertPolicy",
    "Attachment",
    "DirectoryTransport",
    "Journal",
    "Outgoing",
    "Reading",
    "SmtpTransport",
    "body_context",
    "build",
    "enqueue",
    "form_context",
    "is_paused",
    "letter_context",
    "message_id",
    "render_body",
    "render_docx",
    "send_pending",
    "set_paused",
    "transport_from_env",
]
