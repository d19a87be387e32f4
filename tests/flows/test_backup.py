"""The backup drill (README "Backup and restore"): back up mid-year, send more, lose the
database, restore, go on; nothing sent is sent again, and the year ends with the messages of
a clean run. Also a backup taken while another process sends, and the refusals."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows import runs
from flows.cli import app
from flows.services.backup import (
    BackupError,
    create_backup,
    head_revision,
    open_archive,
    restore_database,
    restore_files,
)
from flows.services.keys import letter_key
from flows.services.outbox import deliver
from flows.services.reconcile import reconcile_journal
from flows.services.setup import Setup
from flows.simulate.scenario import Scenario
from flows.simulate.timeline import Order, Step, timeline
from letters.delivery import SmtpTransport
from letters.mail import message_id
from models.db import make_engine, upgrade
from models.kinds import OutboxStatus
from models.outbox import OutboxRow
from models.state import Request, SlotState, Submission
from tests.dbtools import BACKENDS, temp_postgres
from tests.flows.helpers import ROOT, at, form_docx, wheel_loaded
from tests.smtpd import Server, serve

CONFIG = str(ROOT / "aarshjul.yaml")
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
SUBMITTED = at("2012-04-25T10:00")  # after the before-7 reminders, before the loss
LOST_AT = at("2012-04-27T12:00")  # the database is lost here and restored


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def fresh_url(backend: str, tmp: Path, name: str) -> Iterator[str]:
    """The URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / (name + '.sqlite')}"
        return
    with temp_postgres() as url:
        yield url


def setup(eng: Engine, tmp: Path, server: Server) -> Setup:
    return Setup(wheel_loaded().wheel, eng, tmp / "data", transport=SmtpTransport(server.url),
                 actor="test")


def year_steps(st: Setup) -> list[Step]:
    return timeline(st.wheel, 2012, Scenario(None))


def committee_of(st: Setup) -> tuple[str, str]:
    with Session(st.db) as s:
        r = s.exec(select(Request).order_by(Request.id)).first()  # type: ignore[arg-type]
    assert r is not None
    return r.committee, r.deliverable


def step(st: Setup, s: Step) -> None:
    if s.order == Order.EVENT:
        runs.event(st, s.what, 2012, s.at)
    else:
        runs.chase(st, s.at)


def submit(st: Setup, tmp: Path) -> None:
    committee, deliverable = committee_of(st)
    f = form_docx(st, tmp / "indsendt.docx", committee, deliverable)
    runs.submit(st, 2012, committee, deliverable, f, SUBMITTED)


def deliveries(server: Server) -> Counter[str]:
    """Message-ID -> how many times the server accepted it."""
    return Counter(r.message_id for r in server.handler.received)


@pytest.fixture(scope="module")
def clean_year(tmp_path_factory: pytest.TempPathFactory) -> Counter[str]:
    """What a clean run of 2012 sends (the same scenario, no loss), on SQLite."""
    tmp = tmp_path_factory.mktemp("clean")
    with serve() as server:
        eng = make_engine(f"sqlite:///{tmp / 'clean.sqlite'}")
        upgrade(eng)
        st = setup(eng, tmp, server)
        submitted = False
        for s in year_steps(st):
            if not submitted and s.at > SUBMITTED:
                submit(st, tmp)
                submitted = True
            step(st, s)
        eng.dispose()
        return deliveries(server)


@pytest.mark.slow
def test_drill_back_up_send_more_lose_restore_carry_on(backend: str, tmp_path: Path,
                                                        clean_year: Counter[str]) -> None:
    archive = tmp_path / "backup.tar.gz"
    with serve() as server, fresh_url(backend, tmp_path, "before") as url1, \
            fresh_url(backend, tmp_path, "after") as url2:
        eng = make_engine(url1)
        upgrade(eng)
        st = setup(eng, tmp_path, server)
        steps = year_steps(st)
        done = 0
        for s in steps:
            if s.what == "opfordring":
                break
            step(st, s)
            done += 1
        # the January letters are queued, the server asks to try again later (451), and
        # the backup is taken before they go out
        for c in st.wheel.committee:
            mid = message_id(letter_key(2012, "opfordring", c), st.domain)
            server.handler.script[mid] = ["451", "250"]
        step(st, steps[done])
        done += 1
        r = create_backup(eng, st.data, archive, created_at=NOW)
        assert r.tables["outbox"] >= 7 and r.files > 0
        assert len(deliver(st, datetime.now(UTC) + timedelta(minutes=6)).sent) == 7
        # ... send more: reminders, and a receipt
        while steps[done].at < LOST_AT:
            if steps[done].at > SUBMITTED:
                break
            step(st, steps[done])
            done += 1
        submit(st, tmp_path)
        sent_before_loss = deliveries(server)
        assert any(n == 1 for n in sent_before_loss.values())
        eng.dispose()  # the database is lost; the data directory is not

        eng2 = make_engine(url2)
        opened = open_archive(archive, tmp_path / "unpacked")
        restore_database(eng2, opened)
        restore_files(opened, st.data)
        st2 = setup(eng2, tmp_path, server)
        rec = reconcile_journal(st2, LOST_AT)
        assert len(rec.marked_sent) == 7  # the letters, pending in the archive
        assert rec.added and rec.slots == len([k for k in rec.added if "reminder" in k])
        assert [x["key"] for x in rec.lost_submissions] == ["receipt:1"]
        assert reconcile_journal(st2, LOST_AT).changed is False  # twice: nothing more
        # nothing already sent goes out again, even with a chase right now
        runs.chase(st2, LOST_AT)
        assert deliveries(server) == sent_before_loss
        # the coordinator registers the lost submission again, as restore said
        submit(st2, tmp_path)
        assert deliveries(server) == sent_before_loss
        for s in steps[done:]:
            step(st2, s)
        got = deliveries(server)
        eng2.dispose()
    assert max(got.values()) == 1, [k for k, v in got.items() if v > 1]
    assert got == clean_year


def _count(eng: Engine, model: type) -> int:
    with Session(eng) as s:
        return len(s.exec(select(model)).all())


def _archived_journal(archive: Path) -> set[str]:
    """sha256 of each journal .eml in an archive."""
    out: set[str] = set()
    with tarfile.open(archive) as tar:
        for m in tar:
            if m.name.startswith("data/journal/") and m.name.endswith(".eml"):
                f = tar.extractfile(m)
                assert f is not None
                out.add(hashlib.sha256(f.read()).hexdigest())
    return out


WRITER = """
import sys
from pathlib import Path
from flows import runs
from flows.simulate.scenario import Scenario
from flows.simulate.timeline import Order, timeline
from models.db import make_engine
from tests.flows.helpers import make_setup
eng = make_engine(sys.argv[1])
st = make_setup(eng, Path(sys.argv[2]))
for s in timeline(st.wheel, 2012, Scenario(None)):
    if s.order == Order.CHASE:
        runs.chase(st, s.at)
    elif s.what in ("opfordring", "konference-invitation"):
        runs.event(st, s.what, 2012, s.at)
print("done", flush=True)
"""


@pytest.mark.slow
def test_backup_while_another_process_sends_is_consistent(backend: str, tmp_path: Path) -> None:
    with fresh_url(backend, tmp_path, "live") as url:
        eng = make_engine(url)
        upgrade(eng)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-c", WRITER, url, str(tmp_path)], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        archives: list[Path] = []
        try:
            while proc.poll() is None:  # backups while the other process sends
                a = tmp_path / f"b{len(archives)}.tar.gz"
                create_backup(eng, tmp_path / "data", a, created_at=NOW)
                archives.append(a)
                time.sleep(0.1)
        finally:
            out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"done" in out
        last = tmp_path / "last.tar.gz"
        create_backup(eng, tmp_path / "data", last, created_at=NOW)
        # a few of those taken during the run (spread over it), and one after
        chosen = [*archives[:: max(1, len(archives) // 6)], last]
        sent_seen = 0
        for i, a in enumerate(chosen):
            opened = open_archive(a, tmp_path / f"u{i}")
            files = _archived_journal(a)
            with fresh_url(backend, tmp_path / f"u{i}", "r") as rurl:
                reng = make_engine(rurl)
                restore_database(reng, opened)  # opens and migrates
                with Session(reng) as s:
                    sent = s.exec(select(OutboxRow).where(
                        OutboxRow.status == OutboxStatus.SENT)).all()
                reng.dispose()
            for row in sent:  # every message the snapshot says was sent: its copy is there
                assert row.sha256 in files, (a.name, row.key)
            sent_seen += len(sent)
        assert sent_seen > 0
        eng.dispose()


# --- the verbs and their refusals --------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AARSHJUL_SMTP_URL", raising=False)
    return tmp_path


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--config", CONFIG], catch_exceptions=False)


def _a_year_begun(tmp: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp / 'state.sqlite'}")
    upgrade(eng)
    from tests.flows.helpers import make_setup

    st = Setup(wheel_loaded().wheel, eng, tmp / "data",
               transport=make_setup(eng, tmp).transport, actor="test")
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    runs.chase(st, at("2012-04-17T09:00"))
    eng.dispose()


def test_backup_verb_writes_a_private_archive_and_refuses_an_existing_file(env: Path) -> None:
    _a_year_begun(env)
    target = env / "kopi.tar.gz"
    r = cli("backup", str(target))
    assert r.exit_code == 0, r.output
    assert "Sikkerhedskopi skrevet" in r.output
    assert (target.stat().st_mode & 0o777) == 0o600
    with tarfile.open(target) as tar:
        names = tar.getnames()
    assert names[-1] == "manifest.json" and "database/outbox.jsonl" in names
    assert "data/journal/index.jsonl" in names
    assert not any(n.endswith(".index.lock") for n in names)
    before = target.read_bytes()
    r = cli("backup", str(target))
    assert r.exit_code == 1 and "exists; give --force" in r.output
    assert target.read_bytes() == before
    assert cli("backup", str(target), "--force").exit_code == 0
    r = cli("backup", str(env / "nowhere" / "kopi.tar.gz"))
    assert r.exit_code == 1 and "does not exist" in r.output
    assert not list(env.glob(".kopi*"))  # no temporary file left behind


def test_restore_verb_refuses_a_database_with_rows_unless_forced(env: Path) -> None:
    _a_year_begun(env)
    target = env / "kopi.tar.gz"
    assert cli("backup", str(target)).exit_code == 0
    r = cli("restore", str(target))
    assert r.exit_code == 1 and "not empty" in r.output and "--force" in r.output
    (env / "state.sqlite").unlink()
    for side in ("-wal", "-shm"):
        Path(f"{env / 'state.sqlite'}{side}").unlink(missing_ok=True)
    r = cli("restore", str(target))
    assert r.exit_code == 0, r.output
    assert "Databasen er genskabt" in r.output and "0 filer tilføjet" in r.output
    eng = make_engine(f"sqlite:///{env / 'state.sqlite'}")
    assert _count(eng, Request) == 14 and _count(eng, SlotState) > 0
    eng.dispose()
    r = cli("restore", str(target), "--force")
    assert r.exit_code == 0 and "erstattet" in r.output


def test_restore_adds_missing_files_and_never_overwrites(env: Path) -> None:
    _a_year_begun(env)
    target = env / "kopi.tar.gz"
    assert cli("backup", str(target)).exit_code == 0
    data = env / "data"
    emls = sorted(data.glob("journal/*/*.eml"))
    emls[0].unlink()
    emls[1].write_bytes(b"newer")
    (env / "state.sqlite").unlink()
    r = cli("restore", str(target))
    assert r.exit_code == 0, r.output
    assert emls[0].exists() and emls[1].read_bytes() == b"newer"
    assert (emls[0].stat().st_mode & 0o777) == 0o600
    assert "1 filer tilføjet" in r.output


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    """Copy an archive member by member, letting ``change(name, data)`` alter each."""
    import io

    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin:
            f = tin.extractfile(m)
            assert f is not None
            data = change(m.name, f.read())
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_restore_refuses_damaged_altered_and_newer_archives(env: Path) -> None:
    _a_year_begun(env)
    good = env / "kopi.tar.gz"
    assert cli("backup", str(good)).exit_code == 0
    (env / "state.sqlite").unlink()
    data_before = sorted(p.relative_to(env) for p in (env / "data").rglob("*"))

    corrupt = env / "corrupt.tar.gz"
    corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    r = cli("restore", str(corrupt))
    assert r.exit_code == 1 and "not a readable archive" in r.output

    garbage = env / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all")
    assert cli("restore", str(garbage)).exit_code == 1

    altered = env / "altered.tar.gz"
    _rewrite(good, altered, lambda n, d: d.replace(b"opfordring", b"OPFORDRING")
             if n == "database/outbox.jsonl" else d)
    r = cli("restore", str(altered))
    assert r.exit_code == 1 and "checksum of database/outbox.jsonl" in r.output

    def newer(n: str, d: bytes) -> bytes:
        if n != "manifest.json":
            return d
        m = json.loads(d)
        m["migration_head"] = "9999_future"
        return json.dumps(m).encode()

    future = env / "future.tar.gz"
    _rewrite(good, future, newer)
    r = cli("restore", str(future))
    assert r.exit_code == 1 and "newer version" in r.output and head_revision() in r.output

    def miscounted(n: str, d: bytes) -> bytes:
        if n != "manifest.json":
            return d
        m = json.loads(d)
        m["tables"]["outbox"] += 1
        return json.dumps(m).encode()

    wrong_count = env / "count.tar.gz"
    _rewrite(good, wrong_count, miscounted)
    r = cli("restore", str(wrong_count))
    assert r.exit_code == 1 and "manifest says" in r.output

    assert cli("restore", str(env / "missing.tar.gz")).exit_code == 1
    # nothing was restored by any of them
    assert not (env / "state.sqlite").exists() or _count(
        make_engine(f"sqlite:///{env / 'state.sqlite'}"), OutboxRow) == 0
    assert cli("restore", str(good)).exit_code == 0  # and the good one still restores
    assert sorted(p.relative_to(env) for p in (env / "data").rglob("*")) == data_before


def test_open_archive_refuses_a_member_outside(tmp_path: Path) -> None:
    import io

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BackupError, match="not a plain file"):
        open_archive(evil, tmp_path / "u")
    assert not (tmp_path / "escape").exists()


def test_submission_lost_with_the_database_is_reported(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    upgrade(eng)
    from tests.flows.helpers import make_setup

    st = make_setup(eng, tmp_path)
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    create_backup(eng, st.data, tmp_path / "k.tar.gz", created_at=NOW)
    submit(st, tmp_path)
    eng.dispose()
    eng2 = make_engine(f"sqlite:///{tmp_path / 'b.sqlite'}")
    opened = open_archive(tmp_path / "k.tar.gz", tmp_path / "u")
    restore_database(eng2, opened)
    st2 = make_setup(eng2, tmp_path)
    (st.data / "journal" / "index.jsonl").unlink()  # lost too: rebuilt from the .eml files
    rec = reconcile_journal(st2, LOST_AT)
    assert rec.unkeyed == [] and rec.added == ["receipt:1"]  # its key read from its name
    assert _count(eng2, Submission) == 0
    assert [x["key"] for x in rec.lost_submissions] == ["receipt:1"]
    with Session(eng2) as s:
        row = s.exec(select(OutboxRow).where(OutboxRow.key == "receipt:1")).one()
    assert row.status == OutboxStatus.SENT
    eng2.dispose()
    with pytest.raises(BackupError, match="not empty"):
        restore_database(make_engine(f"sqlite:///{tmp_path / 'b.sqlite'}"), opened)


def test_a_letter_sent_after_the_backup_opens_its_requests_again(tmp_path: Path) -> None:
    from tests.flows.helpers import mailbox, make_setup

    eng = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    upgrade(eng)
    st = make_setup(eng, tmp_path)
    create_backup(eng, st.data, tmp_path / "k.tar.gz", created_at=NOW)  # an empty year
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    assert len(mailbox(tmp_path)) == 7
    eng.dispose()
    eng2 = make_engine(f"sqlite:///{tmp_path / 'b.sqlite'}")
    restore_database(eng2, open_archive(tmp_path / "k.tar.gz", tmp_path / "u"))
    st2 = make_setup(eng2, tmp_path)
    rec = reconcile_journal(st2, LOST_AT)
    assert len(rec.added) == 7 and rec.opened == 14
    with Session(eng2) as s:
        opened = {r.opened_at for r in s.exec(select(Request)).all()}
    assert len(opened) == 1  # when the letters went out, as the journal says
    assert runs.event(st2, "opfordring", 2012, at("2012-01-20T09:00")).messages == []
    r = runs.chase(st2, at("2012-04-17T09:00"))
    assert [m.slot for m in r.messages] == ["before-14"] * 7
    eng2.dispose()


def test_the_backup_units_run_the_verb_private_and_nightly() -> None:
    unit = (ROOT / "deploy" / "aarshjul-backup.service").read_text(encoding="utf-8")
    for key in ("Type=oneshot", "User=aarshjul", "UMask=0077", "EnvironmentFile=",
                "aarshjul backup --config"):
        assert key in unit, key
    timer = (ROOT / "deploy" / "aarshjul-backup.timer").read_text(encoding="utf-8")
    assert "OnCalendar=" in timer and "Persistent=true" in timer
    assert "Unit=aarshjul-backup.service" in timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_backup_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    for name in ("aarshjul-backup.service", "aarshjul-backup.timer"):
        (tmp_path / name).write_bytes((ROOT / "deploy" / name).read_bytes())
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "aarshjul-backup.timer"),
                           str(tmp_path / "aarshjul-backup.service")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stderr
