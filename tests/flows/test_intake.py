"""The mail intake against a real Dovecot (marker imap): the committees' replies, put in by
IMAP APPEND with a chosen INTERNALDATE, are matched, registered once, answered, or held for
the coordinator; each ends in its folder (README "Replies by e-mail")."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from flows.services.intake import IntakeReport, intake_pass
from flows.services.setup import Setup
from letters.imap_url import parse_imap_url
from letters.mailbox import open_mailbox
from models.intake_state import HandledMessage
from models.kinds import IntakeOutcome
from models.state import Request
from tests.flows.helpers import at, mailbox
from tests.flows.intake_world import (
    BUU,
    KFU,
    STRANGER,
    Reply,
    dsn,
    handleplan,
    letter_id,
    opened_st,  # noqa: F401 (the fixture st)
    outbox,
    redegoerelse,
    sent_after,
    submissions,
)
from tests.imapd import Dovecot

pytestmark = pytest.mark.imap
HANDLED = "INBOX.aarshjul.behandlet"
HELD = "INBOX.aarshjul.til-koordinator"
ON_TIME = at("2012-04-30T10:00")
LATE = at("2012-05-03T10:00")
AS_OF = at("2012-05-04T09:00")


def run(st: Setup, imap: Dovecot, as_of: datetime = AS_OF, **kw: bool) -> IntakeReport:
    with open_mailbox(parse_imap_url(imap.url())) as box:
        return intake_pass(st, box, as_of, **kw)


def row(st: Setup, key: str) -> HandledMessage:
    with Session(st.db) as s:
        found = s.get(HandledMessage, key)
    assert found is not None, key
    return found


def request(st: Setup, committee: str, deliverable: str) -> Request:
    with Session(st.db) as s:
        return s.exec(select(Request).where(Request.committee == committee,
                                            Request.deliverable == deliverable)).one()


def test_a_reply_in_the_thread_is_registered_and_answered(st: Setup, imap: Dovecot,
                                                          tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.REGISTERED]
    h = report.handled[0]
    assert (h.year, h.committee, h.deliverable, h.moved) == (2012, "BUU", "handleplan", True)
    assert request(st, "BUU", "handleplan").status == "on_time"
    assert request(st, "BUU", "redegoerelse").status == "open"
    sent = sent_after(st, tmp_path, before)
    assert [m["X-Aarshjul-Kind"] for m in sent] == ["receipt"]
    receipt = sent[0]
    assert receipt["In-Reply-To"] == r.message_id
    assert receipt["References"].split() == [letter_id(st, "BUU"), r.message_id]
    assert imap.uids() == [] and len(imap.messages(HANDLED)) == 1
    assert row(st, r.message_id).moved
    # the journal keeps both sides: the incoming message, marked incoming
    entries = list(st.journal.entries()) if st.journal else []
    incoming = [e for e in entries if e["kind"] == "incoming"]
    assert [e["message_id"] for e in incoming] == [r.message_id]
    assert (st.journal.directory / incoming[0]["file"]).read_bytes() == r.raw()  # type: ignore[union-attr]
    assert "1 registreret" in report.lines()[0]


def test_on_time_and_late_follow_the_internaldate_not_the_date_header(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    lies_late = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)],
                      date="Thu, 10 May 2012 10:00:00 +0200")
    lies_early = Reply(KFU, 2, in_reply_to=letter_id(st, "KFU"),
                       files=[handleplan(tmp_path, "KFU")], date="Fri, 20 Apr 2012 10:00:00 +0200")
    imap.append(lies_late.raw(), ON_TIME)
    imap.append(lies_early.raw(), LATE)
    run(st, imap)
    assert request(st, "BUU", "handleplan").status == "on_time"
    assert request(st, "KFU", "handleplan").status == "late"
    assert {s.received_at for s in submissions(st)} == {ON_TIME, LATE}


@pytest.mark.parametrize("threading", ["none", "thread-index"])
def test_a_new_thread_or_an_outlook_thread_index_is_matched_by_the_form(
        st: Setup, imap: Dovecot, tmp_path: Path, threading: str) -> None:
    headers = [("Thread-Index", "AQHNJq8bX2Jc3Yk0Tg=="), ("Thread-Topic", "Opfordring")] \
        if threading == "thread-index" else []
    r = Reply(BUU, 1, subject="Integrationsredegørelse 2012", headers=headers,
              files=[redegoerelse(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [(h.outcome, h.deliverable) for h in report.handled] == [
        (IntakeOutcome.REGISTERED, "redegoerelse")]
    assert request(st, "BUU", "redegoerelse").status == "on_time"


def test_the_cc_address_may_answer_too_and_case_does_not_matter(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    r = Reply("Integration-BUF@BUF.kk.example", 1, in_reply_to=letter_id(st, "BUU"),
              files=[handleplan(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    assert [h.outcome for h in run(st, imap).handled] == [IntakeOutcome.REGISTERED]


def test_the_same_message_twice_is_registered_once(st: Setup, imap: Dovecot,
                                                   tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [h.duplicate for h in report.handled] == [False, True]
    assert len(submissions(st)) == 1
    assert [m["X-Aarshjul-Kind"] for m in sent_after(st, tmp_path, before)] == ["receipt"]
    assert imap.uids() == [] and len(imap.messages(HANDLED)) == 2
    # a rerun finds nothing new
    again = run(st, imap)
    assert again.handled == [] and "0 beskeder" in again.lines()[0]


def test_an_out_of_office_is_held_and_never_answered(st: Setup, imap: Dovecot,
                                                     tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(BUU, 1, subject="Automatisk svar: Opfordringsskrivelse",
              in_reply_to=letter_id(st, "BUU"), headers=[("Auto-Submitted", "auto-replied")],
              text="Jeg er på ferie til 1. februar.\n")
    imap.append(r.raw(), at("2012-01-20T09:01"))
    report = run(st, imap, at("2012-01-20T10:00"))
    assert [h.outcome for h in report.handled] == [IntakeOutcome.AUTO_REPLY]
    assert sent_after(st, tmp_path, before) == []
    assert len(imap.messages(HELD)) == 1
    assert request(st, "BUU", "handleplan").status == "open"


def test_a_dsn_for_our_letter_marks_it_bounced_and_alerts_once(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    from flows.services.outbox import send_problems

    ours = letter_id(st, "KFU")
    imap.append(dsn(ours, KFU), at("2012-01-20T09:05"))
    report = run(st, imap, at("2012-01-20T10:00"))
    assert [h.outcome for h in report.handled] == [IntakeOutcome.BOUNCED]
    problems = send_problems(st, 2012)
    assert [(p["state"], p["message_id"]) for p in problems] == [("bounced", ours)]
    assert "5.1.1" in problems[0]["detail"]
    assert len(outbox(st, "alert")) == 1
    imap.append(dsn(ours, KFU, 2), at("2012-01-20T09:06"))  # a second DSN: no second alert
    run(st, imap, at("2012-01-20T10:10"))
    assert len(outbox(st, "alert")) == 1
    assert len(imap.messages(HELD)) == 2


def test_a_stranger_sending_our_form_is_held_and_not_answered(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(STRANGER, 1, in_reply_to=letter_id(st, "BUU"), files=[handleplan(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.HELD]
    assert "ukendt afsender" in report.handled[0].reason
    assert submissions(st) == [] and sent_after(st, tmp_path, before) == []
    assert len(imap.messages(HELD)) == 1


def test_a_docm_gets_one_refusal_answering_the_mail(st: Setup, imap: Dovecot,
                                                    tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    _name, data = handleplan(tmp_path)
    r = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[("handleplan.docm", data)])
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.REFUSED]
    assert submissions(st) == []
    sent = sent_after(st, tmp_path, before)
    assert [m["X-Aarshjul-Kind"] for m in sent] == ["refusal"]
    refusal = sent[0]
    assert refusal["To"] == BUU and refusal["In-Reply-To"] == r.message_id
    assert refusal["Auto-Submitted"] == "auto-generated"
    body = refusal.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "handleplan.docm" in body and "makroer" in body
    stored = st.data / "submissions"
    assert not stored.exists() or [p for p in stored.rglob("*") if p.is_file()] == []
    # the same .docm from a stranger: held, no refusal to an unknown sender
    imap.append(Reply(STRANGER, 2, files=[("handleplan.docm", data)]).raw(), ON_TIME)
    assert [h.outcome for h in run(st, imap).handled] == [IntakeOutcome.HELD]
    assert sent_after(st, tmp_path, before + 1) == []


def test_a_reply_without_attachment_is_held(st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    imap.append(Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"),
                      text="Vi sender den i næste uge.\n").raw(), ON_TIME)
    report = run(st, imap)
    assert [(h.outcome, h.reason) for h in report.handled] == [
        (IntakeOutcome.HELD, "ingen Word-fil (.docx) vedhæftet")]
    assert sent_after(st, tmp_path, before) == []


def test_both_forms_in_one_mail_two_registrations_two_receipts(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    r = Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"),
              files=[handleplan(tmp_path), redegoerelse(tmp_path)])
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert len(report.handled[0].submissions) == 2
    assert request(st, "BUU", "handleplan").status == "on_time"
    assert request(st, "BUU", "redegoerelse").status == "on_time"
    sent = sent_after(st, tmp_path, before)
    assert sorted(m["X-Aarshjul-Deliverable"] for m in sent) == ["handleplan", "redegoerelse"]
    assert {m["In-Reply-To"] for m in sent} == {r.message_id}


def test_a_reply_to_a_receipt_is_a_revision_and_the_wrong_form_is_held(
        st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    import io

    import docx

    name, data = handleplan(tmp_path)
    imap.append(Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[(name, data)]).raw(),
                ON_TIME)
    run(st, imap)
    deliver_before = len(mailbox(tmp_path))
    sent_after(st, tmp_path, deliver_before)
    receipt = outbox(st, "receipt")[0]
    d = docx.Document(io.BytesIO(data))
    d.add_paragraph("Rettet efter udvalgsmødet.")
    buf = io.BytesIO()
    d.save(buf)
    revised = Reply(BUU, 2, subject="SV: Kvittering", in_reply_to=receipt.message_id,
                    files=[(name, buf.getvalue())])
    wrong = Reply(BUU, 3, subject="SV: Kvittering", in_reply_to=receipt.message_id,
                  files=[redegoerelse(tmp_path)])
    imap.append(revised.raw(), LATE)
    imap.append(wrong.raw(), LATE)
    report = run(st, imap)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.REGISTERED, IntakeOutcome.HELD]
    assert "anden aflevering" in report.handled[1].reason
    subs = submissions(st)
    assert [s.revision for s in subs] == [0, 1]
    assert request(st, "BUU", "handleplan").status == "on_time"  # the first arrival's
    assert request(st, "BUU", "redegoerelse").status == "open"


def test_a_forwarded_message_with_the_form_is_registered(st: Setup, imap: Dovecot,
                                                         tmp_path: Path) -> None:
    inner = Reply("medarbejder@buf.kk.example", 7, subject="Handleplanen",
                  files=[handleplan(tmp_path)]).raw()
    r = Reply(BUU, 1, subject="VS: Handleplanen", in_reply_to=letter_id(st, "BUU"),
              forwarded=inner)
    imap.append(r.raw(), ON_TIME)
    report = run(st, imap)
    assert [(h.outcome, h.deliverable) for h in report.handled] == [
        (IntakeOutcome.REGISTERED, "handleplan")]


def test_another_committees_form_is_held(st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    imap.append(Reply(BUU, 1, files=[handleplan(tmp_path, "KFU")]).raw(), ON_TIME)
    report = run(st, imap)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.HELD]
    assert "KFU" in report.handled[0].reason
    assert submissions(st) == []


def test_a_dry_run_changes_nothing(st: Setup, imap: Dovecot, tmp_path: Path) -> None:
    imap.append(Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"),
                      files=[handleplan(tmp_path)]).raw(), ON_TIME)
    report = run(st, imap, dry_run=True)
    assert [h.outcome for h in report.handled] == [IntakeOutcome.REGISTERED]
    assert report.lines()[0].startswith("Prøvekørsel")
    assert submissions(st) == [] and len(imap.uids()) == 1
    with Session(st.db) as s:
        assert s.exec(select(HandledMessage)).all() == []
