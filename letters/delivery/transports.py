"""How the stored bytes reach a server: SMTP over one kept connection, or .eml files.

A transport sends the bytes of one outbox row and says what the server answered:
:class:`Accepted` (a 250), or it raises :class:`TransientFailure` (4xx, or no connection:
nothing was delivered), :class:`PermanentFailure` (5xx) or :class:`Uncertain` (the message
data went out and no answer came back). ``before_data`` runs once the recipients are
accepted, just before the data can reach the server: the sender commits ``sending`` there.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

from letters.delivery.faults import Faults
from letters.private import private_dir, write_private
from letters.smtp_url import SmtpUrl, parse_smtp_url


class TransientFailure(Exception):
    """4xx, or no connection: nothing was delivered; try again later."""

    def __init__(self, code: int | None, reply: str, *, connection: bool = False) -> None:
        super().__init__(f"{code} {reply}" if code else reply)
        self.code, self.reply = code, reply
        self.connection = connection  # the server could not be reached at all: stop the run


class PermanentFailure(Exception):
    """5xx: the server refused the message for good."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code, self.reply = code, reply


class Uncertain(Exception):
    """The message data went out and the answer did not come back: it may be delivered."""


@dataclass(frozen=True)
class Accepted:
    code: int
    reply: str
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)  # 5xx RCPT refusals


class Transport(Protocol):
    """Sends stored bytes. ``before_data`` runs once the recipients are accepted, just
    before the message data can reach the server (the sender commits ``sending`` there)."""

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted: ...

    def close(self) -> None: ...


def _why_unreachable(exc: BaseException, u: SmtpUrl, step: str) -> tuple[int | None, str]:
    """The server's code, if it answered, and why ``step`` of opening a session failed."""
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, OSError):
        exc = exc.__context__  # smtplib's word for a socket error (a timeout, say) on reading
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return exc.smtp_code, f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if step == "STARTTLS":
            return None, "the server does not offer STARTTLS (the URL asks for starttls=true)"
        return None, f"{step}: the server does not support it ({exc})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return None, f"the server closed the connection ({step}): {exc or 'no reason given'}"
    if isinstance(exc, smtplib.SMTPResponseException):
        what = "the server refused the connection" if step == "connect" else step
        return exc.smtp_code, f"{what}: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, ConnectionRefusedError):
        return None, (f"connection refused: nothing listens on {u.host}:{u.port}, or a "
                      "firewall refuses")
    if isinstance(exc, TimeoutError):
        return None, f"no answer within {u.timeout:g} s ({step})"
    if isinstance(exc, socket.gaierror):
        return None, f"host {u.host} not found: {exc.strerror}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return None, (f"TLS: the server's certificate is not trusted: {exc.verify_message}"
                      " (cafile= names a CA to trust)")
    if isinstance(exc, ssl.SSLError):
        hint = ""
        if exc.reason == "WRONG_VERSION_NUMBER":  # the server did not answer in TLS
            hint = (" (the server speaks plain SMTP here: smtps:// is for implicit TLS, "
                    "usually port 465; for port 587 use smtp://...?starttls=true)")
        return None, f"TLS failed ({step}): {exc.reason or exc}{hint}"
    if isinstance(exc, OSError):
        return None, f"{step}: {exc.strerror or exc}"
    return None, f"{step}: {type(exc).__name__}: {exc}"


def _text(resp: bytes | str) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)


def _quote_periods(raw: bytes) -> bytes:
    q = raw.replace(b"\n.", b"\n..")  # a "." at the start of any line doubled (RFC 5321)
    if q.startswith(b"."):
        q = b"." + q
    if not q.endswith(b"\r\n"):
        q += b"\r\n"
    return q + b".\r\n"


class SmtpTransport:
    """One kept SMTP connection (reopened after an error), STARTTLS or implicit TLS."""

    def __init__(self, url: str | SmtpUrl, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = parse_smtp_url(url) if isinstance(url, str) else url
        self._ctx = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self.url.redacted()})"

    def _context(self) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = ssl.create_default_context(cafile=self.url.cafile)
        return self._ctx

    def _connect(self) -> smtplib.SMTP:
        """A new session, greeted, in TLS when asked for, logged in when the URL has a user.

        Anything that goes wrong is a :class:`TransientFailure` with ``connection=True``
        whose reply names the server (redacted URL) and says why, without the password."""
        u = self.url
        smtp: smtplib.SMTP | None = None
        step = "connect"
        try:
            if u.implicit_tls:
                smtp = smtplib.SMTP_SSL(u.host, u.port, local_hostname=u.helo,
                                        timeout=u.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(u.host, u.port, local_hostname=u.helo, timeout=u.timeout)
            step = "EHLO"
            code, resp = smtp.ehlo()
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            if u.starttls:
                step = "STARTTLS"
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("STARTTLS is not offered")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if u.user is not None:
                step = "login"
                smtp.login(u.user, u.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                with contextlib.suppress(OSError):
                    smtp.close()
            answer, why = _why_unreachable(exc, u, step)
            raise TransientFailure(answer, self._scrub(f"{u.redacted()}: {why}"),
                                   connection=True) from None
        return smtp

    def probe(self) -> None:
        """Open a session (connect, EHLO, TLS as the URL says, login when it has a user) and
        quit, sending no mail: ``aarshjul doctor`` and the watchdog. Raises
        :class:`TransientFailure` (``connection=True``) saying why, without the password."""
        smtp = self._connect()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        with contextlib.suppress(OSError):
            smtp.close()

    def _scrub(self, text: str) -> str:
        """``text`` without the password, whatever echoed it."""
        pw = self.url.password
        return text.replace(pw, "***") if pw and len(pw) >= 3 else text

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def _reply_failure(self, code: int, resp: bytes | str, what: str) -> Exception:
        text = f"{what}: {_text(resp)}"
        if code == 421:
            self._drop()  # the server is closing the connection
        elif self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.rset()
        if 500 <= code < 600:
            return PermanentFailure(code, text)
        return TransientFailure(code, text)

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, resp = smtp.mail(envelope_from)
            if code != 250:
                raise self._reply_failure(code, resp, "MAIL FROM")
            refused: dict[str, tuple[int, str]] = {}
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    if 500 <= code < 600:
                        refused[rcpt] = (code, _text(resp))
                    else:
                        raise self._reply_failure(code, resp, f"RCPT TO {rcpt}")
            if len(refused) == len(recipients):
                code, text = next(iter(refused.values()))
                raise self._reply_failure(code, text, "RCPT TO (every recipient refused)")
            code, resp = smtp.docmd("DATA")
            if code != 354:
                raise self._reply_failure(code, resp, "DATA")
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise TransientFailure(None, f"connection lost before the data: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            if isinstance(exc, TransientFailure | PermanentFailure):
                raise
            self._drop()
            raise TransientFailure(None, f"before the data: {exc}") from None
        # From here on the server may get the message: commit "sending" first.
        before_data()
        data = _quote_periods(raw)
        try:
            if faults is not None and faults.armed("during_data"):
                half = len(data) // 2
                smtp.send(data[:half])
                faults.hit("during_data")
                smtp.send(data[half:])
            else:
                smtp.send(data)
        except (smtplib.SMTPException, OSError) as exc:
            # Not all of the data reached the kernel: the terminating "." was not sent, so
            # the server cannot have accepted the message.
            self._drop()
            raise TransientFailure(None, f"connection lost during the data: {exc}") from None
        try:
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise Uncertain(f"no answer after the message data: {exc}") from None
        if code != 250:
            raise self._reply_failure(code, resp, "end of data")
        return Accepted(code, _text(resp), refused)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "message"


_MID = re.compile(rb"^Message-ID:[ \t]*([^\r\n]*)\r?\n(?![ \t])", re.M | re.I)


def _message_id_of(raw: bytes) -> str:
    """The first Message-ID header's raw value (as ``BytesHeaderParser().get`` reads it)."""
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    m = _MID.search(head)
    first = re.search(rb"(?mi)^Message-ID:", head)
    if m is not None and first is not None and m.start() == first.start() and m.group(1).isascii():
        return m.group(1).decode("ascii")

    return str(BytesHeaderParser().parsebytes(head).get("Message-ID", ""))


_RESENT_MID = re.compile(rb"^(?:Resent-[A-Za-z-]+:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)*?"
                         rb"Resent-Message-ID:[ \t]*(<[!-~]+>)\r\n")


class DirectoryTransport:
    """No SMTP configured: each message becomes ``<dir>/<Message-ID>.eml`` (atomic write); a
    resent one (Resent-* fields first) ``<dir>/<Resent-Message-ID>.eml``, beside the
    original."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"DirectoryTransport({self.directory})"

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str], *,
             before_data: Callable[[], None], faults: Faults | None = None) -> Accepted:
        resent = _RESENT_MID.match(raw)
        mid = resent.group(1).decode("ascii") if resent else _message_id_of(raw)
        name = _safe_name(str(mid).strip("<>")) or hashlib.sha256(raw).hexdigest()[:32]
        private_dir(self.directory)
        path = self.directory / f"{name}.eml"
        before_data()
        write_private(path, raw)
        return Accepted(250, f"written to {path}")

    def close(self) -> None:
        pass


def transport_for(smtp_url: str | None, default_dir: Path) -> Transport:
    """SMTP at ``smtp_url`` when one is given (``AARSHJUL_SMTP_URL``, passed in by the
    caller), else .eml files in ``default_dir``. A malformed URL raises ``ValueError``."""
    url = (smtp_url or "").strip()
    if url:
        return SmtpTransport(url)
    return DirectoryTransport(default_dir)
