"""Delivery status notifications: which recipients failed, with what status, and which of
our messages it is about (RFC 3464, read here; other bounce formats read by flufl.bounce).
Pure: no I/O. Used by :mod:`letters.inbound`."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TextOf = Callable[[Any], str]
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
_MSGID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean(text: str) -> str:
    """One line, without the control characters (and lone surrogates) a header may carry."""
    return " ".join(_CONTROL.sub("", text).split()) if text else ""


def normalize_message_id(value: str | None) -> str | None:
    """The ``<id>`` in a Message-ID header, or the header's text when it has no brackets."""
    if value is None:
        return None
    text = clean(str(value))
    found = _MSGID.search(text)
    if found:
        return found.group()
    return text or None


@dataclass(frozen=True)
class Recipient:
    """One recipient of a delivery status notification (RFC 3464 per-recipient fields)."""

    address: str  # lower-cased
    action: str  # failed, delayed, delivered, relayed, expanded ("" when not given)
    status: str  # e.g. 5.1.1 ("" when not given)
    diagnostic: str = ""  # Diagnostic-Code, e.g. "smtp; 550 5.1.1 user unknown"
    remote_mta: str = ""

    @property
    def failed(self) -> bool:
        return self.action == "failed" or (not self.action and self.status.startswith("5"))


@dataclass(frozen=True)
class Bounce:
    recipients: tuple[Recipient, ...]
    about_message_id: str | None  # our message it reports on
    about_headers: tuple[tuple[str, str], ...] = ()  # its X-Aarshjul-* headers
    reporting_mta: str = ""
    standard: bool = True  # RFC 3464; False: another format, read by flufl.bounce

    @property
    def failed(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if r.failed)


def read_bounce(msg: email.message.Message, sender: str | None, text_of: TextOf,
                notes: list[str]) -> Bounce | None:
    """The bounce ``msg`` is, or None: RFC 3464 (``multipart/report;
    report-type=delivery-status``), else flufl.bounce for a message from a mailer daemon or
    with an empty return path. ``text_of`` decodes a header value; ``notes`` collects what
    was odd."""
    ctype = msg.get_content_type()
    report = (msg.get_param("report-type") or "")
    report_type = report.lower() if isinstance(report, str) else ""
    if ctype == "multipart/report" and report_type == "delivery-status":
        found = _rfc3464(msg, text_of)
        if found.recipients:
            return found
        other = _flufl(msg, found.about_message_id, found.about_headers, notes)
        if other is not None:
            return other
        notes.append("a delivery status notification without recipients")
        return found
    local = (sender or "").split("@")[0]
    null_path = (msg.get("Return-Path") or "").strip() == "<>"
    if local in DAEMONS or null_path:
        return _flufl(msg, *_returned(msg, text_of), notes)
    return None


def _flufl(msg: email.message.Message, about: str | None,
           about_headers: tuple[tuple[str, str], ...], notes: list[str]) -> Bounce | None:
    from flufl.bounce import all_failures  # ~30 ms of regular expressions, for a rare case

    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:
        notes.append(f"bounce reader: {type(exc).__name__}")
        return None
    recipients = [Recipient(_addr(a), "failed", "") for a in sorted(permanent)]
    recipients += [Recipient(_addr(a), "delayed", "") for a in sorted(temporary - permanent)]
    if not recipients:
        return None
    return Bounce(tuple(recipients), about, about_headers, standard=False)


def _rfc3464(msg: email.message.Message, text_of: TextOf) -> Bounce:
    """The per-message and per-recipient fields of a multipart/report DSN."""
    status_part = next((p for p in msg.walk()
                        if p.get_content_type() == "message/delivery-status"), None)
    about, about_headers = _returned(msg, text_of)
    if status_part is None:
        return Bounce((), about, about_headers)
    blocks = status_part.get_payload()
    if not isinstance(blocks, list):
        return Bounce((), about, about_headers)
    reporting = ""
    recipients: list[Recipient] = []
    for i, block in enumerate(blocks):
        if not isinstance(block, email.message.Message):
            continue
        if i == 0 and block.get("Final-Recipient") is None:
            reporting = _field(block, "Reporting-MTA")
            continue
        final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        if not final:
            continue
        recipients.append(Recipient(
            address=_addr(final.split(";", 1)[-1]),
            action=_field(block, "Action").lower(),
            status=(_field(block, "Status").split() or [""])[0],
            diagnostic=_field(block, "Diagnostic-Code"),
            remote_mta=_field(block, "Remote-MTA"),
        ))
    return Bounce(tuple(recipients), about, about_headers, reporting)


def _returned(msg: email.message.Message, text_of: TextOf) -> tuple[str | None,
                                                                 tuple[tuple[str, str], ...]]:
    """The Message-ID and X-Aarshjul-* headers of the message a bounce returns."""
    for part in msg.walk():
        ctype = part.get_content_type()
        headers: email.message.Message | None = None
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                headers = inner[0]
        elif ctype == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = _PARSER.parsebytes(data, headersonly=True)
        if headers is not None:
            mid = normalize_message_id(text_of(headers.get("Message-ID")) or None)
            ours = tuple((k, text_of(v)) for k, v in headers.items()
                         if k.lower().startswith("x-aarshjul-"))
            return mid, ours
    return None, ()


def _field(block: email.message.Message, name: str) -> str:
    value = block.get(name)
    return " ".join(clean(str(value)).split()) if value is not None else ""


def _addr(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip().strip("<>").strip()
    return clean(text).lower()
