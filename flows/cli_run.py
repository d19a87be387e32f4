"""Verbs that move the year: run, chase, submit, status, pause, resume (``simulate`` is in
``flows/simulate/cli.py``). README "Command line" lists them.

State lives at ``AARSHJUL_DATABASE_URL`` (default: ``aarshjul.sqlite`` in the working
directory); files (journal copies, submitted documents, dry-run previews, the outgoing
directory when no SMTP is configured) under ``AARSHJUL_DATA_DIR`` (default
``./aarshjul-data``). Mail goes by SMTP when ``AARSHJUL_SMTP_URL`` is set.

``run``, ``chase`` and ``submit`` run as Prefect flows when a Prefect API is configured
(``PREFECT_API_URL`` or the active profile), so each run shows in the UI with its
artifacts; without one they run the very same engine steps in this process and say so
(Prefect's ephemeral mode is never used). Exit status: 0 done, 1 refused or failed, 2 usage.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.artifacts import status_da
from flows.cli_state import (
    AsOfOption,
    DataDirOption,
    DryRunOption,
    PreviewOption,
    finish,
    instant_or_exit,
    refused_or_exit,
    runner_for,
    setup_or_exit,
)
from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    YearOption,
    fail,
    load_or_exit,
    year_or_exit,
)
from models.dates import dansk_dato, dansk_tid
from models.kinds import CLOSED_RECEIVED

if TYPE_CHECKING:
    from flows.services.setup import Setup

# --- verbs -------------------------------------------------------------------------------


def run(
    event: Annotated[str, typer.Argument(help="The event key (see `aarshjul plan`).")],
    year: YearOption,
    as_of: AsOfOption = None,
    dry_run: DryRunOption = False,
    preview_dir: PreviewOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Carry out one event of the wheel (e.g. send the opfordringsskrivelse)."""
    st = setup_or_exit(config, data_dir, dry_run=dry_run)
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    at = instant_or_exit(st, as_of, live=not dry_run)
    preview = (preview_dir or st.data / "preview" / f"{event}-{year}") if dry_run else None
    runner = runner_for(st)
    report = refused_or_exit(
        lambda: runner.event(event, year, at, dry_run=dry_run, preview_dir=preview))
    finish(report, preview=preview)


def chase(
    as_of: AsOfOption = None,
    dry_run: DryRunOption = False,
    preview_dir: PreviewOption = None,
    year: Annotated[
        int | None, typer.Option("--year", "-y", help="Only this cycle year's requests.")
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Send the reminders, overdue reminders and escalations due as of now (or --as-of)."""
    st = setup_or_exit(config, data_dir, dry_run=dry_run)
    at = instant_or_exit(st, as_of, live=not dry_run)
    stamp = st.local(at).strftime("%Y-%m-%dT%H%M")
    preview = (preview_dir or st.data / "preview" / f"chase-{stamp}") if dry_run else None
    report = runner_for(st).chase(at, dry_run=dry_run, preview_dir=preview, year=year)
    finish(report, preview=preview)


def submit(
    file: Annotated[Path, typer.Argument(help="The submitted Word file (.docx).")],
    year: YearOption,
    committee: Annotated[str, typer.Option("--committee", help="Committee key, e.g. BUU.")],
    deliverable: Annotated[str, typer.Option("--deliverable", help="e.g. handleplan.")],
    at_: Annotated[
        str | None,
        typer.Option("--at", help="When it arrived (ISO 8601; no offset = local). Default now."),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register a submission: closes the request, stops reminders, sends a receipt."""

    st = setup_or_exit(config, data_dir)
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    when = instant_or_exit(st, at_, "--at", live=True)
    runner = runner_for(st)
    report = refused_or_exit(lambda: runner.submit(year, committee, deliverable, file, when))
    row = next(
        (r for r in report.requests if (r.committee, r.deliverable) == (committee, deliverable)),
        None,
    )
    if row is not None:
        print(f"{committee} {deliverable} {year}: {status_da(row)} ({row.last_action}).")
    finish(report)


def status(
    year: YearOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Who has handed in what, with failed and uncertain sends."""
    from flows.services.intake_desk import held_json, held_messages
    from flows.services.outbox import paused, pending_count, send_problems, sender_state
    from flows.services.readings import submission_readings
    from flows.services.status import action_log, request_rows, submission_rows

    st = setup_or_exit(config, data_dir)
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    at = instant_or_exit(st, as_of)
    rows = request_rows(st, year, at)
    problems = send_problems(st, year)
    pending = pending_count(st, year)
    held = paused(st)
    sender = sender_state(st)
    read = submission_readings(st, year)
    if as_json:
        doc = {
            "year": year,
            "as_of": st.local(at).isoformat(),
            "paused": held,
            "pending": pending,
            "requests": [_row_json(r, read.get((r.committee, r.deliverable))) for r in rows],
            "problems": problems,
            "sender": sender,
            "submissions": submission_rows(st, year),
            "actions": action_log(st, year),
            "held": held_json(st, year),
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    _print_status(st, year, at, rows, read, problems, pending, held)
    _print_held(st, held_messages(st, year))
    _print_sender(st, sender, pending)
    _print_actions(action_log(st, year))


def _print_held(st: Setup, held: list[Any]) -> None:
    """The messages the mail intake held for the coordinator (README "Replies by e-mail")."""
    if not held:
        return
    print(f"Til koordinatoren fra postkassen ({len(held)}):")
    for h in held:
        print(f"  {dansk_tid(st.local(h.received_at))} {h.sender} «{h.subject}»: {h.why}")


def _print_status(st: Setup, year: int, at: datetime, rows: list[Any], read: dict[Any, Any],
                  problems: list[dict[str, Any]], pending: int, held: bool) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    received = sum(r.status in CLOSED_RECEIVED for r in rows)
    console.print(f"[bold]{st.wheel.policy.name}: {year}, pr. {dansk_tid(st.local(at))}[/bold]")
    # readable at 80 columns: short dates (the year is the table's), when it was received is
    # in "Seneste handling"; the short columns never wrap, the long ones fold
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
              collapse_padding=True)
    for col in ("Udvalg", "Aflevering", "Frist", "Status", "Påm."):
        t.add_column(col, no_wrap=True, justify="right" if col == "Påm." else "left")
    t.add_column("Seneste handling")
    t.add_column("Læst")
    for r in rows:
        st_da = status_da(r)
        style = {"rettidig": "green", "for sen": "yellow", "mangler": "red",
                 "fritaget": "cyan"}.get(st_da, "")
        t.add_row(
            r.committee,
            r.deliverable,
            _short_date(r.due, year) + ("*" if r.extended else ""),
            f"[{style}]{st_da}[/]" if style else st_da,
            str(r.reminders_sent),
            r.last_action.replace(f" {year}", ""),
            _read_label(read.get((r.committee, r.deliverable)), r.received_at is not None),
        )
    console.print(t)
    if any(r.extended for r in rows):
        console.print("* udvalgets egen, forlængede frist")
    console.print(f"Modtaget: {received} af {len(rows)}.")
    if held:
        console.print("[yellow]Afsendelse er sat på pause[/yellow] (`aarshjul resume`).")
    if pending:
        console.print(f"{pending} besked(er) venter i udbakken.")
    if problems:
        console.print("[bold red]Fejlede og usikre afsendelser:[/bold red]")
        for p in problems:
            console.print(
                f"  {p['state']}: {p['kind']} {p['committee'] or ''} "
                f"{p['deliverable'] or p['event'] or ''} {p['slot'] or ''} "
                f"({p['message_id']}): {p['detail']}"
            )
    else:
        console.print("Ingen fejlede eller usikre afsendelser.")


def _print_sender(st: Setup, sender: dict[str, Any], pending: int) -> None:
    """Why the mail server could not be reached at the last try, while messages wait."""
    if not sender["last_error"] or not pending:
        return
    when = dansk_tid(datetime.fromisoformat(sender["last_error_at"]))
    print(f"Mailserveren kunne ikke nås ved sidste forsøg ({when}): {sender['last_error']}")
    print("Beskederne venter i udbakken; `aarshjul doctor` prøver forbindelsen.")


ACTION_DA = {"extend": "forlænget", "excuse": "fritaget", "reopen": "genåbnet",
             "resend": "sendt igen", "pause": "pause", "resume": "genoptaget",
             "accept": "registreret fra postkassen", "dismiss": "lagt til side"}


def _print_actions(log: list[dict[str, Any]], last: int = 10) -> None:
    """The coordinators' latest actions (all of them: ``status --json``)."""
    if not log:
        return
    print("Koordinatorens handlinger" + (f" (de seneste {last})" if len(log) > last else "")
          + ":")
    for e in log[-last:]:
        when = dansk_tid(datetime.fromisoformat(e["at"]))
        what = " ".join(x for x in (e["committee"], e["deliverable"]) if x)
        why = f": {e['reason']}" if e["reason"] else ""
        print(f"  {when} {ACTION_DA.get(e['action'], e['action'])} {what} ({e['actor']}){why}")


def _short_date(d: Any, year: int) -> str:
    """``1. maj`` (``1. maj 2013`` when not in ``year``)."""
    text = dansk_dato(d)
    return text.removesuffix(f" {year}") if d.year == year else text


def _read_label(summary: Any, received: bool) -> str:
    """The "Læst" cell: what the submitted file read as (flows.services.readings.ReadSummary)."""
    if summary is None or not received:
        return "–"
    label = str(summary.label)
    return f"[yellow]{label}[/]" if summary.warnings or not summary.is_form else label


def _row_json(r: Any, summary: Any = None) -> dict[str, Any]:
    d = asdict(r)
    d["due"] = r.due.isoformat()
    d["received_at"] = r.received_at.isoformat() if r.received_at else None
    d["reading"] = summary.to_json() if summary is not None and r.received_at else None
    return d


def pause(
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Hold all sending; the outbox keeps its messages until `resume`."""
    from flows.services.outbox import set_paused

    st = setup_or_exit(config, data_dir)
    set_paused(st, True, datetime.now(UTC))
    print("Sending is paused: messages wait in the outbox until `aarshjul resume`.")


def resume(
    data_dir: DataDirOption = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Send what waits now.")] = True,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Resume sending (and send what waited in the outbox)."""
    from flows.services.outbox import deliver, set_paused

    st = setup_or_exit(config, data_dir)
    set_paused(st, False, datetime.now(UTC))
    print("Sending resumed.")
    if send:
        report = deliver(st)
        sent, failed = len(report.sent), len(report.failed)
        print(f"{sent} waiting message(s) sent" + (f", {failed} failed." if failed else "."))
        if report.unreachable:
            fail(f"failed: the mail server could not be reached: {report.unreachable}. "
                 "The messages wait in the outbox; see `aarshjul doctor`.")
        if failed:
            fail("failed: see `aarshjul status`.")


def register(app: typer.Typer) -> None:
    """Register the verbs of this module, each under its function's name."""
    for verb in (run, chase, submit, status, pause, resume):
        app.command(verb.__name__)(verb)
