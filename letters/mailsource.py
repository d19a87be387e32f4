"""Where the mail intake reads messages from: the IMAP mailbox, or memory (README "Replies by
e-mail").

:class:`MessageSource` is what ``flows.services.intake.intake_pass`` needs of a mailbox:
list what is there, fetch one message's bytes, move messages into an intake folder.
:class:`letters.mailbox.Mailbox` is one; :class:`MemorySource` keeps the messages in a list
(``simulate`` with ``via: mail``, and unit tests) and behaves like the mailbox: a moved
message is no longer pending and lands in its folder; fetching one that is gone raises
:class:`letters.mailbox.Gone`, one over the limit :class:`letters.mailbox.TooLarge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from letters.inbound import normalize_message_id
from letters.mailbox import Gone, Listed, TooLarge
from models.kinds import IntakeFolder


class MessageSource(Protocol):
    def pending(self) -> Sequence[Listed]: ...

    def fetch(self, uid: int, *, max_bytes: int) -> bytes: ...

    def move(self, uid: int | Sequence[int], folder: IntakeFolder) -> None: ...


@dataclass
class _Stored:
    uid: int
    raw: bytes
    internaldate: datetime
    folder: IntakeFolder | None = None


@dataclass
class MemorySource:
    """An in-memory mailbox: ``add(raw, internaldate)`` puts a message in."""

    _messages: list[_Stored] = field(default_factory=list)
    _next: int = 1

    def add(self, raw: bytes, internaldate: datetime) -> int:
        uid = self._next
        self._next += 1
        self._messages.append(_Stored(uid, raw, internaldate))
        return uid

    def pending(self) -> list[Listed]:
        return [Listed(m.uid, m.internaldate, len(m.raw), _message_id(m.raw))
                for m in self._messages if m.folder is None]

    def _get(self, uid: int) -> _Stored:
        for m in self._messages:
            if m.uid == uid and m.folder is None:
                return m
        raise Gone(f"memory: message {uid} is no longer in the mailbox")

    def fetch(self, uid: int, *, max_bytes: int) -> bytes:
        m = self._get(uid)
        if len(m.raw) > max_bytes:
            raise TooLarge(f"memory: message {uid} is {len(m.raw)} bytes, over {max_bytes}",
                           uid, len(m.raw), max_bytes)
        return m.raw

    def move(self, uid: int | Sequence[int], folder: IntakeFolder) -> None:
        for u in [uid] if isinstance(uid, int) else uid:
            try:
                self._get(u).folder = folder
            except Gone:
                continue  # another intake moved it: not an error, as on the server

    def folder(self, folder: IntakeFolder) -> list[bytes]:
        """The messages moved into ``folder``, in order."""
        return [m.raw for m in self._messages if m.folder == folder]


def _message_id(raw: bytes) -> str | None:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:11].lower() == b"message-id:":
            return normalize_message_id(line[11:].decode("ascii", "replace").strip())
    return None
