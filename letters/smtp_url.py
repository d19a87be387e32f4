"""``AARSHJUL_SMTP_URL`` (README "E-mail, the outbox and journal copies"): where mail goes.

Forms::

    smtp://host:25                     plain SMTP (port default 25)
    smtp://user:password@host:587?starttls=true   STARTTLS, then AUTH
    smtps://user:password@host:465     implicit TLS (port default 465)

User and password are percent-decoded (write ``@`` as ``%40``). More query options:
``timeout=SECONDS`` (default 60), ``helo=NAME`` (the EHLO name), ``cafile=PATH`` (trust this
CA bundle for TLS, e.g. a municipal CA). Unknown options are refused, and so are a
non-positive or non-finite timeout, a ``helo`` that is not a host name or an address literal
(it goes into the EHLO command), a host with spaces or control characters, and a password
without a user.
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
        auth = "" if self.user is None else (
            f"{self.user}:***@" if self.password is not None else f"{self.user}@")
        q = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{q}"


def parse_smtp_url(url: str) -> SmtpUrl:
    """Parse an ``AARSHJUL_SMTP_URL``. Whatever the input, the only exception is a
    ``ValueError`` that says what is wrong, starting with ``AARSHJUL_SMTP_URL``, and never
    holding the password."""
    return mailurl.parse_or_refuse(_parse, url, VAR)


def _parse(url: str) -> SmtpUrl:
    parts = mailurl.split(url, VAR, {"smtp": 25, "smtps": 465})
    opts = parts.options
    starttls = mailurl.take_flag(opts, "starttls", VAR)
    if starttls and parts.scheme == "smtps":
        raise ValueError(f"{VAR}: smtps:// is already TLS; drop ?starttls=true")
    timeout = mailurl.take_seconds(opts, "timeout", VAR, 60.0)
    helo = mailurl.take_name(opts, "helo", VAR)
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
