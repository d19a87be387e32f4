"""The mail intake's building blocks against Dovecot on loopback (tests/imapd.py).

Figures (compare within one run; the machine is shared):
- a pass that finds nothing new: connect, log in, SELECT, UID SEARCH (budget 1 s; plain and
  STARTTLS);
- listing a mailbox of 500 replies (UID, INTERNALDATE, size, Message-ID; no bodies);
- fetching and describing 500 replies that carry a filled-in form (``letters.inbound``), and
  describing alone, with reading the form's identity back (``letters.docprops``);
- moving 500 messages into the handled folder;
- rendering a form with its identity properties, and what they cost per form (budget 50 µs).
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from tests import ROOT
from tests.bench import Result, median_seconds

N = 500
CPH = timezone(timedelta(hours=2))


def _form() -> tuple[Any, dict[str, Any], bytes]:
    import docx

    from letters.context import form_context
    from letters.docprops import FormIdentity
    from letters.render import template
    from models.config import load
    from models.plan import year_plan

    wheel = load(ROOT / "aarshjul.yaml").wheel
    ctx = form_context(wheel, year_plan(wheel, 2012), "handleplan", "BUU")
    t = template("formular")
    sent = t.render(ctx, properties=FormIdentity(2012, "BUU", "handleplan").properties())
    d = docx.Document(io.BytesIO(sent))
    for i in range(20):
        d.add_paragraph(f"Udvalget har i år sat fokus på indsats nr. {i} med tilhørende mål.")
    out = io.BytesIO()
    d.save(out)
    return t, ctx, out.getvalue()


def _reply(i: int, form: bytes) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = f"Sekretariatet <udvalg{i}@kk.example>"
    m["To"] = "aarshjul@kk.example"
    m["Subject"] = "SV: Opfordringsskrivelse – revideret handleplan 2012"
    m["Message-ID"] = f"<svar-{i}@kk.example>"
    m["In-Reply-To"] = f"<{i:032x}.aarshjul@kk.example>"
    m["Date"] = "Fri, 20 Apr 2012 10:14:02 +0200"
    m.set_content("Hermed vores reviderede handleplan.\n\nVenlig hilsen\nSekretariatet")
    m.add_attachment(form, maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                     filename=f"Handleplan udvalg {i}.docx")
    return m.as_bytes()


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run() -> list[Result]:
    from letters.docprops import FormIdentity, read_identity
    from letters.imap_url import parse_imap_url
    from letters.inbound import InboundKind, describe
    from letters.mailbox import open_mailbox
    from models.kinds import IntakeFolder
    from tests import imapd

    results: list[Result] = []
    t, ctx, form = _form()
    props = FormIdentity(2012, "BUU", "handleplan").properties()
    t.render(ctx, properties=props)
    plain_runs, stamped_runs = [], []
    for _ in range(20):  # interleaved, best of 20: the machine is shared
        plain_runs.append(_timed(lambda: [t.render(ctx) for _ in range(100)]) / 100)
        stamped_runs.append(_timed(lambda: [t.render(ctx, properties=props)
                                            for _ in range(100)]) / 100)
    plain, stamped = min(plain_runs), min(stamped_runs)
    results.append(Result("form: render with identity properties", 1 / stamped, "form/s",
                          budget=1000, higher_is_better=True,
                          note=f"{stamped * 1e6:.0f} µs; without {plain * 1e6:.0f} µs"))
    results.append(Result("form: the identity's cost per form", (stamped - plain) * 1e6, "µs",
                          budget=50, note=f"{stamped / plain:.2f}x the time without"))

    why = imapd.available()
    if why:
        print(f"(mailbox benchmarks skipped: {why})")
        return results
    raws = [_reply(i, form) for i in range(N)]
    arrived = datetime(2012, 4, 20, 10, 0, tzinfo=CPH)
    with imapd.serve(tls=True) as server:
        empty = parse_imap_url(server.url())
        tls = parse_imap_url(server.url(starttls=True, cafile=True))

        def nothing_new(url: Any) -> None:
            with open_mailbox(url) as box:
                assert box.pending() == []

        nothing_new(empty)
        results.append(Result("intake: a pass with nothing new (plain)",
                              median_seconds(lambda: nothing_new(empty), 11), "s", budget=1.0))
        results.append(Result("intake: a pass with nothing new (STARTTLS)",
                              median_seconds(lambda: nothing_new(tls), 11), "s", budget=1.0))

        t0 = time.perf_counter()
        server.append_many(raws, arrived)
        t_append = time.perf_counter() - t0
        box_url = parse_imap_url(server.url())

        def listing() -> None:
            with open_mailbox(box_url) as box:
                assert len(box.pending()) == N

        listing()
        results.append(Result(f"intake: list a mailbox of {N} replies (no bodies)",
                              median_seconds(listing, 5), "s", budget=2.0,
                              note=f"filled by APPEND in {t_append:.1f} s, "
                                   f"{sum(map(len, raws)) / N / 1000:.0f} kB each"))

        fetched: list[tuple[bytes, datetime]] = []

        def fetch_describe() -> None:
            fetched.clear()
            with open_mailbox(box_url) as box:
                for m in box.pending():
                    raw = box.fetch(m.uid, max_bytes=32_000_000)
                    d = describe(raw, m.internaldate)
                    assert d.kind is InboundKind.PERSON and len(d.docx) == 1
                    fetched.append((raw, m.internaldate))

        t_fd = _timed(fetch_describe)
        results.append(Result(f"intake: fetch and describe {N} replies with a form", t_fd, "s",
                              budget=30.0, note=f"{t_fd / N * 1000:.1f} ms per reply"))

        def describe_all() -> None:
            for raw, at in fetched:
                d = describe(raw, at)
                assert read_identity(d.docx[0].data).identity is not None

        t_d = min(_timed(describe_all) for _ in range(2))
        results.append(Result(f"  of which describe + read the identity, {N} replies", t_d, "s",
                              note=f"{t_d / N * 1000:.1f} ms per reply"))

        def move_all() -> None:
            with open_mailbox(box_url) as box:
                for m in box.pending():
                    box.move(m.uid, IntakeFolder.HANDLED)

        t_move = _timed(move_all)
        results.append(Result(f"intake: move {N} messages to the handled folder", t_move, "s",
                              note=f"{t_move / N * 1000:.1f} ms per message"))
        results.append(Result("intake: a pass with nothing new after that",
                              median_seconds(lambda: nothing_new(box_url), 11), "s",
                              budget=1.0))
    return results


if __name__ == "__main__":
    for r in run():
        print(r)
