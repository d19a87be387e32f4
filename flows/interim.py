"""Minimal stand-ins for letters-layer modules not in the tree yet (see flows.ports).

Each mirrors the announced name and signature of the real one and does the least that lets
the engine run end to end. Delete a stand-in as soon as the real module lands.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any


class Journal:
    """Stand-in for ``letters.journal.Journal``: one .eml per sent message."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def record(self, row: Any, raw: bytes, *, sent_at: datetime | None = None) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{str(row.key).replace(':', '_')}.eml"
        path.write_bytes(raw)
        return path
