"""Building e-mails: pure, no side effects (CONTRACT §3).

:func:`build` turns an :class:`Outgoing` into RFC 5322 bytes (CRLF line ends,
``email.policy.SMTP``): multipart/alternative text + HTML, inside multipart/mixed when there
are attachments; attachment names with æøå as RFC 2231 (``filename*=utf-8''...``).

Every header value from config or data is checked *before* building: CR, LF, NUL (and the
other control characters) and ``=?`` are refused with :class:`HeaderInjection`. The Python
here (3.11.7) has CVE-2024-6923, where an encoded newline in a header could inject a header.

The Message-ID is derived from the idempotency key (:func:`message_id`), so the same logical
message always carries the same Message-ID; the Date is the instant it was queued, in the
policy's zone. Both are fixed in the stored bytes, which a resend sends unchanged.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["letter", "reminder", "escalation", "receipt", "report", "alert"]
KINDS: tuple[str, ...] = ("letter", "reminder", "escalation", "receipt", "report", "alert")

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")

_MIME = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".ics": "text/calendar",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".json": "application/json",
    ".html": "text/html",
}


class _MailPolicy(EmailPolicy):
    """``email.policy.SMTP`` (CRLF, 78-column folding), except that Content-Disposition is
    not folded: an RFC 2231 file name stays one ``filename*=utf-8''...`` parameter instead of
    ``filename*0*``/``filename*1*`` continuations, which some mail clients mangle."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "content-disposition":
            return _WIDE.fold_binary(name, value)
        return super().fold_binary(name, value)


_WIDE = SMTP.clone(max_line_length=998)
POLICY = _MailPolicy(linesep="\r\n")
MAX_FILENAME = 200


class HeaderInjection(ValueError):
    """A header value that could break out of its header (CR, LF, NUL, ``=?`` ...)."""


def guess_mime(filename: str) -> str:
    lower = filename.lower()
    for ext, mime in _MIME.items():
        if lower.endswith(ext):
            return mime
    guessed, _ = mimetypes.guess_type(lower, strict=False)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str | None = None  # default: guessed from the file name

    @property
    def content_type(self) -> str:
        return self.mime or guess_mime(self.filename)


@dataclass(frozen=True)
class Outgoing:
    """One logical message. ``key`` is its idempotency key (one row in the outbox).

    Keys used by the project: ``letter:<year>:<event>:<committee>``,
    ``reminder:<year>:<deliverable>:<committee>:<slot>``,
    ``escalation:<year>:<deliverable>:<committee>``, ``receipt:<submission id>``,
    ``report:<year>:<event>``, ``alert:<kind>:<outbox key>``.
    """

    key: str
    kind: Kind
    year: int
    committee: str | None
    event: str | None
    deliverable: str | None
    slot: str | None
    sender: tuple[str, str]  # (name, address)
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    attachments: tuple[Attachment, ...] = field(default=())
    date: datetime | None = None  # aware: the instant it is queued (simulated in a simulation)

    @property
    def recipients(self) -> tuple[str, ...]:
        """Envelope recipients: to + cc, each once, in order."""
        return tuple(dict.fromkeys((*self.to, *self.cc)))


def check_header(value: str, what: str) -> str:
    """Refuse a header value with control characters or an encoded-word opener ``=?``."""
    if not isinstance(value, str):
        raise HeaderInjection(f"{what}: not text ({type(value).__name__})")
    m = _UNSAFE.search(value)
    if m:
        raise HeaderInjection(f"{what}: control character {m.group()!r} is not allowed in a header")
    if "=?" in value:
        raise HeaderInjection(f"{what}: '=?' is not allowed in a header (encoded-word)")
    return value


def check_address(value: str, what: str) -> str:
    check_header(value, what)
    if not _ADDR.match(value) or ".." in value:
        raise HeaderInjection(f"{what}: {value!r} is not a plain e-mail address")
    return value


def check_domain(domain: str) -> str:
    check_header(domain, "domain")
    if not _DOMAIN.match(domain):
        raise HeaderInjection(f"domain: {domain!r} is not a domain name")
    return domain


def check(o: Outgoing, domain: str) -> None:
    """Every header value of ``o`` checked before anything is built (raises HeaderInjection)."""
    check_domain(domain)
    check_header(o.key, "key")
    if o.kind not in KINDS:
        raise HeaderInjection(f"kind: {o.kind!r} is not one of {', '.join(KINDS)}")
    for what, v in (("committee", o.committee), ("event", o.event),
                    ("deliverable", o.deliverable), ("slot", o.slot)):
        if v is not None:
            check_header(v, what)
            if not v.strip():
                raise HeaderInjection(f"{what}: empty")
    name, addr = o.sender
    check_header(name, "sender name")
    check_address(addr, "sender address")
    if not o.to:
        raise ValueError("to: at least one recipient is needed")
    for i, a in enumerate(o.to):
        check_address(a, f"to[{i}]")
    for i, a in enumerate(o.cc):
        check_address(a, f"cc[{i}]")
    check_header(o.subject, "subject")
    for i, att in enumerate(o.attachments):
        check_header(att.filename, f"attachments[{i}].filename")
        bad = "/" in att.filename or "\\" in att.filename or len(att.filename) > MAX_FILENAME
        if not att.filename.strip() or bad:
            raise HeaderInjection(f"attachments[{i}].filename: {att.filename!r} is not a file name")
        ctype = att.content_type
        check_header(ctype, f"attachments[{i}].mime")
        if ctype.count("/") != 1:
            raise HeaderInjection(f"attachments[{i}].mime: {ctype!r} is not a MIME type")
    if o.date is None or o.date.tzinfo is None or o.date.utcoffset() is None:
        raise ValueError("date: an aware datetime is needed (the instant the message is queued)")


def message_id(key: str, domain: str) -> str:
    """``<hash@domain>``, fixed by the idempotency key: the same logical message, the same id."""
    check_header(key, "key")
    check_domain(domain)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.aarshjul@{domain.lower()}>"


def headers_for(o: Outgoing) -> list[tuple[str, str]]:
    """The X-Aarshjul-* headers of CONTRACT §3 for this message (only those that apply)."""
    out = [("X-Aarshjul-Kind", o.kind), ("X-Aarshjul-Year", str(o.year))]
    if o.committee is not None:
        out.append(("X-Aarshjul-Committee", o.committee))
    if o.event is not None and o.kind in ("letter", "report"):
        out.append(("X-Aarshjul-Event", o.event))
    if o.deliverable is not None and o.kind in ("reminder", "escalation", "receipt"):
        out.append(("X-Aarshjul-Deliverable", o.deliverable))
    if o.slot is not None and o.kind in ("reminder", "escalation"):
        out.append(("X-Aarshjul-Slot", o.slot))
    return out


def _addresses(addrs: Iterable[str]) -> tuple[Address, ...]:
    return tuple(Address(addr_spec=a) for a in addrs)


def build(o: Outgoing, domain: str, tz: ZoneInfo) -> bytes:
    """RFC 5322 bytes of ``o``: pure (same input, same bytes), CRLF, 7-bit safe."""
    check(o, domain)
    assert o.date is not None
    msg = EmailMessage(policy=POLICY)
    name, addr = o.sender
    msg["From"] = Address(display_name=name.strip(), addr_spec=addr)
    msg["To"] = _addresses(o.to)
    if o.cc:
        msg["Cc"] = _addresses(o.cc)
    msg["Subject"] = o.subject.strip()  # header parsers drop outer white space anyway
    msg["Date"] = format_datetime(o.date.astimezone(tz))
    msg["Message-ID"] = message_id(o.key, domain)
    for k, v in headers_for(o):
        msg[k] = v
    msg.set_content(o.text, charset="utf-8", cte="quoted-printable")
    if o.html is not None:
        msg.add_alternative(o.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for att in o.attachments:
        maintype, subtype = att.content_type.split("/", 1)
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype,
                           filename=att.filename.strip())
    # Fixed boundaries (pure: the same message, the same bytes). "=_" never occurs in
    # quoted-printable or base64 bodies, so the boundary cannot collide with content.
    seed = hashlib.sha256(o.key.encode("utf-8")).hexdigest()[:24]
    for i, part in enumerate(msg.walk()):
        if part is not msg:
            del part["MIME-Version"]
        if part.is_multipart():
            part.set_boundary(f"=_aarshjul_{seed}_{i}")
    return msg.as_bytes(policy=POLICY)
