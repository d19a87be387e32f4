"""Resending a stored message (RFC 5322 section 3.6.6): Resent-* fields before its bytes.

A message is resent as it was sent, its bytes untouched (the same Message-ID and Date), with
a block of trace fields prepended: ``Resent-Date``, ``Resent-From``, ``Resent-To`` and
``Resent-Message-ID``. A message resent again gets a new block before the older ones, so the
newest is first. Pure: no I/O, no clock; every value is checked as the builder checks its
headers (:mod:`letters.mail`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from letters.mail import (
    check_address,
    check_header,
    check_message_id,
    header_line,
    mailbox_header,
)


def resent(raw: bytes, *, sender: tuple[str, str], to: Sequence[str], date: datetime,
           message_id: str) -> bytes:
    """``raw`` (the stored bytes, CRLF) with a Resent-* block prepended.

    ``sender`` is (name, address) as in :class:`letters.mail.Outgoing`, ``to`` the addresses
    it is resent to, ``date`` the aware instant of the resend (written with its own offset:
    give it in the policy's zone) and ``message_id`` the resend's own ``<id@domain>``.
    Raises ``ValueError`` (:class:`letters.mail.HeaderInjection` for a header value).
    """
    if b"\r\n\r\n" not in raw and not raw.startswith(b"\r\n"):
        raise ValueError("raw: not a stored message (no blank line after its header)")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date: an aware datetime is needed (the instant of the resend)")
    name, addr = sender
    check_header(name, "sender name")
    check_address(addr, "sender address")
    if not to:
        raise ValueError("to: at least one recipient is needed")
    for i, a in enumerate(to):
        check_address(a, f"to[{i}]")
    check_message_id(message_id, "message_id")
    block = [
        header_line("Resent-Date", format_datetime(date)),
        mailbox_header("Resent-From", name, addr),
        header_line("Resent-To", ", ".join(to)),
        header_line("Resent-Message-ID", message_id),
    ]
    return b"".join(block) + raw
