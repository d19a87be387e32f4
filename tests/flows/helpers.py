"""Shared set-up for the flow tests: a wheel, a fresh database (:func:`tests.dbtools.database`),
an engine Setup whose mail goes to a directory, readers for what was really sent, and the
command line on a SQLite store in a temporary folder (:func:`cli_env`, :func:`cli`)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from flows.cli import app
from flows.services.messages import render_docx
from flows.services.setup import Setup
from letters.context import form_context
from letters.delivery import DirectoryTransport
from models.config import Loaded, load, loads
from tests import CPH, ROOT

CONFIG = str(ROOT / "aarshjul.yaml")


def at(text_: str) -> datetime:
    """A local Copenhagen instant, e.g. ``at("2012-04-30T09:00")``."""
    return datetime.fromisoformat(text_).replace(tzinfo=CPH)


def flow_at(fn: Any, st: Setup, when: str, *, upload: Path | None = None,
            preview_dir: Path | None = None, **params: Any) -> Any:
    """Run the Prefect flow ``fn`` in this process as of the local instant ``when``, bound
    to ``st`` as the CLI binds it (``upload``: the file a receipt run registers)."""
    from flows.binding import Binding, bound

    with bound(Binding(st, at(when), preview_dir, upload)):
        return fn(**params)


def run_artifact(state: Any, key: str) -> Any:
    """The artifact ``key`` that the completed flow run of ``state`` published (read back
    from the Prefect server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    assert state.is_completed(), state
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as c:
        arts = c.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return next(a for a in arts if a.key == key)


def wheel_loaded(text_: str | None = None) -> Loaded:
    return load(ROOT / "aarshjul.yaml") if text_ is None else loads(text_)


def make_setup(eng: Engine, tmp: Path, loaded: Loaded | None = None, *,
               documents: Path | None = None) -> Setup:
    """A Setup on ``eng`` whose mail goes to ``tmp/mailbox`` (``documents``: where the
    generated letters are kept; None: not kept)."""
    loaded = loaded or wheel_loaded()
    return Setup(
        loaded.wheel,
        eng,
        tmp / "data",
        transport=DirectoryTransport(tmp / "mailbox"),
        documents=documents,
        actor="test",
    )


def mailbox(tmp: Path) -> list[EmailMessage]:
    """Every message the directory transport wrote, oldest first."""
    box = tmp / "mailbox"
    if not box.exists():
        return []
    files = sorted(box.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in files]  # type: ignore[misc]


def headers(m: EmailMessage) -> dict[str, str | None]:
    return {
        "kind": m["X-Aarshjul-Kind"],
        "committee": m["X-Aarshjul-Committee"],
        "deliverable": m["X-Aarshjul-Deliverable"],
        "slot": m["X-Aarshjul-Slot"],
        "event": m["X-Aarshjul-Event"],
    }


def form_docx(st: Setup, path: Path, committee: str, deliverable: str, year: int = 2012) -> Path:
    """A filled-in-looking submission: the real form for (committee, deliverable)."""
    ctx = form_context(st.wheel, st.plan(year), deliverable, committee)
    path.write_bytes(render_docx(st, st.wheel.deliverable[deliverable].form or "formular", ctx))
    return path


def cli_env(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line's state in ``tmp``: the SQLite store ``state.sqlite``, the data
    folder ``data`` and no mail server (messages go to ``data/outgoing``)."""
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp / 'state.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp / "data"))
    monkeypatch.delenv("AARSHJUL_SMTP_URL", raising=False)
    return tmp


def cli_env_opened(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """:func:`cli_env` in which the letters of 2012 have gone out (``aarshjul run opfordring``
    as of 20 January 2012)."""
    cli_env(tmp, monkeypatch)
    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    assert r.exit_code == 0, r.output
    return tmp


def cli(*args: str, runner: CliRunner | None = None) -> Result:
    """``aarshjul ARGS --config aarshjul.yaml``, an exception left to fail the test."""
    return (runner or CliRunner()).invoke(app, [*args, "--config", CONFIG],
                                          catch_exceptions=False)
