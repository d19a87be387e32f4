"""Verbs that write files from the plan: calendar (ICS) and wheel (picture). No Prefect."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the verbs of this module."""
