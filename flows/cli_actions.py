"""The coordinator's verbs: extend, excuse, reopen, resend and digest (README "The
coordinator's desk").

Each carries out one action of :mod:`flows.services.actions` through the one runner (as a
Prefect flow run when a Prefect API is configured, so it shows in the UI with its artifact),
prints in Danish what was done, or with ``--dry-run`` what would be done, and exits 0; a
refusal prints why (in Danish) and exits 1; a malformed option exits 2. ``--as-of`` is for
tests and replays (never after now, unless ``--dry-run``); a live action is as of now.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_state import (
    AsOfOption,
    DataDirOption,
    DryRunOption,
    actor,
    exit_for,
    instant_or_exit,
    print_report,
    runner_for,
    setup_or_exit,
)
from flows.common import DEFAULT_CONFIG, ConfigOption, YearOption, fail
from flows.services.setup import Refused

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
    st = setup_or_exit(config, data_dir, actor(), dry_run=dry_run)
    at = instant_or_exit(st, as_of, live=not dry_run)
    try:
        report = runner_for(st).action(kind, at, dry_run=dry_run, **params)
    except Refused as exc:
        fail(str(exc))
    print_report(report)
    exit_for(report)


def extend(
    year: YearOption,
    committee: CommitteeOption,
    deliverable: DeliverableOption,
    until: Annotated[str, typer.Option("--until", help="The new due date, YYYY-MM-DD: a "
                                                       "business day later than the current.")],
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Give a committee more time: its own due date, a new ladder of reminders, a notice."""
    day = _date(until, "--until")
    _act("extend", config, data_dir, as_of, dry_run, year=year, committee=committee,
         deliverable=deliverable, until=day, reason=reason)


def excuse(
    year: YearOption,
    committee: CommitteeOption,
    deliverable: DeliverableOption,
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Excuse a committee (fritaget): no more reminders; listed as excused, not missing."""
    _act("excuse", config, data_dir, as_of, dry_run, year=year, committee=committee,
         deliverable=deliverable, reason=reason)


def reopen(
    submission: Annotated[int | None, typer.Option(
        "--submission", help="The registration to withdraw (`aarshjul status --json`).")] = None,
    year: Annotated[int | None, typer.Option(
        "--year", "-y", help="With --committee and --deliverable: withdraw an excuse.")] = None,
    committee: Annotated[str | None, typer.Option("--committee")] = None,
    deliverable: Annotated[str | None, typer.Option("--deliverable")] = None,
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Undo a wrong registration (or an excuse): the request is open again, with a notice."""
    _act("reopen", config, data_dir, as_of, dry_run, submission=submission, year=year,
         committee=committee, deliverable=deliverable, reason=reason)


def resend(
    message_id: Annotated[str, typer.Argument(
        help="The Message-ID (or the outbox key) of the message to send again.")],
    to: Annotated[list[str] | None, typer.Option(
        "--to", help="Send to this address instead (repeatable). Default: the committee's "
                     "current addresses in the wheel.")] = None,
    reason: ReasonOption = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Send a message again (Resent-* fields) after an address was corrected."""
    _act("resend", config, data_dir, as_of, dry_run, message_id=message_id, to=to or None,
         reason=reason)


def digest(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", help="Only this cycle year (default: every year in progress).")] = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Send the coordinator's digest of this week now (once a week per cycle year)."""
    _act("digest", config, data_dir, as_of, dry_run, year=year)


def register(app: typer.Typer) -> None:
    app.command("extend")(extend)
    app.command("excuse")(excuse)
    app.command("reopen")(reopen)
    app.command("resend")(resend)
    app.command("digest")(digest)
