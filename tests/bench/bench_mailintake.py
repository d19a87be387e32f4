"""The whole mail intake against Dovecot on loopback (README "Replies by e-mail").

A generated wheel of 250 committees (500 requests); the letters go out; 500 replies, each
answering its committee's letter with its form attached (the form's identity decides the
deliverable), go into the mailbox by IMAP APPEND. Figures:

- one ``aarshjul intake`` process over the 500 replies: every one matched, registered,
  journaled and moved, and its 500 receipts sent to a local SMTP server (budget 60 s, the
  whole process: start-up included);
- its peak RSS (budget 150 MB; the process's own VmHWM, written at exit);
- a pass that finds nothing new, as serve's poll runs it (log in, list, nothing to do;
  budget 1 s; in a running process, without the start-up).
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from tests import CPH, ROOT
from tests.bench import PY, Result, median_seconds
from tests.bench.bench_flows import generated_wheel

N_COMMITTEES = 250
AS_OF = "2012-04-30T16:00"
DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def _reply(n: int, sender: str, to: str, letter: str, name: str, form: bytes) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = sender
    m["To"] = to
    m["Subject"] = "SV: Opfordringsskrivelse til de stående udvalg"
    m["Message-ID"] = f"<bench-svar-{n}@udvalg.kk.example>"
    m["In-Reply-To"] = letter
    m["References"] = letter
    m["Date"] = "Mon, 30 Apr 2012 10:00:00 +0200"
    m.set_content("Hermed vores bidrag.\n\nVenlig hilsen\nSekretariatet\n")
    m.add_attachment(form, maintype=DOCX[0], subtype=DOCX[1], filename=name)
    return m.as_bytes()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AARSHJUL_", "PREFECT_API"))}
    return {**env, "AARSHJUL_CONFIG": str(tmp / "wheel.yaml"),
            "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'state.sqlite'}",
            "AARSHJUL_DATA_DIR": str(tmp / "data"), "PYTHONPATH": str(ROOT), **extra}


def _replies(tmp: Path) -> list[bytes]:
    from sqlmodel import Session, select

    from letters.context import form_context
    from letters.docprops import FormIdentity
    from letters.render import template
    from models.config import load
    from models.db import make_engine
    from models.outbox import OutboxRow
    from models.plan import year_plan

    wheel = load(tmp / "wheel.yaml").wheel
    plan = year_plan(wheel, 2012)
    eng = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
    with Session(eng) as s:
        letters = {r.committee: r.message_id for r in s.exec(
            select(OutboxRow).where(OutboxRow.kind == "letter"))}
    eng.dispose()
    t = template("formular")
    out = []
    for c in wheel.committees:
        if c.key not in letters:  # the owner writes the letters, it gets none
            continue
        for d in ("handleplan", "redegoerelse"):
            form = t.render(form_context(wheel, plan, d, c.key),
                            properties=FormIdentity(2012, c.key, d).properties())
            out.append(_reply(len(out), c.to[0], wheel.policy.sender.email, letters[c.key],
                              f"{d} {c.key}.docx", form))
    return out


def run() -> list[Result]:
    import tempfile

    from tests import imapd
    from tests.smtpd import serve as smtpd

    why = imapd.available()
    if why:
        return [Result(f"mail intake: skipped ({why})", 0, "s")]
    with tempfile.TemporaryDirectory() as d, imapd.serve() as imap, smtpd() as smtp:
        tmp = Path(d)
        (tmp / "wheel.yaml").write_text(generated_wheel(N_COMMITTEES), encoding="utf-8")
        subprocess.run([str(Path(PY).parent / "aarshjul"), "run", "opfordring", "--year", "2012",
                        "--as-of", "2012-01-20T09:00", "--config", str(tmp / "wheel.yaml")],
                       env=_env(tmp), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        replies = _replies(tmp)
        imap.append_many(replies, datetime(2012, 4, 30, 10, tzinfo=CPH))
        env = _env(tmp, AARSHJUL_IMAP_URL=imap.url(), AARSHJUL_SMTP_URL=smtp.url)
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(Path(PY).parent / "aarshjul"), "intake", "--as-of", AS_OF,
                                 "--config", str(tmp / "wheel.yaml")],
                                env=env, stdout=subprocess.DEVNULL)
        peak = _watch_peak(proc)
        assert proc.returncode == 0
        whole = time.perf_counter() - t0
        receipts = sum(1 for r in smtp.handler.received
                       if r.message["X-Aarshjul-Kind"] == "receipt")
        left = len(imap.uids())
        empty = _nothing_new(tmp, imap.url())
    n = len(replies)
    return [
        Result(f"mail intake: {n} replies with forms, receipts sent (process)", whole, "s",
               60.0, note=f"{receipts} receipts, {left} left in the mailbox, "
                          f"{whole / n * 1000:.0f} ms per reply"),
        Result("mail intake: peak RSS of that process", peak, "MB", 150.0,
               note="VmHWM, read every 50 ms while it runs"),
        Result("mail intake: a pass with nothing new (in a running process)", empty, "s", 1.0),
    ]


def _watch_peak(proc: subprocess.Popen[bytes]) -> float:
    """The process's VmHWM (MB), read while it runs, until it exits."""
    peak = 0.0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return peak


def _nothing_new(tmp: Path, url: str) -> float:
    """serve's poll on an empty mailbox: open, log in, list, nothing handled or sent."""
    from flows import runs
    from flows.binding import mailbox
    from flows.services.setup import Setup
    from letters.delivery import DirectoryTransport
    from models.config import load
    from models.db import make_engine

    st = Setup(load(tmp / "wheel.yaml").wheel, make_engine(f"sqlite:///{tmp / 'state.sqlite'}"),
               tmp / "data", transport=DirectoryTransport(tmp / "none"))
    as_of = datetime(2012, 4, 30, 16, 10, tzinfo=CPH)

    def once() -> None:
        with mailbox(url) as box:
            got = runs.intake(st, box, as_of)
        assert got.intake is not None and got.intake.handled == []

    return median_seconds(once, 5)
