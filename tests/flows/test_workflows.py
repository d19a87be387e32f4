"""The Prefect flows under the session's test server: run names, tags, a handful of tasks
per run whatever the number of committees, and the artifacts read back through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows import workflows as W
from flows.services.status import request_rows
from models.config import loads
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, flow_at, form_docx, mailbox, make_setup

CONFIG = str(ROOT / "aarshjul.yaml")


@pytest.fixture
def st(tmp_path: Path):  # type: ignore[no-untyped-def]
    with database("sqlite", tmp_path) as eng:
        yield make_setup(eng, tmp_path)


def _run(fn: Any, st: Any, when: str, **kw: Any) -> tuple[Any, Any]:
    state = flow_at(fn, st, when, return_state=True, **kw)
    assert state.is_completed(), state
    return state.result(), state.state_details.flow_run_id


def _read(run_id: Any) -> tuple[Any, list[Any], list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as c:
        fr = c.read_flow_run(run_id)
        only = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        tasks = c.read_task_runs(flow_run_filter=only)
        arts = [a for a in c.read_artifacts(flow_run_filter=only)]
    return fr, tasks, arts


def test_letters_flow_named_tagged_batched_with_artifacts(prefect_harness, st, tmp_path):
    report, run_id = _run(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    assert len(report.messages) == 7 and len(mailbox(tmp_path)) == 7
    fr, tasks, arts = _read(run_id)
    assert fr.name == "opfordring 2012 · 20. januar 2012"
    assert {"aarshjul", "2012", "opfordring", "letters"} <= set(fr.tags)
    names = sorted(t.name.rsplit("-", 1)[0] for t in tasks)
    assert names == ["build-and-enqueue", "plan", "publish", "send"]
    by_type = {a.type: a for a in arts}
    assert set(by_type) >= {"table", "progress", "markdown"}
    assert by_type["table"].key == "aarshjul-2012-anmodninger"
    assert "BUU" in str(by_type["table"].data) and "handleplan" in str(by_type["table"].data)
    assert "7 breve" in str(by_type["markdown"].data)


def test_chase_flow_and_receipt_flow(prefect_harness, st, tmp_path):
    _run(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
    report, run_id = _run(W.chase_flow, st, "2012-04-30T09:00")
    assert {(m.slot, m.state) for m in report.messages} == {("before-1", "sent")}
    assert len(report.messages) == 7
    fr, tasks, arts = _read(run_id)
    assert fr.name == "rykkerkørsel · 30. april 2012"
    assert "chase" in fr.tags
    assert len(tasks) == 4
    md = next(a for a in arts if a.type == "markdown")
    assert "7 påmindelser" in str(md.data)
    doc = form_docx(st, tmp_path / "buu.docx", "BUU", "handleplan")
    report, run_id = _run(W.receipt_flow, st, "2012-04-30T10:00", upload=doc, year=2012,
                          committee="BUU", deliverable="handleplan")
    assert [(m.kind, m.committee, m.state) for m in report.messages] == [("receipt", "BUU", "sent")]
    fr, _, arts = _read(run_id)
    assert fr.name.startswith("kvittering BUU handleplan 2012")
    progress = next(a for a in arts if a.type == "progress")
    assert float(progress.data) == pytest.approx(100 / 14)


def test_a_handlers_notes_are_in_the_artifact_and_the_log(prefect_harness, st):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    report, run_id = _run(W.event_flow, st, "2012-10-08T09:00", year=2012, event="budget")
    assert report.notes and report.notes[0].startswith("Samlet overblik 2012")
    fr, _, arts = _read(run_id)
    assert {"budget", "2012"} <= set(fr.tags)
    md = next(a for a in arts if a.key == "aarshjul-2012-oversigt")
    assert "## Bemærkninger" in str(md.data) and "Samlet overblik 2012" in str(md.data)
    from flows.prefect_server import drain_client_workers

    drain_client_workers()  # the run's logs reach the server in the background
    with get_client(sync_client=True) as c:
        logs = c.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    assert any(log.level >= 30 and "Samlet overblik 2012" in log.message for log in logs)


def test_dry_run_flow_changes_no_state_and_publishes_without_keys(prefect_harness, st, tmp_path):
    report, run_id = _run(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring",
                          dry_run=True, preview_dir=tmp_path / "preview")
    assert [m.state for m in report.messages] == ["preview"] * 7
    assert len(list((tmp_path / "preview").glob("*.eml"))) == 7
    assert mailbox(tmp_path) == [] and request_rows(st, 2012, at("2012-02-01T09:00")) == []
    fr, _, arts = _read(run_id)
    assert "prøvekørsel" in fr.name
    assert arts and all(a.key is None for a in arts)


def test_task_count_does_not_grow_with_committees(prefect_harness, tmp_path):
    """60 committees: still the same four tasks in a letters run and in a chase."""
    text = (ROOT / "aarshjul.yaml").read_text()
    extra = "".join(
        f"  - key: X{i:02d}\n    name: Udvalg {i}\n    to: [x{i}@kk.example]\n" for i in range(53)
    )
    text = text.replace("\nfocus_areas:", extra + "\nfocus_areas:", 1)
    text = text.replace("    to: [OEU, BUU, KFU, SUU, SOU, TMU, BIU]\n    opens:", "    opens:", 1)
    text = text.replace("    from: [OEU, BUU, KFU, SUU, SOU, TMU, BIU]\n", "", 1)
    loaded = loads(text)
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path, loaded)
        report, run_id = _run(W.event_flow, st, "2012-01-20T09:00", year=2012,
                              event="opfordring")
        assert len(report.messages) == 59  # every committee but the owner
        _, tasks, _ = _read(run_id)
        assert len(tasks) == 4
        report, run_id = _run(W.chase_flow, st, "2012-04-30T09:00")
        assert len(report.messages) == 59  # before-1 of handleplan; redegørelse not due
        _, tasks, _ = _read(run_id)
        assert len(tasks) == 4
