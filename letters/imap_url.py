"""``AARSHJUL_IMAP_URL``: the mailbox the committees' replies are read from.

Forms::

    imap://user:password@host:143/INBOX                 plain IMAP (port default 143)
    imap://user:password@host/INBOX?starttls=true       STARTTLS before logging in
    imaps://user:password@host:993/Svar                 implicit TLS (port default 993)

MAILBOX (the path) defaults to ``INBOX`` and is the server's own name of the folder, written
with the server's hierarchy separator (``INBOX.Svar`` on Dovecot, ``INBOX/Svar`` on others),
percent-decoded. User and password are percent-decoded: write ``@ : / ? # %`` in them as
``%40 %3A %2F %3F %23 %25``. Options, as for ``AARSHJUL_SMTP_URL``: ``timeout=SECONDS``
(default 30), ``cafile=PATH`` (trust this CA bundle instead of the system's, e.g. a
municipal CA). Unknown options are refused. A malformed URL is a ``ValueError`` whose message
never holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from letters import mailurl

VAR = "AARSHJUL_IMAP_URL"
DEFAULT_MAILBOX = "INBOX"
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ImapUrl:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    mailbox: str = DEFAULT_MAILBOX
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT
    cafile: str | None = None

    @property
    def tls(self) -> bool:
        """Whether the password only ever travels inside TLS."""
        return self.implicit_tls or self.starttls

    def redacted(self) -> str:
        """The URL with the password replaced by ``***`` (for messages and status)."""
        scheme = "imaps" if self.implicit_tls else "imap"
        user = quote(self.user, safe="")
        box = quote(self.mailbox, safe="")
        q = "?starttls=true" if self.starttls else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}:***@{host}:{self.port}/{box}{q}"

    def __str__(self) -> str:
        return self.redacted()


def parse_imap_url(url: str) -> ImapUrl:
    """Parse an ``AARSHJUL_IMAP_URL``; ``ValueError`` says what is wrong (no password in it)."""
    parts = mailurl.split(url, VAR, {"imap": 143, "imaps": 993})
    if not parts.user:
        raise ValueError(f"{VAR} has no user: imap://user:password@host/MAILBOX")
    if parts.password is None:
        raise ValueError(f"{VAR} has no password: imap://user:password@host/MAILBOX")
    mailbox = parts.path.rstrip("/") or DEFAULT_MAILBOX
    if any(ord(c) < 32 or ord(c) == 127 for c in mailbox) or '"' in mailbox or "\\" in mailbox:
        raise ValueError(f"{VAR}: the mailbox name holds a control character, a quote or a "
                         "backslash")
    opts = parts.options
    starttls = mailurl.take_flag(opts, "starttls", VAR)
    if starttls and parts.scheme == "imaps":
        raise ValueError(f"{VAR}: imaps:// is already TLS; drop ?starttls=true")
    timeout = mailurl.take_seconds(opts, "timeout", VAR, DEFAULT_TIMEOUT)
    cafile = mailurl.take_text(opts, "cafile")
    mailurl.refuse_unknown(opts, VAR)
    return ImapUrl(
        host=parts.host,
        port=parts.port,
        user=parts.user,
        password=parts.password,
        mailbox=mailbox,
        implicit_tls=parts.scheme == "imaps",
        starttls=starttls,
        timeout=timeout,
        cafile=cafile,
    )
