"""The Prefect server's part of ``aarshjul purge`` (README "Data protection").

Artifacts (the runs' tables and notes, which name committees and addresses) and flow runs
(with their task runs and logs) older than ``policy.retention.prefect_artifacts_days`` and
``prefect_runs_days``, found and deleted through the Prefect client of this process (which
``flows.cli_run.prefect_api`` has given our credential). Only flow runs in a final state are
deleted: a scheduled, pending or running one is never touched. An artifact's age is its
creation; a flow run's is its start (else its expected start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

PAGE = 200
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


@dataclass
class PrefectFound:
    artifacts: list[UUID] = field(default_factory=list)
    runs: list[UUID] = field(default_factory=list)


def find_old(as_of: datetime, artifacts_days: int | None, runs_days: int | None) -> PrefectFound:
    """What on the Prefect server is past its retention as of ``as_of``."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort

    found = PrefectFound()
    with get_client(sync_client=True) as client:
        if artifacts_days is not None:
            cut = as_of - timedelta(days=artifacts_days)
            offset = 0
            while True:
                page: list[Any] = client.read_artifacts(sort=ArtifactSort.CREATED_DESC,
                                                        limit=PAGE, offset=offset)
                found.artifacts += [a.id for a in page if a.created and a.created <= cut]
                if len(page) < PAGE:
                    break
                offset += PAGE
        if runs_days is not None:
            cut = as_of - timedelta(days=runs_days)
            flt = FlowRunFilter(
                start_time=FlowRunFilterStartTime(before_=cut),  # type: ignore[arg-type]
                state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType(s) for s in FINAL])))
            offset = 0
            while True:
                runs = client.read_flow_runs(flow_run_filter=flt, sort=FlowRunSort.START_TIME_ASC,
                                             limit=PAGE, offset=offset)
                found.runs += [r.id for r in runs]
                if len(runs) < PAGE:
                    break
                offset += PAGE
    return found


def delete(found: PrefectFound) -> None:
    """Delete what :func:`find_old` found (one already gone is skipped)."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for aid in found.artifacts:
            try:
                client.delete_artifact(aid)
            except ObjectNotFound:
                pass
        for rid in found.runs:
            try:
                client.delete_flow_run(rid)
            except ObjectNotFound:
                pass
