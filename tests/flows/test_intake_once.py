"""Exactly once (README "Replies by e-mail"): a crash between the commit and the move, two
intakes at once (SQLite and PostgreSQL), and what must never stop a pass; ``reply_from``
senders; messages held, accepted and dismissed by the coordinator."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import Session, select

from flows.services.intake import Handled, handle_message, intake_pass
from flows.services.intake_desk import accept, dismiss, held_messages
from flows.services.setup import Refused, Setup
from letters.imap_url import parse_imap_url
from letters.mailbox import Listed, Mailbox, MailboxError, open_mailbox
from letters.mailsource import MemorySource
from models.intake_state import HandledMessage
from models.kinds import IntakeFolder, IntakeOutcome
from models.state import AuditEntry
from tests.dbtools import database
from tests.flows.helpers import at, mailbox, make_setup, wheel_loaded
from tests.flows.intake_world import (
    BUU,
    STRANGER,
    Reply,
    handleplan,
    letter_id,
    open_year,
    opened_st,  # noqa: F401 (the fixture st)
    outbox,
    sent_after,
    submissions,
)
from tests.imapd import Dovecot

ON_TIME = at("2012-04-30T10:00")
AS_OF = at("2012-05-04T09:00")


class MoveFails:
    """The mailbox, but every move fails (a crash between the commit and the move)."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    def pending(self) -> Sequence[Listed]:
        return self.box.pending()

    def fetch(self, uid: int, *, max_bytes: int) -> bytes:
        return self.box.fetch(uid, max_bytes=max_bytes)

    def move(self, uid: int, folder: IntakeFolder) -> None:
        raise MailboxError("imap://aarshjul:***@127.0.0.1/INBOX: connection lost")


@pytest.mark.imap
def test_a_crash_between_commit_and_move_is_recovered_by_the_key(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    url = parse_imap_url(imap.url())
    with open_mailbox(url) as box:
        first = intake_pass(st, MoveFails(box), AS_OF)
    assert [h.outcome for h in first.handled] == [IntakeOutcome.REGISTERED]
    assert first.problems and "blev ikke flyttet" in first.problems[0]
    assert len(imap.uids()) == 1  # still in the mailbox
    with Session(st.db) as s:
        assert s.get(HandledMessage, r.message_id).moved is False  # type: ignore[union-attr]
    with open_mailbox(url) as box:
        second = intake_pass(st, box, AS_OF)
    assert [(h.duplicate, h.moved) for h in second.handled] == [(True, True)]
    assert imap.uids() == [] and len(imap.messages("INBOX.aarshjul.behandlet")) == 1
    assert len(submissions(st)) == 1
    assert [m["X-Aarshjul-Kind"] for m in sent_after(st, tmp_path, before)] == ["receipt"]


def test_two_intakes_at_once_register_once(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng:
        first = make_setup(eng, tmp_path)
        open_year(first)
        second = make_setup(eng, tmp_path)  # its own journal handle, as another process
        raws = [Reply(BUU, 1, in_reply_to=letter_id(first, "BUU"),
                      files=[handleplan(tmp_path)]).raw()]
        for n in range(2, 6):
            raws.append(Reply(STRANGER, n, files=[handleplan(tmp_path)]).raw())
        results: dict[int, list[Handled]] = {0: [], 1: []}
        gate = threading.Barrier(2)

        def intake(i: int, setup: Setup) -> None:
            for raw in raws:
                gate.wait(timeout=60)
                results[i].append(handle_message(setup, raw, ON_TIME, AS_OF))

        threads = [threading.Thread(target=intake, args=(i, s))
                   for i, s in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert all(len(r) == len(raws) for r in results.values())
        for a, b in zip(results[0], results[1], strict=True):
            assert sorted([a.duplicate, b.duplicate]) == [False, True]
            assert a.outcome == b.outcome
        assert len(submissions(first)) == 1
        assert len(outbox(first, "receipt")) == 1
        with Session(eng) as s:
            assert len(s.exec(select(HandledMessage)).all()) == len(raws)


def test_the_primary_key_decides_when_both_looked_before_either_committed(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.services.intake as intake_mod

    with database(backend, tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        open_year(st)
        raw = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)]).raw()
        monkeypatch.setattr(intake_mod, "already", lambda _st, _key: None)  # both looked first
        first = handle_message(st, raw, ON_TIME, AS_OF)
        second = handle_message(st, raw, ON_TIME, AS_OF)
        assert (first.duplicate, second.duplicate) == (False, True)
        assert second.submissions == first.submissions
        assert len(submissions(st)) == 1 and len(outbox(st, "receipt")) == 1


def test_reply_from_may_hand_in_for_the_committee(tmp_path: Path) -> None:
    w = wheel_loaded().wheel
    staff = "Medarbejder@BUF.kk.example"
    cs = tuple(c.model_copy(update={"reply_from": (staff.lower(),)}) if c.key == "BUU" else c
               for c in w.committees)
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        st.wheel = w.model_copy(update={"committees": cs})
        open_year(st)
        src = MemorySource()
        src.add(Reply(staff, 1, in_reply_to=letter_id(st, "BUU"),
                      files=[handleplan(tmp_path)]).raw(), ON_TIME)
        src.add(Reply("andre@buf.kk.example", 2, in_reply_to=letter_id(st, "BUU"),
                      files=[handleplan(tmp_path)]).raw(), ON_TIME)
        report = intake_pass(st, src, AS_OF)
        assert [h.outcome for h in report.handled] == [IntakeOutcome.REGISTERED,
                                                       IntakeOutcome.HELD]
        assert len(src.folder(IntakeFolder.HANDLED)) == 1
        assert len(src.folder(IntakeFolder.COORDINATOR)) == 1


def test_unreadable_mail_is_held_and_the_pass_goes_on(st: Setup, tmp_path: Path) -> None:
    src = MemorySource()
    broken = (b"From: " + BUU.encode() + b"\r\nFrom: x@y.example\r\nSubject: to afsendere\r\n"
              b"Message-ID: <broken@buf.kk.example>\r\n\r\nHej\r\n")
    src.add(broken, ON_TIME)
    src.add(b"", ON_TIME)
    src.add(Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)]).raw(),
            ON_TIME)
    report = intake_pass(st, src, AS_OF)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.HELD, IntakeOutcome.HELD,
                                                   IntakeOutcome.REGISTERED]
    assert all(r.startswith("kunne ikke læses") for r in
               (report.handled[0].reason, report.handled[1].reason))
    assert report.handled[1].key.startswith("sha256:")
    assert len(src.folder(IntakeFolder.COORDINATOR)) == 2 and src.pending() == []


def test_a_message_over_the_limit_is_held_without_being_fetched(st: Setup) -> None:
    src = MemorySource()
    src.add(b"Message-ID: <stor@buf.kk.example>\r\n\r\n" + b"x" * 200, ON_TIME)
    import flows.services.intake as intake_mod

    limit = intake_mod.MAX_MESSAGE_BYTES
    intake_mod.MAX_MESSAGE_BYTES = 100
    try:
        report = intake_pass(st, src, AS_OF)
    finally:
        intake_mod.MAX_MESSAGE_BYTES = limit
    assert [(h.key, h.outcome) for h in report.handled] == [
        ("<stor@buf.kk.example>", IntakeOutcome.HELD)]
    assert "for stor" in report.handled[0].reason


def test_accept_registers_a_held_message_and_dismiss_sets_one_aside(
        st: Setup, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    src = MemorySource()
    stranger = Reply(STRANGER, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    chat = Reply(BUU, 2, in_reply_to=letter_id(st, "BUU"), text="Vi er forsinkede.\n")
    src.add(stranger.raw(), ON_TIME)
    src.add(chat.raw(), ON_TIME)
    intake_pass(st, src, AS_OF)
    assert [h.subject for h in held_messages(st, 2012)] == [stranger.subject, chat.subject]
    dry = accept(st, stranger.message_id, "BUU", "handleplan", AS_OF, dry_run=True)
    assert dry.done.startswith("Prøvekørsel") and submissions(st) == []
    stored = st.data / "submissions"
    assert not stored.exists() or [p for p in stored.rglob("*") if p.is_file()] == []
    out = accept(st, stranger.message_id, "BUU", "handleplan", AS_OF)
    assert "registreret som handleplan 2012 fra BUU (rettidig)" in out.done
    subs = submissions(st)
    assert [s.received_at for s in subs] == [ON_TIME]  # the message's arrival, not the action's
    sent = sent_after(st, tmp_path, before)
    assert [m["X-Aarshjul-Kind"] for m in sent] == ["receipt"]
    assert sent[0]["In-Reply-To"] == stranger.message_id
    assert sent[0]["To"] == BUU  # the committee's own address, not the stranger's
    with pytest.raises(Refused, match="venter ikke"):
        accept(st, stranger.message_id, "BUU", "handleplan", AS_OF)
    dismiss(st, chat.message_id, AS_OF, reason="Besvaret pr. telefon")
    assert held_messages(st, 2012) == []
    with pytest.raises(Refused, match="venter ikke"):
        dismiss(st, chat.message_id, AS_OF)
    with pytest.raises(Refused, match="ikke en besked"):
        dismiss(st, "<ukendt@kk.example>", AS_OF)
    with pytest.raises(Refused):
        accept(st, chat.message_id, "BUU", "handleplan", AS_OF)
    with Session(st.db) as s:
        actions = [(e.action, e.ref) for e in s.exec(select(AuditEntry)).all()
                   if e.action in ("accept", "dismiss")]
    assert actions == [("accept", stranger.message_id), ("dismiss", chat.message_id)]


def test_accept_of_the_file_already_registered_adds_nothing_and_says_so(
        st: Setup, tmp_path: Path) -> None:
    """The same-file rule holds for the coordinator's accept too: no revision, no receipt,
    and the message says so (it does not claim a receipt was sent)."""
    before = len(mailbox(tmp_path))
    form = handleplan(tmp_path)
    src = MemorySource()
    first = Reply(STRANGER, 1, in_reply_to=letter_id(st, "BUU"), files=[form])
    again = Reply(STRANGER, 2, in_reply_to=letter_id(st, "BUU"), files=[form])
    src.add(first.raw(), ON_TIME)
    src.add(again.raw(), ON_TIME)
    intake_pass(st, src, AS_OF)
    accept(st, first.message_id, "BUU", "handleplan", AS_OF)
    dry = accept(st, again.message_id, "BUU", "handleplan", AS_OF, dry_run=True)
    assert dry.done.startswith("Prøvekørsel") and "identisk" in dry.done
    out = accept(st, again.message_id, "BUU", "handleplan", AS_OF)
    assert "er identisk med den allerede registrerede fil" in out.done
    assert "ikke sendt en ny kvittering" in out.done and "kvittering sendt" not in out.done
    assert out.messages == ()
    assert [s.revision for s in submissions(st)] == [0]
    assert [m["X-Aarshjul-Kind"] for m in sent_after(st, tmp_path, before)] == ["receipt"]
    assert held_messages(st, 2012) == []


def test_accept_of_a_message_without_a_word_file_is_refused(st: Setup) -> None:
    src = MemorySource()
    chat = Reply(BUU, 2, in_reply_to=letter_id(st, "BUU"), text="Vi er forsinkede.\n")
    src.add(chat.raw(), ON_TIME)
    intake_pass(st, src, AS_OF)
    with pytest.raises(Refused, match="ikke Word-fil"):
        accept(st, chat.message_id, "BUU", "handleplan", AS_OF)
    assert submissions(st) == []


def test_incoming_messages_in_the_journal_survive_a_torn_index(st: Setup,
                                                                tmp_path: Path) -> None:
    from letters.journal import Journal

    src = MemorySource()
    first = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    no_id = b"From: " + BUU.encode() + b"\r\nSubject: uden id\r\n\r\nHej\r\n"
    src.add(first.raw(), ON_TIME)
    src.add(no_id, ON_TIME)
    intake_pass(st, src, AS_OF)
    assert st.journal is not None
    index = st.journal.index_path
    lines = index.read_bytes().split(b"\n")
    incoming = [ln for ln in lines if b'"kind": "incoming"' in ln]
    assert len(incoming) == 2
    # tear the index: the incoming entries garbled beyond their keys
    index.write_bytes(b"\n".join(ln for ln in lines if ln not in incoming) + b"\n{torn")
    j = Journal(st.journal.directory)
    j.repair()
    got = sorted((e["key"], e["kind"], e["year"]) for e in j.entries()
                 if str(e["key"]).startswith("incoming:"))
    import hashlib

    assert got == sorted([(f"incoming:{first.message_id}", "incoming", 2012),
                          (f"incoming:sha256:{hashlib.sha256(no_id).hexdigest()}",
                           "incoming", 2012)])
