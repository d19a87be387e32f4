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

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = None
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
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError("AARSHJUL_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("AARSHJUL_SMTP_URL has no host")
    try:
        port = parts.port or (465 if scheme == "smtps" else 25)
    except ValueError:
        raise ValueError("AARSHJUL_SMTP_URL has an invalid port") from None
    opts: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        opts[k.lower()] = v
    starttls = False
    if "starttls" in opts:
        v = opts.pop("starttls").lower()
        if v not in _TRUE | _FALSE:
            raise ValueError("AARSHJUL_SMTP_URL: starttls must be true or false")
        starttls = v in _TRUE
    if starttls and scheme == "smtps":
        raise ValueError("AARSHJUL_SMTP_URL: smtps:// is already TLS; drop ?starttls=true")
    timeout = 60.0
    if "timeout" in opts:
        try:
            timeout = float(opts.pop("timeout"))
        except ValueError:
            raise ValueError("AARSHJUL_SMTP_URL: timeout must be a number of seconds") from None
    helo = opts.pop("helo", None) or None
    cafile = opts.pop("cafile", None) or None
    if opts:
        raise ValueError(f"AARSHJUL_SMTP_URL: unknown option(s) {', '.join(sorted(opts))}")
    return SmtpUrl(
        host=parts.hostname,
        port=port,
        implicit_tls=scheme == "smtps",
        starttls=starttls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        helo=helo,
        cafile=cafile,
    )
