"""E-mail figures: message build per second, SMTP over one kept connection, the outbox sender.

Before the hand-written MIME (Nov 2026) build ran at 74-123 messages/s and send_pending at
32-42; the year at 1,000 committees spent most of its time there.

No budgets (none were set); the figures go to README. The SMTP server is aiosmtpd's Sink on
127.0.0.1 in a process of its own (client and server share the machine's 2 cores).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench import Result

if TYPE_CHECKING:
    from letters.mail import Outgoing

N_BUILD = 500
N_SMTP = 300
ATTACHMENT = os.urandom(30_000)  # about the size of a lean letter .docx


def _outs(n: int) -> list[Outgoing]:
    from letters.mail import Attachment
    from tests.letters.mailtools import letter

    return [replace(letter(f"C{i:04d}"), attachments=(
        Attachment(f"Opfordringsskrivelse C{i:04d} – æøå.docx", ATTACHMENT),
        Attachment("Skema – handleplan.docx", ATTACHMENT[:15_000]))) for i in range(n)]


@contextmanager
def sink_server() -> Iterator[str]:
    from tests.smtpd import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"smtp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run() -> list[Result]:
    from letters.delivery import SmtpTransport, send_pending
    from letters.journal import Journal
    from letters.mail import build
    from tests.letters.mailtools import DOMAIN, TZ, WINTER, fill, migrated

    outs = _outs(N_BUILD)
    t0 = time.perf_counter()
    raws = [build(o, DOMAIN, TZ) for o in outs]
    build_s = time.perf_counter() - t0
    size = sum(len(r) for r in raws) / len(raws)

    # Every letter of a year carries its own .docx: without the cache of encoded attachments
    import letters.mail

    t0 = time.perf_counter()
    for o in outs:
        letters.mail._b64_cached.cache_clear()
        build(o, DOMAIN, TZ)
    fresh_s = time.perf_counter() - t0

    results = [Result("build: messages per second (2 attachments, ~62 KB)", N_BUILD / fresh_s,
                      "msg/s", higher_is_better=True,
                      note=f"{size / 1024:.0f} KB each, {fresh_s / N_BUILD * 1000:.2f} ms"),
               Result("build: the same attachment bytes again (encoded once, cached)",
                      N_BUILD / build_s, "msg/s", higher_is_better=True)]
    with sink_server() as url:
        t = SmtpTransport(url)
        t.send(raws[0], "integration@kk.example", ["x@kk.example"], before_data=lambda: None)
        t0 = time.perf_counter()
        for raw in raws[1:N_SMTP + 1]:
            t.send(raw, "integration@kk.example", ["buu@kk.example", "cc@kk.example"],
                   before_data=lambda: None)
        smtp_s = time.perf_counter() - t0
        t.close()
        results.append(Result("SMTP: messages per second, one kept connection", N_SMTP / smtp_s,
                              "msg/s", higher_is_better=True,
                              note=f"{smtp_s / N_SMTP * 1000:.1f} ms/msg"))
        with tempfile.TemporaryDirectory() as d:
            engine = migrated(Path(d))
            t0 = time.perf_counter()
            fill(engine, outs[:N_SMTP])
            enq_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = send_pending(engine, SmtpTransport(url), Journal(Path(d) / "j"),
                                  now=WINTER)
            send_s = time.perf_counter() - t0
            assert len(report.sent) == N_SMTP
            engine.dispose()
        results.append(Result("outbox: enqueue (build + insert) per second, SQLite",
                              N_SMTP / enq_s, "msg/s", higher_is_better=True))
        results.append(Result("outbox: send_pending per second (SQLite, SMTP, journal)",
                              N_SMTP / send_s, "msg/s", higher_is_better=True,
                              note=f"{send_s / N_SMTP * 1000:.1f} ms/msg"))
    return results
