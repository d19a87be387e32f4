"""Minimal stand-ins for letters-layer modules not in the tree yet (see flows.ports).

Each mirrors the announced name and signature of the real one and does the least that lets
the engine run end to end. Delete a stand-in as soon as the real module lands.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
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


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


_SUBJECTS = {
    "letter": "{title}",
    "reminder": "Påmindelse: {deliverable_title} – frist {due_da}",
    "overdue": "Rykker: {deliverable_title} – fristen var {due_da}",
    "escalation": "Eskalering: {deliverable_title} fra {committee_name} mangler",
    "receipt": "Kvittering: {deliverable_title} er modtaget",
    "report": "{title}",
}


def render_body(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Stand-in for ``letters.bodies.render_body``: (subject, text, html)."""
    subject = _SUBJECTS[kind].format_map(_Default(context))
    who, sender = context.get("committee_name", ""), context.get("sender", "")
    text = f"Til {who}\n\n{subject}\n\nMed venlig hilsen\n{sender}\n"
    html = "<p>" + escape(text).replace("\n", "<br>") + "</p>"
    return subject, text, html
