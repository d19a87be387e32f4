"""The intake run (README "Replies by e-mail"): composed once in ``flows.runs.intake``, as the
Prefect flow ``aarshjul-intake`` and in this process; its Danish artifact lists what was
registered, held, refused and bounced, with what the committees wrote escaped for Markdown.
The messages come from memory (``letters.mailsource.MemorySource``): the same code as the
IMAP mailbox, which tests/flows/test_intake.py drives against Dovecot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows import runs
from flows import workflows as W
from flows.binding import Binding, bound
from flows.compose import Runner
from flows.services.setup import Refused, Setup
from letters.mailsource import MemorySource
from models.kinds import IntakeFolder, IntakeOutcome, RunKind
from models.text import markdown_text
from tests.flows.helpers import at, mailbox
from tests.flows.intake_world import (
    BUU,
    STRANGER,
    Reply,
    dsn,
    handleplan,
    letter_id,
    opened_st,  # noqa: F401 (the fixture st)
)

AS_OF = at("2012-05-04T09:00")


def world(st: Setup, tmp: Path) -> MemorySource:
    """A registered reply, a stranger's form (held), a .docm (refused), a DSN (bounced);
    the stranger's subject is hostile Markdown."""
    src = MemorySource()
    name, form = handleplan(tmp)
    src.add(Reply(BUU, 1, in_reply_to=letter_id(st, "BUU"), files=[(name, form)]).raw(),
            at("2012-04-30T10:00"))
    src.add(Reply(STRANGER, 2, subject="SV: *fed* | [klik](http://x.example) <b>",
                  files=[(name, form)]).raw(), at("2012-04-30T11:00"))
    src.add(Reply(BUU, 3, in_reply_to=letter_id(st, "BUU"),
                  files=[("handleplan.docm", form)]).raw(), at("2012-04-30T12:00"))
    src.add(dsn(letter_id(st, "KFU"), "kfu-sekretariat@kff.kk.example"),
            at("2012-01-23T09:05"))
    return src


def test_the_intake_run_registers_sends_and_lists_everything(st: Setup, tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    src = world(st, tmp_path)
    report = runs.intake(st, src, AS_OF)
    assert report.kind == RunKind.INTAKE and report.intake is not None
    got = report.intake
    assert [h.outcome for h in got.handled] == [
        IntakeOutcome.REGISTERED, IntakeOutcome.HELD, IntakeOutcome.REFUSED,
        IntakeOutcome.BOUNCED]
    # the run's send step sent the receipt and the refusal (answering the committee's mail),
    # and the bounce's alert to the coordinator
    sent = mailbox(tmp_path)[before:]
    assert sorted(str(m["X-Aarshjul-Kind"]) for m in sent) == ["alert", "receipt", "refusal"]
    assert {m.kind for m in report.messages} == {"receipt", "refusal"}
    assert {m.state for m in report.messages} == {"sent"}
    assert src.pending() == []
    assert len(src.folder(IntakeFolder.HANDLED)) + len(src.folder(IntakeFolder.COORDINATOR)) == 4
    # the artifact: one section per outcome, the stranger's subject escaped
    [art] = report.artifacts
    assert art.key == "aarshjul-postkasse"
    md = art.markdown
    assert md.startswith("# Postkassen 4. maj 2012 kl. 09.00\n")
    assert "4 nye beskeder: 1 registreret, 1 til koordinatoren, 1 afvist fil, 1 kom retur." in md
    for title in ("## Registreret (1)", "## Til koordinatoren (1)", "## Afvist fil (1)",
                  "## Kom retur (1)"):
        assert title in md
    assert r"SV: \*fed\* \| \[klik\](http:\/\/x.example) \<b\>" in md  # no link, no tag
    assert "[klik](" not in md and "<b>" not in md
    assert "handleplan 2012 fra BUU" in md
    assert "registreret" in art.description and "prøvekørsel" not in art.description
    # a second run: nothing new, nothing sent again
    again = runs.intake(st, src, AS_OF)
    assert again.intake is not None and again.intake.handled == []
    assert len(mailbox(tmp_path)) == before + 3
    assert "0 nye beskeder: ingen nye beskeder." in again.artifacts[0].markdown


def test_a_dry_run_changes_nothing_and_publishes_without_a_key(st: Setup,
                                                               tmp_path: Path) -> None:
    before = len(mailbox(tmp_path))
    src = world(st, tmp_path)
    report = runs.intake(st, src, AS_OF, dry_run=True)
    assert report.intake is not None and len(report.intake.handled) == 4
    assert len(src.pending()) == 4 and len(mailbox(tmp_path)) == before
    assert report.messages == []
    [art] = report.artifacts
    assert art.key is None and "(prøvekørsel" in art.markdown
    assert runs.intake(st, src, AS_OF).intake is not None  # and the real run still finds all
    assert len(src.pending()) == 0


def test_markdown_escape_leaves_nothing_markdown_reads() -> None:
    hostile = ("# Overskrift\n| a | b |\n[x](javascript:alert(1)) `kode` *fed* _kursiv_ "
               "<img> &amp; \\")
    out = markdown_text(hostile)
    assert "\n" not in out
    for bare in ("# ", "|", "[x]", "`", "*", "_", "<", "&amp;"):
        assert bare not in out.replace("\\" + bare[0], "")
    assert markdown_text("BUU handleplan") == "BUU handleplan"


def _read(run_id: Any) -> tuple[Any, list[Any], list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as c:
        fr = c.read_flow_run(run_id)
        only = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        tasks = c.read_task_runs(flow_run_filter=only)
        arts = list(c.read_artifacts(flow_run_filter=only))
    return fr, tasks, arts


def test_the_intake_flow_is_named_tagged_and_publishes_its_artifact(
        prefect_harness, st: Setup, tmp_path: Path) -> None:
    src = world(st, tmp_path)
    with bound(Binding(st, AS_OF, source=src)):
        state = W.intake_flow(return_state=True)  # type: ignore[call-overload]
    assert state.is_completed(), state
    report = state.result()
    assert report.intake is not None and len(report.intake.of(IntakeOutcome.REGISTERED)) == 1
    fr, tasks, arts = _read(state.state_details.flow_run_id)
    assert fr.name == "postkasse · 4. maj 2012"
    assert {"aarshjul", "intake"} <= set(fr.tags)
    assert sorted(t.name.rsplit("-", 1)[0] for t in tasks) == ["intake", "publish", "send"]
    md = next(a for a in arts if a.key == "aarshjul-postkasse")
    assert "## Til koordinatoren (1)" in str(md.data)
    # the Runner starts the same flow; a rerun finds nothing new
    again = Runner(st, prefect=True).intake(AS_OF, src)
    assert again.intake is not None and again.intake.handled == []


def test_the_intake_flow_without_a_mailbox_is_refused_in_danish(
        prefect_harness, st: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AARSHJUL_IMAP_URL", raising=False)
    with bound(Binding(st, AS_OF)), pytest.raises(Refused, match="AARSHJUL_IMAP_URL er ikke sat"):
        W.intake_flow()
