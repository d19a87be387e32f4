"""The desk's Prefect flows under the session's test server: run names, tags and the Danish
artifact of what was done; a refusal published before the run fails; serve's desk runner
carrying out a run created from a deployment (and leaving one that another claimed); the
digest in serve's wake-ups; and a simulation that leaves the coordinators' artifacts alone."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows import workflows as W
from flows.services.status import action_log
from tests import CPH
from tests.dbtools import database
from tests.flows.helpers import ROOT, flow_at, make_setup


@pytest.fixture
def st(tmp_path: Path):  # type: ignore[no-untyped-def]
    with database("sqlite", tmp_path) as eng:
        yield make_setup(eng, tmp_path)


def _read(run_id: Any) -> tuple[Any, list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as c:
        fr = c.read_flow_run(run_id)
        arts = list(c.read_artifacts(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[run_id]))))
    return fr, arts


def test_extend_flow_is_named_tagged_and_says_what_it_did(prefect_harness, st) -> None:  # type: ignore[no-untyped-def]
    flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    state = flow_at(W.extend_flow, st, "2012-04-25T10:00", return_state=True, year=2012,
                    committee="TMU", deliverable="handleplan", until=date(2012, 5, 11),
                    reason="Mødet flyttet", dry_run=False)
    assert state.is_completed(), state
    report = state.result()
    assert report.done[0].startswith("Fristen for «Revideret handleplan» 2012 fra TMU er "
                                     "forlænget")
    fr, arts = _read(state.state_details.flow_run_id)
    assert fr.name == "forlængelse TMU handleplan 2012 · 25. april 2012"
    assert {"aarshjul", "2012", "TMU", "handleplan", "extend"} <= set(fr.tags)
    md = next(a for a in arts if a.key == "aarshjul-2012-oversigt")
    assert "## Udført" in str(md.data) and "Begrundelse: Mødet flyttet" in str(md.data)
    table = next(a for a in arts if a.key == "aarshjul-2012-anmodninger")
    rows = {(x["Udvalg"], x["Aflevering"]): x for x in json.loads(table.data)}
    assert rows[("TMU", "handleplan")]["Frist"] == "fredag den 11. maj 2012 (forlænget)"


def test_a_dry_run_is_the_default_and_changes_nothing(prefect_harness, st) -> None:  # type: ignore[no-untyped-def]
    flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    state = flow_at(W.excuse_flow, st, "2012-04-25T10:00", return_state=True, year=2012,
                    committee="SOU", deliverable="handleplan")
    assert state.is_completed()
    fr, arts = _read(state.state_details.flow_run_id)
    assert fr.name.endswith("(prøvekørsel)")
    assert arts and all(a.key is None for a in arts)  # the coordinators' latest stays
    assert any("## Hvad der ville ske" in str(a.data) for a in arts)
    assert action_log(st) == []


def test_a_refusal_is_published_in_danish_and_the_run_fails(prefect_harness, st) -> None:  # type: ignore[no-untyped-def]
    flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    state = flow_at(W.extend_flow, st, "2012-04-25T10:00", return_state=True, year=2012,
                    committee="TMU", deliverable="handleplan", until=date(2012, 5, 17),
                    dry_run=False)
    assert state.is_failed()
    _, arts = _read(state.state_details.flow_run_id)
    (refusal,) = [a for a in arts if "Afvist" in (a.description or "")]
    assert "afvist: torsdag den 17. maj 2012 er ikke en hverdag" in str(refusal.data)


def test_serves_desk_runner_carries_out_a_deployment_run(prefect_harness, st) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.states import Pending

    from flows.desk_runner import DeskRunner
    from tests.flows.helpers import at

    flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    desk = DeskRunner(lambda: st, lambda: st.wheel)
    ids = desk.register()
    assert "aarshjul-excuse/fritag" in ids
    with get_client(sync_client=True) as c:
        run = c.create_flow_run_from_deployment(
            ids["aarshjul-excuse/fritag"], parameters={
                "year": 2012, "committee": "SOU", "deliverable": "handleplan",
                "reason": "Fra brugerfladen", "dry_run": False})
        other = c.create_flow_run_from_deployment(ids["aarshjul-pause/pause"],
                                                  parameters={"dry_run": False})
        c.set_flow_run_state(other.id, Pending())  # a worker got there first
    ran = desk.poll_once()
    assert ran == [run.id]
    with get_client(sync_client=True) as c:
        assert c.read_flow_run(run.id).state.is_completed()
        assert c.read_flow_run(other.id).state.is_pending()
    (entry,) = action_log(st)
    assert (entry["action"], entry["actor"], entry["reason"]) == (
        "excuse", "prefect-ui", "Fra brugerfladen")
    assert datetime.fromisoformat(entry["at"]) > at("2026-01-01T00:00")  # live: as of now
    assert desk.poll_once() == []  # nothing is run twice


def test_serve_wakes_with_the_digest_on_its_day(tmp_path: Path) -> None:
    from flows.serve import wakes
    from models.config import load, loads

    wheel = load(ROOT / "aarshjul.yaml").wheel
    got = wakes(wheel, datetime(2012, 4, 6, tzinfo=CPH), datetime(2012, 4, 17, 12, tzinfo=CPH))
    # Easter Monday 9 April: the digest goes on Tuesday 10 April; then Monday 16 April
    assert [(w.at.date().isoformat(), w.digest) for w in got] == [
        ("2012-04-10", True), ("2012-04-11", False), ("2012-04-12", False),
        ("2012-04-13", False), ("2012-04-16", True), ("2012-04-17", False)]
    assert got[0].job_args()[-1] is True
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
        '  send_time: "09:00"\n', '  send_time: "09:00"\n  digest: false\n', 1)
    off = wakes(loads(text).wheel, datetime(2012, 4, 6, tzinfo=CPH),
                datetime(2012, 4, 17, 12, tzinfo=CPH))
    assert not any(w.digest for w in off)


@pytest.mark.slow
def test_a_simulation_leaves_the_coordinators_artifacts_alone(
        prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One server: a live chase publishes the year's artifacts; a whole simulated year
    against the same server publishes under its own keys, in runs named and tagged as
    simulations, and the coordinators' latest artifacts are as they were."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterTags,
    )

    from flows.cli import app

    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp_path / 'live.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "live"))
    config = str(ROOT / "aarshjul.yaml")
    cli = CliRunner()
    for args in (["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"],
                 ["chase", "--as-of", "2012-04-30T09:00"]):
        r = cli.invoke(app, [*args, "--config", config], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    keys = ("aarshjul-2012-anmodninger", "aarshjul-2012-fremdrift", "aarshjul-2012-oversigt")

    def latest() -> dict[str, tuple[str, str]]:
        with get_client(sync_client=True) as c:
            found = c.read_latest_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=list(keys))))
        return {a.key: (str(a.latest_id), json.dumps(a.data, sort_keys=True)) for a in found}

    before = latest()
    assert set(before) == set(keys)
    scenario = tmp_path / "s.yaml"
    scenario.write_text('submissions:\n  - {committee: OEU, deliverable: handleplan, '
                        'at: "2012-04-20T10:00"}\nactions:\n  - {at: "2012-05-02T12:00", '
                        'do: excuse, committee: SOU, deliverable: redegoerelse}\n',
                        encoding="utf-8")
    r = cli.invoke(app, ["simulate", "--year", "2012", "--out", str(tmp_path / "out"),
                         "--scenario", str(scenario), "--config", config],
                   catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert latest() == before  # the coordinators' view is untouched
    with get_client(sync_client=True) as c:
        sim = c.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["simulering"])))
        own = c.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=["aarshjul-simulering-2012-anmodninger"])))
    assert len(sim) >= 20 and all(fr.name.startswith("simulering · ") for fr in sim)
    assert {"fritagelse SOU redegoerelse 2012"} <= {
        fr.name.split(" · ")[1] for fr in sim}
    assert len(own) == 1 and "fritaget" in json.dumps(own[0].data, ensure_ascii=False)
