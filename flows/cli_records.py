"""The records verbs (README "Data protection"): ``purge`` and ``export``.

Both import SQLAlchemy (and ``purge`` the Prefect client) inside the verb.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli_state import (
    AsOfOption,
    DataDirOption,
    instant_or_exit,
    prefect_api,
    setup_or_exit,
)
from flows.common import DEFAULT_CONFIG, ConfigOption, fail
from flows.prefect_records import delete, find_old
from models.kinds import PurgeKind

if TYPE_CHECKING:
    from flows.services.purge import Found


SIZED = (PurgeKind.OUTBOX_ATTACHMENTS, PurgeKind.OUTBOX_BODIES, PurgeKind.JOURNAL,
         PurgeKind.DOCUMENTS, PurgeKind.SUBMISSIONS)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def _line(f: Found) -> str:
    keep = "beholdes" if f.keep_days is None else f"ældre end {f.keep_days} dage"
    extra = f"  ({f.note})" if f.note else ""
    size = _size(f.size) if f.kind in SIZED else "-"  # rows and runs: no size of their own
    return f"  {f.kind:20} {f.count:8}  {size:>10}  {keep}{extra}"


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go; remove nothing.")
                       ] = False,
    as_of: AsOfOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Remove what is past its retention (policy.retention) from the database, the data
    directory and the Prefect server; --dry-run lists it (counts and sizes per kind)."""
    from flows.services.purge import apply_purge, plan_purge

    st = setup_or_exit(config, data_dir, dry_run=dry_run)
    when = instant_or_exit(st, as_of, live=not dry_run)
    retention = st.wheel.policy.retention
    assert st.journal is not None
    plan = plan_purge(st.db, st.data, st.journal, retention, when)
    found = None
    url = prefect_api()
    wanted = retention.prefect_artifacts_days is not None or retention.prefect_runs_days is not None
    if url is not None and wanted:
        found = find_old(when, retention.prefect_artifacts_days, retention.prefect_runs_days)
        plan.found[PurgeKind.PREFECT_ARTIFACTS].count = len(found.artifacts)
        plan.found[PurgeKind.PREFECT_RUNS].count = len(found.runs)
    elif url is None:
        for k in (PurgeKind.PREFECT_ARTIFACTS, PurgeKind.PREFECT_RUNS):
            plan.found[k].note = "ingen Prefect-server sat op"
    print(f"{'Ville blive slettet' if dry_run else 'Slettet'} pr. {when.isoformat()} "
          "(policy.retention):")
    print(f"  {'slags':20} {'antal':>8}  {'størrelse':>10}  opbevaring")
    for f in plan.found.values():
        print(_line(f))
    if url is None:
        print("Prefect: ingen Prefect-server er sat op (PREFECT_API_URL); artefakter og "
              "flowkørsler er ikke ryddet.")
    if dry_run:
        print("--dry-run: intet er slettet.")
        return
    try:
        apply_purge(st.db, st.journal, plan, actor=st.actor)
        if found is not None:
            delete(found)
    except Exception as exc:
        fail(f"afvist: oprydningen blev ikke gjort færdig: {type(exc).__name__}: {exc}. "
             "Kør `aarshjul purge` igen; det der allerede er slettet, tælles ikke igen.")
    print("Oprydningen er registreret i auditloggen.", file=sys.stderr)


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The .zip to write (0600).")],
    committee: Annotated[str | None, typer.Option("--committee", help="A committee key.")
                         ] = None,
    address: Annotated[str | None, typer.Option("--address", help="An e-mail address.")
                       ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """For an access request: every message, document and audit entry concerning a
    committee or an address, with an index (index.csv, index.json), in one .zip."""
    from flows.services.export import ExportRefused, export_zip

    if (committee is None) == (address is None):
        print("Giv enten --committee eller --address (én af dem).", file=sys.stderr)
        raise typer.Exit(2)
    st = setup_or_exit(config, data_dir)
    try:
        n = export_zip(st, output, instant_or_exit(st, None), committee=committee, address=address)
    except ExportRefused as exc:
        fail(f"afvist: {exc}")
    except OSError as exc:
        fail(f"afvist: {output} kunne ikke skrives: {exc}")
    who = f"udvalget {committee}" if committee else f"adressen {address}"
    print(f"{output}: {n.messages} beskeder, {n.documents} dokumenter og {n.audit} "
          f"auditposter om {who}.")


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
    app.command("export")(export)
