"""The intake's mailbox: list, fetch and move the committees' replies over IMAP (IMAPClient).

::

    with open_mailbox(parse_imap_url(url)) as box:
        for m in box.pending():                      # UID, INTERNALDATE, size; no bodies
            raw = box.fetch(m.uid, max_bytes=...)    # TooLarge: not fetched
            ...
            box.move(m.uid, IntakeFolder.HANDLED)

**Security.** TLS is checked strictly: the system's CAs (or ``cafile`` from the URL, instead
of them), the host name against the certificate, TLS 1.2 at least. With ``?starttls=true`` a
server that does not offer STARTTLS, or fails it, is an error: the password is never sent in
plain text instead. Logging in uses SASL PLAIN where the server offers it (UTF-8 passwords),
else LOGIN. The password is in no message, log line, exception or ``repr`` of this module
(IMAPClient's own debug log redacts LOGIN and AUTHENTICATE; every error text is scrubbed).

**Folders.** Handled messages are moved, never deleted, into two folders under the intake's
mailbox, named with the server's hierarchy separator (``.`` on Dovecot, ``/`` on others)::

    INBOX.aarshjul.behandlet        handled: registered, or settled without the coordinator
    INBOX.aarshjul.til-koordinator  held for the coordinator (models.kinds.IntakeFolder)

They are created (and subscribed, so that mail programs show them) on first use; a folder
another intake created at the same moment is fine. A move is UID MOVE (RFC 6851); on a
server without MOVE, UID COPY then ``\\Deleted`` and UID EXPUNGE of that one message
(UIDPLUS, RFC 4315), so no other message is touched; a server with neither is refused.

**Cost.** A pass that finds nothing new is one connection, the login, SELECT and one
UID SEARCH. Listing fetches INTERNALDATE, RFC822.SIZE, FLAGS and the Message-ID header
only, 500 UIDs per command.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import imaplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from letters.imap_url import ImapUrl
from letters.inbound import normalize_message_id
from models.kinds import IntakeFolder

APP_FOLDER = "aarshjul"
LIST_BATCH = 500
_HEADER_KEY = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"


class MailboxError(Exception):
    """The mailbox could not be read or changed; the message names the server, never the
    password."""


class TooLarge(MailboxError):
    """A message over the size limit: reported, not fetched."""

    def __init__(self, message: str, uid: int, size: int, limit: int) -> None:
        super().__init__(message)
        self.uid = uid
        self.size = size
        self.limit = limit


class Gone(MailboxError):
    """The message is no longer in the mailbox (another intake moved it)."""


@dataclass(frozen=True)
class Listed:
    """One message in the mailbox, as listed (no body fetched)."""

    uid: int
    internaldate: datetime  # aware: when the server received it
    size: int  # RFC822.SIZE, bytes
    message_id: str | None  # the Message-ID's <id> (None when there is none)
    flags: tuple[str, ...] = ()


def tls_context(url: ImapUrl) -> ssl.SSLContext:
    """The strict TLS context: system CAs or ``cafile``, host name checked, TLS 1.2+."""
    try:
        ctx = ssl.create_default_context(cafile=url.cafile)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxError(f"{url.redacted()}: cannot read cafile {url.cafile}: {exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@contextlib.contextmanager
def open_mailbox(url: ImapUrl, *, ssl_context: ssl.SSLContext | None = None) -> Iterator[Mailbox]:
    """A logged-in :class:`Mailbox` with the URL's mailbox selected; logged out afterwards."""
    box = Mailbox(url, ssl_context=ssl_context)
    box.connect()
    try:
        yield box
    finally:
        box.close()


class Mailbox:
    """One IMAP session on the intake's mailbox. Use :func:`open_mailbox`."""

    def __init__(self, url: ImapUrl, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self._ctx = ssl_context
        self._client: IMAPClient | None = None
        self.separator: str | None = None  # the server's hierarchy separator
        self.uidvalidity: int | None = None
        self._capabilities: frozenset[bytes] = frozenset()
        self._existing: set[str] = set()

    def __repr__(self) -> str:
        state = "open" if self._client is not None else "closed"
        return f"Mailbox({self.url.redacted()}, {state})"

    # --- session ----------------------------------------------------------------------

    def connect(self) -> None:
        u = self.url
        ctx = (self._ctx or tls_context(u)) if u.tls else None
        try:
            client = IMAPClient(u.host, u.port, ssl=u.implicit_tls, ssl_context=ctx,
                                timeout=u.timeout)
        except Exception as exc:
            raise self._error("cannot connect", exc) from None
        client.normalise_times = False  # INTERNALDATE with the server's offset, aware
        self._client = client
        try:
            if u.starttls:
                self._starttls(client, ctx)
            self._login(client)
            self._capabilities = frozenset(c.upper() for c in client.capabilities())
            self._select(client)
        except BaseException:
            self.close()
            raise

    def _starttls(self, client: IMAPClient, ctx: ssl.SSLContext | None) -> None:
        if b"STARTTLS" not in {c.upper() for c in client.capabilities()}:
            raise MailboxError(
                f"{self.url.redacted()}: the server does not offer STARTTLS; refusing to send "
                "the password in plain text (use imaps:// if it speaks implicit TLS)"
            )
        try:
            client.starttls(ctx)
        except Exception as exc:
            raise self._error("STARTTLS failed", exc) from None

    def _login(self, client: IMAPClient) -> None:
        u = self.url
        caps = {c.upper() for c in client.capabilities()}
        try:
            if b"AUTH=PLAIN" in caps:
                client.plain_login(u.user, u.password)
            elif b"LOGINDISABLED" in caps:
                raise MailboxError(f"{u.redacted()}: the server refuses to log in here "
                                   "(LOGINDISABLED): use TLS (imaps:// or ?starttls=true)")
            elif not (u.user.isascii() and u.password.isascii()):
                raise MailboxError(f"{u.redacted()}: the server offers only LOGIN, which "
                                   "cannot carry a user or password with non-ASCII letters")
            else:
                client.login(u.user, u.password)
        except LoginError:
            raise MailboxError(
                f"{u.redacted()}: login refused for user {u.user!r} (wrong user or password)"
            ) from None
        except MailboxError:
            raise
        except Exception as exc:
            raise self._error("login failed", exc) from None

    def _select(self, client: IMAPClient) -> None:
        box = self.url.mailbox
        try:
            listed = client.list_folders("", box)
        except Exception as exc:
            raise self._error(f"cannot list mailbox {box!r}", exc) from None
        if not listed:
            raise MailboxError(f"{self.url.redacted()}: there is no mailbox {box!r} on the server")
        delimiter = listed[0][1]
        self.separator = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        try:
            info = client.select_folder(box)
        except Exception as exc:
            raise self._error(f"cannot open mailbox {box!r}", exc) from None
        self.uidvalidity = int(info.get(b"UIDVALIDITY", 0)) or None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxError(f"{self.url.redacted()}: the mailbox is not open")
        return self._client

    def has(self, capability: str) -> bool:
        return capability.upper().encode() in self._capabilities

    # --- reading ----------------------------------------------------------------------

    def pending(self) -> list[Listed]:
        """Every message still in the intake's mailbox (those handled are moved out), oldest
        UID first: UID, INTERNALDATE, size, flags and the Message-ID header; no bodies."""
        c = self.client
        try:
            uids = sorted(int(u) for u in c.search("ALL"))
        except Exception as exc:
            raise self._error("cannot search the mailbox", exc) from None
        out: list[Listed] = []
        for start in range(0, len(uids), LIST_BATCH):
            batch = uids[start:start + LIST_BATCH]
            try:
                got = c.fetch(batch, ["INTERNALDATE", "RFC822.SIZE", "FLAGS",
                                      "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            except Exception as exc:
                raise self._error("cannot list the messages", exc) from None
            for uid in batch:
                item = got.get(uid)
                if item is None:  # moved by another intake in the meantime
                    continue
                out.append(Listed(
                    uid=uid,
                    internaldate=_aware(item.get(b"INTERNALDATE")),
                    size=int(item.get(b"RFC822.SIZE", 0)),
                    message_id=_message_id(item.get(_HEADER_KEY)),
                    flags=tuple(_text(f) for f in item.get(b"FLAGS", ())),
                ))
        return out

    def fetch(self, uid: int, *, max_bytes: int) -> bytes:
        """The whole message's bytes, or :class:`TooLarge` (without fetching it) when it is
        over ``max_bytes``; :class:`Gone` when it has left the mailbox. Its flags are left
        as they were (BODY.PEEK), so a message held for the coordinator stays unread."""
        c = self.client
        try:
            sized = c.fetch([uid], ["RFC822.SIZE"])
        except Exception as exc:
            raise self._error(f"cannot read message {uid}", exc) from None
        if uid not in sized:
            raise Gone(f"{self.url.redacted()}: message {uid} is no longer in the mailbox")
        size = int(sized[uid].get(b"RFC822.SIZE", 0))
        if size > max_bytes:
            raise self._too_large(uid, size, max_bytes)
        # Never more than the limit plus one byte, whatever the server said the size was.
        part = f"BODY.PEEK[]<0.{max_bytes + 1}>"
        try:
            got = c.fetch([uid], [part])
        except Exception as exc:
            raise self._error(f"cannot read message {uid}", exc) from None
        if uid not in got:
            raise Gone(f"{self.url.redacted()}: message {uid} is no longer in the mailbox")
        data = next((v for k, v in got[uid].items() if k.startswith(b"BODY[]")), None)
        if not isinstance(data, bytes):
            raise MailboxError(f"{self.url.redacted()}: the server sent no body for message "
                               f"{uid}")
        if len(data) > max_bytes:
            raise self._too_large(uid, len(data), max_bytes)
        return data

    def _too_large(self, uid: int, size: int, limit: int) -> TooLarge:
        return TooLarge(
            f"{self.url.redacted()}: message {uid} is {size:,} bytes, over the limit of "
            f"{limit:,}", uid, size, limit)

    # --- moving -----------------------------------------------------------------------

    def folder_name(self, folder: IntakeFolder) -> str:
        """The server's name of ``folder``: ``<mailbox><sep>aarshjul<sep><folder>``."""
        sep = self.separator
        if not sep:  # a flat server: no hierarchy at all
            return f"{APP_FOLDER}-{folder.value}"
        return sep.join([self.url.mailbox, APP_FOLDER, folder.value])

    def ensure_folder(self, folder: IntakeFolder) -> str:
        """Create ``folder`` (and its parent) if it is missing; return its name."""
        name = self.folder_name(folder)
        if name in self._existing:
            return name
        names = [name]
        if self.separator:
            names.insert(0, self.separator.join([self.url.mailbox, APP_FOLDER]))
        c = self.client
        for n in names:
            try:
                if not c.folder_exists(n):
                    try:
                        c.create_folder(n)
                    except IMAPClientError:
                        if not c.folder_exists(n):  # not another intake's doing: a real error
                            raise
                    with contextlib.suppress(IMAPClientError):
                        c.subscribe_folder(n)
            except Exception as exc:
                raise self._error(f"cannot create folder {n!r}", exc) from None
            self._existing.add(n)
        return name

    def move(self, uid: int | Sequence[int], folder: IntakeFolder) -> None:
        """Move message ``uid`` (or several, in one command) into ``folder`` (created on
        first use). Nothing is deleted: the message is in the folder before it leaves the
        mailbox. A message already moved is not an error."""
        uids = [uid] if isinstance(uid, int) else list(uid)
        if not uids:
            return
        name = self.ensure_folder(folder)
        c = self.client
        what = f"message {uids[0]}" if len(uids) == 1 else f"{len(uids)} messages"
        try:
            if self.has("MOVE"):
                c.move(uids, name)
            elif self.has("UIDPLUS"):
                present = sorted(c.fetch(uids, ["UID"]))
                if not present:
                    return
                c.copy(present, name)
                c.add_flags(present, [b"\\Deleted"], silent=True)
                c.uid_expunge(present)
            else:
                raise MailboxError(
                    f"{self.url.redacted()}: the server offers neither MOVE nor UIDPLUS, so a "
                    "message cannot be moved without touching others"
                )
        except MailboxError:
            raise
        except IMAPClientError as exc:
            if "EXPUNGEISSUED" in str(exc):  # another session moved it first: nothing to do
                return
            raise self._error(f"cannot move {what} to {name!r}", exc) from None
        except Exception as exc:
            raise self._error(f"cannot move {what} to {name!r}", exc) from None

    # --- errors -----------------------------------------------------------------------

    def _error(self, what: str, exc: BaseException) -> MailboxError:
        return MailboxError(f"{self.url.redacted()}: {what}: {self._scrub(_describe(exc))}")

    def _scrub(self, text: str) -> str:
        """``text`` without the password in any form it could take on the wire."""
        pw = self.url.password
        if not pw:
            return text
        forms = {pw, quote(pw, safe=""), quote(pw), pw.encode("utf-8", "replace").decode("latin-1"),
                 base64.b64encode(f"\0{self.url.user}\0{pw}".encode()).decode()}
        for f in sorted(forms, key=len, reverse=True):
            if f:
                text = text.replace(f, "***")
        return text


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the server's certificate is not trusted ({exc.verify_message}); for a "
                "private CA add ?cafile=PATH")
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time (timeout)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"the connection broke: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the host and port right?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _aware(value: Any) -> datetime:
    """INTERNALDATE as an aware datetime with a plain fixed offset."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MailboxError(f"the server sent an INTERNALDATE without a zone: {value!r}")
    offset = value.utcoffset() or timedelta(0)
    return value.replace(tzinfo=timezone(offset))


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def _message_id(raw: Any) -> str | None:
    """The Message-ID as :mod:`letters.inbound` reads it, so a listing and a description
    agree on a message's key."""
    if not isinstance(raw, bytes) or not raw.strip():
        return None
    value = _HEADERS.parsebytes(raw).get("Message-ID")
    return normalize_message_id(str(value)) if value is not None else None


def list_pending(url: ImapUrl, *, ssl_context: ssl.SSLContext | None = None) -> Sequence[Listed]:
    """One pass's listing in a session of its own (for ``doctor`` and quick looks)."""
    with open_mailbox(url, ssl_context=ssl_context) as box:
        return box.pending()
