"""``AARSHJUL_SMTP_URL`` (CONTRACT §3): where mail goes.

Forms::

    smtp://host:25                     plain SMTP (port default 25)
    smtp://user:password@host:587?starttls=true   STARTTLS, then AUTH
    smtps://user:password@host:465     implicit TLS (port default 465)

User and password are percent-decoded (write ``@`` as ``%40``). More query options:
``timeout=SECONDS`` (default 60), ``helo=NAME`` (the EHLO name), ``cafile=PATH`` (trust this
CA bundle for TLS, e.g. a municipal CA). Unknown options are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from letters import mailurl

VAR = "AARSHJUL_SMTP_URL"


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    helo: str | None = None
    cafile: str | None = None

    def redacted(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        auth = f"{self.user}:***@" if self.user else ""
        q = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{q}"


def parse_smtp_url(url: str) -> SmtpUrl:
    """Parse an ``AARSHJUL_SMTP_URL``; ``ValueError`` says what is wrong (no password in it)."""
    parts = mailurl.split(url, VAR, {"smtp": 25, "smtps": 465})
    opts = parts.options
    starttls = mailurl.take_flag(opts, "starttls", VAR)
    if starttls and parts.scheme == "smtps":
        raise ValueError(f"{VAR}: smtps:// is already TLS; drop ?starttls=true")
    timeout = mailurl.take_seconds(opts, "timeout", VAR, 60.0)
    helo = mailurl.take_text(opts, "helo")
    cafile = mailurl.take_text(opts, "cafile")
    mailurl.refuse_unknown(opts, VAR)
    return SmtpUrl(
        host=parts.host,
        port=parts.port,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        user=parts.user,
        password=parts.password,
        timeout=timeout,
        helo=helo,
        cafile=cafile,
    )
