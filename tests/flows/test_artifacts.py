"""Artifacts published inside a flow are read back through the Prefect API."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from flows.artifacts import (
    artifact_key,
    progress,
    publish,
    summary_markdown,
    table_rows,
)
from flows.report import MessageRow, RequestRow, RunReport
from tests import CPH

AS_OF = datetime(2012, 5, 10, 9, 0, tzinfo=CPH)


def _req(committee: str, status: str, *, received: datetime | None = None, overdue: bool = False,
         sent: int = 0, year: int = 2012) -> RequestRow:
    return RequestRow(
        year=year,
        committee=committee,
        deliverable="handleplan",
        due=date(year, 5, 1),
        status=status,
        received_at=received,
        reminders_sent=sent,
        last_action=f"påmindelse before-1 sendt 30. april {year}" if sent else "brev sendt",
        overdue=overdue,
    )


def _msg(kind: str, committee: str, slot: str | None = None, state: str = "sent") -> MessageRow:
    return MessageRow(
        message_id=f"<{kind}.{committee}.{slot}@kk.example>",
        kind=kind,
        committee=committee,
        event=None if kind != "letter" else "opfordring",
        deliverable="handleplan" if kind != "letter" else None,
        slot=slot,
        to=(f"{committee.lower()}@kk.example",),
        cc=(),
        date=AS_OF,
        subject=f"Emne for {committee}",
        attachments=(),
        state=state,
    )


def _report(dry_run: bool = False, title: str = "Rykkerkørsel 10. maj 2012") -> RunReport:
    return RunReport(
        title=title,
        kind="chase",
        year=2012,
        as_of=AS_OF,
        dry_run=dry_run,
        requests=[
            _req("BUU", "on_time", received=datetime(2012, 4, 20, 10, tzinfo=CPH), sent=1),
            _req("KFU", "late", received=datetime(2012, 5, 3, 11, tzinfo=CPH), sent=2),
            _req("SUU", "open", overdue=True, sent=3),
            _req("TMU", "open"),
        ],
        messages=[
            _msg("reminder", "SUU", "after-7"),
            _msg("reminder", "TMU", "after-7"),
            _msg("escalation", "SOU", "escalate", state="uncertain"),
        ],
        notes=["Begivenhedstypen 'barometer' er endnu ikke bygget"],
    )


def test_table_rows_are_danish() -> None:
    rows = table_rows(_report().requests)
    assert list(rows[0]) == [
        "Udvalg", "Aflevering", "Frist", "Status", "Påmindelser sendt", "Seneste handling",
    ]
    assert [r["Status"] for r in rows] == ["rettidig", "for sen", "mangler", "afventer"]
    assert rows[0]["Frist"] == "tirsdag den 1. maj 2012"  # not a markdown list item
    assert rows[2]["Påmindelser sendt"] == 3


def test_progress_counts_received() -> None:
    assert progress(_report().requests) == (2, 4, 50.0)
    assert progress([]) == (0, 0, 0.0)


def test_summary_lists_what_went_out_and_what_is_late() -> None:
    md = summary_markdown(_report())
    assert md.startswith("# Rykkerkørsel 10. maj 2012\n")
    assert "I alt 2 påmindelser." in md
    assert "- Påmindelse · SUU · handleplan · after-7 · til suu@kk.example" in md
    assert "## Fejlede og usikre afsendelser" in md and "usikker" in md
    assert "- SUU · handleplan: mangler (frist 1. maj 2012; 3 påmindelser sendt)" in md
    assert "- KFU · handleplan: for sen" in md
    assert "TMU · handleplan" not in md.split("## For sent og mangler")[1]
    assert "Begivenhedstypen 'barometer' er endnu ikke bygget" in md
    assert "Modtaget:** 2 af 4 afleveringer (50 %)" in md


def test_summary_cuts_long_lists() -> None:
    rep = _report()
    rep.messages = [_msg("letter", f"C{i}") for i in range(250)]
    md = summary_markdown(rep)
    assert "I alt 250 breve." in md
    assert "- … og 50 flere" in md


def test_keys_follow_prefects_rule() -> None:
    assert artifact_key(2012, "anmodninger") == "aarshjul-2012-anmodninger"
    with pytest.raises(ValueError, match="not a valid"):
        artifact_key(2012, "Anmodninger")


@pytest.mark.usefixtures("prefect_harness")
def test_published_artifacts_read_back_through_the_api() -> None:
    from uuid import UUID

    from prefect import flow, get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    @flow(name="artifact-probe")
    def probe(title: str) -> str:  # a flow's parameters are plain values, as in workflows
        from prefect.runtime import flow_run

        publish(_report(title=title))
        return str(flow_run.id)

    first_id = probe("Første kørsel")
    run_id = probe("Rykkerkørsel 10. maj 2012")

    keys = ["aarshjul-2012-anmodninger", "aarshjul-2012-fremdrift", "aarshjul-2012-oversigt"]
    with get_client(sync_client=True) as client:
        latest = client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
        by_key = {a.key: a for a in latest}
        assert set(by_key) == set(keys)
        table = by_key["aarshjul-2012-anmodninger"]
        assert table.type == "table"
        assert str(table.flow_run_id) == run_id
        rows = json.loads(table.data)
        assert [r["Udvalg"] for r in rows] == ["BUU", "KFU", "SUU", "TMU"]
        assert [r["Status"] for r in rows] == ["rettidig", "for sen", "mangler", "afventer"]
        assert rows[2]["Påmindelser sendt"] == 3 and rows[0]["Frist"] == "tirsdag den 1. maj 2012"
        prog = by_key["aarshjul-2012-fremdrift"]
        assert prog.type == "progress" and prog.data == 50.0
        assert "2 af 4" in (prog.description or "")
        summary = by_key["aarshjul-2012-oversigt"]
        assert summary.type == "markdown"
        assert summary.data.startswith("# Rykkerkørsel 10. maj 2012")
        # The key's history keeps both runs (other tests on this server publish 2012 too).
        history = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["aarshjul-2012-oversigt"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(first_id), UUID(run_id)])),
        )
        assert sorted(a.data.splitlines()[0] for a in history) == [
            "# Første kørsel", "# Rykkerkørsel 10. maj 2012",
        ]


@pytest.mark.usefixtures("prefect_harness")
def test_dry_run_artifacts_carry_no_key() -> None:
    from uuid import UUID

    from prefect import flow, get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    rep = _report(dry_run=True)
    rep.year = 2013
    rep.requests = [_req("BUU", "open", year=2013)]

    @flow(name="artifact-dry-probe")
    def probe() -> str:
        from prefect.runtime import flow_run

        publish(rep)
        return str(flow_run.id)

    run_id = probe()
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
        )
    assert sorted(a.type for a in arts) == ["markdown", "progress", "table"]
    assert all(a.key is None for a in arts)
    md = next(a for a in arts if a.type == "markdown")
    assert "Prøvekørsel" in md.data
