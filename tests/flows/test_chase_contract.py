"""The reminder ladder as tests (README "The reminder ladder"): the slots, coalesced catch-up,
receipts that cancel, sent once.

Runs on SQLite and (marked postgres, AARSHJUL_TEST_POSTGRES_URL) on PostgreSQL; asserts on
the messages the transport really wrote and on the state rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from flows import runs
from flows.services.setup import Refused, Setup
from flows.services.status import request_rows
from models.state import SlotState
from tests import ROOT
from tests.dbtools import BACKENDS, database
from tests.flows.helpers import at, form_docx, headers, mailbox, make_setup, wheel_loaded

COMMITTEES = ["OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"]


@pytest.fixture(params=BACKENDS)
def st(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with database(request.param, tmp_path) as eng:
        yield make_setup(eng, tmp_path)


def _letters(st: Setup) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))


def _slot_states(st: Setup) -> dict[tuple[str, str, str], str]:
    from models.state import Request

    with Session(st.db) as s:
        rows = s.exec(select(Request, SlotState).join(SlotState)).all()
    return {(r.committee, r.deliverable, ss.slot): ss.state for r, ss in rows}


def test_letters_on_20_january_one_per_committee_with_letter_and_forms(st, tmp_path):
    _letters(st)
    msgs = mailbox(tmp_path)
    assert sorted(m["X-Aarshjul-Committee"] for m in msgs) == sorted(COMMITTEES)
    for m in msgs:
        assert m["X-Aarshjul-Kind"] == "letter"
        assert m["X-Aarshjul-Event"] == "opfordring"
        assert m["X-Aarshjul-Deliverable"] is None
        assert m["Date"] == "Fri, 20 Jan 2012 09:00:00 +0100"
        names = [p.get_filename() for p in m.iter_attachments()]
        assert len(names) == 3 and all(n.endswith(".docx") for n in names), names
    assert st.plan(2012) and len(request_rows(st, 2012, at("2012-01-20T09:00"))) == 14


def test_chase_30_april_sends_one_before_1_per_open_committee_then_nothing(st, tmp_path):
    _letters(st)
    before = len(mailbox(tmp_path))
    report = runs.chase(st, at("2012-04-30T09:00"))
    new = mailbox(tmp_path)[before:]
    got = sorted(
        (h["committee"], h["deliverable"], h["slot"], h["kind"]) for h in map(headers, new)
    )
    assert got == sorted((c, "handleplan", "before-1", "reminder") for c in COMMITTEES)
    assert all(m["Date"] == "Mon, 30 Apr 2012 09:00:00 +0200" for m in new)
    assert [m.state for m in report.messages] == ["sent"] * 7
    states = _slot_states(st)
    for c in COMMITTEES:
        assert states[(c, "handleplan", "before-14")] == "skipped"
        assert states[(c, "handleplan", "before-7")] == "skipped"
        assert states[(c, "handleplan", "before-1")] == "sent"
    # the same chase again sends nothing and changes nothing
    again = runs.chase(st, at("2012-04-30T09:00"))
    assert again.messages == []
    assert len(mailbox(tmp_path)) == before + 7
    assert _slot_states(st) == states


def test_submit_sends_receipt_and_cancels_the_rest(st, tmp_path):
    _letters(st)
    runs.chase(st, at("2012-04-30T09:00"))
    doc = form_docx(st, tmp_path / "buu.docx", "BUU", "handleplan")
    n = len(mailbox(tmp_path))
    reg = runs.submit(st, 2012, "BUU", "handleplan", doc, at("2012-04-30T10:00")).registered
    assert reg.outcome == "on_time" and reg.revision == 0
    receipt = mailbox(tmp_path)[n:]
    assert [headers(m) for m in receipt] == [
        {
            "kind": "receipt",
            "committee": "BUU",
            "deliverable": "handleplan",
            "slot": None,
            "event": None,
        }
    ]
    assert receipt[0]["To"] == "buu-sekretariat@buf.kk.example"
    assert receipt[0]["Cc"] == "integration-buf@buf.kk.example"
    states = _slot_states(st)
    for slot in ("after-1", "after-7", "escalate"):
        assert states[("BUU", "handleplan", slot)] == "cancelled"
    # later chases never chase BUU's handleplan again
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-16T09:00"))
    later = [headers(m) for m in mailbox(tmp_path)[n:]]
    assert not [h for h in later if h["committee"] == "BUU" and h["deliverable"] == "handleplan"]
    assert [h for h in later if h["committee"] == "OEU" and h["deliverable"] == "handleplan"]
    row = next(
        r
        for r in request_rows(st, 2012, at("2012-12-31T12:00"))
        if (r.committee, r.deliverable) == ("BUU", "handleplan")
    )
    assert row.status == "on_time" and row.received_at == at("2012-04-30T10:00")


def test_late_submission_and_revision_keep_first_arrival(st, tmp_path):
    _letters(st)
    doc = form_docx(st, tmp_path / "kfu.docx", "KFU", "handleplan")
    reg = runs.submit(st, 2012, "KFU", "handleplan", doc, at("2012-05-02T08:00")).registered
    assert reg.outcome == "late"
    doc2 = form_docx(st, tmp_path / "kfu2.docx", "KFU", "redegoerelse")
    n = len(mailbox(tmp_path))
    reg2 = runs.submit(st, 2012, "KFU", "handleplan", doc2, at("2012-05-03T08:00")).registered
    assert reg2.revision == 1 and reg2.submission_id != reg.submission_id
    assert [m["X-Aarshjul-Kind"] for m in mailbox(tmp_path)[n:]] == ["receipt"]
    row = next(
        r
        for r in request_rows(st, 2012, at("2012-06-01T09:00"))
        if (r.committee, r.deliverable) == ("KFU", "handleplan")
    )
    assert row.status == "late" and row.received_at == at("2012-05-02T08:00")


def test_submission_for_unopened_request_is_refused(st, tmp_path):
    doc = form_docx(st, tmp_path / "x.docx", "BUU", "handleplan")
    with pytest.raises(Refused, match="no open request"):
        runs.submit(st, 2012, "BUU", "handleplan", doc, at("2012-01-19T09:00"))
    assert mailbox(tmp_path) == []


def test_a_file_that_is_not_word_is_refused(st, tmp_path):
    _letters(st)
    bad = tmp_path / "handleplan.docx"
    bad.write_bytes(b"%PDF-1.4 not a Word file")
    with pytest.raises(Refused, match=r"refused: handleplan\.docx"):
        runs.submit(st, 2012, "BUU", "handleplan", bad, at("2012-04-20T10:00"))
    assert request_rows(st, 2012, at("2012-04-20T10:00"))[1].status == "open"


def test_catch_up_after_due_date_sends_after_1_and_never_a_before_slot(st, tmp_path):
    _letters(st)
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-02T09:00"))  # down since January: due was 1 May
    new = [headers(m) for m in mailbox(tmp_path)[n:]]
    hp = sorted((h["committee"], h["slot"]) for h in new if h["deliverable"] == "handleplan")
    assert hp == sorted((c, "after-1") for c in COMMITTEES)
    # redegørelse (due 15 May): its before-14 (1 May) is the one due; nothing else
    rd = {h["slot"] for h in new if h["deliverable"] == "redegoerelse"}
    assert rd == {"before-14"}
    states = _slot_states(st)
    for slot in ("before-14", "before-7", "before-1"):
        assert states[("OEU", "handleplan", slot)] == "skipped"


def test_before_slot_due_but_unsent_is_not_sent_the_day_after_due(st, tmp_path):
    _letters(st)
    runs.chase(st, at("2012-04-23T09:00"))  # before-7 of handleplan
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-01T23:59"))  # still the due date: before-1 may go
    on_due = [
        headers(m) for m in mailbox(tmp_path)[n:] if m["X-Aarshjul-Deliverable"] == "handleplan"
    ]
    assert {h["slot"] for h in on_due} == {"before-1"}


def test_escalation_goes_to_escalate_to_with_committee_in_cc(st, tmp_path):
    _letters(st)
    runs.chase(st, at("2012-05-08T09:00"))
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-15T09:00"))
    esc = [m for m in mailbox(tmp_path)[n:] if m["X-Aarshjul-Kind"] == "escalation"]
    by = {m["X-Aarshjul-Committee"]: m for m in esc}
    assert sorted(by) == sorted(COMMITTEES)
    buu = by["BUU"]
    assert buu["X-Aarshjul-Slot"] == "escalate" and buu["X-Aarshjul-Deliverable"] == "handleplan"
    assert buu["To"] == "direktion@buf.kk.example"
    assert buu["Cc"] == "buu-sekretariat@buf.kk.example, integration-buf@buf.kk.example"
    assert by["KFU"]["To"] == "koordinator@bif.kk.example"
    assert by["KFU"]["Cc"] == "kfu-sekretariat@kff.kk.example"
    # once: a rerun sends no second escalation
    n = len(mailbox(tmp_path))
    runs.chase(st, at("2012-05-15T09:00"))
    runs.chase(st, at("2012-05-16T09:00"))
    assert not [m for m in mailbox(tmp_path)[n:] if m["X-Aarshjul-Kind"] == "escalation"]


MERGE_WHEEL = (
    (ROOT / "aarshjul.yaml")
    .read_text()
    .replace('    due: "05-01"\n    if_closed: next\n', '    due: "05-07"\n    if_closed: next\n')
    .replace("before: [14, 7, 1]", "before: [3, 2, 1]", 1)
)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_slots_on_the_same_day_merge_into_one(backend, tmp_path):
    loaded = wheel_loaded(MERGE_WHEEL)
    assert loaded.wheel.deliverable["handleplan"].reminders.before == (3, 2, 1)
    with database(backend, tmp_path) as eng:
        st = make_setup(eng, tmp_path, loaded)
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        n = len(mailbox(tmp_path))
        # 7 May 2012 is a Monday: before-3 (Fri 4), before-2 (Sat 5) and before-1 (Sun 6)
        # all fall on Friday 4 May and are one slot, named before-1
        runs.chase(st, at("2012-05-04T09:00"))
        new = [
            headers(m) for m in mailbox(tmp_path)[n:] if m["X-Aarshjul-Deliverable"] == "handleplan"
        ]
        assert sorted((h["committee"], h["slot"]) for h in new) == sorted(
            (c, "before-1") for c in COMMITTEES
        )
        states = _slot_states(st)
        assert {k[2] for k in states if k[1] == "handleplan"} == {"before-1"}
