"""What ``AARSHJUL_SMTP_URL`` and ``AARSHJUL_IMAP_URL`` share: ``scheme://user:password@host:port``
with percent-decoded user and password, and query options.

:func:`split` takes a URL apart and refuses what is malformed with a ``ValueError`` that names
the variable and never carries the URL, the user's password or a piece of it (a password
written without percent-encoding of ``@ / ? #`` would otherwise end up in the host, the port,
the path or the fragment, and from there in a message). The ``take_*`` helpers read one
option each and remove it, so that :func:`refuse_unknown` can name what is left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


_BAD_HOST = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_NAME = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")  # goes into EHLO: no CR/LF, no spaces
T = TypeVar("T")


@dataclass(frozen=True)
class UrlParts:
    scheme: str  # lower-cased
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    path: str  # percent-decoded, without the leading "/"
    options: dict[str, str]  # lower-cased names


def split(url: str, var: str, schemes: dict[str, int]) -> UrlParts:
    """``url`` taken apart; ``schemes`` maps each accepted scheme to its default port."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ValueError(f"{var} is not a URL (check the brackets around the host)") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        names = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"{var} must start with {names}")
    if parts.fragment or "#" in url:
        raise ValueError(f"{var} has a '#': write it as %23 in the user or password")
    if "@" in parts.path or "@" in parts.query:
        raise ValueError(
            f"{var} has an '@' after the host: write '@', '/', '?' and '#' in the user or "
            "password as %40, %2F, %3F and %23"
        )
    if not parts.hostname:
        raise ValueError(f"{var} has no host")
    if _BAD_HOST.search(parts.hostname):
        raise ValueError(f"{var}: the host has spaces or control characters in it")
    try:
        port = parts.port if parts.port is not None else schemes[scheme]
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ValueError(
            f"{var} has an invalid port (a ':' or '/' in the password must be written as %3A "
            "or %2F)"
        )
    if parts.password is not None and not parts.username:
        raise ValueError(f"{var} has a password but no user")
    opts: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        opts[k.lower()] = v
    return UrlParts(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        path=unquote(parts.path.removeprefix("/")),
        options=opts,
    )


def take_flag(opts: dict[str, str], name: str, var: str) -> bool:
    if name not in opts:
        return False
    v = opts.pop(name).lower()
    if v not in TRUE | FALSE:
        raise ValueError(f"{var}: {name} must be true or false")
    return v in TRUE


def take_seconds(opts: dict[str, str], name: str, var: str, default: float) -> float:
    if name not in opts:
        return default
    try:
        value = float(opts.pop(name))
    except ValueError:
        value = -1.0
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{var}: {name} must be a number of seconds")
    return value


def take_text(opts: dict[str, str], name: str) -> str | None:
    return opts.pop(name, None) or None


def take_name(opts: dict[str, str], name: str, var: str) -> str | None:
    """A host name option that goes into a protocol command (``helo``): no spaces, no
    line breaks."""
    value = take_text(opts, name)
    if value is not None and not _NAME.fullmatch(value):
        raise ValueError(f"{var}: {name} must be a host name (letters, digits, '.' and '-')")
    return value


def parse_or_refuse(parse: Callable[[str], T], url: object, var: str) -> T:
    """``parse(url)``, whose only exception is a ValueError starting with ``var`` that holds
    no part of the password, whatever the input."""
    if not isinstance(url, str):
        raise ValueError(f"{var} must be text")
    try:
        return parse(url)
    except ValueError as exc:
        if str(exc).startswith(var):
            raise
        raise ValueError(f"{var} is not a valid URL") from None


def refuse_unknown(opts: dict[str, str], var: str) -> None:
    if opts:
        raise ValueError(f"{var}: unknown option(s) {', '.join(sorted(opts))}")
