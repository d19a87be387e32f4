"""What the verbs that read or change the state share (README "Command line"): their
options, the setup of a verb (settings, wheel, database), the instant of ``--as-of``, the
runner (Prefect flow runs when a server is configured), the printed report and the exit
status that follows from it. ``check`` and the other read-only verbs do not import this
module: it loads the engine.
"""

from __future__ import annotations

import atexit
import getpass
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from flows.artifacts import KIND_DA, STATE_DA
from flows.binding import setup_for
from flows.common import fail, load_or_exit, prefect_credential, settings_or_exit
from flows.compose import Runner
from flows.prefect_auth import CredentialError
from flows.prefect_server import ServerError, configured_api_url, connect, healthy
from flows.services.setup import Refused
from models.dates import dansk_tid
from models.plan import parse_instant

T = TypeVar("T")

if TYPE_CHECKING:
    from flows.report import RunReport
    from flows.services.setup import Setup

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


def scratch_database(url: str) -> str | None:
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


def setup_or_exit(config: Path, data_dir: Path | None, *, dry_run: bool = False) -> Setup:
    """The setup of a verb, acting as the user at the shell (``cli:<user>`` in the audit
    log); a dry run against a database that does not exist yet uses a throwaway one
    (nothing has happened yet, and no file is made)."""
    settings = settings_or_exit(config, data_dir)
    loaded = load_or_exit(config)
    scratch = scratch_database(settings.database_url) if dry_run else None
    if scratch is not None:
        settings = settings.model_copy(update={"database_url": scratch})
    try:
        return setup_for(settings, actor=_actor(), wheel=loaded.wheel)
    except Exception as exc:  # a database that cannot be opened is a refusal, not a crash
        fail(f"refused: the state database cannot be opened: {exc}")


def instant_or_exit(st: Setup, text: str | None, what: str = "--as-of", *,
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


def refused_or_exit(go: Callable[[], T]) -> T:
    """What ``go()`` returns; a refusal exits 1 with its reason."""
    try:
        return go()
    except Refused as exc:
        fail(str(exc))


def finish(report: RunReport, *, preview: Path | None = None) -> None:
    """Print the report of a run, then exit as it says (:func:`exit_for`)."""
    print_report(report, preview=preview)
    exit_for(report)


def exit_for(report: RunReport) -> None:
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
