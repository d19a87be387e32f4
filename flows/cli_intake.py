"""``aarshjul intake``: read the replies mailbox once; ``intake accept`` and ``intake dismiss``
for the messages it held (README "Replies by e-mail").

``aarshjul intake [--as-of] [--dry-run]`` reads ``AARSHJUL_IMAP_URL`` (exit 2 with a message
when it is unset), handles every message not handled before, sends the receipts and
refusals it queued (the outbox sender, after the pass), and prints in Danish what it did.
A refusal exits 1; the password is in no message.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli_state import (
    AsOfOption,
    DataDirOption,
    DryRunOption,
    instant_or_exit,
    refused_or_exit,
    runner_for,
    setup_or_exit,
)
from flows.common import DEFAULT_CONFIG, ConfigOption, fail, settings_or_exit
from flows.report import RunReport
from flows.services.setup import Setup
from letters.imap_url import parse_imap_url

if TYPE_CHECKING:
    from flows.services.actions import Outcome

intake_app = typer.Typer(
    name="intake", invoke_without_command=True, no_args_is_help=False,
    help="Read the replies mailbox (AARSHJUL_IMAP_URL) once; accept or dismiss held messages.")

MessageArg = Annotated[str, typer.Argument(help="The message's Message-ID, e.g. '<x@kk.dk>'.")]


def _send(st: Setup) -> None:
    """The normal send step: whatever the outbox holds (receipts, a refusal) goes now."""
    from flows.services.outbox import deliver, paused

    if paused(st):
        print("Afsendelse er sat på pause: svarene venter i udbakken (`aarshjul resume`).")
        return
    r = deliver(st)
    if r.sent:
        print(f"Sendt: {len(r.sent)} besked(er).")
    if r.failed:
        print(f"Ikke sendt: {len(r.failed)} besked(er); se `aarshjul status`.", file=sys.stderr)
    if r.unreachable:
        print(f"Mailserveren svarede ikke: {r.unreachable}", file=sys.stderr)


@intake_app.callback()
def intake(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    dry_run: DryRunOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Read the mailbox once: register replies, hold the rest for the coordinator."""
    if ctx.invoked_subcommand is not None:
        return
    from letters.mailbox import MailboxError, open_mailbox

    settings = settings_or_exit(config, data_dir)
    if not settings.imap_url:
        print("AARSHJUL_IMAP_URL er ikke sat: angiv postkassen, svarene læses fra, f.eks. "
              "imaps://bruger:adgangskode@mail.kk.dk/INBOX", file=sys.stderr)
        raise typer.Exit(2)
    try:
        url = parse_imap_url(settings.imap_url)
    except ValueError as exc:
        print(f"afvist: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    st = setup_or_exit(config, data_dir)
    at = instant_or_exit(st, as_of)
    try:
        with open_mailbox(url) as box:  # the run (flow aarshjul-intake) sends its replies
            run = runner_for(st).intake(at, box, dry_run=dry_run)
    except MailboxError as exc:
        fail(f"afvist: postkassen kunne ikke læses: {exc}")
    report = run.intake
    assert report is not None
    for line in report.lines():
        print(line)
    _sent_lines(run)
    if report.problems:
        raise typer.Exit(1)


def _sent_lines(run: RunReport) -> None:
    """What went out of the replies the pass queued (sent by the run's send step)."""
    from flows.services.outbox import PAUSED_NOTE

    if run.dry_run:
        return
    if PAUSED_NOTE in run.notes:
        print("Afsendelse er sat på pause: svarene venter i udbakken (`aarshjul resume`).")
    sent = [m for m in run.messages if m.state == "sent"]
    failed = [m for m in run.messages if m.state in ("failed", "uncertain")]
    if sent:
        print(f"Sendt: {len(sent)} besked(er).")
    if failed:
        print(f"Ikke sendt: {len(failed)} besked(er); se `aarshjul status`.", file=sys.stderr)


def _by_hand(config: Path, data_dir: Path | None, as_of: str | None,
             step: Callable[[Setup, datetime], Outcome]) -> Setup:
    """One coordinator's step on a held message: the setup, the instant, the step; a
    refusal exits 1 with its reason, else what was done is printed."""
    st = setup_or_exit(config, data_dir)
    at = instant_or_exit(st, as_of)
    print(refused_or_exit(lambda: step(st, at)).done)
    return st


@intake_app.command("accept")
def accept(
    message: MessageArg,
    committee: Annotated[str, typer.Option("--committee", help="Committee key, e.g. BUU.")],
    deliverable: Annotated[str, typer.Option("--deliverable", help="e.g. handleplan.")],
    year: Annotated[int | None, typer.Option("--year", "-y", help="The cycle year (default: "
                                             "the form's, else the year it arrived).")] = None,
    file: Annotated[str | None, typer.Option("--file", help="Which attached .docx, when the "
                                             "message has several.")] = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register a held message's Word file by hand, as arriving when the message did."""
    from flows.services.intake_desk import accept as accept_message

    st = _by_hand(config, data_dir, as_of, lambda st, at: accept_message(
        st, message, committee, deliverable, at, year=year, file_name=file, dry_run=dry_run))
    if not dry_run:
        _send(st)


@intake_app.command("dismiss")
def dismiss(
    message: MessageArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")
                      ] = None,
    dry_run: DryRunOption = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Set a held message aside: nothing registered, off the coordinator's list."""
    from flows.services.intake_desk import dismiss as dismiss_message

    _by_hand(config, data_dir, as_of,
             lambda st, at: dismiss_message(st, message, at, reason=reason, dry_run=dry_run))


def register(app: typer.Typer) -> None:
    app.add_typer(intake_app, name="intake")

