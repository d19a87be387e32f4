"""Fixtures for the flow tests: ``backend``, each database the engine runs on (SQLite, and
PostgreSQL for the tests marked postgres), and ``st``, an engine Setup on a fresh database of
that backend (:func:`tests.dbtools.database`). A module's own ``st`` takes precedence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbtools import BACKENDS, database
from tests.flows.helpers import make_setup
from tests.imapd import Dovecot, serve


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def st(backend: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with database(backend, tmp_path) as eng:
        yield make_setup(eng, tmp_path)


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    """A real Dovecot on a free loopback port, for this test only (tests/imapd.py)."""
    with serve() as server:
        yield server
