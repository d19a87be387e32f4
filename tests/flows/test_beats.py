"""Heartbeats written at once by several chases (README "Monitoring")."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from flows.services.beats import record_beat
from models.db import upgrade
from models.watch import Heartbeat
from tests.dbtools import BACKENDS, database
from tests.flows.helpers import at
from tests.threads import in_threads


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_beats_at_once_all_land_and_the_latest_wins(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as eng:
        upgrade(eng)
        start = at("2012-04-30T09:00")
        gate = threading.Barrier(6)

        def beat(i: int) -> None:
            gate.wait()
            record_beat(eng, "chase", start + timedelta(minutes=i), latest=True)

        assert in_threads(beat, 6) == []
        with Session(eng) as s:
            row = s.get(Heartbeat, "chase")
        assert row is not None and row.at == start + timedelta(minutes=5)
