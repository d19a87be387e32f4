"""``aarshjul simulate``: a whole cycle year in virtual time, from the command line.

The verb checks the wheel, the scenario and ``--smtp``, makes sure a Prefect server is there
(the configured one, else a supervised local child that it stops afterwards) unless
``--no-prefect``, runs the year (:func:`flows.simulate.run.run_simulation`) with a progress bar
and prints what happened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    fail,
    load_or_exit,
    prefect_credential,
    year_or_exit,
)
from flows.prefect_server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    configured_api_url,
    ensure_server,
    port_in_use,
    prefect_home,
)
from flows.simulate.scenario import BUNDLED, ScenarioError, load_scenario
from flows.simulate.timeline import Step, timeline
from letters.smtp_url import parse_smtp_url
from models.kinds import STATUS_DA
from models.numbers import count_text

if TYPE_CHECKING:
    from flows.prefect_auth import Credential
    from flows.simulate.run import Outcome


def simulate(
    year: Annotated[int, typer.Option("--year", "-y", help="The cycle year.")],
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="Submissions and barometer readings (YAML). "
            "Default: the bundled Copenhagen 2012 scenario.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where everything is written.")] = Path(
        "out"
    ),
    smtp: Annotated[
        str | None,
        typer.Option(
            "--smtp",
            help="Send through this SMTP server (smtp://host:port). Never AARSHJUL_SMTP_URL.",
        ),
    ] = None,
    no_prefect: Annotated[
        bool, typer.Option("--no-prefect", help="Run the engine without Prefect flow runs.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run a whole cycle year in virtual time on a fresh state in --out."""
    loaded = load_or_exit(config)
    year_or_exit(loaded, year)
    wheel = loaded.wheel
    sc_path = scenario if scenario is not None else BUNDLED
    try:
        sc = load_scenario(sc_path, wheel)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        fail(f"{sc_path}: refused; nothing was simulated.")
    if smtp is not None:
        try:
            parse_smtp_url(smtp)
        except ValueError as exc:
            print(f"--smtp: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from flows.simulate.run import run_simulation  # the engine: SQLAlchemy, python-docx

    console = Console(stderr=True, highlight=False)
    server = _prefect(not no_prefect, None if no_prefect else prefect_credential())
    with server as api:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[what]}"),
            console=console,
            transient=False,
        ) as bar:
            task_id = bar.add_task(f"Simulerer {year}", total=None, what="")
            first = True

            def tick(step: Step) -> None:
                nonlocal first
                if first:
                    first = False
                else:
                    bar.advance(task_id)
                bar.update(task_id, what=f"{step.at.date().isoformat()} {step.what}")

            bar.update(task_id, total=len(timeline(wheel, year, sc)))
            outcome = run_simulation(
                wheel,
                year,
                sc,
                out,
                smtp=smtp,
                use_prefect=not no_prefect,
                progress=tick,
            )
            bar.advance(task_id)
    outcome.prefect = api
    outcome.prefect_stopped = server.started
    print_outcome(outcome, console)


class _prefect:
    """The Prefect server for the simulation: the configured one, else a supervised child.

    Flow-run heartbeats are off for the simulated runs (each costs ~1 s per flow run and
    means nothing in virtual time), and Prefect's console log is held at WARNING so the
    progress bar stays readable; the runs' logs still go to the server.
    """

    def __init__(self, wanted: bool, credential: Credential | None = None) -> None:
        self.wanted = wanted
        self.credential = credential
        self._stack: Any = None
        self.started = False  # True: a child server of ours (stopped on exit)

    def __enter__(self) -> str | None:
        if not self.wanted:
            return None

        self.started = not configured_api_url()
        self._stack = contextlib.ExitStack()
        port = None if port_in_use(DEFAULT_HOST, DEFAULT_PORT) else DEFAULT_PORT
        url = self._stack.enter_context(ensure_server(port=port, credential=self.credential))
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        self._stack.enter_context(temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        quiet_prefect_console()
        return str(url)

    def __exit__(self, *exc: Any) -> None:
        if self._stack is not None:
            self._stack.__exit__(*exc)


def quiet_prefect_console() -> None:
    """Raise Prefect's console handlers to WARNING (API log handlers are left alone)."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        for h in logging.getLogger(name).handlers:
            if isinstance(h, logging.StreamHandler) and not type(h).__name__.startswith("API"):
                h.setLevel(logging.WARNING)


def print_outcome(o: Outcome, console: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    s = o.summary
    by = Counter(r["status"] for r in s["requests"])
    kinds = Counter(e["kind"] for e in s["emails"])
    t = Table(title=f"Simuleret {s['year']}: afleveringer", header_style="bold")
    for c in ("Udvalg", "Aflevering", "Frist", "Status", "Modtaget", "Påmindelser"):
        t.add_column(c)
    for r in s["requests"]:
        t.add_row(
            r["committee"],
            r["deliverable"],
            r["due"],
            STATUS_DA[r["status"]],
            (r["received_at"] or "–")[:16],
            str(r["reminders_sent"]),
        )
    out = Console(highlight=False, soft_wrap=True)
    out.print(t)
    out.print(
        f"Afleveringer: {count_text(by['on_time'], 'rettidig', 'rettidige')}, "
        f"{count_text(by['late'], 'for sen', 'for sene')}, "
        f"{by['missing']} mangler"
        + (f", {by['excused']} fritaget" if by["excused"] else "")
        + f". E-mails: {len(s['emails'])} ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + ")."
    )
    for a in o.actions:
        out.print(f"[cyan]Handling:[/cyan] {a}")
    for n in dict.fromkeys(o.notes):
        out.print(f"[yellow]Bemærk:[/yellow] {n}")
    for r in o.refused:
        out.print(f"[red]Afvist:[/red] {r}")
    where = o.out
    out.print(f"\nLook in {where}/:")
    out.print("  summary.json      what happened (requests, every e-mail in send order)")
    out.print(f"  journal/          the .eml journal copies ({len(s['journal'])}) + index")
    out.print("  documents/        the letters and forms that were sent")
    if (where / "mailbox").exists():
        out.print("  mailbox/          the messages as delivered (no --smtp given)")
    out.print("  submissions/      the submitted files, content-addressed")
    if o.prefect and o.prefect_stopped:

        db = next((f"at {k}" for k in ("PREFECT_API_DATABASE_CONNECTION_URL",
                                         "PREFECT_SERVER_DATABASE_CONNECTION_URL")
                   if os.environ.get(k)), f"under PREFECT_HOME ({prefect_home()})")
        out.print(
            f"Flow runs and artifacts: {o.flow_runs} flow runs, kept in the Prefect database "
            f"{db}. The Prefect server simulate started has "
            "been stopped; to browse the history: prefect server start --host 127.0.0.1 "
            "(then http://127.0.0.1:4200)."
        )
    elif o.prefect:
        out.print(
            f"Flow runs and artifacts: {o.prefect.removesuffix('/api')} ({o.flow_runs} flow runs)"
        )
    out.print(f"Done in {o.seconds:.1f} s.")


def register(app: typer.Typer) -> None:
    """Register ``simulate``."""
    app.command("simulate")(simulate)
