"""The coordinators' deployments, served by ``aarshjul serve`` itself.

In serve mode (one machine, no worker) serve registers the desk deployments of
:mod:`flows.deploy` (:data:`flows.deploy.DESK`: extend, excuse, reopen, resend, pause,
resume, run an event now, the digest) on its Prefect server, with no work pool, and carries
out the runs a coordinator creates in the UI: every ``poll`` seconds it asks the server for
their scheduled runs that are due (which also marks the deployments ready in the UI),
claims each by proposing ``Pending`` (the server accepts one claimer), and runs it in this
process against serve's own setup, as of now. Runs go one at a time, beside serve's
wake-ups (the outbox and the database keep them apart).

Like Prefect's own runner (``prefect.runner.Runner``), but in this process: no child
process per run (a fresh interpreter costs seconds; an action from the UI is done in
about one), and the run gets serve's setup, bound when serve started, instead of reading
the settings again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from flows.binding import Binding, bound
from flows.deploy import DESK, close_parameters, desk_specs

if TYPE_CHECKING:
    from flows.services.setup import Setup
    from models.wheel import Wheel

log = logging.getLogger("aarshjul.desk")
ACTOR = "prefect-ui"  # who the audit log names for a run created in the UI


class DeskRunner:
    """Registers the desk deployments and carries out their runs in this process."""

    def __init__(self, setup: Callable[[], Setup], wheel: Callable[[], Wheel], *,
                 poll: float = 1.0) -> None:
        self.setup, self.wheel, self.poll = setup, wheel, poll
        self.flows: dict[UUID, Any] = {}  # deployment id -> its flow
        self.done: list[UUID] = []  # flow runs carried out (for tests and the log)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> dict[str, UUID]:
        """Create or update the desk deployments on the server; ``{"flow/name": id}``."""
        from prefect.deployments.runner import EntrypointType

        from flows import workflows

        out: dict[str, UUID] = {}
        by_name = {d.name: d for d in DESK}
        for spec in desk_specs(self.wheel(), scheduled=False):
            fl = getattr(workflows, by_name[spec.name].flow)
            dep = fl.to_deployment(
                name=spec.name, description=spec.description, tags=list(spec.tags),
                parameters=spec.parameters, enforce_parameter_schema=True,
                entrypoint_type=EntrypointType.MODULE_PATH)
            dep_id = UUID(str(dep.apply()))
            close_parameters(dep_id, fl.fn)
            self.flows[dep_id] = fl
            out[f"{fl.name}/{spec.name}"] = dep_id
        return out

    # -- running

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="aarshjul-desk", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 120.0) -> None:
        """Stop polling; a run in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.poll_once()
            except Exception:
                log.exception("the desk could not read its runs; trying again")

    def poll_once(self) -> list[UUID]:
        """Carry out every due run of the desk deployments; their ids."""
        from prefect.client.orchestration import get_client

        if not self.flows:
            return []
        with get_client(sync_client=True) as client:
            due = client.get_scheduled_flow_runs_for_deployments(
                deployment_ids=list(self.flows), scheduled_before=datetime.now(UTC))
        ran = []
        for fr in sorted(due, key=lambda r: r.expected_start_time or datetime.min.replace(
                tzinfo=UTC)):
            if self._stop.is_set():
                break
            if self.run(fr.id):
                ran.append(fr.id)
        return ran

    def run(self, flow_run_id: UUID) -> bool:
        """Claim the run (Pending) and carry it out here; False when another claimed it."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.flow_engine import run_flow
        from prefect.states import Pending

        with get_client(sync_client=True) as client:
            claimed: Any = client.set_flow_run_state(flow_run_id, Pending())
            if claimed.status != SetStateStatus.ACCEPT:
                return False
            fr = client.read_flow_run(flow_run_id)
        fl = self.flows.get(fr.deployment_id) if fr.deployment_id else None
        if fl is None:
            return False
        log.info("desk: %s (%s)", fr.name, fl.name)
        st = replace(self.setup(), actor=ACTOR)
        with bound(Binding(st)):
            state = run_flow(fl, flow_run=fr, return_type="state")
        log.info("desk: %s ended %s", fr.name, getattr(state, "type", state))
        self.done.append(flow_run_id)
        return True
