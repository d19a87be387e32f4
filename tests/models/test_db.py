"""The database: URLs, engines, Alembic on SQLite and PostgreSQL, models vs migrations."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import models.outbox
from models.db import (
    DEFAULT_URL,
    alembic_config,
    all_metadata,
    current_revision,
    database_url,
    make_engine,
    migration_heads,
    session,
    upgrade,
    write_session,
)
from models.outbox import OutboxControl
from tests import ROOT
from tests.dbtools import temp_postgres

if importlib.util.find_spec("models.state") is not None:
    import models.state

OUTBOX_TABLES = {"outbox", "outbox_alert", "outbox_control"}


def test_database_url() -> None:
    assert database_url(None) == database_url("") == DEFAULT_URL == "sqlite:///aarshjul.sqlite"
    assert database_url("postgresql://u@db:5432/aarshjul") == \
        "postgresql+psycopg://u@db:5432/aarshjul"
    assert database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def _heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_the_heads_read_from_the_files_are_alembics() -> None:
    assert migration_heads() == _heads()
    assert len(_heads()) == 1


START_AT_HEAD = """
import sys
from models.db import make_engine, upgrade
upgrade(make_engine(sys.argv[1]))
print("alembic" in sys.modules)
"""


def test_a_start_on_a_database_at_head_reads_the_revision_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    engine = make_engine(url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) in _heads()
    engine.dispose()
    loaded = subprocess.run([sys.executable, "-c", START_AT_HEAD, url], capture_output=True,
                            text=True, check=True).stdout.split()
    assert loaded == ["False"]


def _check_upgrade(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) in _heads()
    assert OUTBOX_TABLES <= set(inspect(engine).get_table_names())
    upgrade(engine)  # again: nothing to do
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(mc, all_metadata())
    assert diff == [], f"models and migrations disagree: {diff}"
    # every table the models declare exists (all of models.db.TABLE_MODULES)
    assert set(all_metadata().tables) <= set(inspect(engine).get_table_names())


def test_first_revision_is_the_outbox() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_revision("0001_outbox").down_revision is None
    assert len(_heads()) == 1
    assert models.outbox.OutboxRow.__tablename__ == "outbox"


def test_upgrade_head_on_empty_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    _check_upgrade(engine)


def test_upgrade_from_a_url_string(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    upgrade(url)
    assert current_revision(make_engine(url)) in _heads()




def _alembic_cli(url: str) -> None:
    env = dict(os.environ, AARSHJUL_DATABASE_URL=url)
    alembic = str(Path(sys.executable).with_name("alembic"))
    subprocess.run([alembic, "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def test_alembic_command_line_on_empty_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    _alembic_cli(url)
    engine = make_engine(url)
    assert current_revision(engine) in _heads()
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(mc, all_metadata()) == []


@pytest.mark.postgres
def test_alembic_command_line_on_empty_postgres() -> None:
    with temp_postgres() as url:
        _alembic_cli(url)
        engine = make_engine(url)
        try:
            assert current_revision(engine) in _heads()
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_upgrade_head_on_empty_postgres() -> None:
    with temp_postgres() as url:
        engine = make_engine(url)
        try:
            _check_upgrade(engine)
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar() == 1
        finally:
            engine.dispose()


def test_instants_are_stored_in_utc_and_come_back_aware(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 't.sqlite'}")
    upgrade(engine)
    cph = timezone(timedelta(hours=2))
    with write_session(engine) as s:
        s.add(OutboxControl(id=1, paused=True, changed_at=datetime(2012, 4, 24, 9, tzinfo=cph)))
        s.commit()
    with session(engine) as s:
        got = s.get(OutboxControl, 1)
        assert got is not None and got.changed_at == datetime(2012, 4, 24, 7, tzinfo=UTC)
        assert got.changed_at.tzinfo is not None
    with session(engine) as s, pytest.raises(Exception, match="naive"):
        s.add(OutboxControl(id=2, paused=False, changed_at=datetime(2012, 4, 24, 9)))
        s.commit()


def test_autogenerate_leaves_the_scheduler_job_store_alone(tmp_path: Path) -> None:
    """`serve` keeps APScheduler's job store in the app database; autogenerate must not
    propose to drop it (the migrations do not own it)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from flows.serve import JOBS_TABLE
    from models.db import FOREIGN_TABLES, include_object

    assert JOBS_TABLE in FOREIGN_TABLES
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    upgrade(engine)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    store.start(None, "default")  # creates the table, as serve's scheduler does
    assert JOBS_TABLE in inspect(engine).get_table_names()
    with engine.connect() as conn:
        unfiltered = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), all_metadata()
        )
        # what the filter is for: without it, autogenerate would drop the job store
        assert {d[0] for d in unfiltered} == {"remove_table", "remove_index"}
        filtered = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        assert compare_metadata(filtered, all_metadata()) == []
    engine.dispose()


def test_table_modules_list_every_module_with_tables() -> None:
    from models.db import TABLE_MODULES

    models_dir = ROOT / "models"
    defining = {
        f"models.{p.stem}" for p in models_dir.glob("*.py") if "table=True" in p.read_text()
    }
    assert defining == set(TABLE_MODULES)
