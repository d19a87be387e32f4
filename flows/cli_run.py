"""Verbs that move the year: run, chase, submit, status, pause, resume, simulate.

README "Command line" lists them.

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

import atexit
import getpass
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.artifacts import KIND_DA, STATE_DA, status_da
from flows.binding import setup_for
from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    fail,
    load_or_exit,
    prefect_credential,
    settings_or_exit,
    year_or_exit,
)
from flows.compose import Runner
from flows.prefect_auth import CredentialError
from flows.prefect_server import ServerError, configured_api_url, connect, healthy
from flows.services.setup import Refused
from models.dates import dansk_dato, dansk_tid
from models.kinds import CLOSED_RECEIVED
from models.plan import parse_instant

if TYPE_CHECKING:
    from flows.report import RunReport
    from flows.services.setup import Setup

YearOption = Annotated[int, typer.Option("--year", "-y", help="The cycle year.")]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="The instant to run as of (ISO 8601; no offset = local)."),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Build and show everything; send nothing, change no state."),
]
PreviewOption = Annotated[
    Path | None,
    typer.Option("--preview-dir", help="Where --dry-run writes the messages (.eml, .docx)."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Files: journal, documents, previews. [AARSHJUL_DATA_DIR]"),
]


def _scratch_database(url: str) -> str | None:
    """For a dry run against a SQLite file that does not exist: a throwaway database in a
    temporary folder (removed at exit), so that a dry run creates no database file."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if Path(u.database).exists():
        return None
    folder = tempfile.mkdtemp(prefix="aarshjul-dry-run-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{Path(folder) / 'dry-run.sqlite'}"


def _setup(config: Path, data_dir: Path | None, actor: str, *,
           dry_run: bool = False) -> Setup:
    """The setup of a verb; a dry run against a database that does not exist yet uses a
    throwaway one (nothing has happened yet, and no file is made)."""
    settings = settings_or_exit(config, data_dir)
    loaded = load_or_exit(config)
    scratch = _scratch_database(settings.database_url) if dry_run else None
    if scratch is not None:
        settings = settings.model_copy(update={"database_url": scratch})
    try:
        return setup_for(settings, actor=actor, wheel=loaded.wheel)
    except Exception as exc:  # a database that cannot be opened is a refusal, not a crash
        fail(f"refused: the state database cannot be opened: {exc}")


def _instant(st: Setup, text: str | None, what: str = "--as-of", *,
             live: bool = False) -> datetime:
    """The instant of ``--as-of``/``--at`` (default now). ``live`` (a verb that sends or
    changes state for real) refuses an instant after now, with exit 1: a live run may catch
    up on the past, never act ahead of time (README "Live runs never act ahead of time");
    ``--dry-run`` may look ahead."""
    now = datetime.now(UTC).astimezone(st.tz)
    if text is None:
        return now
    try:
        at = parse_instant(text, st.tz)
    except ValueError as exc:
        print(f"{what}: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if live and at > now:
        fail(f"afvist: {what} {dansk_tid(st.local(at))} ligger efter nu "
             f"({dansk_tid(now)}). Et tidspunkt i fremtiden kan ikke bruges, når der "
             "handles for alvor; brug --dry-run for at se frem.")
    return at


def prefect_api() -> str | None:
    """The configured Prefect API, checked to answer and to take our credential (then used
    by this process's Prefect clients); None when none is configured."""
    url = configured_api_url()
    if url is None:
        return None
    credential = prefect_credential()
    if not healthy(url, credential=credential):
        fail(
            f"refused: the Prefect server at {url} does not answer. Start it "
            "(`prefect server start --host 127.0.0.1`) or unset PREFECT_API_URL."
        )
    try:
        connect(url, credential)
    except (ServerError, CredentialError) as exc:
        fail(f"refused: {exc}")
    return url


def runner_for(st: Setup) -> Runner:
    """The runner: as Prefect flow runs when a Prefect API is configured (it must answer and
    take our credential), else the same runs in this process, with a note saying so."""
    url = prefect_api()
    if url is None:
        print("Note: no Prefect server is configured (PREFECT_API_URL): ran the engine "
              "directly, without a flow run or artifacts. `aarshjul serve` starts a local "
              "server.", file=sys.stderr)
    return Runner(st, prefect=url is not None)


def _actor() -> str:

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


# --- printing ----------------------------------------------------------------------------


def print_report(report: RunReport, *, preview: Path | None = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{report.title}[/bold]")
    for line in report.done:
        console.print(line)
    if report.messages:
        # readable at 80 columns: the recipients fold (Cc under To), the short ones never wrap
        t = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1),
                  pad_edge=False, collapse_padding=True)
        t.add_column("Art", no_wrap=True)
        t.add_column("Udvalg", no_wrap=True)
        t.add_column("Hvad")
        t.add_column("Til", overflow="fold")
        t.add_column("Status")
        for m in report.messages:
            to = ", ".join(m.to) + (f"\ncc {', '.join(m.cc)}" if m.cc else "")
            t.add_row(
                KIND_DA.get(m.kind, (m.kind,))[0],
                m.committee or "",
                "\n".join(x for x in (m.deliverable or m.event, m.slot) if x),
                to,
                STATE_DA.get(m.state, m.state),
            )
        console.print(t)
    elif not report.done:
        console.print("Intet at sende.")
    for note in report.notes:
        console.print(f"[yellow]Bemærk:[/yellow] {note}")
    if report.unreachable:
        console.print(f"[bold red]Mailserveren kunne ikke nås:[/bold red] {report.unreachable}",
                      markup=True)
    if report.dry_run:
        where = preview if preview is not None else "(no folder)"
        console.print(
            f"Dry run: nothing was sent and no state changed; {len(report.messages)} "
            f"message(s) and their attachments written to {where}"
        )


def _exit_for(report: RunReport) -> None:
    failed = [m for m in report.messages if m.state == "failed"]
    uncertain = [m for m in report.messages if m.state == "uncertain"]
    if uncertain:
        print(
            f"{len(uncertain)} message(s) uncertain (resent once with the same Message-ID; "
            "the coordinator is told). See `aarshjul status`.",
            file=sys.stderr,
        )
    if failed:
        fail(f"failed: {len(failed)} message(s) could not be delivered; see `aarshjul status`.")
    if report.unreachable:
        waiting = sum(m.state == "queued" for m in report.messages)
        fail(f"failed: the mail server could not be reached: {report.unreachable}. "
             f"{waiting} message(s) wait in the outbox and go out with the next run that "
             "reaches it; see `aarshjul status` and `aarshjul doctor`.")


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
    st = _setup(config, data_dir, _actor(), dry_run=dry_run)
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    at = _instant(st, as_of, live=not dry_run)
    preview = (preview_dir or st.data / "preview" / f"{event}-{year}") if dry_run else None
    try:
        report = runner_for(st).event(event, year, at, dry_run=dry_run, preview_dir=preview)
    except Refused as exc:
        fail(str(exc))
    print_report(report, preview=preview)
    _exit_for(report)


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
    st = _setup(config, data_dir, _actor(), dry_run=dry_run)
    at = _instant(st, as_of, live=not dry_run)
    stamp = st.local(at).strftime("%Y-%m-%dT%H%M")
    preview = (preview_dir or st.data / "preview" / f"chase-{stamp}") if dry_run else None
    report = runner_for(st).chase(at, dry_run=dry_run, preview_dir=preview, year=year)
    print_report(report, preview=preview)
    _exit_for(report)


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

    st = _setup(config, data_dir, _actor())
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    when = _instant(st, at_, "--at", live=True)
    try:
        report = runner_for(st).submit(year, committee, deliverable, file, when)
    except Refused as exc:
        fail(str(exc))
    row = next(
        (r for r in report.requests if (r.committee, r.deliverable) == (committee, deliverable)),
        None,
    )
    if row is not None:
        print(f"{committee} {deliverable} {year}: {status_da(row)} ({row.last_action}).")
    print_report(report)
    _exit_for(report)


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

    st = _setup(config, data_dir, _actor())
    year_or_exit(load_or_exit(config, show_warnings=False), year)
    at = _instant(st, as_of)
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

    st = _setup(config, data_dir, _actor())
    set_paused(st, True, datetime.now(UTC))
    print("Sending is paused: messages wait in the outbox until `aarshjul resume`.")


def resume(
    data_dir: DataDirOption = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Send what waits now.")] = True,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Resume sending (and send what waited in the outbox)."""
    from flows.services.outbox import deliver, set_paused

    st = _setup(config, data_dir, _actor())
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
    """Register the verbs of this module."""
    app.command("run")(run)
    app.command("chase")(chase)
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("pause")(pause)
    app.command("resume")(resume)
