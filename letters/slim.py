"""Slimming a stored message: its attachments dropped once the journal holds the whole copy.

``outbox.raw`` is the exact bytes sent, kept so that a message can be resent. Once its journal
copy is written (the same bytes), the outbox need not keep the attachments as well
(README "Data protection"): :func:`slim` replaces the body of each top-level part whose
``Content-Disposition`` is ``attachment`` by a short note, byte for byte leaving everything
else alone (the header, the text and HTML parts, the boundaries). A slimmed row is known by
its bytes no longer matching its ``sha256`` (which stays that of the message sent).

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
import re

_CT = re.compile(rb"^content-type:(.*?)\r\n(?![ \t])", re.I | re.M | re.S)
_BOUNDARY = re.compile(rb'boundary="([^"\r\n]+)"|boundary=([^\s;"]+)', re.I)
_ATTACHMENT = re.compile(rb"^content-disposition:[ \t]*attachment", re.I | re.M)
NOTE = ("(Bilaget er fjernet fra udbakkens kopi efter journaliseringen; se journalkopien. "
        "sha256 {sha})")


def _boundary(head: bytes) -> bytes | None:
    m = _CT.search(head + b"\r\n")
    if m is None or b"multipart/" not in m.group(1).lower():
        return None
    b = _BOUNDARY.search(re.sub(rb"\r\n[ \t]+", b" ", m.group(1)))
    if b is None:
        return None
    return b.group(1) or b.group(2)


def slim(raw: bytes) -> bytes | None:
    """``raw`` without the contents of its attachments, or None when it has none (or is not
    a multipart message this engine wrote)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    boundary = _boundary(head) if sep else None
    if boundary is None:
        return None
    delim = b"\r\n--" + boundary
    parts = (b"\r\n" + body).split(delim)
    changed = False
    for i in range(1, len(parts)):
        part = parts[i]
        if part.startswith(b"--"):
            break  # the close delimiter
        if not part.startswith(b"\r\n"):
            return None
        phead, psep, pbody = part[2:].partition(b"\r\n\r\n")
        if not psep or not _ATTACHMENT.search(phead):
            continue
        sha = hashlib.sha256(pbody).hexdigest()
        note = NOTE.format(sha=sha).encode("ascii")
        parts[i] = (b"\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
                    b"Content-Disposition: inline\r\n"
                    b"Content-Transfer-Encoding: 7bit\r\n\r\n" + note)
        changed = True
    if not changed:
        return None
    return head + sep + delim.join(parts)[2:]


def is_slimmed(raw: bytes, sha256: str) -> bool:
    """True when ``raw`` (non-empty) is no longer the message whose digest is ``sha256``."""
    return bool(raw) and hashlib.sha256(raw).hexdigest() != sha256
