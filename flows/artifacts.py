"""Prefect artifacts for the coordinators' view (filled in by the Prefect-ops work)."""

from __future__ import annotations

from flows.report import RunReport


def publish(report: RunReport) -> None:
    """Publish the run's table, progress and Danish summary as Prefect artifacts."""
