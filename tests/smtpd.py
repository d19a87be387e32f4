"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, with scripted faults.

``ScriptedHandler`` records every message it accepted (``received``) and answers per message
from a script: ``handler.script[match] = ["451", "250"]`` answers the first DATA of a
message matching ``match`` (a recipient address or a Message-ID) with 451, the second with
250. Actions: ``"250"``, ``"421"`` (closing), ``"451"``, ``"550"``, ``"drop"`` (the server keeps
the message, then closes the connection without answering: the client cannot know),
``"slow:SECONDS"`` (keeps the message, answers 250 after a pause).
``handler.refuse_rcpt[addr] = "550 ..."`` refuses one recipient at RCPT time.

Use the fixture ``smtpd`` (plain) or the context manager :func:`serve`; :func:`tls_pair`
makes a CA and a certificate for 127.0.0.1 with trustme, for STARTTLS and implicit TLS.
"""

from __future__ import annotations

import asyncio
import email
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class ScriptedHandler:
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[str]] = field(default_factory=dict)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    answers: list[tuple[str, str]] = field(default_factory=list)  # (message id, action)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _action(self, rcpts: list[str], mid: str) -> str:
        with self.lock:
            for match in (mid, *rcpts):
                steps = self.script.get(match)
                if steps:
                    return steps.pop(0)
        return "250"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        msg = email.message_from_bytes(data, policy=default)
        mid = str(msg.get("Message-ID", ""))
        action = self._action(list(envelope.rcpt_tos), mid)
        with self.lock:
            self.answers.append((mid, action))
        if action == "421":
            return "421 4.3.2 Service shutting down, closing transmission channel"
        if action == "451":
            return "451 4.3.0 Requested action aborted: local error in processing"
        if action == "550":
            return "550 5.7.1 Message refused"
        rec = Received(envelope.mail_from, tuple(envelope.rcpt_tos), data)
        if action == "drop":
            with self.lock:
                self.received.append(rec)
            server.transport.abort()
            return "250 OK (never seen)"
        with self.lock:
            self.received.append(rec)
        if action.startswith("slow:"):  # the message is kept; the answer is late
            await asyncio.sleep(float(action.split(":", 1)[1]))
        return "250 2.0.0 OK queued"

    def by_message_id(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        with self.lock:
            for r in self.received:
                out.setdefault(r.message_id, []).append(r)
        return out


class _QuietController(Controller):
    def factory(self) -> SMTPServer:
        return SMTPServer(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    handler: ScriptedHandler
    port: int
    controller: Controller

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"


@contextmanager
def serve(handler: ScriptedHandler | None = None, *, port: int | None = None,
          **kw: Any) -> Iterator[Server]:
    """An aiosmtpd server on 127.0.0.1 in a thread (on ``port``, default a free one); ``kw``
    go to the Controller (``tls_context=..., require_starttls=True`` for STARTTLS,
    ``ssl_context=...`` for implicit TLS)."""
    handler = handler or ScriptedHandler()
    port = port or free_port()
    controller = _QuietController(handler, hostname=HOST, port=port, ready_timeout=10, **kw)
    controller.start()
    try:
        yield Server(handler, port, controller)
    finally:
        controller.stop()


@dataclass(frozen=True)
class TlsPair:
    server: ssl.SSLContext
    client: ssl.SSLContext
    ca_pem: bytes


def tls_pair() -> TlsPair:
    """A fresh CA and a certificate for 127.0.0.1/localhost (trustme)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return TlsPair(server, client, ca.cert_pem.bytes())


@pytest.fixture
def smtpd() -> Iterator[Server]:
    with serve() as server:
        yield server
