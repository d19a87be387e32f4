"""``AARSHJUL_SMTP_URL`` (CONTRACT §3): where mail goes.

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

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

VARIABLE = "AARSHJUL_SMTP_URL"
_BAD_HOST = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_HELO = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")  # sent in EHLO: no CR/LF, no spaces
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
        auth = "" if self.user is None else (
            f"{self.user}:***@" if self.password is not None else f"{self.user}@")
        q = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{q}"


def parse_smtp_url(url: str) -> SmtpUrl:
    """Parse an ``AARSHJUL_SMTP_URL``. Whatever the input, the only exception is a
    ``ValueError`` that says what is wrong, starting with ``AARSHJUL_SMTP_URL``, and never
    holding the password."""
    try:
        return _parse(url)
    except ValueError as exc:
        if str(exc).startswith(VARIABLE):
            raise
        raise ValueError(f"{VARIABLE} is not a valid URL") from None


def _parse(url: str) -> SmtpUrl:
    if not isinstance(url, str):
        raise ValueError(f"{VARIABLE} must be text")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"{VARIABLE} must start with smtp:// or smtps://")
    host = parts.hostname
    if not host:
        raise ValueError(f"{VARIABLE} has no host")
    if _BAD_HOST.search(host):
        raise ValueError(f"{VARIABLE}: the host has spaces or control characters in it")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{VARIABLE} has an invalid port") from None
    if port is None:
        port = 465 if scheme == "smtps" else 25
    elif not 0 < port < 65536:
        raise ValueError(f"{VARIABLE} has an invalid port")
    opts: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        opts[k.lower()] = v
    starttls = False
    if "starttls" in opts:
        v = opts.pop("starttls").lower()
        if v not in _TRUE | _FALSE:
            raise ValueError(f"{VARIABLE}: starttls must be true or false")
        starttls = v in _TRUE
    if starttls and scheme == "smtps":
        raise ValueError(f"{VARIABLE}: smtps:// is already TLS; drop ?starttls=true")
    timeout = 60.0
    if "timeout" in opts:
        try:
            timeout = float(opts.pop("timeout"))
        except ValueError:
            timeout = -1.0
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"{VARIABLE}: timeout must be a positive number of seconds")
    helo = opts.pop("helo", None) or None
    if helo is not None and not _HELO.fullmatch(helo):
        raise ValueError(f"{VARIABLE}: helo must be a host name or an address literal "
                         "such as [192.0.2.1]")
    cafile = opts.pop("cafile", None) or None
    if opts:
        raise ValueError(f"{VARIABLE}: unknown option(s) {', '.join(sorted(opts))}")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and user is None:
        raise ValueError(f"{VARIABLE}: a password needs a user (user:password@host)")
    return SmtpUrl(
        host=host,
        port=port,
        implicit_tls=scheme == "smtps",
        starttls=starttls,
        user=user,
        password=password,
        timeout=timeout,
        helo=helo,
        cafile=cafile,
    )
