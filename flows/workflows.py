"""The Prefect layer: thin flows over :mod:`flows.engine`.

One flow run per event run, per chase and per submission, with a handful of tasks each
(plan, build+enqueue the batch, send the batch, publish) — never a task per committee, so
1,000 committees cost the same handful of task runs (DEVELOPERS.md: ~10-16 ms and ~25 KB of
server database per task run).

- ``event_flow(config, year, event, as_of)``: flow ``aarshjul-event``, run named
  ``"<event> <year> · <Danish date>"``, tags ``aarshjul``, the year, the event key and its
  ``do`` kind. ``letters`` sends the letters; the kinds the next issue builds (barometer,
  status_report, budget, meeting) are dispatched through ``engine.EVENT_HANDLERS`` and, while
  they are missing, the run says so: a Danish note in the report and its artifact and a
  warning in the run's log.
- ``chase_flow(config, as_of)``: flow ``aarshjul-chase``, run ``"rykkerkørsel · <date>"``.
- ``receipt_flow(config, year, committee, deliverable, file, at)``: flow ``aarshjul-receipt``.

Every run ends by publishing its artifacts (:func:`flows.artifacts.publish`). The flows take
plain parameters (deployable); the process-wide :func:`bound` lets ``simulate`` and the
tests hand them a ready :class:`flows.engine.Setup` (another database, transport, journal).
Exactly-once lives in the database (outbox key + slot state in one transaction), not in
Prefect's caching: tasks use ``NO_CACHE`` and no result persistence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import engine as E
from flows.report import RunReport
from models.dates import dansk_dato

_BOUND: E.Setup | None = None
_CACHE: dict[tuple[str, float, str], E.Setup] = {}


@contextmanager
def bound(st: E.Setup) -> Iterator[E.Setup]:
    """Run the flows of this process against ``st`` instead of the configured store."""
    global _BOUND
    old, _BOUND = _BOUND, st
    try:
        yield st
    finally:
        _BOUND = old


def setup_for(config: str) -> E.Setup:
    """The Setup for ``config``: the bound one, else the wheel + ``AARSHJUL_DATABASE_URL``."""
    if _BOUND is not None:
        return _BOUND
    from models.config import load
    from models.db import database_url

    path = Path(config)
    key = (str(path.resolve()), path.stat().st_mtime, database_url())
    if key not in _CACHE:
        loaded = load(path)
        _CACHE[key] = E.Setup(loaded.wheel, E.open_database(), E.data_dir(), actor="flow")
    return _CACHE[key]


def _instant(st: E.Setup, text: str | None) -> datetime:
    from models.plan import parse_instant

    if not text:
        return datetime.now(UTC).astimezone(st.tz)
    return parse_instant(text, st.tz)


# --- run names and tags ------------------------------------------------------------------


def _params() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def _day(as_of: str | None) -> str:
    if not as_of:
        return dansk_dato(datetime.now(UTC))
    try:
        return dansk_dato(datetime.fromisoformat(as_of))
    except ValueError:
        return as_of


def event_run_name() -> str:
    p = _params()
    dry = " (prøvekørsel)" if p.get("dry_run") else ""
    return f"{p.get('event')} {p.get('year')} · {_day(p.get('as_of'))}{dry}"


def chase_run_name() -> str:
    p = _params()
    dry = " (prøvekørsel)" if p.get("dry_run") else ""
    return f"rykkerkørsel · {_day(p.get('as_of'))}{dry}"


def receipt_run_name() -> str:
    p = _params()
    what = f"{p.get('committee')} {p.get('deliverable')} {p.get('year')}"
    return f"kvittering {what} · {_day(p.get('at'))}"


def _tag_run(*tags: str) -> None:
    """Add tags to the current flow run (flows themselves take no tags in Prefect 3).

    Keeps the tags the run was created with (a ``prefect.tags`` block): one API call.
    """
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.context import TagsContext
    from prefect.runtime import flow_run

    found = flow_run.get_id()
    if found is None:
        return
    current = TagsContext.get().current_tags
    with get_client(sync_client=True) as client:
        client.update_flow_run(UUID(str(found)), tags=sorted({*current, "aarshjul", *tags}))


# --- tasks ---------------------------------------------------------------------------------

_TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="plan", **_TASK)  # type: ignore[call-overload]
def plan_task(
    st: E.Setup, what: str, as_of: datetime, year: int | None = None, event: str | None = None
) -> list[E.Action]:
    if what == "letters":
        assert year is not None and event is not None
        return E.plan_letters(st, year, event, as_of)
    return E.plan_chase(st, as_of, year)


@task(name="build-and-enqueue", **_TASK)  # type: ignore[call-overload]
def enqueue_task(
    st: E.Setup,
    actions: list[E.Action],
    as_of: datetime,
    what: str,
    year: int | None = None,
    event: str | None = None,
) -> list[Any]:
    def replan() -> list[E.Action]:
        if what == "letters":
            assert year is not None and event is not None
            return E.plan_letters(st, year, event, as_of)
        return E.plan_chase(st, as_of, year)

    return E.enqueue_actions(st, actions, as_of, replan=replan)


@task(name="preview", **_TASK)  # type: ignore[call-overload]
def preview_task(
    st: E.Setup, actions: list[E.Action], as_of: datetime, directory: Path
) -> tuple[list[Any], list[str]]:
    readings = E._readings(st) if any(a.kind == "letter" for a in actions) else None
    outgoing = [E.build_outgoing(st, a, as_of, readings) for a in actions if a.send]
    return outgoing, E._preview(st, directory, outgoing)


@task(name="send", **_TASK)  # type: ignore[call-overload]
def send_task(st: E.Setup, now: datetime | None = None) -> Any:
    return E.deliver(st, now)


@task(name="publish", **_TASK)  # type: ignore[call-overload]
def publish_task(report: RunReport) -> None:
    from flows.artifacts import publish

    publish(report)


# --- flows ---------------------------------------------------------------------------------


def _warn_notes(report: RunReport) -> None:
    logger = get_run_logger()
    for note in report.notes:
        logger.warning(note)


@flow(name="aarshjul-event", flow_run_name=event_run_name, persist_result=False)
def event_flow(
    config: str,
    year: int,
    event: str,
    as_of: str | None = None,
    dry_run: bool = False,
    preview_dir: str | None = None,
) -> RunReport:
    st = setup_for(config)
    at = _instant(st, as_of)
    plan = st.plan(year)
    try:
        pe = plan.event(event)
    except StopIteration:
        raise E.Refused(f"refused: {event!r} is not an event of the wheel") from None
    _tag_run(str(year), pe.key, pe.do)
    if pe.do != "letters":
        # dispatched through the engine's handler table; a kind not built yet says so
        report = E.run_event(
            st,
            event,
            year,
            at,
            dry_run=dry_run,
            preview_dir=Path(preview_dir) if preview_dir else None,
        )
        _warn_notes(report)
        publish_task(report)
        return report
    report = RunReport(
        title=E.event_title(st, pe, year),
        kind="event",
        year=year,
        as_of=st.local(at),
        dry_run=dry_run,
    )
    actions = plan_task(st, "letters", at, year=year, event=event)
    _carry_out(st, report, actions, at, dry_run, preview_dir, "letters", year, event)
    report.requests = E.request_rows(st, year, at)
    _warn_notes(report)
    publish_task(report)
    return report


@flow(name="aarshjul-chase", flow_run_name=chase_run_name, persist_result=False)
def chase_flow(
    config: str,
    as_of: str | None = None,
    dry_run: bool = False,
    preview_dir: str | None = None,
    year: int | None = None,
) -> RunReport:
    st = setup_for(config)
    at = _instant(st, as_of)
    _tag_run("chase", *([str(year)] if year else []))
    report = RunReport(
        title=f"Rykkerkørsel {dansk_dato(st.local(at))}",
        kind="chase",
        year=year,
        as_of=st.local(at),
        dry_run=dry_run,
    )
    actions = plan_task(st, "chase", at, year=year)
    _carry_out(st, report, actions, at, dry_run, preview_dir, "chase", year, None)
    report.requests = E.request_rows(st, year, at)
    _warn_notes(report)
    publish_task(report)
    return report


@flow(name="aarshjul-receipt", flow_run_name=receipt_run_name, persist_result=False)
def receipt_flow(
    config: str, year: int, committee: str, deliverable: str, file: str, at: str | None = None
) -> RunReport:
    st = setup_for(config)
    when = _instant(st, at)
    _tag_run(str(year), deliverable, "receipt")
    reg = register_task(st, year, committee, deliverable, Path(file), when)
    report = RunReport(
        title=f"Aflevering {deliverable} fra {committee} {dansk_dato(st.local(when))}",
        kind="receipt",
        year=year,
        as_of=st.local(when),
    )
    from flows.intake_wiring import registered_notes

    report.notes += registered_notes(st.wheel, reg, Path(file).name)
    send_task(st)
    report.messages = E.message_rows(st, [reg.outgoing.key], outgoing=[reg.outgoing])
    if E.paused(st):
        report.notes.append(E.PAUSED_NOTE)
    report.requests = E.request_rows(st, year, when)
    publish_task(report)
    return report


@task(name="register", **_TASK)  # type: ignore[call-overload]
def register_task(
    st: E.Setup, year: int, committee: str, deliverable: str, file: Path, at: datetime
) -> E.Registered:
    return E.register_submission(st, year, committee, deliverable, file, at)


def _carry_out(
    st: E.Setup,
    report: RunReport,
    actions: list[E.Action],
    at: datetime,
    dry_run: bool,
    preview_dir: str | None,
    what: str,
    year: int | None,
    event: str | None,
) -> None:
    if dry_run:
        directory = Path(preview_dir) if preview_dir else st.data / "preview"
        outgoing, written = preview_task(st, actions, at, directory)
        report.documents += written
        report.messages = E.message_rows(
            st, [o.key for o in outgoing], dry_run=True, outgoing=outgoing
        )
        return
    queued = enqueue_task(st, actions, at, what, year=year, event=event)
    send_task(st)
    if E.paused(st):
        report.notes.append(E.PAUSED_NOTE)
    report.messages = E.message_rows(st, [o.key for o in queued], outgoing=queued)
    if st.documents is not None:
        report.documents += E.document_paths(queued)


logging.getLogger("aarshjul.engine").setLevel(logging.INFO)
