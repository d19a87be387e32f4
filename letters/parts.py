"""A multipart message's top-level parts, found in its bytes without decoding them.

The messages this engine writes (:func:`letters.mail.build`) are ``multipart/mixed`` with the
attachments as top-level parts. Reading what they are (their file names) or replacing them
(:mod:`letters.slim`) needs only the part headers; the ``email`` package's parser would
decode every body into strings and lines, which for a report's e-mail with its tagged PDF is
tens of megabytes of small objects (README "Benchmarks").

Pure: bytes in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser

_CT = re.compile(rb"^content-type:(.*?)\r\n(?![ \t])", re.I | re.M | re.S)
_BOUNDARY = re.compile(rb'boundary="([^"\r\n]+)"|boundary=([^\s;"]+)', re.I)
_ATTACHMENT = re.compile(rb"^content-disposition:[ \t]*attachment", re.I | re.M)


@dataclass(frozen=True)
class Part:
    """One top-level part, as offsets into the message: ``raw[start:end]`` is the part with
    the CRLF that ends its delimiter line; ``head`` its header block (with the blank line),
    and ``raw[body:end]`` its body."""

    start: int
    end: int
    head: bytes
    body: int


def header_block(raw: bytes) -> bytes:
    """The header block of ``raw`` with the blank line that ends it (CRLF, or bare LF in a
    message from elsewhere), or all of ``raw`` when there is none; the body is not copied
    (a header parser given the whole message reads, and keeps, the body too)."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    return raw[:min(ends)] if ends else raw


def _boundary(head: bytes) -> bytes | None:
    m = _CT.search(head + b"\r\n")
    if m is None or b"multipart/" not in m.group(1).lower():
        return None
    b = _BOUNDARY.search(re.sub(rb"\r\n[ \t]+", b" ", m.group(1)))
    if b is None:
        return None
    return b.group(1) or b.group(2)


def top_parts(raw: bytes) -> list[Part] | None:
    """The top-level parts of ``raw`` that have a body, before its close delimiter; None when
    ``raw`` is not a multipart message cut as this engine cuts one (a delimiter line with
    anything after the boundary). Only the part headers are copied out of ``raw``."""
    head_end = raw.find(b"\r\n\r\n")
    boundary = _boundary(raw[:head_end]) if head_end >= 0 else None
    if boundary is None:
        return None
    delim = b"\r\n--" + boundary
    # the body, with the header's last CRLF before it: a delimiter that opens the body is
    # found like every other
    at = raw.find(delim, head_end + 2)
    parts: list[Part] = []
    while at >= 0:
        start = at + len(delim)
        if raw.startswith(b"--", start):
            return parts  # the close delimiter
        if not raw.startswith(b"\r\n", start):
            return None
        nxt = raw.find(delim, start)
        end = nxt if nxt >= 0 else len(raw)
        blank = raw.find(b"\r\n\r\n", start + 2, end)
        if blank >= 0:
            parts.append(Part(start, end, raw[start + 2:blank + 4], blank + 4))
        at = nxt
    return parts


def is_attachment(part_head: bytes) -> bool:
    return _ATTACHMENT.search(part_head) is not None


def attachment_names(raw: bytes) -> list[str] | None:
    """The file names of the top-level attachments of ``raw``, in order (RFC 2231 names
    decoded, as ``Message.get_filename`` does), or None when ``raw`` is not a multipart
    message whose parts can be cut at their boundaries."""
    parts = top_parts(raw)
    if parts is None:
        return None
    return [str(BytesHeaderParser().parsebytes(p.head).get_filename())
            for p in parts if is_attachment(p.head)]
