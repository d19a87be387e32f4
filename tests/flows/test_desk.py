"""The coordinator's desk against hand-written expectations: extend (a new ladder mid-way,
with slots merged on a holiday), excuse, reopen (the next chase sends at most one reminder),
resend (Resent-* fields; the original and the resend both in the journal), a letter that
never arrived (reminders held), and a due date moved in the wheel.

Runs on SQLite and (marked postgres) on PostgreSQL; asserts on the messages the transport
really wrote and on the state rows.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from flows import runs
from flows.services.deliveries import letter_states, record_bounce
from flows.services.outbox import deliver, send_problems
from flows.services.setup import Refused, Setup
from flows.services.status import action_log, request_rows
from letters.delivery import SmtpTransport
from letters.journal import Journal
from models.kinds import LetterState
from models.state import AuditEntry, Request, SlotState
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, form_docx, headers, mailbox, make_setup, wheel_loaded
from tests.smtpd import serve as smtp_serve

COMMITTEES = ["OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"]
# handleplan with a reminder three days before: on a ladder due Monday 7 May 2012, before-3
# (Friday 4 May, Store Bededag) and before-1 (Sunday 6 May) both fall back to Thursday 3 May
FOUR_BEFORE = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
    "before: [14, 7, 1]", "before: [14, 7, 3, 1]", 1)


def _sent(tmp: Path, committee: str, deliverable: str = "handleplan") -> list[tuple[str, str]]:
    """(local date, slot or kind) of every message to ``committee`` about ``deliverable``
    (letters name no deliverable: they are not among them)."""
    out = []
    for m in mailbox(tmp):
        h = headers(m)
        if h["committee"] == committee and h["deliverable"] == deliverable:
            day = m["Date"].datetime.date().isoformat()
            out.append((day, h["slot"] or h["kind"]))
    return out


def _chase_days(st: Setup, days: list[str]) -> None:
    for d in days:
        runs.chase(st, at(f"{d}T09:00"))


def _row(st: Setup, committee: str, deliverable: str, when: str):  # type: ignore[no-untyped-def]
    return next(r for r in request_rows(st, 2012, at(when))
                if (r.committee, r.deliverable) == (committee, deliverable))


def _states(st: Setup, committee: str, deliverable: str) -> dict[tuple[int, str], str]:
    with Session(st.db) as s:
        rows = s.exec(select(SlotState).join(Request).where(
            Request.committee == committee, Request.deliverable == deliverable)).all()
    return {(x.ladder, x.slot): x.state for x in rows}


# --- extend -----------------------------------------------------------------------------------


def test_extension_mid_ladder_starts_a_new_ladder_with_slots_merged_on_a_holiday(
        backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng:
        st = make_setup(eng, tmp_path, wheel_loaded(FOUR_BEFORE))
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        _chase_days(st, ["2012-04-17", "2012-04-24"])  # ladder 0: before-14, before-7 sent
        report = runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 7),
                             at("2012-04-25T10:00"), reason="Udvalgets møde er flyttet")
        assert report.done[0].startswith("Fristen for «Revideret handleplan» 2012 fra TMU er "
                                         "forlænget fra 1. maj 2012 til 7. maj 2012")
        assert [(m.kind, m.state, m.to) for m in report.messages] == [
            ("notice", "sent", ("tmu-sekretariat@tmf.kk.example",))]
        notice = mailbox(tmp_path)[-1]
        assert notice["X-Aarshjul-Kind"] == "notice"
        assert notice["X-Aarshjul-Deliverable"] == "handleplan"
        body = notice.get_body(("plain",)).get_content()
        assert "forlænget fra 1. maj 2012 til mandag den 7. maj 2012" in body
        assert "Begrundelse: Udvalgets møde er flyttet" in body

        _chase_days(st, ["2012-04-27", "2012-04-30", "2012-05-02", "2012-05-03", "2012-05-07",
                         "2012-05-08", "2012-05-14", "2012-05-21"])
        # Ladder 1, due Monday 7 May, from 25 April 10:00: before-14 (23 April) is dropped;
        # before-7 of ladder 1 goes although ladder 0's went; before-3 and before-1 are one
        # slot on Thursday 3 May (Friday 4 May is Store Bededag), named before-1.
        assert _sent(tmp_path, "TMU") == [
            ("2012-04-17", "before-14"), ("2012-04-24", "before-7"),
            ("2012-04-25", "notice"), ("2012-04-30", "before-7"), ("2012-05-03", "before-1"),
            ("2012-05-08", "after-1"), ("2012-05-14", "after-7"), ("2012-05-21", "escalate")]
        # the others stay on the wheel's 1 May
        assert _sent(tmp_path, "BUU") == [
            ("2012-04-17", "before-14"), ("2012-04-24", "before-7"), ("2012-04-27", "before-3"),
            ("2012-04-30", "before-1"), ("2012-05-02", "after-1"), ("2012-05-08", "after-7"),
            ("2012-05-21", "escalate")]  # due 15 May; no chase ran between 14 and 21 May
        states = _states(st, "TMU", "handleplan")
        assert states[(0, "before-7")] == "sent" and states[(1, "before-7")] == "sent"
        assert (1, "before-14") not in states and (1, "before-3") not in states
        row = _row(st, "TMU", "handleplan", "2012-05-22T12:00")
        assert (row.due, row.extended, row.ladder, row.status) == (
            date(2012, 5, 7), True, 1, "open")
        (entry,) = [e for e in action_log(st, 2012) if e["action"] == "extend"]
        assert entry["reason"] == "Udvalgets møde er flyttet" and entry["actor"] == "test"
        assert entry["ref"] == "until:2012-05-07"


def test_on_time_means_on_or_before_the_extended_date(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 11), at("2012-04-30T12:00"))
    doc = form_docx(st, tmp_path / "tmu.docx", "TMU", "handleplan")
    reg = runs.submit(st, 2012, "TMU", "handleplan", doc, at("2012-05-11T15:00")).registered
    assert reg is not None and reg.outcome == "on_time"
    receipt = mailbox(tmp_path)[-1].get_body(("plain",)).get_content()
    assert "Bidraget er kommet inden fristen (11. maj 2012)" in receipt
    # the ladder's remaining slots are cancelled
    states = _states(st, "TMU", "handleplan")
    assert {states[(1, s)] for s in ("after-1", "after-7", "escalate")} == {"cancelled"}
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-15T09:00"))
    assert [h for h in map(headers, mailbox(tmp_path)[n:]) if h["committee"] == "TMU"
            and h["deliverable"] == "handleplan"] == []


@pytest.mark.parametrize(("until", "when", "why"), [
    ("2012-05-17", "2012-04-25T10:00", "torsdag den 17. maj 2012 er ikke en hverdag (en "
                                       "helligdag)"),
    ("2012-05-05", "2012-04-25T10:00", "lørdag den 5. maj 2012 er ikke en hverdag (weekend)"),
    ("2012-04-27", "2012-04-25T10:00", "27. april 2012 er ikke senere end den nuværende frist "
                                       "(1. maj 2012)"),
    ("2012-05-01", "2012-04-25T10:00", "1. maj 2012 er ikke senere end den nuværende frist"),
])
def test_an_extension_must_be_a_later_business_day(st: Setup, until: str, when: str,
                                                   why: str) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    with pytest.raises(Refused, match="^afvist: " + why.replace("(", r"\(").replace(")", r"\)")):
        runs.extend(st, 2012, "TMU", "handleplan", date.fromisoformat(until), at(when))
    assert _row(st, "TMU", "handleplan", "2012-04-26T09:00").ladder == 0


def test_refusals_say_why_in_danish(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    doc = form_docx(st, tmp_path / "buu.docx", "BUU", "handleplan")
    runs.submit(st, 2012, "BUU", "handleplan", doc, at("2012-04-20T10:00"))
    cases = [
        (lambda: runs.extend(st, 2012, "BUU", "handleplan", date(2012, 5, 11),
                             at("2012-04-25T10:00")),
         "afvist: «Revideret handleplan» 2012 fra BUU er modtaget 20. april 2012; en lukket "
         "anmodning kan ikke forlænges"),
        (lambda: runs.excuse(st, 2012, "BUU", "handleplan", at("2012-04-25T10:00")),
         "afvist: «Revideret handleplan» 2012 fra BUU er allerede modtaget 20. april 2012; en "
         "modtaget aflevering kan ikke fritages"),
        (lambda: runs.reopen(st, at("2012-04-25T10:00"), submission=99),
         "afvist: der er ingen aflevering nr. 99"),
        (lambda: runs.resend(st, "<nothing@bif.kk.example>", at("2012-04-25T10:00")),
         "afvist: <nothing@bif.kk.example> er ikke en besked fra årshjulet"),
        (lambda: runs.extend(st, 2019, "TMU", "handleplan", date(2019, 5, 11),
                             at("2012-04-25T10:00")),
         "afvist: 2019 er ikke et cykelår i politikken (2011-2014)"),
        (lambda: runs.excuse(st, 2012, "XYZ", "handleplan", at("2012-04-25T10:00")),
         "afvist: 'XYZ' er ikke et udvalg i årshjulet"),
        (lambda: runs.excuse(st, 2013, "TMU", "handleplan", at("2012-04-25T10:00")),
         "afvist: TMU er ikke bedt om «Revideret handleplan» for 2013"),
    ]
    for fn, message in cases:
        with pytest.raises(Refused) as caught:
            fn()
        assert str(caught.value).startswith(message), str(caught.value)
    runs.excuse(st, 2012, "SOU", "handleplan", at("2012-04-25T10:00"))
    with pytest.raises(Refused, match=r"allerede fritaget 25\. april 2012"):
        runs.excuse(st, 2012, "SOU", "handleplan", at("2012-04-25T11:00"))


# --- excuse -----------------------------------------------------------------------------------


def test_excuse_closes_cancels_tells_and_is_not_missing(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    _chase_days(st, ["2012-05-01"])  # redegørelse's before-14
    report = runs.excuse(st, 2012, "SOU", "redegoerelse", at("2012-05-02T12:00"),
                         reason="Ingen integrationsaktiviteter i år")
    assert [(m.kind, m.deliverable, m.state) for m in report.messages] == [
        ("notice", "redegoerelse", "sent")]
    assert report.messages[0].to == ("sou-sekretariat@sof-social.kk.example",)
    assert report.messages[0].cc == ("integration-socialforvaltningen@sof-social.kk.example",)
    states = _states(st, "SOU", "redegoerelse")
    assert states[(0, "before-14")] == "sent"
    assert {states[(0, s)] for s in ("before-7", "before-1", "after-1", "after-7",
                                     "escalate")} == {"cancelled"}
    _chase_days(st, ["2012-05-08", "2012-05-14", "2012-05-16", "2012-05-22", "2012-05-29"])
    assert _sent(tmp_path, "SOU", "redegoerelse") == [
        ("2012-05-01", "before-14"), ("2012-05-02", "notice")]
    row = _row(st, "SOU", "redegoerelse", "2012-12-31T12:00")
    assert (row.status, row.overdue, row.last_action) == ("excused", False, "fritaget 2. maj 2012")
    assert _row(st, "SOU", "redegoerelse", "2012-05-01T12:00").status == "open"  # before it


# --- reopen -----------------------------------------------------------------------------------


def test_reopen_withdraws_the_registration_and_the_next_chase_sends_at_most_one(
        st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    _chase_days(st, ["2012-04-17"])
    doc = form_docx(st, tmp_path / "buu.docx", "BUU", "handleplan")
    reg = runs.submit(st, 2012, "BUU", "handleplan", doc, at("2012-04-20T10:00")).registered
    assert reg is not None
    _chase_days(st, ["2012-04-24", "2012-04-30", "2012-05-02"])  # nothing for BUU: closed
    report = runs.reopen(st, at("2012-05-03T10:00"), submission=reg.submission_id,
                         reason="Registreret på det forkerte udvalg")
    assert report.done[0] == (
        f"Registreringen af «Revideret handleplan» 2012 fra BUU (nr. {reg.submission_id}, "
        "modtaget 20. april 2012 kl. 10.00) er trukket tilbage: anmodningen er åben igen, og "
        "næste rykkerkørsel sender højst én påmindelse; udvalget har fået en meddelelse.")
    row = _row(st, "BUU", "handleplan", "2012-05-03T12:00")
    assert (row.status, row.received_at, row.overdue) == ("open", None, True)
    # The slots as if it had never closed: before-7, before-1 and after-1 are all due by
    # 7 May; one reminder goes (after-1, the latest; a before-* is never sent after the
    # due date), the others are skipped. after-7 follows on 8 May.
    _chase_days(st, ["2012-05-07", "2012-05-08"])
    assert _sent(tmp_path, "BUU") == [
        ("2012-04-17", "before-14"), ("2012-04-20", "receipt"),
        ("2012-05-03", "notice"), ("2012-05-07", "after-1"), ("2012-05-08", "after-7")]
    states = _states(st, "BUU", "handleplan")
    assert states[(0, "before-7")] == states[(0, "before-1")] == "skipped"
    with Session(st.db) as s:
        from models.state import Submission

        sub = s.get(Submission, reg.submission_id)
        assert sub is not None and sub.withdrawn_at == at("2012-05-03T10:00")
    # a second hand-in closes it again, late now; its receipt is a plain one
    doc2 = form_docx(st, tmp_path / "buu2.docx", "BUU", "handleplan")
    again = runs.submit(st, 2012, "BUU", "handleplan", doc2, at("2012-05-09T10:00")).registered
    assert again is not None and again.status == "late"
    assert "revideret udgave" not in mailbox(tmp_path)[-1]["Subject"]
    with pytest.raises(Refused, match=r"allerede trukket tilbage 3\. maj 2012"):
        runs.reopen(st, at("2012-05-10T10:00"), submission=reg.submission_id)


def test_reopen_of_an_excuse_opens_the_request_again(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    runs.excuse(st, 2012, "KFU", "handleplan", at("2012-04-02T10:00"))
    report = runs.reopen(st, at("2012-04-03T10:00"), year=2012, committee="KFU",
                         deliverable="handleplan")
    assert report.done[0].startswith("Fritagelsen af «Revideret handleplan» 2012 fra KFU er "
                                     "trukket tilbage")
    assert _row(st, "KFU", "handleplan", "2012-04-03T12:00").status == "open"
    _chase_days(st, ["2012-04-17"])
    assert _sent(tmp_path, "KFU")[-1] == ("2012-04-17", "before-14")
    with pytest.raises(Refused, match="er ikke fritaget"):
        runs.reopen(st, at("2012-04-18T10:00"), year=2012, committee="KFU",
                    deliverable="handleplan")


# --- resend, a letter that never arrived ------------------------------------------------------


def _smtp_setup(eng, tmp: Path, url: str, text: str | None = None) -> Setup:  # type: ignore[no-untyped-def]
    return Setup(wheel_loaded(text).wheel, eng, tmp / "data", transport=SmtpTransport(url),
                 actor="test")


def test_a_bounced_letter_is_shown_held_and_resent_with_resent_fields(
        backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng, smtp_serve() as smtp:
        st = _smtp_setup(eng, tmp_path, smtp.url)
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        letter = next(m for m in smtp.handler.received
                      if m.message["X-Aarshjul-Committee"] == "TMU")
        mid = letter.message_id
        # the mail intake reads a delivery status notification about it
        key = record_bounce(st, mid, "tmu-sekretariat@tmf.kk.example", "5.1.1",
                            at("2012-01-20T09:05"))
        assert key == "letter:2012:opfordring:TMU"
        assert letter_states(st, 2012)[(2012, "opfordring", "TMU")] == LetterState.BOUNCED
        row = _row(st, "TMU", "handleplan", "2012-01-21T09:00")
        assert row.last_action == "brevet kunne ikke leveres (kom retur)"
        assert row.letter == "bounced"
        deliver(st)
        alert = smtp.handler.received[-1].message
        assert alert["X-Aarshjul-Kind"] == "alert" and "kom retur" in alert["Subject"]
        assert alert["To"] == "koordinator@bif.kk.example"

        chase = runs.chase(st, at("2012-04-17T09:00"))
        assert sorted((m.committee, m.slot) for m in chase.messages) == sorted(
            (c, "before-14") for c in COMMITTEES if c != "TMU")
        assert any(n.startswith("Påmindelser til TMU om Revideret handleplan og "
                                "Integrationsredegørelse 2012 holdes tilbage") for n in chase.notes)

        # the address is corrected in aarshjul.yaml; the letter goes again, to the new one
        fixed = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
            "tmu-sekretariat@tmf.kk.example", "tmu-ny@tmf.kk.example")
        st2 = _smtp_setup(eng, tmp_path, smtp.url, fixed)
        report = runs.resend(st2, mid, at("2012-04-18T10:00"), reason="Ny adresse")
        assert [(m.kind, m.state, m.to) for m in report.messages] == [
            ("letter", "sent", ("tmu-ny@tmf.kk.example",))]
        again = smtp.handler.received[-1]
        assert again.rcpt_tos == ("tmu-ny@tmf.kk.example",)
        head = again.data.split(b"\r\n\r\n", 1)[0].decode()
        assert head.startswith("Resent-Date: Wed, 18 Apr 2012 10:00:00 +0200\r\n")
        m = again.message
        assert m["Message-ID"] == mid  # the original's
        assert m["Resent-To"] == "tmu-ny@tmf.kk.example"
        assert m["Resent-Message-ID"] != mid and m["Date"] == letter.message["Date"]
        assert again.data.endswith(letter.data)  # the stored bytes, untouched
        assert letter_states(st2, 2012)[(2012, "opfordring", "TMU")] == LetterState.RESENT

        # both copies in the journal, one line each, with the same Message-ID
        journal = Journal(st2.data / "journal")
        entries = [e for e in journal.entries() if e["message_id"] == mid]
        assert sorted(e["key"] for e in entries) == [
            "letter:2012:opfordring:TMU", "resend:letter:2012:opfordring:TMU:1"]
        files = {e["key"]: (st2.data / "journal" / e["file"]).read_bytes() for e in entries}
        assert files["resend:letter:2012:opfordring:TMU:1"].endswith(
            files["letter:2012:opfordring:TMU"])

        # reminders resume: the next chase sends one (the latest due), to the new address
        n = len(smtp.handler.received)
        runs.chase(st2, at("2012-04-24T09:00"))
        tmu = [x for x in smtp.handler.received[n:] if x.message["X-Aarshjul-Committee"] == "TMU"]
        assert [(x.message["X-Aarshjul-Deliverable"], x.message["X-Aarshjul-Slot"])
                for x in tmu] == [("handleplan", "before-7")]
        assert tmu[0].rcpt_tos == ("tmu-ny@tmf.kk.example",)
        with Session(eng) as s:
            audit = s.exec(select(AuditEntry).where(AuditEntry.action == "resend")).one()
        assert (audit.reason, audit.ref) == ("Ny adresse", "resend:letter:2012:opfordring:TMU:1")


def test_a_failed_letter_holds_its_reminders_until_it_is_resent(
        backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng, smtp_serve() as smtp:
        smtp.handler.refuse_rcpt["tmu-sekretariat@tmf.kk.example"] = "550 5.1.1 No such user"
        st = _smtp_setup(eng, tmp_path, smtp.url)
        report = runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        assert [m.state for m in report.messages if m.committee == "TMU"] == ["failed"]
        row = _row(st, "TMU", "handleplan", "2012-01-21T09:00")
        assert (row.letter, row.last_action) == ("failed", "brevet kunne ikke leveres")
        runs.chase(st, at("2012-04-30T09:00"))
        assert not [x for x in smtp.handler.received
                    if x.message["X-Aarshjul-Kind"] == "reminder"
                    and x.message["X-Aarshjul-Committee"] == "TMU"]
        assert _states(st, "TMU", "handleplan") == {}  # held: nothing marked either
        mid = next(p["message_id"] for p in send_problems(st, 2012) if p["committee"] == "TMU")
        with pytest.raises(Refused):  # not a message: a typo
            runs.resend(st, mid.replace("<", "<x"), at("2012-04-30T10:00"))
        # sent again to the address given (the wheel is corrected too, for what follows)
        fixed = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
            "tmu-sekretariat@tmf.kk.example", "tmu-ny@tmf.kk.example")
        st2 = _smtp_setup(eng, tmp_path, smtp.url, fixed)
        runs.resend(st2, mid, at("2012-04-30T10:00"), to=["tmu-ny@tmf.kk.example"])
        assert smtp.handler.received[-1].rcpt_tos == ("tmu-ny@tmf.kk.example",)
        assert _row(st2, "TMU", "handleplan", "2012-04-30T11:00").letter == "resent"
        n = len(smtp.handler.received)
        runs.chase(st2, at("2012-05-02T09:00"))
        tmu = [x.message["X-Aarshjul-Slot"] for x in smtp.handler.received[n:]
               if x.message["X-Aarshjul-Committee"] == "TMU"
               and x.message["X-Aarshjul-Deliverable"] == "handleplan"]
        assert tmu == ["after-1"]  # one reminder, the latest due: the catch-up rule


# --- a due date moved in the wheel ------------------------------------------------------------


def test_a_due_date_moved_earlier_replays_nothing(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    _chase_days(st, ["2012-05-01"])  # redegørelse (due 15 May): before-14
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
        'due: "05-15"', 'due: "05-08"', 1)
    st2 = make_setup(st.db, tmp_path, wheel_loaded(text))
    n = len(mailbox(tmp_path))
    first = runs.chase(st2, at("2012-05-03T09:00"))
    # due 8 May now: before-7 (1 May) is past and not sent; no notice is sent
    assert [h for h in map(headers, mailbox(tmp_path)[n:])
            if h["deliverable"] == "redegoerelse"] == []
    assert any("rykket frem fra 15. maj 2012 til 8. maj 2012" in x for x in first.notes)
    _chase_days(st2, ["2012-05-07", "2012-05-09"])
    assert _sent(tmp_path, "KFU", "redegoerelse") == [
        ("2012-05-01", "before-14"), ("2012-05-07", "before-1"), ("2012-05-09", "after-1")]
    assert _row(st2, "KFU", "redegoerelse", "2012-05-09T12:00").ladder == 0


def test_dry_runs_change_nothing_and_say_what_would_happen(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    n = len(mailbox(tmp_path))
    ext = runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 11), at("2012-04-25T10:00"),
                      dry_run=True)
    exc = runs.excuse(st, 2012, "SOU", "handleplan", at("2012-04-25T10:00"), dry_run=True)
    res = runs.resend(st, "letter:2012:opfordring:TMU", at("2012-04-25T10:00"), dry_run=True)
    pau = runs.pause(st, at("2012-04-25T10:00"), dry_run=True)
    for r in (ext, exc, res, pau):
        assert r.dry_run and r.done[0].startswith("Prøvekørsel, intet er ændret: ")
    assert "ville blive forlænget fra 1. maj 2012 til 11. maj 2012" in ext.done[0]
    assert [(m.kind, m.state) for m in ext.messages] == [("notice", "preview")]
    assert len(mailbox(tmp_path)) == n
    assert _row(st, "TMU", "handleplan", "2012-04-26T09:00").ladder == 0
    assert _row(st, "SOU", "handleplan", "2012-04-26T09:00").status == "open"
    assert action_log(st) == []


def test_status_json_lists_actions_and_the_summary_says_it(st: Setup, tmp_path: Path) -> None:
    from flows.artifacts import summary_markdown, table_rows

    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 11), at("2012-04-25T10:00"),
                reason="Møde flyttet")
    report = runs.excuse(st, 2012, "SOU", "handleplan", at("2012-04-26T10:00"))
    md = summary_markdown(report)
    assert "## Udført" in md and "er fritaget" in md
    assert "- TMU · handleplan: frist forlænget til 11. maj 2012" in md
    assert "- SOU · handleplan: fritaget" in md
    table = {(r["Udvalg"], r["Aflevering"]): r for r in table_rows(report.requests)}
    assert table[("TMU", "handleplan")]["Frist"] == "fredag den 11. maj 2012 (forlænget)"
    assert table[("SOU", "handleplan")]["Status"] == "fritaget"
    log = action_log(st, 2012)
    assert [(e["action"], e["committee"], e["reason"]) for e in log] == [
        ("extend", "TMU", "Møde flyttet"), ("excuse", "SOU", None)]
    json.dumps(log)
