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

from letters.parts import is_attachment, top_parts

NOTE = ("(Bilaget er fjernet fra udbakkens kopi efter journaliseringen; se journalkopien. "
        "sha256 {sha})")


def slim(raw: bytes) -> bytes | None:
    """``raw`` without the contents of its attachments, or None when it has none (or is not
    a multipart message this engine wrote)."""
    parts = [p for p in top_parts(raw) or [] if is_attachment(p.head)]
    if not parts:
        return None
    view = memoryview(raw)
    out: list[bytes | memoryview] = []
    last = 0
    for p in parts:
        sha = hashlib.sha256(view[p.body:p.end]).hexdigest()
        out += [view[last:p.start],
                b"\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
                b"Content-Disposition: inline\r\n"
                b"Content-Transfer-Encoding: 7bit\r\n\r\n" + NOTE.format(sha=sha).encode("ascii")]
        last = p.end
    out.append(view[last:])
    return b"".join(out)


def is_slimmed(raw: bytes, sha256: str) -> bool:
    """True when ``raw`` (non-empty) is no longer the message whose digest is ``sha256``."""
    return bool(raw) and hashlib.sha256(raw).hexdigest() != sha256
