"""``aarshjul purge`` and ``aarshjul export`` (README "Data protection") over a simulated year."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sqlite3
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.prefect_server import configured_api_url
from letters.slim import slim
from tests import ROOT

CONFIG = ROOT / "aarshjul.yaml"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("records") / "year"
    r = CliRunner().invoke(app, ["simulate", "--year", "2012", "--out", str(out),
                                 "--no-prefect", "--config", str(CONFIG)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture
def year(simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    out = tmp_path / "year"
    shutil.copytree(simulated, out)
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{out / 'state.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(out))
    monkeypatch.delenv("AARSHJUL_SMTP_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    yield out


def cli(*args: str, config: Path = CONFIG):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def q(out: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(out / "state.sqlite") as c:
        return c.execute(sql).fetchall()


def tree(top: Path) -> dict[str, str]:
    return {p.relative_to(top).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(top.rglob("*"))
            if p.is_file() and not p.name.startswith("state.sqlite")}  # (rows compared)


def counts(output: str) -> dict[str, int]:
    out = {}
    for line in output.splitlines():
        parts = line.split()
        for i, w in enumerate(parts):
            if w.isdigit() and i:
                out[" ".join(parts[:i])] = int(w)
                break
    return out


def _wheel_with(tmp: Path, retention: str) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace("\n  coordinator:", f"\n  retention: {retention}\n  coordinator:", 1)
    path = tmp / "aarshjul.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli("check", config=path).exit_code == 0
    return path


def test_a_dry_run_lists_per_kind_and_removes_nothing(year: Path) -> None:
    before = tree(year)
    db_before = q(year, "select id, length(raw), status from outbox order by id")
    rows = [q(year, f"select * from {t} order by id") for t in ("audit_log", "documents")]
    r = cli("purge", "--dry-run", "--as-of", "2030-01-01T09:00")
    assert r.exit_code == 0, r.output
    c = counts(r.output)
    assert c["outbox bodies"] == db_before.__len__() - q(
        year, "select count(*) from outbox where status != 'sent'")[0][0]
    assert c["submissions"] > 0 and c["audit log"] > 0 and c["journal copies"] == 0
    assert "MB" in r.output or "KB" in r.output
    if configured_api_url() is None:  # (a session's test server may be up)
        assert "ingen Prefect-server er sat op" in r.output
    assert "intet er slettet" in r.output
    assert tree(year) == before
    assert q(year, "select id, length(raw), status from outbox order by id") == db_before
    assert [q(year, f"select * from {t} order by id") for t in ("audit_log", "documents")
            ] == rows


def test_purge_removes_what_is_past_retention_and_never_resends(year: Path,
                                                                tmp_path: Path) -> None:
    config = _wheel_with(tmp_path, "{journal_days: 365}")
    sent = q(year, "select key, message_id, status from outbox order by id")
    mailbox = len(list((year / "mailbox").glob("*.eml")))
    r = cli("purge", "--as-of", "2099-01-01T09:00", config=config)
    assert r.exit_code == 1 and "efter nu" in r.output  # never ahead of time
    r = cli("purge", "--as-of", "2026-01-01T09:00", config=config)
    assert r.exit_code == 0, r.output
    # the rows stay, with their status: only the bodies went
    assert q(year, "select key, message_id, status from outbox order by id") == sent
    assert q(year, "select count(*) from outbox where status = 'sent' and length(raw) > 0"
             ) == [(0,)]
    assert not list((year / "journal").rglob("*.eml"))
    assert (year / "journal" / "index.jsonl").read_bytes() == b""
    assert not list((year / "submissions").rglob("*.docx"))
    assert q(year, "select count(*) from documents where path != ''") == [(0,)]
    assert q(year, "select action from audit_log") == [("purge",)]
    again = cli("purge", "--dry-run", "--as-of", "2026-01-01T09:00", config=config)
    assert all(n == 0 for n in counts(again.output).values()), again.output
    # a chase (and a resend) afterwards sends nothing that was sent
    for when in ("2012-04-17T09:00", "2012-12-28T09:00"):
        assert cli("chase", "--as-of", when, config=config).exit_code == 0
    assert len(list((year / "mailbox").glob("*.eml"))) == mailbox
    assert q(year, "select count(*) from outbox") == [(len(sent),)]
    key = sent[0][0]
    r = cli("resend", key, "--as-of", "2012-12-28T09:00", config=config)
    assert r.exit_code == 1 and "opbevaringsfristen" in r.output


def test_nothing_an_open_request_or_a_waiting_row_needs_goes(year: Path) -> None:
    (committee, deliverable), = q(year, "select committee, deliverable from requests "
                                  "where status = 'open' limit 1")
    q_rows = f"select id, length(raw) from outbox where committee = '{committee}' order by id"
    theirs = q(year, q_rows)
    with sqlite3.connect(year / "state.sqlite") as c:  # a row still waiting to go out
        c.execute("update outbox set status = 'pending', sent_at = NULL where id = "
                  "(select min(id) from outbox where committee != ?)", (committee,))
    waiting = q(year, "select id, length(raw) from outbox where status = 'pending'")
    r = cli("purge", "--as-of", "2012-12-30T09:00")  # within 2012: the request is open
    assert r.exit_code == 0, r.output
    assert q(year, q_rows) == theirs
    assert q(year, "select id, length(raw) from outbox where status = 'pending'") == waiting
    assert q(year, f"select count(*) from audit_log where committee = '{committee}' "
             f"and deliverable = '{deliverable}'")[0][0] > 0


def test_slimming_keeps_the_text_and_the_journal_copy_and_resend_uses_the_copy(
        year: Path) -> None:
    sent = q(year, "select id, key, sha256, length(raw), kind from outbox "
             "where status = 'sent' order by id")
    r = cli("purge", "--as-of", "2013-01-20T09:00")
    assert r.exit_code == 0, r.output
    now = dict(q(year, "select id, length(raw) from outbox"))
    slimmed = [(i, k, sha, kind) for i, k, sha, n, kind in sent if 0 < now[i] < n]
    assert counts(r.output)["outbox attachments"] == len(slimmed)
    assert counts(r.output)["outbox bodies"] == sum(now[i] == 0 for i, *_ in sent) > 0
    i, key, sha = next((i, k, sha) for i, k, sha, kind in reversed(slimmed) if kind == "letter")
    raw = q(year, f"select raw from outbox where id = {i}")[0][0]
    assert b"Content-Disposition: attachment" not in raw and b"journalkopien" in raw
    copy = next(p for p in (year / "journal").rglob("*.eml")
                if hashlib.sha256(p.read_bytes()).hexdigest() == sha)
    assert slim(copy.read_bytes()) == raw  # only the attachments went
    r = cli("resend", key, "--as-of", "2013-01-21T09:00")
    assert r.exit_code == 0, r.output
    cli("chase", "--as-of", "2013-01-21T09:00")
    resent = q(year, f"select raw from outbox where key like 'resend:{key}:%'")[0][0]
    assert resent.endswith(copy.read_bytes())


def _zip(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(path)


def test_export_of_a_committee_holds_its_records_and_nothing_else(year: Path,
                                                                  tmp_path: Path) -> None:
    target = tmp_path / "OEU.zip"
    r = cli("export", "--committee", "OEU", "-o", str(target))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    z = _zip(target)
    index = json.loads(z.read("index.json"))
    rows = list(csv.DictReader(io.StringIO(z.read("index.csv").decode("utf-8"))))
    assert [r["file"] for r in rows] == [r["file"] for r in index]
    assert {r["file"] for r in index} | {"index.json", "index.csv", "audit.json",
                                         "audit.csv"} == set(z.namelist())
    assert {r["committee"] for r in index} == {"OEU"}
    keys = {r["key"] for r in index if r["kind"] == "message"}
    expected = {k for k, in q(year, "select key from outbox where committee = 'OEU'")}
    assert keys == expected
    subs = q(year, "select count(*) from submissions s join requests r on r.id = s.request_id"
             " where r.committee = 'OEU'")[0][0]
    assert sum(r["kind"] == "submission" for r in index) == subs > 0
    assert any(r["kind"] == "attachment" for r in index)
    for r in index:
        if r["kind"] == "message":
            assert hashlib.sha256(z.read(r["file"])).hexdigest() == r["sha256"]
    audit = json.loads(z.read("audit.json"))
    assert audit and {a["committee"] for a in audit} == {"OEU"}
    others = {c for c, in q(year, "select distinct committee from outbox "
                            "where committee is not null and committee != 'OEU'")}
    text = b"".join(z.read(n) for n in z.namelist() if n.endswith(".eml"))
    for other in others:
        assert f"X-Aarshjul-Committee: {other}\r\n".encode() not in text


def test_export_by_address_and_refusals(year: Path, tmp_path: Path) -> None:
    rcpts = q(year, "select recipients from outbox where committee = 'OEU' limit 1")[0][0]
    address = json.loads(rcpts)[0]
    target = tmp_path / "a.zip"
    r = cli("export", "--address", address.upper(), "-o", str(target))
    assert r.exit_code == 0, r.output
    index = json.loads(_zip(target).read("index.json"))
    mine = {k for k, rc in q(year, "select key, recipients from outbox")
            if address in json.loads(rc)}
    assert {r["key"] for r in index if r["kind"] == "message"} == mine
    r = cli("export", "--committee", "NOPE", "-o", str(tmp_path / "n.zip"))
    assert r.exit_code == 1 and "NOPE" in r.output and not (tmp_path / "n.zip").exists()
    r = cli("export", "--address", "nobody@nowhere.example", "-o", str(tmp_path / "m.zip"))
    assert r.exit_code == 1 and "nobody@nowhere.example" in r.output
    assert cli("export", "-o", str(tmp_path / "x.zip")).exit_code == 2


def test_prefect_artifacts_and_flow_runs_past_retention(prefect_harness, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by age through the Prefect client, deleted; the CLI counts them (dry run)."""
    from datetime import UTC, datetime, timedelta

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows import workflows as W
    from flows.prefect_records import PrefectFound, delete, find_old
    from tests.dbtools import database
    from tests.flows.helpers import flow_at, make_setup

    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        state = flow_at(W.event_flow, st, "2012-01-20T09:00", year=2012, event="opfordring",
                        return_state=True)
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as c:
        arts = {a.id for a in c.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))}
    assert arts
    now = datetime.now(UTC)
    young = find_old(now, 90, 90)
    assert run_id not in young.runs and not arts & set(young.artifacts)
    old = find_old(now + timedelta(days=91), 90, 90)
    assert run_id in old.runs and arts <= set(old.artifacts)
    assert find_old(now + timedelta(days=91), None, None) == PrefectFound()
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "cli-data"))
    r = cli("purge", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "ingen Prefect-server" not in r.output and "prefect flow runs" in r.output
    delete(PrefectFound(artifacts=sorted(arts), runs=[run_id]))  # ours only: a shared server
    with get_client(sync_client=True) as c:
        assert not c.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
            any_=[run_id])))
        left = {a.id for a in c.read_artifacts(limit=200)}
    assert not arts & left
    delete(PrefectFound(artifacts=sorted(arts), runs=[run_id]))  # gone already: skipped
