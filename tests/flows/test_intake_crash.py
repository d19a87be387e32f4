"""Crash drill for the mail intake (README "Replies by e-mail"): processes running the
``aarshjul intake`` verb are killed with SIGKILL at random moments, over 30 cycles, while 24
committee replies come into a real Dovecot mailbox (one more each cycle), with receipts sent
to a local SMTP server. A last clean pass must finish the work. Then: every message handled
once and moved once, nothing left in the mailbox, no registration twice, exactly one receipt
per registration (the same file twice adds none), one refusal for the .docm, and on the SMTP
server no second receipt; a copy of the same message again only where the sender flagged it
uncertain (killed between the server's 250 and the commit: README "E-mail").

The kill moments come from a seeded random generator; what is asserted does not depend on
where the kills landed."""

from __future__ import annotations

import io
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import docx
import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from flows.cli import app
from models.intake_state import HandledMessage
from models.outbox import OutboxAlert, OutboxRow
from models.state import Submission
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, make_setup
from tests.flows.intake_world import Reply, letter_id, open_year, sent_form
from tests.imapd import serve as dovecot
from tests.smtpd import serve as smtpd

pytestmark = [pytest.mark.imap, pytest.mark.slow, pytest.mark.timeout(1800)]

CYCLES = 30
SEED = 20120430
COMMITTEES = ("OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU")
TITLES = {"handleplan": "Revideret handleplan", "redegoerelse": "Integrationsredegørelse"}


def _changed(data: bytes) -> bytes:
    d = docx.Document(io.BytesIO(data))
    d.add_paragraph("Rettet efter udvalgsmødet.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _replies(st, tmp: Path) -> list[Reply]:  # type: ignore[no-untyped-def]
    """24 messages: 14 first submissions in the thread, 3 with the same file again in a new
    mail, 2 revisions, 2 out-of-office replies, a stranger, no attachment, a .docm."""
    addr = {c: st.wheel.committee[c].to[0] for c in COMMITTEES}
    out: list[Reply] = []
    n = 0
    forms: dict[tuple[str, str], tuple[str, bytes]] = {}
    for c in COMMITTEES:
        for d, title in TITLES.items():
            n += 1
            forms[c, d] = sent_form(tmp, c, title)
            out.append(Reply(addr[c], n, in_reply_to=letter_id(st, c), files=[forms[c, d]]))
    for c in ("BUU", "KFU", "TMU"):  # the same attachment again, in a mail of its own
        n += 1
        out.append(Reply(addr[c], n, subject="Glemte vi den?", files=[forms[c, "handleplan"]]))
    for c in ("OEU", "BIU"):  # a revision: other bytes
        n += 1
        name, data = forms[c, "redegoerelse"]
        out.append(Reply(addr[c], n, in_reply_to=letter_id(st, c), files=[(name, _changed(data))]))
    for c in ("SUU", "SOU"):
        n += 1
        out.append(Reply(addr[c], n, subject="Automatisk svar: Opfordringsskrivelse",
                         headers=[("Auto-Submitted", "auto-replied")]))
    n += 1
    out.append(Reply("nogen@eksempel.example", n, files=[forms["BUU", "handleplan"]]))
    n += 1
    out.append(Reply(addr["KFU"], n, in_reply_to=letter_id(st, "KFU"), text="Kommer snart."))
    n += 1
    name, data = forms["TMU", "redegoerelse"]
    out.append(Reply(addr["TMU"], n, in_reply_to=letter_id(st, "TMU"),
                     files=[(name.replace(".docx", ".docm"), data)]))
    return out


def _intake(env: dict[str, str]) -> int:
    """Fork a process that runs the ``aarshjul intake`` verb (the CLI's own code, as the
    installed command runs it, without paying the imports again); its pid."""
    pid = os.fork()
    if pid == 0:  # the child: the verb, then out, whatever happened
        code = 70
        try:
            r = CliRunner().invoke(app, ["intake", "--as-of", "2012-05-04T09:00", "--config",
                                         str(ROOT / "aarshjul.yaml")], env=env)
            code = r.exit_code
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    return os.waitpid(pid, 0)[1]


def test_kill_9_the_intake_at_random_moments(tmp_path: Path, no_prefect: None) -> None:
    # no_prefect: a forked child must not find the session's Prefect test server, which
    # lives in a thread of this process (the child has no such thread)
    rng = random.Random(SEED)
    with database("sqlite", tmp_path) as eng, dovecot() as imap, smtpd() as smtp:
        st = make_setup(eng, tmp_path)
        open_year(st)
        replies = _replies(st, tmp_path)
        assert len(replies) == 24
        env = {k: "" for k in os.environ if k.startswith(("AARSHJUL_", "PREFECT_API"))}
        env.update({"AARSHJUL_DATABASE_URL": str(eng.url), "AARSHJUL_DATA_DIR": str(st.data),
                    "AARSHJUL_IMAP_URL": imap.url(), "AARSHJUL_SMTP_URL": smtp.url})
        eng.dispose()  # no connection of ours crosses a fork
        # the kill moments scale with how long a pass over an empty mailbox takes here (the
        # database, the login), so that they land before, in and after the passes
        t0 = time.monotonic()
        assert _wait(_intake(env)) == 0
        unit = max(time.monotonic() - t0, 0.2)
        waiting = list(replies)
        for cycle in range(CYCLES):
            if waiting:  # one more reply comes in, a minute later each cycle
                imap.append(waiting.pop(0).raw(), at("2012-04-30T10:00").replace(
                    minute=cycle % 60))
            pid = _intake(env)
            time.sleep(rng.uniform(0.1, 2.0) * unit)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == 0:  # still at work (or starting): killed
                os.kill(pid, signal.SIGKILL)
                _wait(pid)
        while waiting:
            imap.append(waiting.pop(0).raw(), at("2012-04-30T11:00"))
        assert _wait(_intake(env)) == 0  # a clean pass finishes the work

        # the mailbox: empty; every message moved once into one of the two folders
        assert imap.uids() == []
        moved = imap.messages("INBOX.aarshjul.behandlet") + imap.messages(
            "INBOX.aarshjul.til-koordinator")
        ids = Counter(m.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode() for m in moved)
        assert sorted(ids) == sorted(r.message_id for r in replies)
        assert set(ids.values()) == {1}
        with Session(eng) as s:
            rows = {h.key: h for h in s.exec(select(HandledMessage))}
            subs = list(s.exec(select(Submission).order_by(col(Submission.id))))
            outbox = list(s.exec(select(OutboxRow)))
            uncertain = {a.message_id for a in s.exec(select(OutboxAlert))
                         if a.kind == "uncertain"}
        # handled once, each settled and moved
        assert sorted(rows) == sorted(r.message_id for r in replies)
        assert all(h.moved for h in rows.values())
        outcomes = Counter(str(h.outcome) for h in rows.values())
        assert outcomes == {"registered": 19, "auto_reply": 2, "held": 2, "refused": 1}
        # no registration twice: 14 first ones and 2 revisions; the same files added nothing
        assert len(subs) == 16
        assert Counter(sub.revision for sub in subs) == {0: 14, 1: 2}
        assert len({(sub.request_id, sub.revision) for sub in subs}) == 16
        # exactly one receipt per registration, one refusal, all sent
        receipts = [o for o in outbox if o.kind == "receipt"]
        assert len(receipts) == 16 and len({o.key for o in receipts}) == 16
        assert [o.kind for o in outbox].count("refusal") == 1
        assert {o.status for o in outbox if o.kind in ("receipt", "refusal")} <= {
            "sent", "uncertain"}
        # on the SMTP server: each receipt arrived; a copy again only where flagged uncertain
        got = smtp.handler.by_message_id()
        sent_receipts = {o.message_id for o in receipts}
        assert sent_receipts <= set(got)
        again = {mid for mid, copies in got.items() if len(copies) > 1}
        assert again <= uncertain, again
