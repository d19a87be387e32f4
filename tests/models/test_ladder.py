"""The chase rule and the request status as pure functions (models/ladder.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from models.config import load
from models.kinds import RequestStatus, SlotKind
from models.ladder import Ladders, arrival_status, decide, status_as_of
from models.plan import calendar_for
from tests import CPH
from tests.conftest import ROOT

DUE = date(2012, 5, 1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CPH)


@pytest.fixture(scope="module")
def slots():  # type: ignore[no-untyped-def]
    wheel = load(ROOT / "aarshjul.yaml").wheel
    ladders = Ladders(wheel, calendar_for(wheel))
    return ladders.slots("handleplan", 2012, at("2012-01-20T09:00"))


def test_one_reminder_the_latest_due_the_others_skipped(slots) -> None:  # type: ignore[no-untyped-def]
    # down from 16 April to 30 April: before-14 and before-7 are due too, only before-1 goes
    d = decide(slots, set(), at("2012-04-30T09:00"), DUE, date(2012, 4, 30))
    assert d.reminder is not None and d.reminder.name == "before-1"
    assert [s.name for s in d.skipped] == ["before-14", "before-7"]
    assert d.escalation is None and not d.empty


def test_a_before_slot_is_never_sent_after_the_due_date(slots) -> None:  # type: ignore[no-untyped-def]
    d = decide(slots, {"before-14", "before-7"}, at("2012-05-02T09:00"), DUE, date(2012, 5, 2))
    assert d.reminder is not None and d.reminder.name == "after-1"
    assert d.reminder.kind == SlotKind.AFTER
    assert [s.name for s in d.skipped] == ["before-1"]


def test_what_is_done_is_not_sent_again_and_an_escalation_comes_apart(slots) -> None:  # type: ignore[no-untyped-def]
    done = {"before-14", "before-7", "before-1", "after-1", "after-7"}
    d = decide(slots, done, at("2012-05-15T09:00"), DUE, date(2012, 5, 15))
    assert d.reminder is None and d.skipped == ()
    assert d.escalation is not None and d.escalation.kind == SlotKind.ESCALATE
    assert decide(slots, {*done, "escalate"}, at("2012-05-15T09:00"), DUE,
                  date(2012, 5, 15)).empty


def test_nothing_is_due_before_the_first_slot(slots) -> None:  # type: ignore[no-untyped-def]
    assert decide(slots, set(), at("2012-04-17T08:59"), DUE, date(2012, 4, 17)).empty


def test_status_as_of_counts_an_arrival_only_once_it_happened() -> None:
    got = at("2012-04-30T10:00")
    before = status_as_of("on_time", got, at("2012-04-30T09:59"), DUE, date(2012, 4, 30))
    assert before.status == RequestStatus.OPEN and before.received_at is None
    assert not before.overdue and before.shown == RequestStatus.OPEN
    after = status_as_of("on_time", got, at("2012-05-03T09:00"), DUE, date(2012, 5, 3))
    assert after.status == RequestStatus.ON_TIME and after.received_at == got
    missing = status_as_of("open", None, at("2012-05-02T09:00"), DUE, date(2012, 5, 2))
    assert missing.overdue and missing.shown == RequestStatus.MISSING


def test_on_time_means_on_or_before_the_due_date() -> None:
    assert arrival_status(DUE, DUE) == RequestStatus.ON_TIME
    assert arrival_status(date(2012, 5, 2), DUE) == RequestStatus.LATE


def test_naive_instants_are_refused(slots) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="naive"):
        decide(slots, set(), datetime(2012, 4, 30, 9), DUE, date(2012, 4, 30))
