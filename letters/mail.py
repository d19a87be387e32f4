"""Building e-mails: pure, no side effects (README "E-mail, the outbox and journal copies").

:func:`build` turns an :class:`Outgoing` into RFC 5322 bytes (CRLF line ends,
``email.policy.SMTP``): multipart/alternative text + HTML, inside multipart/mixed when there
are attachments; attachment names with æøå as RFC 2231 (``filename*=utf-8''...``).

Every header value from config or data is checked *before* building: CR, LF, NUL (and the
other C0 and C1 control characters) and ``=?`` are refused with :class:`HeaderInjection`.
The Python here (3.11.7) has CVE-2024-6923, where an encoded newline in a header could
inject a header. A display name is written so that it reads back exactly, or refused
(:func:`check_display_name`).

The Message-ID is derived from the idempotency key (:func:`message_id`), so the same logical
message always carries the same Message-ID; the Date is the instant it was queued, in the
policy's zone. Both are fixed in the stored bytes, which a resend sends unchanged.
"""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy, default
from email.utils import format_datetime
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from models.kinds import MessageKind

Kind = MessageKind
KINDS: tuple[str, ...] = tuple(MessageKind)

# C0 controls, DEL, the C1 controls U+0080-U+009F (U+0085 is a line break to the email
# package) and the Unicode line and paragraph separators.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_MSG_ID = re.compile(r"^<[!-;=?-~]+@[!-;=?-~]+>$")  # no space, "<" or ">" inside

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
    kind: Kind | MessageKind
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
    # a receipt or refusal that answers a committee's mail: the Message-ID it answers, and
    # the thread (that mail's References, then its Message-ID)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()

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


def check_message_id(value: str, what: str) -> str:
    """Refuse what is not one ``<id-left@id-right>`` (RFC 5322 msg-id, printable ASCII)."""
    check_header(value, what)
    if not _MSG_ID.match(value):
        raise HeaderInjection(f"{what}: {value!r} is not a Message-ID such as <id@domain>")
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
    check_display_name(name, addr, "sender name")
    if not o.to:
        raise ValueError("to: at least one recipient is needed")
    for i, a in enumerate(o.to):
        check_address(a, f"to[{i}]")
    for i, a in enumerate(o.cc):
        check_address(a, f"cc[{i}]")
    check_header(o.subject, "subject")
    if o.in_reply_to is not None:
        check_message_id(o.in_reply_to, "in_reply_to")
    for i, ref in enumerate(o.references):
        check_message_id(ref, f"references[{i}]")
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


# RFC 3834: an automatic message, so that out-of-office replies and other responders stay
# silent; Exchange and Outlook read their own header for the same.
AUTOMATIC = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))


def thread_headers(o: Outgoing) -> list[tuple[str, str]]:
    """In-Reply-To and References, when ``o`` answers a message (each only when set)."""
    out = []
    if o.in_reply_to is not None:
        out.append(("In-Reply-To", o.in_reply_to))
    if o.references:
        out.append(("References", " ".join(o.references)))
    return out


def headers_for(o: Outgoing) -> list[tuple[str, str]]:
    """The X-Aarshjul-* headers of this message, those that apply (README "Headers")."""
    out = [("X-Aarshjul-Kind", o.kind), ("X-Aarshjul-Year", str(o.year))]
    if o.committee is not None:
        out.append(("X-Aarshjul-Committee", o.committee))
    if o.event is not None and o.kind in ("letter", "report"):
        out.append(("X-Aarshjul-Event", o.event))
    if o.deliverable is not None and o.kind in ("reminder", "escalation", "receipt", "notice",
                                                "refusal"):
        out.append(("X-Aarshjul-Deliverable", o.deliverable))
    if o.slot is not None and o.kind in ("reminder", "escalation"):
        out.append(("X-Aarshjul-Slot", o.slot))
    return out


def _addresses(addrs: Iterable[str]) -> tuple[Address, ...]:
    return tuple(Address(addr_spec=a) for a in addrs)


# --- building the bytes --------------------------------------------------------------------
#
# The MIME tree is written by hand: the email package's header objects, parse trees and
# folding cost ~10 ms a message (most of a year's run at 1,000 committees). Headers whose
# value needs no encoding and fits on one line are written as they are; the rest (From with
# its display name, long address lists, unusual file names) go through the email package
# once per distinct value (cached). The Subject has its own RFC 2047 encoder (_subject): the
# package's folder in 3.11 could move the whole value to a continuation line or lose the space
# between two encoded words. tests/letters/test_mail.py checks the output byte for byte
# against an EmailMessage reference build (Subject aside).

_PLAIN = re.compile(r"^[!-~]+(?: [!-~]+)*$")  # printable ASCII, single spaces inside
_FILENAME_OK = re.compile(r"^[A-Za-z0-9._() -]+$")
_LINE = 78  # email.policy.SMTP's max_line_length
_CRLF_RE = re.compile(r"\r\n|\r|\n")
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


@lru_cache(maxsize=4096)
def _package_fold(name: str, value: str) -> bytes:
    """``Name: value`` folded by the email package with POLICY (structured headers parsed)."""
    return POLICY.fold_binary(*POLICY.header_store_parse(name, value))


# --- From: a display name that reads back exactly -----------------------------------------
#
# The email package writes most display names well, but not all: a run of white space
# collapses, and for a long name it may put a real space between two encoded words, where
# RFC 2047 decoders (every mail program) drop it while Python's address parser keeps it,
# and it may fold a long encoded name so that Python's parser adds a space. So the
# package's From line is kept only when it reads back exactly; else the name is written by
# _own_phrase; and a name that neither writes so that it reads back is refused.

_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")  # RFC 5322 atext
_ADJACENT_WORDS = re.compile(r"\?=\s+=\?")  # two encoded words with only white space between
_ENCODED_WORD_MAX = 75  # RFC 2047
_SPACES = re.compile(" {2,}")


def _encoded_word(text: str) -> str:
    """``text`` as one RFC 2047 encoded word, Q or B, whichever is shorter. In Q, only the
    characters RFC 2047 allows in a phrase are left as they are (_Q_SAFE)."""
    q = "=?utf-8?q?" + "".join(map(_q, text)) + "?="
    b = "=?utf-8?b?" + binascii.b2a_base64(text.encode("utf-8"), newline=False).decode() + "?="
    return q if len(q) <= len(b) else b


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _own_phrase(name: str) -> list[str] | None:
    """The display name as phrase words, or None when it cannot be written safely.

    Atoms stay as they are, each stretch of other ASCII words becomes one quoted string and
    each stretch of words with other characters one encoded word, with the spaces inside.
    Two encoded words are never adjacent (decoders disagree about the space between them),
    so a stretch that does not fit one encoded word cannot be written.
    """
    words: list[str] = []
    run: list[str] = []
    run_kind = ""
    for tok in [*name.split(" "), ""]:
        kind = "" if not tok else "atom" if _ATOM.match(tok) else (
            "quoted" if tok.isascii() else "encoded")
        if run and kind != run_kind:
            text = " ".join(run)
            words.append(_quoted(text) if run_kind == "quoted" else _encoded_word(text))
            run = []
        if kind == "atom":
            words.append(tok)
        elif kind:
            run.append(tok)
            run_kind = kind
    if any(len(w) > (_ENCODED_WORD_MAX if w.startswith("=?") else 900) for w in words):
        return None
    return words


def _fold_words(head: str, words: list[str]) -> bytes | None:
    """``head`` and the words, folded before a word where a line would pass 78 columns."""
    lines = [head]
    for w in words:
        if lines[-1] == head or len(lines[-1]) + 1 + len(w) <= _LINE:
            lines[-1] += " " + w
        else:
            lines.append(" " + w)
    if max(map(len, lines)) > 998:
        return None
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _reads_back(line: bytes, field: str, name: str, addr: str) -> bool:
    """Does the ``field`` line (From, Resent-From) read back as ``name`` and ``addr``, in
    Python's parser (``email.policy.default``) and in an RFC 2047 decoder alike?"""
    if _ADJACENT_WORDS.search(re.sub(rb"\r\n(?=[ \t])", b"", line).decode("ascii")):
        return False
    header = message_from_bytes(line + b"\r\n", policy=default)[field]
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    return (not header.defects and len(addresses) == 1
            and addresses[0].display_name == name and addresses[0].addr_spec == addr)


@lru_cache(maxsize=256)
def _from_line(name: str, addr: str, field: str = "From") -> bytes | None:
    package = _package_fold(field, str(Address(display_name=name, addr_spec=addr)))
    if _reads_back(package, field, name, addr):
        return package
    words = _own_phrase(name)
    own = None if words is None else _fold_words(f"{field}:", [*words, f"<{addr}>"])
    if own is not None and _reads_back(own, field, name, addr):
        return own
    return None


def display_name(name: str) -> str:
    """The display name as it is written: the outer white space dropped and each run of
    spaces made one (as a phrase reads, RFC 5322; Python's parser collapses them too)."""
    return _SPACES.sub(" ", name.strip())


def check_display_name(name: str, addr: str, what: str) -> str:
    """Refuse a display name that could break out of its header, or that cannot be written
    so that it reads back exactly as :func:`display_name` (in Python's parser and in RFC 2047
    decoders)."""
    check_header(name, what)
    if _from_line(display_name(name), addr) is None:
        raise HeaderInjection(
            f"{what}: {name!r} cannot be written as an e-mail display name that reads back "
            "exactly: a stretch of words with letters beyond ASCII or punctuation is too long "
            "for one encoded word (RFC 2047); shorten it or break it with plain words")
    return name


def mailbox_header(field: str, name: str, addr: str, what: str = "sender name") -> bytes:
    """``field: name <addr>`` (From, Resent-From), the name as :func:`display_name` writes
    it; raises :class:`HeaderInjection` for a name that cannot be written so."""
    line = _from_line(display_name(name), addr, field)
    if line is None:
        check_display_name(name, addr, what)
    assert line is not None
    return line


def header_line(name: str, value: str) -> bytes:
    """``name: value`` CRLF: as it is when it needs no encoding and fits on one line, else
    folded (and encoded) by the email package. ``value`` must be checked first."""
    if len(name) + 2 + len(value) <= _LINE and _PLAIN.match(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _package_fold(name, value)


_header = header_line


def _q(ch: str) -> str:
    return "".join(chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}"
                   for b in ch.encode("utf-8"))


def _subject(subject: str) -> bytes:
    """``Subject:`` folded so that parsers read back exactly ``subject``.

    Plain ASCII: folded before a space (unfolding restores it). Otherwise the whole value as
    RFC 2047 Q encoded words (the white space between encoded words is dropped by decoders,
    so the spaces are inside the words), each at most 75 characters, never splitting a
    character, the first one on the Subject line itself.
    """
    head = "Subject:"
    if not subject:
        return b"Subject: \r\n"
    if subject.isascii() and _PLAIN.match(subject) and max(map(len, subject.split(" "))) < 900:
        lines = [f"{head} "]
        for i, word in enumerate(subject.split(" ")):
            if i == 0:
                lines[0] += word
            elif len(lines[-1]) + 1 + len(word) <= _LINE:
                lines[-1] += " " + word
            else:
                lines.append(" " + word)
        return ("\r\n".join(lines) + "\r\n").encode("ascii")
    words: list[str] = []
    room = _LINE - len(head) - 1 - 12  # the first word shares the line with "Subject: "
    chunk: list[str] = []
    size = 0
    for ch in subject:
        q = _q(ch)
        if chunk and size + len(q) > room:  # "=?utf-8?q?" + chunk + "?=" within the room
            words.append("=?utf-8?q?" + "".join(chunk) + "?=")
            chunk, size = [], 0
            room = 75 - 12
        chunk.append(q)
        size += len(q)
    words.append("=?utf-8?q?" + "".join(chunk) + "?=")
    return (f"{head} " + "\r\n ".join(words) + "\r\n").encode("ascii")


def _qp_body(text: str) -> bytes:
    """The text as quoted-printable, CRLF: what ``set_content(cte="quoted-printable")``
    and the generator write."""
    body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    encoded = quoprimime.body_encode(body.decode("latin-1"), _LINE)
    return _CRLF_RE.sub("\r\n", encoded).encode("ascii")


# Attachments up to this size have their encoding cached: the forms that go with every
# letter of a batch. A report's document and tagged PDF (megabytes, sent once) are not kept.
_B64_CACHED_MAX = 1 << 20


def _b64_body(content: bytes) -> bytes | bytearray:
    """Base64 in 76-character CRLF lines (the same small attachment is encoded once)."""
    return _b64_cached(content) if len(content) <= _B64_CACHED_MAX else _b64_lines(content)


@lru_cache(maxsize=32)
def _b64_cached(content: bytes) -> bytes:
    return bytes(_b64_lines(content))


_B64_CHARS = _LINE // 4 * 4  # characters per line: 76
_B64_IN = _B64_CHARS // 4 * 3  # content bytes per line: 57
_B64_BLOCK = 1024  # lines encoded at a time


def _b64_lines(content: bytes) -> bytearray:
    """Written block by block (1,024 lines) into one buffer of the final size: never a second
    copy of a large attachment's encoding."""
    view = memoryview(content)
    n = len(content)
    full, rest = divmod(n, _B64_IN)
    size = full * (_B64_CHARS + 2) + ((-(-rest // 3) * 4 + 2) if rest else 0)
    out = bytearray(size)
    j = 0
    step = _B64_IN * _B64_BLOCK
    for i in range(0, n, step):
        flat = binascii.b2a_base64(view[i:i + step], newline=False)
        block = b"\r\n".join([flat[k:k + _B64_CHARS]
                               for k in range(0, len(flat), _B64_CHARS)]) + b"\r\n"
        out[j:j + len(block)] = block
        j += len(block)
    assert j == size
    return out


def _disposition(filename: str) -> bytes:
    ascii_part = "".join(c for c in filename if c.isascii())
    if len(filename) < 400 and (not ascii_part or _FILENAME_OK.match(ascii_part)):
        if filename.isascii():
            value = f'attachment; filename="{filename}"'
        else:
            value = "attachment; filename*=utf-8''" + quote(filename, safe="")
        return f"Content-Disposition: {value}\r\n".encode("ascii")
    return _package_disposition(filename)


@lru_cache(maxsize=256)
def _package_disposition(filename: str) -> bytes:
    """What ``add_attachment(filename=...)`` writes, for file names off the fast path."""
    part = EmailMessage(policy=POLICY)
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", filename, header="Content-Disposition", replace=True)
    return POLICY.fold_binary("Content-Disposition", part["Content-Disposition"])


def _multipart_head(subtype: str, boundary: str) -> bytes:
    return f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n'.encode("ascii")


def _text_part(subtype: str, text: str) -> tuple[bytes, bytes]:
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n").encode("ascii")
    return head, _qp_body(text)


def _multipart(boundary: str, parts: list[list[bytes | bytearray]]) -> bytes:
    """The parts (each as its pieces, joined once here) between the boundaries."""
    b = boundary.encode("ascii")
    out = [b"--" + b + b"\r\n", *parts[0]]
    for part in parts[1:]:
        out += [b"\r\n--" + b + b"\r\n", *part]
    out.append(b"\r\n--" + b + b"--\r\n")
    return b"".join(out)


def build(o: Outgoing, domain: str, tz: ZoneInfo) -> bytes:
    """RFC 5322 bytes of ``o``: pure (same input, same bytes), CRLF, 7-bit safe."""
    check(o, domain)
    assert o.date is not None
    name, addr = o.sender
    head = [
        mailbox_header("From", name, addr),
        _header("To", ", ".join(o.to)),
    ]
    if o.cc:
        head.append(_header("Cc", ", ".join(o.cc)))
    head.append(_subject(o.subject.strip()))  # header parsers drop outer white space anyway
    head.append(_header("Date", format_datetime(o.date.astimezone(tz))))
    head.append(_header("Message-ID", message_id(o.key, domain)))
    for k, v in (*thread_headers(o), *AUTOMATIC, *headers_for(o)):
        head.append(_header(k, v))
    # Fixed boundaries (pure: the same message, the same bytes), numbered by the part's place
    # in a depth-first walk. "=_" never occurs in quoted-printable or base64 bodies, so the
    # boundary cannot collide with content.
    seed = hashlib.sha256(o.key.encode("utf-8")).hexdigest()[:24]
    top = 0 if o.attachments else None
    alt = None if o.html is None else (1 if o.attachments else 0)
    texts = [_text_part("plain", o.text)]
    if o.html is not None:
        texts.append(_text_part("html", o.html))
    if alt is not None:
        body_head = _multipart_head("alternative", f"=_aarshjul_{seed}_{alt}")
        body = _multipart(f"=_aarshjul_{seed}_{alt}", [[h, b"\r\n", b] for h, b in texts])
    else:
        body_head, body = texts[0]
    if top is None and alt is None:  # set_content() puts MIME-Version after its headers
        return b"".join(head) + body_head + b"MIME-Version: 1.0\r\n\r\n" + body
    if top is None:
        return b"".join(head) + b"MIME-Version: 1.0\r\n" + body_head + b"\r\n" + body
    parts: list[list[bytes | bytearray]] = [[body_head, b"\r\n", body]]
    for att in o.attachments:
        parts.append([f"Content-Type: {att.content_type}\r\n"
                      "Content-Transfer-Encoding: base64\r\n".encode("ascii"),
                      _disposition(att.filename.strip()), b"\r\n", _b64_body(att.content)])
    return (b"".join(head) + b"MIME-Version: 1.0\r\n"
            + _multipart_head("mixed", f"=_aarshjul_{seed}_0") + b"\r\n"
            + _multipart(f"=_aarshjul_{seed}_0", parts))

