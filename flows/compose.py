"""The composition root: the one :class:`Runner` every caller starts a run with.

The CLI verbs and ``simulate`` make a :class:`Runner` (with a setup from
:func:`flows.binding.setup_for`) and call ``runner.event(...)``, ``runner.chase(...)`` or
``runner.submit(...)``; serve's wake-ups do the same. The runner carries the run out as a
Prefect flow run when a Prefect API is configured (so it shows in the UI with its
artifacts), else in this process, through the very same composition (:mod:`flows.runs`). A
flow run started in this process gets what it needs besides its parameters from the
:class:`flows.binding.Binding` the runner sets for the duration of the call.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.binding import Binding, bound, setup_for
from flows.services.setup import Setup

if TYPE_CHECKING:
    from flows.report import RunReport

__all__ = ["Binding", "Runner", "bound", "setup_for"]


class Runner:
    """Starts runs: as Prefect flow runs (``prefect=True``) or in this process."""

    def __init__(self, st: Setup, *, prefect: bool, simulation: bool = False) -> None:
        self.st, self.prefect, self.simulation = st, prefect, simulation

    def _bind(self, as_of: datetime | None, preview_dir: Path | None = None,
              upload: Path | None = None, source: Any = None) -> Binding:
        return Binding(self.st, as_of, preview_dir, upload, self.simulation, source)

    def event(self, event: str, year: int, as_of: datetime, *, dry_run: bool = False,
              preview_dir: Path | None = None) -> RunReport:
        if not self.prefect:
            from flows import runs

            return runs.event(self.st, event, year, as_of, dry_run=dry_run,
                              preview_dir=preview_dir)
        from flows.workflows import event_flow

        with bound(self._bind(as_of, preview_dir)):
            return event_flow(year=year, event=event, dry_run=dry_run)

    def chase(self, as_of: datetime, *, dry_run: bool = False, preview_dir: Path | None = None,
              year: int | None = None) -> RunReport:
        if not self.prefect:
            from flows import runs

            return runs.chase(self.st, as_of, dry_run=dry_run, preview_dir=preview_dir,
                              year=year)
        from flows.workflows import chase_flow

        with bound(self._bind(as_of, preview_dir)):
            return chase_flow(dry_run=dry_run, year=year)

    def action(self, kind: str, as_of: datetime, **params: Any) -> RunReport:
        """A coordinator's action or the digest (``extend``, ``excuse``, ``reopen``,
        ``resend``, ``pause``, ``resume``, ``digest``), with its flow's parameters (one left
        None takes the flow's default)."""
        params = {k: v for k, v in params.items() if v is not None}
        if not self.prefect:
            from flows import runs

            return runs.ACTION_RUNS[kind](self.st, as_of, **params)
        from flows.workflows import ACTION_FLOWS

        with bound(self._bind(as_of)):
            report: RunReport = ACTION_FLOWS[kind](**params)
            return report

    def submit(self, year: int, committee: str, deliverable: str, file: Path,
               at: datetime) -> RunReport:
        if not self.prefect:
            from flows import runs

            return runs.submit(self.st, year, committee, deliverable, file, at)
        from flows.workflows import receipt_flow

        with bound(self._bind(at, upload=file)):
            return receipt_flow(year=year, committee=committee, deliverable=deliverable)

    def intake(self, as_of: datetime, source: Any, *, dry_run: bool = False) -> RunReport:
        """One pass over ``source`` (a ``letters.mailsource.MessageSource``: the mailbox
        the caller opened, or simulate's messages in memory), then its replies go out."""
        if not self.prefect:
            from flows import runs

            return runs.intake(self.st, source, as_of, dry_run=dry_run)
        from flows.workflows import intake_flow

        with bound(self._bind(as_of, source=source)):
            return intake_flow(dry_run=dry_run)
