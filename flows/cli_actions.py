"""The coordinator's verbs: extend, excuse, reopen, resend and digest (README "The
coordinator's desk").

Each carries out one action of :mod:`flows.services.actions` through the one runner (as a
Prefect flow run when a Prefect API is configured, so it shows in the UI with its artifact),
prints in Danish what was done, or with ``--dry-run`` what would be done, and exits 0; a
refusal prints why (in Danish) and exits 1; a malformed option exits 2. ``--as-of`` is for
tests and replays (never after now, unless ``--dry-run``); a live action is as of now.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_state import (
    AsOfOption,
    DataDirOption,
    DryRunOption,
    finish,
    instant_or_exit,
    refused_or_exit,
    runner_for,
    setup_or_exit,
)
from flows.common import DEFAULT_CONFIG, ConfigOption, YearOption

CommitteeOption = Annotated[str, typer.Option("--committee", help="Committee key, e.g. TMU.")]
DeliverableOption = Annotated[str, typer.Option("--deliverable", help="e.g. handleplan.")]
ReasonOption = Annotated[
    str | None,
    typer.Option("--reason", help="Why (kept in the audit log; told to the committee)."),
]


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        print(f"{what}: {text!r} er ikke en dato af formen ÅÅÅÅ-MM-DD (f.eks. 2012-05-11)",
              file=sys.stderr)
        raise typer.Exit(2) from None


def _act(kind: str, config: Path, data_dir: Path | None, as_of: str | None, dry_run: bool,
         **params: Any) -> None:
    st = setup_or_exit(config, data_dir, dry_run=dry_run)
    at = instant_or_exit(st, as_of, live=not dry_run)
    runner = runner_for(st)
    finish(refused_or_exit(lambda: runner.action(kind, at, dry_run=dry_run, **params)))


def _every_desk_verb(
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """The options every desk verb takes after its own."""


def _desk(kind: str, **convert: Callable[[Any], Any]
          ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A desk verb from a declaration of its own options (its help is the docstring): the
    verb also takes the options of :func:`_every_desk_verb`, converts what ``convert`` names,
    and carries out ``kind`` with its own options as the action's parameters."""
    shared = inspect.signature(_every_desk_verb, eval_str=True).parameters

    def make(own: Callable[..., None]) -> Callable[..., None]:
        mine = inspect.signature(own, eval_str=True)
        params = [*mine.parameters.values(), *shared.values()]

        def verb(**options: Any) -> None:
            run = {name: options.pop(name) for name in shared}
            for name, to in convert.items():
                options[name] = to(options[name])
            _act(kind, **run, **options)

        verb.__name__, verb.__qualname__, verb.__doc__ = own.__name__, own.__name__, own.__doc__
        verb.__signature__ = mine.replace(parameters=params)  # type: ignore[attr-defined]
        verb.__annotations__ = {p.name: p.annotation for p in params}
        return verb

    return make


@_desk("extend", until=lambda text: _date(text, "--until"))
def extend(
    year: YearOption,
    committee: CommitteeOption,
    deliverable: DeliverableOption,
    until: Annotated[str, typer.Option("--until", help="The new due date, YYYY-MM-DD: a "
                                                       "business day later than the current.")],
    reason: ReasonOption = None,
) -> None:
    """Give a committee more time: its own due date, a new ladder of reminders, a notice."""


@_desk("excuse")
def excuse(
    year: YearOption,
    committee: CommitteeOption,
    deliverable: DeliverableOption,
    reason: ReasonOption = None,
) -> None:
    """Excuse a committee (fritaget): no more reminders; listed as excused, not missing."""


@_desk("reopen")
def reopen(
    submission: Annotated[int | None, typer.Option(
        "--submission", help="The registration to withdraw (`aarshjul status --json`).")] = None,
    year: Annotated[int | None, typer.Option(
        "--year", "-y", help="With --committee and --deliverable: withdraw an excuse.")] = None,
    committee: Annotated[str | None, typer.Option("--committee")] = None,
    deliverable: Annotated[str | None, typer.Option("--deliverable")] = None,
    reason: ReasonOption = None,
) -> None:
    """Undo a wrong registration (or an excuse): the request is open again, with a notice."""


@_desk("resend", to=lambda addresses: addresses or None)
def resend(
    message_id: Annotated[str, typer.Argument(
        help="The Message-ID (or the outbox key) of the message to send again.")],
    to: Annotated[list[str] | None, typer.Option(
        "--to", help="Send to this address instead (repeatable). Default: the committee's "
                     "current addresses in the wheel.")] = None,
    reason: ReasonOption = None,
) -> None:
    """Send a message again (Resent-* fields) after an address was corrected."""


@_desk("digest")
def digest(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", help="Only this cycle year (default: every year in progress).")] = None,
) -> None:
    """Send the coordinator's digest of this week now (once a week per cycle year)."""


def register(app: typer.Typer) -> None:
    """Register the verbs of this module, each under its function's name."""
    for verb in (extend, excuse, reopen, resend, digest):
        app.command(verb.__name__)(verb)
