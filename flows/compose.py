"""The composition root: settings in, a ready :class:`Setup` and the one :class:`Runner` out.

Every caller starts a run here. The CLI verbs and ``simulate`` make a :class:`Runner` and
call ``runner.event(...)``, ``runner.chase(...)`` or ``runner.submit(...)``; serve's wake-ups
do the same. The runner carries the run out as a Prefect flow run when a Prefect API is
configured (so it shows in the UI with its artifacts), else in this process, through the
very same composition (:mod:`flows.runs`).

A flow run started in this process gets what it needs besides its parameters from the
:class:`Binding` the runner sets for the duration of the call (a context variable, not a
process-wide setting): the setup, the instant (the CLI's ``--as-of``, simulate's virtual
clock) and, for a dry run, the preview folder. A flow run in a process of its own (a
worker, a run created from the UI) has no binding: it reads the settings at its start and
runs as of now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.services.setup import Setup, open_database
from flows.settings import Settings
from letters.delivery import DirectoryTransport, SmtpTransport
from models.config import load

if TYPE_CHECKING:
    from flows.report import RunReport
    from flows.services.setup import Setup
    from models.wheel import Wheel


@dataclass(frozen=True)
class Binding:
    """What an in-process flow run uses besides its parameters."""

    setup: Setup
    as_of: datetime | None = None  # None: now
    preview_dir: Path | None = None  # where a dry run writes (None: <data>/preview)
    upload: Path | None = None  # the file a receipt run registers
    simulation: bool = False  # a simulated year: runs and artifacts are marked as such

    def instant(self) -> datetime:
        if self.as_of is not None:
            return self.as_of
        clock = self.setup.clock
        return clock() if clock is not None else datetime.now(UTC).astimezone(self.setup.tz)


_BINDING: ContextVar[Binding | None] = ContextVar("aarshjul_binding", default=None)


@contextmanager
def bound(b: Binding) -> Iterator[Binding]:
    """Flow runs started in this context (this thread) use ``b``."""
    token = _BINDING.set(b)
    try:
        yield b
    finally:
        _BINDING.reset(token)


def current_binding() -> Binding | None:
    return _BINDING.get()


def binding() -> Binding:
    """The binding of an in-process flow run, else one made from the settings (a flow run in
    a worker or a runner's child process: the wheel, the database and the directories bound
    at deploy or serve time, the instant now)."""
    b = _BINDING.get()
    return b if b is not None else Binding(setup_for(Settings.from_env(), actor="flow"))


def load_wheel(config: Path) -> Wheel:
    """The wheel at ``config`` (raises :class:`models.problems.ConfigError`)."""

    return load(config).wheel


def setup_for(settings: Settings, *, actor: str, wheel: Wheel | None = None,
              data_dir: Path | None = None) -> Setup:
    """The setup the settings describe: the wheel, the migrated database, the transport
    (SMTP at ``AARSHJUL_SMTP_URL``, else .eml files under the data directory)."""

    data = data_dir or settings.data_dir
    transport = (SmtpTransport(settings.smtp_url) if settings.smtp_url
                 else DirectoryTransport(data / "outgoing"))
    return Setup(wheel or load_wheel(settings.config), open_database(settings.database_url),
                 data, transport, actor=actor, templates_dir=settings.templates_dir)


class Runner:
    """Starts runs: as Prefect flow runs (``prefect=True``) or in this process."""

    def __init__(self, st: Setup, *, prefect: bool, simulation: bool = False) -> None:
        self.st, self.prefect, self.simulation = st, prefect, simulation

    def _bind(self, as_of: datetime | None, preview_dir: Path | None = None,
              upload: Path | None = None) -> Binding:
        return Binding(self.st, as_of, preview_dir, upload, self.simulation)

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
