"""Reading an incoming message safely: raw bytes (and the INTERNALDATE) to a plain, frozen
:class:`Inbound` that the engine matches, registers or holds for the coordinator.

:func:`describe` never raises on content. Whatever the bytes are (malformed MIME, unknown
charsets, broken base64, no Message-ID, headers twice, 10,000 parts, a megabyte of headers),
the answer is an :class:`Inbound`; when the message cannot be described with confidence its
``kind`` is :attr:`InboundKind.UNREADABLE` and ``unreadable`` says why (in English, for the
coordinator), so that the engine holds it: never lost, never stopping a pass. Pure: no I/O,
no clock.

What it finds:

- **Identity**: the ``Message-ID`` (as written, ``<...>``), or ``sha256:<hex>`` of the bytes
  when there is none (:attr:`Inbound.key`); ``From`` (the address lower-cased for comparison),
  ``Subject``, ``Date``, ``In-Reply-To`` and ``References`` (every ``<id>`` in them),
  Outlook's ``Thread-Index`` and ``Thread-Topic``.
- **Kind**: an automatic reply (RFC 3834 ``Auto-Submitted`` other than ``no``,
  ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply``, Exchange's
  ``X-MS-Exchange-Inbox-Rules-Loop`` on a message without a Word file, and out-of-office
  subjects such as Outlook's "Automatisk svar:" / "Automatic reply:"), a delivery status
  notification (``multipart/report; report-type=delivery-status``, RFC 3464; a bounce from a
  mailer daemon in another format is read by flufl.bounce: :mod:`letters.bounces`), or a
  person's mail.
  ``X-Auto-Response-Suppress`` is not a marker: Outlook puts it on ordinary mail too.
- **Bounces**: every recipient with its action, status code and diagnostic text, and the
  Message-ID (and ``X-Aarshjul-*`` headers) of our message it is about, from the returned
  message or its headers. The attachments of the returned message are our own and are not
  listed.
- **Attachments**: file name (RFC 2231 and RFC 2047 decoded, path removed), content type,
  bytes; whether it is a .docx, and whether it is of a refused kind (macro-enabled Office
  files, ``winmail.dat``); attachments of a forwarded message (``message/rfc822``) too.

Limits (:class:`Limits`): a file the same as the file intake (``letters.intake.check_docx``:
20 MB; a larger attachment is listed as ``too_large`` without its bytes), plus the message
size, the header size, the number of MIME parts and the nesting depth.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.header
import email.message
import email.parser
import email.policy
import email.utils
import hashlib
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from letters.bounces import Bounce, Recipient, clean, normalize_message_id, read_bounce
from letters.intake import MACRO_SUFFIXES, check_docx
from models.kinds import InboundKind

_FILE_DEFAULT = (check_docx.__kwdefaults__ or {}).get("max_bytes", 20_000_000)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REFUSED_SUFFIXES = (*MACRO_SUFFIXES, ".dotm", ".xltm", ".xlam", ".potm", ".ppsm", ".ppam",
                    ".sldm", ".xlsb")
OUT_OF_OFFICE = re.compile(
    r"^\s*(automatisk svar|automatic reply|autosvar|auto[- ]?reply|out of (the )?office"
    r"( reply| autoreply)?|fraværende|fraværsbesked|ikke på kontoret|ikke til stede|"
    r"abwesenheitsnotiz|automatische antwort)\s*:",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<[^<>\s]+>")
__all__ = ["Attachment", "Bounce", "Inbound", "Limits", "Recipient", "describe",
           "message_key", "normalize_message_id"]
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_TYPE = re.compile(rb"(?im)^content-type[ \t]*:")
# MIME defects that leave the structure, and so the attachments, in doubt
_STRUCTURE_DEFECTS = (
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
    email.errors.NoBoundaryInMultipartDefect,
)
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 32_000_000  # a 20 MB file is ~27 MB in base64
    max_header_bytes: int = 256_000  # the top-level header section
    max_parts: int = 200  # MIME parts, forwarded messages' included
    max_depth: int = 8  # multipart and message/rfc822 levels
    max_file_bytes: int = _FILE_DEFAULT  # one attachment: the file intake's limit


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)  # empty when too large
    size: int  # decoded bytes
    is_docx: bool
    refused: str | None = None  # why this kind of file is refused (a macro file ...)
    forwarded: bool = False  # inside a forwarded message (message/rfc822)
    too_large: bool = False


@dataclass(frozen=True)
class Inbound:
    key: str  # the Message-ID, or sha256:<hex> of the bytes when it has none
    sha256: str
    size: int
    received_at: datetime  # INTERNALDATE: when our server received it
    kind: InboundKind
    message_id: str | None = None
    from_address: str | None = None  # lower-cased
    from_name: str = ""
    subject: str = ""
    date: datetime | None = None  # the Date header (the sender's clock), aware, or None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    thread_index: str | None = None
    thread_topic: str | None = None
    auto_reply: str | None = None  # which marker made it an automatic reply
    bounce: Bounce | None = None
    attachments: tuple[Attachment, ...] = ()
    text: str = ""  # the start of the plain-text body, for the coordinator
    unreadable: str | None = None  # why it could not be described (kind UNREADABLE)
    notes: tuple[str, ...] = ()  # what was odd but did not stop the reading

    @property
    def referenced(self) -> tuple[str, ...]:
        """Every Message-ID it names, In-Reply-To first, without repeats."""
        return tuple(dict.fromkeys((*self.in_reply_to, *self.references)))

    @property
    def docx(self) -> tuple[Attachment, ...]:
        """The Word files that may be a submission (not refused, not too large)."""
        return tuple(a for a in self.attachments
                     if a.is_docx and a.refused is None and not a.too_large)

    @property
    def refused(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.refused is not None or a.too_large)


def message_key(message_id: str | None, raw: bytes) -> str:
    return message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"


class _Unreadable(Exception):
    pass


def describe(raw: bytes, received_at: datetime, limits: Limits = Limits()) -> Inbound:
    """The message ``raw`` as an :class:`Inbound`; never raises on content."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be an aware datetime (the INTERNALDATE)")
    sha = hashlib.sha256(raw).hexdigest()
    reader = _Reader(raw, limits)
    try:
        return reader.read(sha, received_at)
    except _Unreadable as exc:
        return reader.unreadable(sha, received_at, str(exc))
    except RecursionError:
        return reader.unreadable(sha, received_at, "the MIME structure is nested too deep")
    except Exception as exc:  # the email package on input nobody foresaw
        return reader.unreadable(sha, received_at,
                                 f"the message could not be parsed ({type(exc).__name__})")


class _Reader:
    def __init__(self, raw: bytes, limits: Limits) -> None:
        self.raw = raw
        self.limits = limits
        self.notes: list[str] = []
        self.msg: email.message.Message | None = None
        self.identity: dict[str, Any] = {}

    # --- the outline -------------------------------------------------------------------

    def read(self, sha: str, received_at: datetime) -> Inbound:
        self._prescan()
        self.msg = msg = _PARSER.parsebytes(self.raw)
        self.identity = self._identity(msg)
        if self.identity.pop("_duplicate_from", False):
            raise _Unreadable("it has more than one From header: the sender is in doubt")
        parts = self._walk(msg)
        self._structure(parts)
        bounce = read_bounce(msg, self.identity.get("from_address"), self._text_of,
                             self.notes)
        attachments = self._attachments(parts, skip_returned=bounce is not None)
        auto = None if bounce else self._auto_reply(msg, attachments)
        kind = (InboundKind.BOUNCE if bounce else
                InboundKind.AUTO_REPLY if auto else InboundKind.PERSON)
        mid = self.identity["message_id"]
        return Inbound(
            key=message_key(mid, self.raw), sha256=sha, size=len(self.raw),
            received_at=received_at, kind=kind, auto_reply=auto, bounce=bounce,
            attachments=tuple(attachments), text=self._text(parts),
            notes=tuple(dict.fromkeys(self.notes)), **self.identity,
        )

    def unreadable(self, sha: str, received_at: datetime, reason: str) -> Inbound:
        ident = self.identity or self._safe_identity()
        ident.pop("_duplicate_from", None)
        mid = ident.get("message_id")
        return Inbound(
            key=message_key(mid, self.raw), sha256=sha, size=len(self.raw),
            received_at=received_at, kind=InboundKind.UNREADABLE, unreadable=reason,
            notes=tuple(dict.fromkeys(self.notes)), **ident,
        )

    def _safe_identity(self) -> dict[str, Any]:
        """Headers of a message that could not be read, where they can be had cheaply."""
        head = self.raw[: self.limits.max_header_bytes]
        m = _HEADER_END.search(head)
        if m is None:
            return {}
        try:
            ident = self._identity(_PARSER.parsebytes(head[: m.end()], headersonly=True))
        except Exception:
            return {}
        return ident

    # --- limits ------------------------------------------------------------------------

    def _prescan(self) -> None:
        lim, raw = self.limits, self.raw
        if len(raw) > lim.max_message_bytes:
            raise _Unreadable(f"the message is {len(raw):,} bytes, over the limit of "
                              f"{lim.max_message_bytes:,}")
        if not raw.strip():
            raise _Unreadable("the message is empty")
        m = _HEADER_END.search(raw, 0, lim.max_header_bytes + 4)
        if m is None and len(raw) > lim.max_header_bytes:
            raise _Unreadable(f"its headers are over {lim.max_header_bytes:,} bytes")
        # Every MIME part but the plainest starts with a Content-Type line, so this bounds the
        # parts before the email package builds an object for each.
        if len(_CONTENT_TYPE.findall(raw)) > lim.max_parts + 1:
            raise _Unreadable(f"it has more than {lim.max_parts:,} MIME parts")
        if raw.count(b"\n--") > 2 * lim.max_parts + 2:
            raise _Unreadable(f"it has more than {lim.max_parts:,} MIME parts")

    def _walk(self, msg: email.message.Message) -> list[tuple[email.message.Message, int, bool]]:
        """Every part with its depth and whether it is inside a forwarded message; iterative,
        with the limits checked on the way."""
        out: list[tuple[email.message.Message, int, bool]] = []
        stack: list[tuple[email.message.Message, int, bool]] = [(msg, 0, False)]
        while stack:
            part, depth, fwd = stack.pop()
            if depth > self.limits.max_depth:
                raise _Unreadable(f"its MIME parts are nested more than "
                                  f"{self.limits.max_depth} levels deep")
            out.append((part, depth, fwd))
            if len(out) > self.limits.max_parts:
                raise _Unreadable(f"it has more than {self.limits.max_parts:,} MIME parts")
            payload = part.get_payload()
            encoded = _encoded_message(part)
            if encoded is not None:
                stack.append((encoded, depth + 1, True))
                continue
            if part.is_multipart() and isinstance(payload, list):
                ctype = part.get_content_type()
                inner_fwd = fwd or ctype == "message/rfc822"
                for sub in reversed(payload):
                    if isinstance(sub, email.message.Message):
                        stack.append((sub, depth + 1, inner_fwd))
        return out

    def _structure(self, parts: list[tuple[email.message.Message, int, bool]]) -> None:
        for part, _depth, _fwd in parts:
            for defect in part.defects:
                if isinstance(defect, _STRUCTURE_DEFECTS):
                    raise _Unreadable(f"the MIME structure is broken ({_defect(defect)}): "
                                      "attachments may be cut off or missing")
                self.notes.append(f"MIME: {_defect(defect)}")

    # --- headers -----------------------------------------------------------------------

    def _identity(self, msg: email.message.Message) -> dict[str, Any]:
        def one(name: str) -> Any:
            values = msg.get_all(name) or []
            if len(values) > 1 and name != "From":
                self.notes.append(f"{len(values)} {name} headers: the first is used")
            return values[0] if values else None

        froms = msg.get_all("From") or []
        name, address = "", None
        if froms:
            # addresses from the header as written, names decoded afterwards: a decoded
            # name may hold a comma or a "<"
            raw = [v if isinstance(v, str) else self._text_of(v) for v in froms]
            addrs = [(n, a) for n, a in email.utils.getaddresses(raw) if a]
            if len(addrs) > 1:
                self.notes.append("more than one sender address: the first is used")
            if addrs:
                name = self._text_of(addrs[0][0]) if "=?" in addrs[0][0] else addrs[0][0]
                address = clean(addrs[0][1]).lower()
                if "@" not in address or any(c.isspace() for c in address):
                    self.notes.append(f"From is not a plain address: {address!r}")
        mid = normalize_message_id(self._text_of(one("Message-ID")) or None)
        date_text = self._text_of(one("Date"))
        topic = self._text_of(one("Thread-Topic")) or None
        index = self._text_of(one("Thread-Index")) or None
        return {
            "message_id": mid,
            "from_address": address,
            "from_name": clean(name),
            "subject": self._text_of(one("Subject")),
            "date": _date(date_text),
            "in_reply_to": _ids(self._text_of(one("In-Reply-To"))),
            "references": _ids(" ".join(self._text_of(v) for v in msg.get_all("References") or [])),
            "thread_index": index,
            "thread_topic": topic,
            "_duplicate_from": len(froms) > 1,
        }

    def _text_of(self, value: Any) -> str:
        """A header value decoded (RFC 2047, raw 8-bit as UTF-8 or Windows-1252), one line,
        without control characters; an unknown charset is noted, never raised."""
        if value is None:
            return ""
        try:
            chunks = email.header.decode_header(value)
        except Exception:
            return clean(str(value))
        out = []
        for data, charset in chunks:
            if isinstance(data, str):
                out.append(data)
                continue
            out.append(self._bytes_text(data, charset))
        return clean("".join(out))

    def _bytes_text(self, data: bytes, charset: str | None) -> str:
        cs = (charset or "ascii").lower()
        if cs in ("unknown-8bit", "ascii", "us-ascii"):
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return data.decode("cp1252", "replace")
        try:
            return data.decode(cs, "replace")
        except LookupError:
            self.notes.append(f"unknown charset {cs!r}: shown as Windows-1252")
            return data.decode("cp1252", "replace")

    # --- kinds -------------------------------------------------------------------------

    def _auto_reply(self, msg: email.message.Message,
                    attachments: list[Attachment]) -> str | None:
        auto = self._text_of(msg.get("Auto-Submitted")).split(";")[0].strip().lower()
        if auto and auto != "no":
            return f"Auto-Submitted: {auto}"
        for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
            value = self._text_of(msg.get(name)).strip().lower()
            if msg.get(name) is not None and value not in ("no", "false", "0"):
                return name
        if self._text_of(msg.get("Precedence")).strip().lower() == "auto_reply":
            return "Precedence: auto_reply"
        subject = self.identity.get("subject", "")
        m = OUT_OF_OFFICE.match(subject)
        if m:
            return f"out-of-office subject ({m.group(1)})"
        has_docx = any(a.is_docx for a in attachments)
        if msg.get("X-MS-Exchange-Inbox-Rules-Loop") is not None and not has_docx:
            return "X-MS-Exchange-Inbox-Rules-Loop (an Exchange rule's reply)"
        return None

    # --- attachments and text ---------------------------------------------------------

    def _attachments(self, parts: list[tuple[email.message.Message, int, bool]], *,
                     skip_returned: bool) -> list[Attachment]:
        out: list[Attachment] = []
        for part, _depth, fwd in parts:
            if part.is_multipart():
                continue
            if skip_returned and fwd:
                continue  # our own message, returned inside a bounce
            name = self._filename(part)
            ctype = part.get_content_type()
            disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
            if name is None and disposition != "attachment" and not ctype.startswith(
                    "application/"):
                continue
            if ctype in ("message/delivery-status", "message/disposition-notification",
                         "text/rfc822-headers") and name is None:
                continue
            out.append(self._attachment(part, name or "uden navn", ctype, fwd))
        return out

    def _filename(self, part: email.message.Message) -> str | None:
        try:
            name = part.get_filename() or part.get_param("name")
        except Exception:
            self.notes.append("an attachment's file name could not be read")
            return "uden navn"
        if isinstance(name, tuple):  # an RFC 2231 value get_param did not collapse
            name = email.utils.collapse_rfc2231_value(name)
        if not name:
            return None
        text = self._text_of(str(name)) if "=?" in str(name) else clean(str(name))
        text = PurePosixPath(text.replace("\\", "/")).name.strip()
        return text or "uden navn"

    def _attachment(self, part: email.message.Message, name: str, ctype: str,
                    fwd: bool) -> Attachment:
        data = self._payload(part, name)
        lower = name.lower()
        is_docx = lower.endswith(".docx") or (ctype == DOCX_TYPE and "." not in lower)
        refused = _refused_kind(lower, ctype)
        if len(data) > self.limits.max_file_bytes:
            return Attachment(name, ctype, b"", len(data), is_docx, refused, fwd, too_large=True)
        return Attachment(name, ctype, data, len(data), is_docx, refused, fwd)

    def _payload(self, part: email.message.Message, name: str) -> bytes:
        cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
        payload = part.get_payload()
        if isinstance(payload, list):
            return b""
        if cte == "base64":
            text = payload if isinstance(payload, str) else str(payload)
            compact = re.sub(r"\s+", "", text)
            if re.search(r"[^A-Za-z0-9+/=]", compact) or len(compact) % 4 == 1:
                raise _Unreadable(f"the attachment {name!r} has broken base64 encoding")
            try:
                return base64.b64decode(compact + "=" * (-len(compact) % 4))
            except (binascii.Error, ValueError):
                raise _Unreadable(f"the attachment {name!r} has broken base64 encoding") from None
        got = part.get_payload(decode=True)
        return got if isinstance(got, bytes) else b""

    def _text(self, parts: list[tuple[email.message.Message, int, bool]]) -> str:
        for part, _depth, fwd in parts:
            if fwd or part.get_content_type() != "text/plain" or part.get_filename():
                continue
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            charset = part.get_content_charset() or "utf-8"
            return " ".join(self._bytes_text(data[:4000], charset).split())[:500]
        return ""


def _encoded_message(part: email.message.Message) -> email.message.Message | None:
    """A forwarded message that its client encoded in base64 or quoted-printable (against
    RFC 2046, which the email package parses as a message without headers): decoded."""
    if part.get_content_type() != "message/rfc822":
        return None
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte not in ("base64", "quoted-printable"):
        return None
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    text = inner.get_payload() if isinstance(inner, email.message.Message) else payload
    if not isinstance(text, str):
        return None
    try:
        if cte == "base64":
            data = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
        else:
            data = quopri.decodestring(text.encode("ascii", "surrogateescape"))
    except (binascii.Error, ValueError):
        raise _Unreadable("a forwarded message has broken base64 encoding") from None
    return _PARSER.parsebytes(data)


def _refused_kind(lower: str, ctype: str) -> str | None:
    if lower.endswith(REFUSED_SUFFIXES) or "macroenabled" in ctype:
        suffix = PurePosixPath(lower).suffix or "macro"
        return (f"a macro-enabled Office file ({suffix}) is not accepted: save it as .docx "
                "(Word document) without macros")
    if lower == "winmail.dat" or ctype == "application/ms-tnef":
        return ("Outlook sent the file inside winmail.dat (rich text format): send it again "
                "as an HTML or plain-text mail, so the .docx is attached as itself")
    return None


def _ids(text: str) -> tuple[str, ...]:
    found = _MSGID.findall(text)
    if not found:  # a client that forgot the brackets
        found = [f"<{t}>" for t in text.split() if "@" in t and "<" not in t and ">" not in t]
    return tuple(dict.fromkeys(found))


def _date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return value if value.tzinfo is not None else None


def _defect(defect: email.errors.MessageDefect) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()
    return words
