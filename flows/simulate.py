"""``aarshjul simulate``: a cycle year in virtual time (placeholder until the full version)."""

from __future__ import annotations

import typer


def simulate() -> None:
    """Run a whole cycle year in virtual time (not built yet)."""
    raise typer.Exit(1)
