"""The watchdog: its pure decisions (named cases), its stored state across a restart, and
whole rounds against a real SMTP server that goes away and comes back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.watchdog import CRASH, Alert, Observation, Open, Watchdog, decide, load_state, save_state
from models.kinds import AlertChange

T0 = datetime(2012, 3, 1, 8, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def down(check: str = "smtp", detail: str = "connection refused") -> Observation:
    return Observation(check, False, detail, GRACE)


def up(check: str = "smtp") -> Observation:
    return Observation(check, True, "svarer", GRACE)


def rounds(*steps: tuple[timedelta, list[Observation]], state: dict[str, Open] | None = None
           ) -> tuple[dict[str, Open], list[list[Alert]]]:
    state = dict(state or {})
    said = []
    for after, seen in steps:
        state, alerts = decide(state, seen, T0 + after)
        said.append(alerts)
    return state, said


# --------------------------------------------------------------------------- pure decisions


def test_alert_once_after_the_grace_period() -> None:
    state, said = rounds((timedelta(0), [down()]), (timedelta(minutes=14), [down()]),
                         (timedelta(minutes=15), [down()]))
    assert said[0] == [] and said[1] == []  # within the grace: nothing yet
    assert [(a.check, a.change, a.since) for a in said[2]] == [
        ("smtp", AlertChange.RAISED, T0)]
    assert state["smtp"].alerted and state["smtp"].since == T0


def test_no_repeat_while_it_stays_down() -> None:
    _, said = rounds(*[(timedelta(minutes=m), [down()]) for m in range(0, 240, 5)])
    assert sum(len(a) for a in said) == 1


def test_recovery_alert_once_and_the_condition_closes() -> None:
    state, said = rounds((timedelta(0), [down()]), (timedelta(minutes=20), [down()]),
                         (timedelta(minutes=25), [up()]), (timedelta(minutes=30), [up()]))
    assert [a.change for a in said[1]] == [AlertChange.RAISED]
    assert [(a.change, a.since, a.at) for a in said[2]] == [
        (AlertChange.RECOVERED, T0, T0 + timedelta(minutes=25))]
    assert said[3] == [] and state == {}


def test_a_blip_shorter_than_the_grace_says_nothing() -> None:
    state, said = rounds((timedelta(0), [down()]), (timedelta(minutes=5), [up()]))
    assert said == [[], []] and state == {}


def test_a_new_spell_after_recovery_alerts_again_with_its_own_key() -> None:
    _, said = rounds((timedelta(0), [down()]), (timedelta(minutes=15), [down()]),
                     (timedelta(minutes=20), [up()]), (timedelta(minutes=30), [down()]),
                     (timedelta(minutes=45), [down()]))
    raised = [a for batch in said for a in batch if a.change == AlertChange.RAISED]
    assert len(raised) == 2 and raised[0].key != raised[1].key


def test_restart_keeps_state_no_second_alert() -> None:
    """A restarted serve starts from the stored state: still down, no new alert."""
    before, said = rounds((timedelta(0), [down()]), (timedelta(minutes=15), [down()]))
    assert len(said[1]) == 1
    after, said = rounds((timedelta(hours=3), [down()]), state=before)
    assert said == [[]] and after["smtp"].since == T0


def test_an_unobserved_condition_is_kept_and_a_forgotten_one_goes_silently() -> None:
    state, _ = rounds((timedelta(0), [down("imap")]), (timedelta(minutes=15), [down("imap")]))
    kept, alerts = decide(state, [], T0 + timedelta(hours=1))
    assert alerts == [] and kept == state
    gone, alerts = decide(state, [], T0 + timedelta(hours=1), forget={"imap"})
    assert alerts == [] and gone == {}


def test_a_crashed_run_is_alerted_at_once_and_once() -> None:
    crash = Observation(f"{CRASH}abc", False, "rykkerkørsel (CRASHED)")
    _state, said = rounds((timedelta(0), [crash]), (timedelta(minutes=5), [crash]))
    assert [a.change for a in said[0]] == [AlertChange.RAISED] and said[1] == []
    assert "gik ned" in said[0][0].text_da(UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        decide({}, [], datetime(2012, 3, 1))


# --------------------------------------------------------------------------- stored state


def _engine(tmp: Path):  # type: ignore[no-untyped-def]
    from models.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
    upgrade(engine)
    return engine


def test_state_round_trips_through_the_database(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    state, _ = rounds((timedelta(0), [down(), down("imap", "login refused")]),
                      (timedelta(minutes=15), [down(), down("imap", "login refused")]))
    save_state(engine, state, T0)
    assert load_state(engine) == state
    save_state(engine, {}, T0)
    assert load_state(engine) == {}
    engine.dispose()


# --------------------------------------------------------------------------- whole rounds


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _watchdog(tmp: Path, smtp_url: str, clock: _Clock) -> Watchdog:
    from flows.binding import setup_for
    from flows.settings import Settings
    from models.config import load
    from tests.flows.helpers import ROOT

    settings = Settings.from_env({
        "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'state.sqlite'}",
        "AARSHJUL_DATA_DIR": str(tmp / "data"), "AARSHJUL_SMTP_URL": smtp_url,
        "AARSHJUL_WATCH_GRACE": "10"})
    st = setup_for(settings, actor="test", wheel=load(ROOT / "aarshjul.yaml").wheel)
    return Watchdog(settings, lambda: st, clock=clock)


def test_rounds_alert_once_by_log_and_mail_then_recovery_and_a_restart_does_not_repeat(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from sqlmodel import select

    from models.db import session
    from models.outbox import OutboxRow
    from models.watch import Heartbeat
    from tests.smtpd import free_port, serve

    port = free_port()
    clock = _Clock()
    _engine(tmp_path).dispose()
    dog = _watchdog(tmp_path, f"smtp://127.0.0.1:{port}?timeout=5", clock)
    with caplog.at_level(logging.WARNING, "aarshjul.watchdog"):
        assert dog.round() == []  # down, within the grace
        clock.now += timedelta(minutes=11)
        raised = dog.round()
        clock.now += timedelta(minutes=30)
        assert dog.round() == []  # still down: no second alert
        # a restarted serve: a new watchdog on the same database, still down
        dog = _watchdog(tmp_path, f"smtp://127.0.0.1:{port}?timeout=5", clock)
        assert dog.round() == []
        with serve(port=port) as smtp:
            clock.now += timedelta(minutes=5)
            recovered = dog.round()
            got = [m for m in smtp.handler.received]
    assert [(a.check, a.change) for a in raised] == [("smtp", AlertChange.RAISED)]
    assert [(a.check, a.change) for a in recovered] == [("smtp", AlertChange.RECOVERED)]
    # one log line each: ERROR for the alert, WARNING for the recovery
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "aarshjul.watchdog"]
    assert [lvl for lvl, _ in lines] == [logging.ERROR, logging.WARNING]
    assert "Mailserveren (SMTP) fejler" in lines[0][1] and "i orden igen" in lines[1][1]
    # no e-mail while the server was down; on recovery, the recovery mail goes out
    kinds = [m.message["X-Aarshjul-Kind"] for m in got]
    assert kinds == ["alert"] and got[0].rcpt_tos == ("koordinator@bif.kk.example",)
    assert "i orden igen" in got[0].message.get_body().get_content()
    from models.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.kind == "alert")).all()
        beat = s.get(Heartbeat, "serve")
    assert [r.status for r in rows] == ["sent"]
    assert beat is not None and beat.at == clock.now and not beat.stopped
    assert load_state(engine) == {}
    engine.dispose()


# --------------------------------------------------------------------------- deploy mode


def test_the_watchdog_flow_alerts_a_crashed_run_once_with_an_artifact(
        prefect_harness, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The deployment's flow (``aarshjul-watchdog``) under a real Prefect server: a failed
    run is alerted once (artifact ``aarshjul-vagt``, e-mail of kind alert), not twice."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from flows import workflows as W
    from models.db import session
    from models.watch import Heartbeat
    from tests.dbtools import database
    from tests.flows.helpers import flow_at, mailbox, make_setup

    @flow(name="aarshjul-test-fails", persist_result=False)
    def fails() -> None:
        raise RuntimeError("boom")

    state = fails(return_state=True)
    assert state.is_failed()
    run_id = str(state.state_details.flow_run_id)
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        first = flow_at(W.watchdog_flow, st, "2012-03-01T09:00")
        state_after = load_state(eng)
        again = flow_at(W.watchdog_flow, st, "2012-03-01T09:05")
        with session(eng) as s:
            beat = s.get(Heartbeat, "watchdog")
    assert first >= 1 and f"{CRASH}{run_id}" in state_after
    assert state_after[f"{CRASH}{run_id}"].alerted
    assert again == 0  # alerted once: the next round says nothing of it
    assert beat is not None and not beat.stopped
    mails = [m for m in mailbox(tmp_path) if m["X-Aarshjul-Kind"] == "alert"]
    assert any("aarshjul-test-fails" in m.get_body().get_content() for m in mails)
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as c:
        vagt = c.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["aarshjul-vagt"])))
    assert vagt and any("aarshjul-test-fails" in str(a.data) and "gik ned" in str(a.data)
                        for a in vagt)
