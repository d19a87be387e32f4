"""Several first runs migrating one empty database at once (README "Several first starts on
one database"): each waits for the others' migration and all succeed, with one schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from models.db import alembic_config, current_revision, make_engine
from tests import ROOT
from tests.dbtools import sqlite_url, temp_postgres

RUNNERS = 4
# Each child imports everything, says "ready", then waits for the parent's go, so that the
# migrations really start together.
CHILD = """
import sys
from models.db import upgrade
import alembic.command, models.state, models.outbox, models.budget_state
print("ready", flush=True)
sys.stdin.readline()
upgrade(sys.argv[1])
print("done", flush=True)
"""


def _race(url: str) -> None:
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=ROOT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(RUNNERS)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    failures = [err for child, (_, err) in zip(children, results, strict=True)
                if child.returncode != 0]
    assert failures == []
    assert all(out.strip() == "done" for out, _ in results)
    engine = make_engine(url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        assert current_revision(engine) in heads
        tables = set(inspect(engine).get_table_names())
        assert {"alembic_version", "outbox", "outbox_control"} <= tables
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_first_runs_racing_on_an_empty_postgres_all_succeed() -> None:
    with temp_postgres() as url:
        _race(url)


def test_first_runs_racing_on_a_new_sqlite_file_all_succeed(tmp_path: Path) -> None:
    _race(sqlite_url(tmp_path))
