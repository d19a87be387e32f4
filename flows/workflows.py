"""The Prefect layer: each flow wraps one composed run of :mod:`flows.runs`, nothing more.

Every step of the run becomes a Prefect task of the same name (:func:`task_step`: plan,
build-and-enqueue, send, ...), never a task per committee, so 1,000 committees cost the same
handful of task runs (~10-16 ms and ~25 KB of server database each). Each run ends by
publishing its artifacts (:func:`publish`).

- ``event_flow(year, event, dry_run)``: flow ``aarshjul-event``, run ``"<event> <year> ·
  <Danish date>"``, tags ``aarshjul``, the year, the event key and its ``do`` kind;
- ``chase_flow(dry_run, year)``: flow ``aarshjul-chase``, run ``"rykkerkørsel · <date>"``;
- ``receipt_flow(year, committee, deliverable)``: flow ``aarshjul-receipt`` (the CLI's
  ``submit``; the file comes with the run's binding).

The parameters are only what a coordinator may choose, with Danish titles for the UI: no
file path, no wheel, no instant. The rest comes from :func:`flows.compose.binding`.
Exactly-once lives in the database (outbox key and slot state in one transaction), not in
Prefect's caching: tasks use ``NO_CACHE`` and no result persistence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows import runs
from flows.artifacts import artifact_key, progress, summary_markdown, table_rows
from flows.binding import binding, current_binding
from flows.report import RunReport
from flows.services.setup import Refused
from models.dates import dansk_dato, dansk_tid

T = TypeVar("T")
_TASK: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}
SIMULATED = "simulering"

Year = Annotated[int, Field(title="År", description="Cykelåret, f.eks. 2012.")]
EventKey = Annotated[str, Field(title="Hændelse",
                                description="Hændelsens nøgle i årshjulet, f.eks. opfordring.")]
Committee = Annotated[str, Field(title="Udvalg", description="Udvalgets nøgle, f.eks. BUU.")]
Deliverable = Annotated[str, Field(title="Aflevering",
                                   description="Afleveringens nøgle, f.eks. handleplan.")]
DryRun = Annotated[bool, Field(title="Prøvekørsel",
                               description="Vis hvad der ville ske; intet sendes eller ændres.")]
OnlyYear = Annotated[int | None, Field(title="Kun år",
                                       description="Kun dette cykelårs anmodninger (tom: alle).")]


def task_step(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A step of a composed run as a Prefect task named ``name``."""
    t: Any = task(name=name, **_TASK)(fn)
    return t(*args, **kwargs)


# --- run names and tags ------------------------------------------------------------------


def _params() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def _name(text: str) -> str:
    p, b = _params(), current_binding()
    when = b.instant() if b is not None else datetime.now(UTC)
    dry = " (prøvekørsel)" if p.get("dry_run") else ""
    sim = f"{SIMULATED} · " if b is not None and b.simulation else ""
    return f"{sim}{text} · {dansk_dato(when)}{dry}"


def event_run_name() -> str:
    p = _params()
    return _name(f"{p.get('event')} {p.get('year')}")


def chase_run_name() -> str:
    return _name("rykkerkørsel")


def receipt_run_name() -> str:
    p = _params()
    return _name(f"kvittering {p.get('committee')} {p.get('deliverable')} {p.get('year')}")


def _tag_run(*tags: str) -> None:
    """Add tags to the current flow run (flows themselves take no tags in Prefect 3),
    keeping those it was created with: one API call."""

    from prefect.client.orchestration import get_client
    from prefect.context import TagsContext
    from prefect.runtime import flow_run

    found = flow_run.get_id()
    if found is None:
        return
    b = current_binding()
    extra = {SIMULATED} if b is not None and b.simulation else set()
    current = TagsContext.get().current_tags
    with get_client(sync_client=True) as client:
        client.update_flow_run(UUID(str(found)),
                               tags=sorted({*current, "aarshjul", *extra, *tags}))


# --- publishing ------------------------------------------------------------------------------


def _key(key: str | None, simulation: bool) -> str | None:
    """A simulation's keys are its own, so it never replaces the coordinators' artifacts."""
    if key is None or not simulation:
        return key
    return key.replace("aarshjul-", f"aarshjul-{SIMULATED}-", 1)


def publish(report: RunReport, simulation: bool = False) -> None:
    """The run's requests table, progress and Danish summary per cycle year, and the
    artifacts of its own (a snapshot, an invitation, report figures).

    The keyed copies (not for a dry run) make each year's latest state visible on the
    Artifacts page; every artifact is also attached to the run that made it.
    """
    from prefect.artifacts import (
        create_markdown_artifact,
        create_progress_artifact,
        create_table_artifact,
    )

    years: list[int | None] = [report.year] if report.year is not None else [
        *sorted({r.year for r in report.requests})] or [None]
    dry = " (prøvekørsel)" if report.dry_run else ""
    sim = " (simulering)" if simulation else ""
    for year in years:
        rows = [r for r in report.requests if year is None or r.year == year]
        received, total, pct = progress(rows)
        label = f"Årshjul {year}" if year is not None else "Årshjul"

        def key(what: str, y: int | None = year) -> str | None:
            return None if report.dry_run else _key(artifact_key(y, what), simulation)

        create_table_artifact(
            table=table_rows(rows), key=key("anmodninger"),
            description=f"{label}: anmodninger pr. {dansk_tid(report.as_of)}{dry}{sim}")
        create_progress_artifact(
            progress=pct, key=key("fremdrift"),
            description=f"{label}: {received} af {total} afleveringer modtaget{dry}{sim}")
        create_markdown_artifact(
            markdown=summary_markdown(report, rows), key=key("oversigt"),
            description=f"{label}: {report.title}{dry}{sim}")
    for a in report.artifacts:
        create_markdown_artifact(markdown=a.markdown, key=_key(a.key, simulation),
                                 description=a.description + sim)


@task(name="publish", **_TASK)
def publish_task(report: RunReport, simulation: bool = False) -> None:
    publish(report, simulation)


def _finish(report: RunReport) -> RunReport:
    logger = get_run_logger()
    for note in report.notes:
        logger.warning(note)
    b = current_binding()
    publish_task(report, b is not None and b.simulation)
    return report


# --- flows ---------------------------------------------------------------------------------


@flow(name="aarshjul-event", flow_run_name=event_run_name, persist_result=False)
def event_flow(year: Year, event: EventKey, dry_run: DryRun = False) -> RunReport:
    """Carry out one event of the wheel (its letters, snapshot, invitation or report)."""
    b = binding()
    pe = runs.planned_event(b.setup, event, year)
    _tag_run(str(year), pe.key, pe.do)
    return _finish(runs.event(b.setup, event, year, b.instant(), dry_run=dry_run,
                              preview_dir=b.preview_dir, step=task_step))


@flow(name="aarshjul-chase", flow_run_name=chase_run_name, persist_result=False)
def chase_flow(dry_run: DryRun = False, year: OnlyYear = None) -> RunReport:
    """Send the reminders, overdue reminders and escalations due now."""
    b = binding()
    _tag_run("chase", *([str(year)] if year else []))
    return _finish(runs.chase(b.setup, b.instant(), dry_run=dry_run, preview_dir=b.preview_dir,
                              year=year, step=task_step))


@flow(name="aarshjul-receipt", flow_run_name=receipt_run_name, persist_result=False)
def receipt_flow(year: Year, committee: Committee, deliverable: Deliverable) -> RunReport:
    """Register a handed-in file (from ``aarshjul submit``) and send its receipt."""
    b = binding()
    if b.upload is None:
        raise Refused("refused: a receipt run registers the file given to `aarshjul submit`; "
                      "there is none")
    _tag_run(str(year), deliverable, "receipt")
    return _finish(runs.submit(b.setup, year, committee, deliverable, b.upload, b.instant(),
                               step=task_step))
