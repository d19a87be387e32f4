"""A committee's file through `aarshjul submit`: hostile files are refused and leave no trace;
the real form is stored, read back, and what was read shows in the receipt run and `status`;
a .docx that is not our form is accepted with a warning. Real files, a real SQLite store."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import docx
import pytest

from tests.flows.helpers import ROOT, cli, cli_env_opened
from tests.letters import hostile
from tests.letters.test_readback import ROWS, TEXTS, fill, save, sent_form

CONFIG = str(ROOT / "aarshjul.yaml")
SUBMIT = ("--year", "2012", "--committee", "BUU", "--deliverable", "handleplan")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_prefect: None) -> Path:
    monkeypatch.setenv("COLUMNS", "260")  # the status table on one line per request
    return cli_env_opened(tmp_path, monkeypatch)


def count(tmp: Path, table: str) -> int:
    with sqlite3.connect(tmp / "state.sqlite") as c:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def stored_files(tmp: Path) -> list[Path]:
    base = tmp / "data" / "submissions"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def receipts(tmp: Path) -> list[Path]:
    return [
        p
        for p in sorted((tmp / "data" / "outgoing").glob("*.eml"))
        if b"X-Aarshjul-Kind: receipt" in p.read_bytes()
    ]


def status_json(as_of: str = "2012-06-01T09:00") -> dict:
    r = cli("status", "--year", "2012", "--json", "--as-of", as_of)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def request_row(doc: dict, committee: str = "BUU") -> dict:  # type: ignore[type-arg]
    """The row of ``committee``'s handleplan in ``status --json``'s ``doc``."""
    return next(q for q in doc["requests"]
                if (q["committee"], q["deliverable"]) == (committee, "handleplan"))


def filled_form() -> bytes:
    return save(fill(docx.Document(io.BytesIO(sent_form()))))


def submit_registered(env: Path, d: Any, name: str, when: str) -> str:
    """``aarshjul submit`` of the document ``d`` saved as ``name``, at ``when``: registered
    (exit status 0); what it printed, on one line."""
    f = env / name
    f.write_bytes(save(d))
    r = cli("submit", str(f), *SUBMIT, "--at", when)
    assert r.exit_code == 0, r.output
    return " ".join(r.stdout.split())


@pytest.mark.parametrize("case", sorted(hostile.HOSTILE))
def test_hostile_files_are_refused_through_submit_and_nothing_is_stored(
    env: Path, case: str
) -> None:
    make, name, fragment = hostile.HOSTILE[case]
    f = env / name
    f.write_bytes(make())
    r = cli("submit", str(f), *SUBMIT, "--at", "2012-04-20T10:00")
    assert r.exit_code == 1, r.output
    [err] = [" ".join(x.split()) for x in r.stderr.split("\n") if x.startswith("refused")]
    assert err.startswith(f"refused: {name}: "), err
    assert fragment in err
    assert f"{name}: {name}" not in err  # the name once, then the reason
    assert "Traceback" not in r.output
    assert stored_files(env) == []
    assert count(env, "documents") == 0 and count(env, "submissions") == 0
    assert receipts(env) == []
    row = request_row(status_json())
    assert row["status"] == "open" and row["reading"] is None


def test_the_real_form_is_stored_read_back_and_shown_in_the_run_and_status(env: Path) -> None:
    data = filled_form()
    f = env / "BUU handleplan 2012.docx"
    f.write_bytes(data)
    r = cli("submit", str(f), *SUBMIT, "--at", "2012-04-20T10:00")
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())
    # stored whole, content-addressed, and journaled
    [stored] = stored_files(env)
    assert stored.read_bytes() == data
    import hashlib

    assert stored.name == hashlib.sha256(data).hexdigest() + ".docx"
    assert count(env, "documents") == 1 and count(env, "submissions") == 1
    assert len(receipts(env)) == 1
    # the receipt run's notes say what was read
    assert "Læst fra formularen: tekst under 3 af 3 mål (HM1, HM3, HM5)." in out
    total = 1_500_000 + 1_500_000 + 250_000 + 500_000 + 2_000_000_000 + 75_000
    amount = f"{total:,}".replace(",", ".")
    assert f"Initiativtabel: {len(ROWS)} initiativer, i alt {amount} kr." in out
    assert "kr.." not in out  # one full stop after an amount
    assert "Mangler" not in out
    # status: the Læst column and the JSON reading
    doc = status_json()
    reading = request_row(doc)["reading"]
    assert reading["is_form"] is True
    assert reading["goals_read"] == sorted(TEXTS) and reading["goals_missing"] == []
    assert reading["initiatives"] == len(ROWS) and reading["amount_dkk"] == total
    assert request_row(doc, "KFU")["reading"] is None
    r = cli("status", "--year", "2012", "--as-of", "2012-06-01T09:00")
    assert r.exit_code == 0
    assert "Læst" in r.stdout and "3/3 mål, 6 initiativer" in " ".join(r.stdout.split())


def test_an_implausible_amount_is_registered_with_a_warning_not_a_crash(env: Path) -> None:
    rows = [("Mentorordning", "HM1", "99999999999999999999999999 mia. kr.", "Ja"),
            ("Lektiecafe", "HM1", "500 t.kr.", "Nej")]
    d = fill(docx.Document(io.BytesIO(sent_form())), rows=rows)
    out = submit_registered(env, d, "handleplan.docx", "2012-04-20T10:00")
    assert "Initiativtabel: 2 initiativer, i alt 500.000 kr." in out
    assert "1.000 mia. kr." in out  # the warning states the bound
    assert count(env, "submissions") == 1 and len(receipts(env)) == 1


def test_a_form_with_a_missing_heading_and_no_table_says_what_is_missing(env: Path) -> None:
    d = fill(docx.Document(io.BytesIO(sent_form())))
    head = next(p for p in d.paragraphs if p.text.startswith("HM3 "))
    head.text = "Medarbejdere"  # the key is gone, the title too: HM3 cannot be found
    d.tables[0]._tbl.getparent().remove(d.tables[0]._tbl)
    out = submit_registered(env, d, "handleplan.docx", "2012-05-02T10:00")
    assert "Mangler: ingen overskrift for HM3" in out
    assert "Mangler: ingen initiativtabel fundet" in out
    assert "advarsler ved indlæsningen" in out
    reading = request_row(status_json())["reading"]
    assert reading["goals_missing"] == ["HM3"] and reading["table_found"] is False
    assert reading["warnings"]


def test_a_docx_that_is_not_the_form_is_accepted_with_a_warning(env: Path) -> None:
    d = docx.Document()
    d.add_paragraph("Kære sekretariat, hermed vores bemærkninger i fritekst.")
    out = submit_registered(env, d, "brev.docx", "2012-04-20T10:00")
    assert "BUU handleplan 2012: rettidig" in out
    assert "Advarsel: filen ligner ikke årshjulets formular" in out
    assert len(stored_files(env)) == 1 and len(receipts(env)) == 1
    reading = request_row(status_json())["reading"]
    assert reading["is_form"] is False and reading["label"] == "ikke formularen"
    r = cli("status", "--year", "2012", "--as-of", "2012-06-01T09:00")
    assert "ikke formularen" in r.stdout


def test_the_receipt_flow_publishes_what_was_read(prefect_harness, tmp_path: Path) -> None:
    """Under Prefect, the receipt run's summary artifact lists the notes (Bemærkninger)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows import workflows as W
    from tests.dbtools import database
    from tests.flows.helpers import flow_at, make_setup

    f = tmp_path / "handleplan.docx"
    f.write_bytes(filled_form())
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring")
        state = flow_at(W.receipt_flow, st, "2012-04-20T10:00", upload=f, year=2012,
                        committee="BUU", deliverable="handleplan", return_state=True)
    assert state.is_completed(), state
    report = state.result()
    assert any(n.startswith("Læst fra formularen: tekst under 3 af 3 mål") for n in report.notes)
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as c:
        arts = c.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    md = next(str(a.data) for a in arts if a.type == "markdown")
    assert "## Bemærkninger" in md and "Læst fra formularen: tekst under 3 af 3 mål" in md


# The whole `aarshjul submit` (CLI, engine, SQLite) in a child whose address space is capped
# at 256 MB before anything is imported; every hostile file, then the real form.
CAPPED = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
from typer.testing import CliRunner
from flows.cli import app
config, files = sys.argv[1], sys.argv[2:]
out = []
for f in files:
    r = CliRunner().invoke(app, ["submit", f, "--year", "2012", "--committee", "BUU",
                                 "--deliverable", "handleplan", "--at", "2012-04-20T10:00",
                                 "--config", config])
    out.append({"file": f, "exit": r.exit_code, "stderr": r.stderr,
                "error": repr(r.exception) if r.exit_code not in (0, 1) else None})
print(json.dumps({"results": out,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def test_the_whole_submit_verb_refuses_the_corpus_under_256mb(env: Path) -> None:
    import os
    import subprocess
    import sys

    files = []
    for i, case in enumerate(sorted(hostile.HOSTILE)):
        make, name, fragment = hostile.HOSTILE[case]
        d = env / f"case{i}"
        d.mkdir()
        (d / name).write_bytes(make())
        files.append((d / name, fragment))
    good = env / "BUU handleplan.docx"
    good.write_bytes(filled_form())
    proc = subprocess.run(
        [sys.executable, "-c", CAPPED, CONFIG, *[str(f) for f, _ in files], str(good)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])["results"]
    for (f, fragment), r in zip(files, results[:-1], strict=True):
        assert r["exit"] == 1, r
        assert f"refused: {f.name}: " in r["stderr"] and fragment in " ".join(r["stderr"].split())
    assert results[-1]["exit"] == 0, results[-1]
    [stored] = stored_files(env)
    assert stored.read_bytes() == good.read_bytes()
    assert count(env, "documents") == 1 and count(env, "submissions") == 1


def audit_outcomes(tmp: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp / "state.sqlite") as c:
        return [(str(a), str(o)) for a, o in c.execute(
            "SELECT action, outcome FROM audit_log WHERE action = 'submit' ORDER BY id")]


def test_the_same_file_twice_adds_no_revision_and_sends_no_second_receipt(env: Path) -> None:
    data = filled_form()
    f = env / "BUU handleplan 2012.docx"
    f.write_bytes(data)
    assert cli("submit", str(f), *SUBMIT, "--at", "2012-04-20T10:00").exit_code == 0
    again = env / "kopi.docx"
    again.write_bytes(data)
    r = cli("submit", str(again), *SUBMIT, "--at", "2012-04-22T11:00")
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())
    assert ("Filen «kopi.docx» er identisk med den allerede registrerede fil (den første "
            "aflevering, modtaget 20. april 2012). Der er ikke registreret en ny udgave og "
            "ikke sendt en ny kvittering.") in out
    assert "revideret" not in out
    assert count(env, "submissions") == 1 and count(env, "documents") == 1
    assert len(receipts(env)) == 1
    assert audit_outcomes(env) == [("submit", "on_time"), ("submit", "duplicate")]
    assert request_row(status_json())["status"] == "on_time"
    # a changed file is a revision with its own receipt; the first file again after it is
    # one more revision (the committee went back to it), not a duplicate
    changed = env / "ny.docx"
    d = docx.Document(io.BytesIO(data))
    d.add_paragraph("Tilføjet efter mødet.")
    changed.write_bytes(save(d))
    r = cli("submit", str(changed), *SUBMIT, "--at", "2012-04-23T11:00")
    assert r.exit_code == 0 and "identisk" not in r.stdout
    r = cli("submit", str(changed), *SUBMIT, "--at", "2012-04-24T11:00")
    assert r.exit_code == 0 and "(revision 1, modtaget 23. april 2012)" in " ".join(
        r.stdout.split())
    r = cli("submit", str(f), *SUBMIT, "--at", "2012-04-25T11:00")
    assert r.exit_code == 0 and "identisk" not in r.stdout
    assert count(env, "submissions") == 3 and len(receipts(env)) == 3
    assert [o for _, o in audit_outcomes(env)] == [
        "on_time", "duplicate", "revision", "duplicate", "revision"]


def test_the_same_file_after_reopen_is_registered_again(env: Path) -> None:
    f = env / "BUU handleplan 2012.docx"
    f.write_bytes(filled_form())
    assert cli("submit", str(f), *SUBMIT, "--at", "2012-04-20T10:00").exit_code == 0
    (sub,) = status_json()["submissions"]
    r = cli("reopen", "--submission", str(sub["id"]), "--as-of", "2012-04-23T10:00")
    assert r.exit_code == 0, r.output
    r = cli("submit", str(f), *SUBMIT, "--at", "2012-04-24T10:00")
    assert r.exit_code == 0 and "identisk" not in r.stdout
    assert count(env, "submissions") == 2 and len(receipts(env)) == 2
