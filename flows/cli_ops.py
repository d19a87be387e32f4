"""The live-operation verbs: ``serve`` (one machine) and ``deploy`` (workers on several).

Both import Prefect, SQLAlchemy and APScheduler inside the verb, so the read-only verbs stay
fast.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from flows.cli_state import prefect_api
from flows.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    fail,
    load_or_exit,
    prefect_credential,
    settings_or_exit,
)
from flows.deploy import PROJECT, deploy_all, deploy_warnings, deployment_specs
from flows.desk_runner import DeskRunner
from flows.prefect_server import ServerError, configured_api_url, ensure_server
from flows.serve import DEFAULT_POLL, FlowRunner, Serve, ServeSetup, serve_forever
from flows.watchdog import Watchdog


def _logging(level: str) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aarshjul").setLevel(getattr(logging, level.upper(), logging.INFO))


def serve(
    catch_up_days: Annotated[
        int,
        typer.Option(
            "--catch-up-days",
            min=0,
            help="At start, run the events of this many past days that were missed.",
        ),
    ] = 7,
    horizon_days: Annotated[
        int,
        typer.Option("--horizon-days", min=1, help="Days of wake-ups kept in the job store."),
    ] = 35,
    prefect_port: Annotated[
        int,
        typer.Option(
            "--prefect-port",
            min=0,
            help="Port of the local Prefect server started when PREFECT_API_URL is unset "
            "(0: any free port).",
        ),
    ] = 4200,
    log_level: Annotated[str, typer.Option("--log-level", help="INFO, WARNING, DEBUG.")] = "INFO",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run the wheel on this machine until SIGTERM: letters on event days, chases on
    business days at send_time, a catch-up chase at start. Reports to PREFECT_API_URL, or
    starts a local Prefect server (UI at http://127.0.0.1:4200)."""


    settings = settings_or_exit(config)
    loaded = load_or_exit(config)
    credential = prefect_credential()
    _logging(log_level)
    flow_runner = FlowRunner(lambda: setup())
    srv = Serve(
        config=config.resolve(),
        wheel=loaded.wheel,
        database_url=settings.database_url,
        runner=flow_runner,
        horizon=timedelta(days=horizon_days),
        catch_up=timedelta(days=catch_up_days),
        desk=DeskRunner(lambda: setup(), lambda: srv.wheel),
        intake=partial(flow_runner.intake, imap_url=settings.imap_url)
        if settings.imap_url else None,
        poll=timedelta(minutes=settings.imap_poll) if settings.imap_poll else DEFAULT_POLL,
    )
    setup = ServeSetup(settings, srv)
    srv.watchdog = Watchdog(settings, lambda: setup(), credential=credential)
    try:
        code = serve_forever(
            srv, server=partial(ensure_server, port=prefect_port or None, credential=credential)
        )
    except (RuntimeError, ServerError) as exc:
        fail(f"refused: {exc}")
    raise typer.Exit(code)


def deploy(
    pool: Annotated[
        str, typer.Option("--pool", help="Work pool (type process; created when missing).")
    ] = "aarshjul",
    source: Annotated[
        Path | None,
        typer.Option("--source", help="Project directory the workers run from. [this one]"),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Register the chase and the events as Prefect deployments on the server at
    PREFECT_API_URL, for `prefect worker start --pool POOL` on one or more machines."""


    loaded = load_or_exit(config)
    url = configured_api_url()
    if not url:
        fail(
            "refused: deploy needs a lasting Prefect server; set PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api) to it."
        )
    prefect_api()  # answers and takes the credential, which this process now uses
    now = datetime.now(UTC).astimezone(loaded.wheel.policy.tz)
    for warning in deploy_warnings(loaded.wheel, deployment_specs(loaded.wheel, now), now):
        print(warning, file=sys.stderr)
    try:
        ids = deploy_all(loaded.wheel, pool=pool, source=(source or PROJECT), now=now)
    except RuntimeError as exc:
        fail(f"refused: {exc}")
    for name, dep_id in ids.items():
        print(f"{name}  {dep_id}")
    print(f"{len(ids)} deployments in work pool {pool!r} at {url}. "
          f"Start workers with: prefect worker start --pool {pool}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("deploy")(deploy)

