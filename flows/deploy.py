"""``aarshjul deploy``: Prefect deployments from the year plan, run by workers of a pool.

For when one machine is outgrown. It registers, on the Prefect server at
``PREFECT_API_URL``:

- ``aarshjul-chase/rykkerkoersel``: the chase, ``Cron("M H * * 1-5", timezone=policy.timezone)``
  at ``send_time`` (a chase on a public holiday is harmless: it sends what is due as of then,
  and slots are only ever due on business days);
- ``aarshjul-intake/postkasse``: the mail intake (README "Replies by e-mail"),
  ``Cron("*/10 * * * *", timezone=policy.timezone)``, every 10 minutes while the policy's
  years last (no schedule once they are over); the worker reads ``AARSHJUL_IMAP_URL``;
- ``aarshjul-event/<event key>``: one deployment per event of the wheel, with one schedule per
  remaining cycle year at the event's planned instant (an ``RRule`` with its ``DTSTART`` in the
  policy's zone and ``COUNT=1``, carrying ``{"year": Y}``), so a date moved to the next
  business day is exact and no year repeats;

all in a work pool of type ``process`` (created when missing), with the project directory as
the source (no Docker image: ``build=False, push=False``). ``prefect worker start --pool
NAME`` on each machine (same project path, same environment file) runs them; the outbox
makes sure that two workers never send the same message twice.

The deployments take no file path, no wheel and no instant: a flow run reads the wheel, the
database and the directories from the worker's own environment (``AARSHJUL_CONFIG``,
``AARSHJUL_DATABASE_URL``, ``AARSHJUL_DATA_DIR``, ...: the environment file ``deploy`` was
run with) and runs as of now. Prefect refuses a run whose parameters its flow does not take
(``enforce_parameter_schema``).

and, for the coordinators (README "The coordinator's desk"), one deployment per action, with
no schedule, that a coordinator runs from the UI (``dry_run`` on by default):
``aarshjul-extend/forlaeng``, ``aarshjul-excuse/fritag``, ``aarshjul-reopen/genaabn``,
``aarshjul-resend/send-igen``, ``aarshjul-pause/pause``, ``aarshjul-resume/genoptag``,
``aarshjul-intake-accept/registrer-svar`` and ``aarshjul-intake-dismiss/laeg-svar-til-side``
(a message the intake held), ``aarshjul-event/koer-nu`` (run one event now) and
``aarshjul-digest/ugeoversigt`` (in ``deploy`` mode on a schedule: weekdays at
``send_time``, sending on the digest's day only).
``aarshjul-watchdog/vagt`` runs serve's watchdog (:mod:`flows.watchdog`) every 5 minutes.
In serve mode serve registers the same desk deployments and carries out their runs itself
(:mod:`flows.desk_runner`).

The same deployments are declared in ``deploy/prefect.yaml`` for ``prefect deploy --all``.
:func:`deployment_specs` is pure (the wheel and ``now`` in, specs out) and tested on its own.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.serve import chase_period
from models.plan import require_aware, year_plan
from models.wheel import Wheel

DEFAULT_POOL = "aarshjul"
PROJECT = Path(__file__).resolve().parent.parent
CHASE_ENTRY = "flows/workflows.py:chase_flow"
EVENT_ENTRY = "flows/workflows.py:event_flow"
INTAKE_ENTRY = "flows/workflows.py:intake_flow"
INTAKE_CRON = "*/10 * * * *"  # README "Replies by e-mail": every 10 minutes
WATCHDOG_ENTRY = "flows/workflows.py:watchdog_flow"
WATCHDOG_CRON = "*/5 * * * *"
TAGS = ("aarshjul",)


@dataclass(frozen=True)
class Desk:
    """A coordinator's action as a deployment: run from the UI, never on a schedule."""

    name: str
    flow: str  # the flow's function in flows/workflows.py
    description: str  # Danish: what the deployment's page says
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def entrypoint(self) -> str:
        return f"flows/workflows.py:{self.flow}"


# One line per action.
DESK: tuple[Desk, ...] = (
    Desk("forlaeng", "extend_flow", "Forlæng et udvalgs frist for en aflevering: en ny række "
         "påmindelser fra nu og en meddelelse til udvalget."),
    Desk("fritag", "excuse_flow", "Fritag et udvalg for en aflevering: ingen flere "
         "påmindelser; står som fritaget, ikke som manglende."),
    Desk("genaabn", "reopen_flow", "Træk en fejlagtig registrering (eller en fritagelse) "
         "tilbage: anmodningen er åben igen."),
    Desk("send-igen", "resend_flow", "Send en besked igen, efter at en adresse er rettet "
         "(Resent-*-felter)."),
    Desk("pause", "pause_flow", "Sæt al afsendelse på pause; udbakken beholder beskederne."),
    Desk("genoptag", "resume_flow", "Genoptag afsendelse og send det, der venter."),
    Desk("registrer-svar", "intake_accept_flow", "Registrér en tilbageholdt beskeds Word-fil "
         "i hånden for et udvalg og en aflevering (aarshjul intake accept)."),
    Desk("laeg-svar-til-side", "intake_dismiss_flow", "Læg en tilbageholdt besked til side: "
         "intet registreres (aarshjul intake dismiss)."),
    Desk("koer-nu", "event_flow", "Kør en hændelse i årshjulet nu (breve, barometer, "
         "rapport).", {"dry_run": True}),
    Desk("ugeoversigt", "digest_flow", "Send koordinatorens ugeoversigt for de igangværende "
         "cykelår (én gang om ugen)."),
)


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str  # cron | rrule
    expression: str
    timezone: str
    parameters: dict[str, Any] = field(default_factory=dict)
    slug: str | None = None


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    parameters: dict[str, Any]
    schedules: tuple[ScheduleSpec, ...]
    description: str
    tags: tuple[str, ...] = TAGS


def chase_cron(wheel: Wheel) -> str:
    clock = wheel.policy.send_clock
    return f"{clock.minute} {clock.hour} * * 1-5"


def _rrule_once(at: datetime) -> str:
    return f"DTSTART:{at:%Y%m%dT%H%M%S}\nRRULE:FREQ=YEARLY;COUNT=1"


def _over(wheel: Wheel, now: datetime | None) -> bool:
    """The policy's chase period is over at ``now``: nothing will ever be due."""
    return now is not None and now.astimezone(wheel.policy.tz).date() > chase_period(wheel)[1]


def desk_specs(wheel: Wheel, *, scheduled: bool = True,
               now: datetime | None = None) -> list[DeploymentSpec]:
    """The coordinators' deployments (:data:`DESK`); with ``scheduled``, the digest's weekday
    schedule (unless ``policy.digest: false`` or the policy is over)."""
    tz, out = wheel.policy.timezone, []
    for d in DESK:
        schedules: tuple[ScheduleSpec, ...] = ()
        if d.flow == "digest_flow" and scheduled and wheel.policy.digest and not _over(
                wheel, now):
            schedules = (ScheduleSpec("cron", chase_cron(wheel), tz, slug="ugeoversigt",
                                      parameters={"only_on_digest_day": True}),)
        out.append(DeploymentSpec(name=d.name, entrypoint=d.entrypoint,
                                  parameters=dict(d.parameters), schedules=schedules,
                                  description=d.description,
                                  tags=(*TAGS, "desk", d.flow.removesuffix("_flow"))))
    return out


def deploy_warnings(wheel: Wheel, specs: list[DeploymentSpec], now: datetime) -> list[str]:
    """Danish warnings for ``aarshjul deploy``: what will not run by itself."""
    desk = {d.name for d in DESK}
    events = [s for s in specs if s.entrypoint == EVENT_ENTRY and s.name not in desk]
    first, last = wheel.policy.years
    if _over(wheel, now):
        return [f"Advarsel: politikkens år ({first}-{last}) er forbi: der er ikke lagt nogen "
                "hændelser, rykkerkørsler eller ugeoversigter i kalenderen; kun "
                "koordinatorens handlinger kan køres (fra Prefect-brugerfladen)."]
    if events and not any(s.schedules for s in events):
        return [f"Advarsel: ingen af årshjulets hændelser i {first}-{last} ligger efter nu; "
                "ingen hændelse er lagt i kalenderen (rykkerkørslen er)."]
    return []


def deployment_specs(wheel: Wheel, now: datetime | None = None) -> list[DeploymentSpec]:
    """The chase deployment, one deployment per event, and the coordinators' deployments;
    event schedules for the cycle years whose planned instant is after ``now`` (all, when
    ``now`` is None), the chase's and the digest's unless the policy is over at ``now``."""
    tz = wheel.policy.timezone
    if now is not None:
        require_aware(now, "now")
    chase_schedules: tuple[ScheduleSpec, ...] = () if _over(wheel, now) else (
        ScheduleSpec("cron", chase_cron(wheel), tz, slug="rykkerkoersel"),)
    specs = [
        DeploymentSpec(
            name="rykkerkoersel",
            entrypoint=CHASE_ENTRY,
            parameters={},
            schedules=chase_schedules,
            description=(
                "Rykkerkørsel: påmindelser, rykkere og eskaleringer, hverdage kl. "
                f"{wheel.policy.send_time} ({tz})."
            ),
            tags=(*TAGS, "chase"),
        )
    ]
    intake_schedules: tuple[ScheduleSpec, ...] = () if _over(wheel, now) else (
        ScheduleSpec("cron", INTAKE_CRON, tz, slug="postkasse"),)
    specs.append(DeploymentSpec(
        name="postkasse", entrypoint=INTAKE_ENTRY, parameters={}, schedules=intake_schedules,
        description=("Postkassen: læs udvalgenes svar (AARSHJUL_IMAP_URL), registrér "
                     f"afleveringer og send kvitteringer, hvert 10. minut ({tz})."),
        tags=(*TAGS, "intake")))
    plans = [year_plan(wheel, y) for y in wheel.policy.year_range]
    for e in wheel.events:
        schedules = []
        for plan in plans:
            pe = plan.event(e.key)
            if now is not None and pe.at <= now:
                continue
            schedules.append(
                ScheduleSpec(
                    "rrule", _rrule_once(pe.at), tz,
                    parameters={"year": plan.year}, slug=f"{e.key}-{plan.year}",
                )
            )
        specs.append(
            DeploymentSpec(
                name=e.key,
                entrypoint=EVENT_ENTRY,
                parameters={"event": e.key},
                schedules=tuple(schedules),
                description=f"{e.title} ({e.do}), {e.date} hvert år kl. {wheel.policy.send_time}.",
                tags=(*TAGS, e.key, e.do),
            )
        )
    return [*specs, *desk_specs(wheel, now=now), watchdog_spec(wheel, now)]


def watchdog_spec(wheel: Wheel, now: datetime | None = None) -> DeploymentSpec:
    """``aarshjul-watchdog/vagt``: serve's watchdog as a deployment (README "Monitoring"),
    every 5 minutes while the policy runs."""
    tz = wheel.policy.timezone
    schedules: tuple[ScheduleSpec, ...] = () if _over(wheel, now) else (
        ScheduleSpec("cron", WATCHDOG_CRON, tz, slug="vagt"),)
    return DeploymentSpec(
        name="vagt", entrypoint=WATCHDOG_ENTRY, parameters={}, schedules=schedules,
        description="Vagten: hjerteslag, og en alarm til koordinatoren når SMTP eller IMAP "
                    "ikke svarer, en kørsel går ned, eller udbakken venter for længe.",
        tags=(*TAGS, "watchdog"))


def _schedule(spec: ScheduleSpec) -> Any:
    from prefect.schedules import Cron, RRule

    if spec.kind == "cron":
        return Cron(spec.expression, timezone=spec.timezone, parameters=spec.parameters,
                    slug=spec.slug)
    return RRule(spec.expression, timezone=spec.timezone, parameters=spec.parameters,
                 slug=spec.slug)


def ensure_pool(name: str) -> bool:
    """Create the process work pool ``name`` when missing; True when it was created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True
        if pool.type != "process":
            raise RuntimeError(f"work pool {name!r} is of type {pool.type!r}, not 'process'")
        return False


def deploy_all(
    wheel: Wheel,
    *,
    pool: str = DEFAULT_POOL,
    source: Path = PROJECT,
    now: datetime | None = None,
) -> dict[str, str]:
    """Register every deployment on the configured server; ``{"flow/name": id}``."""
    from prefect import Flow

    ensure_pool(pool)
    out: dict[str, str] = {}
    for spec in deployment_specs(wheel, now):
        fl: Any = Flow.from_source(source=str(source), entrypoint=spec.entrypoint)
        dep_id = fl.deploy(
            name=spec.name,
            work_pool_name=pool,
            build=False,
            push=False,
            schedules=[_schedule(s) for s in spec.schedules],
            parameters=spec.parameters,
            description=spec.description,
            tags=list(spec.tags),
            print_next_steps=False,
            ignore_warnings=True,
            enforce_parameter_schema=True,
        )
        close_parameters(dep_id, fl.fn)
        out[f"{fl.name}/{spec.name}"] = str(dep_id)
    return out


def parameter_labels(fn: Any) -> dict[str, dict[str, str]]:
    """The Danish ``title`` and ``description`` of each parameter of a flow function, from
    its ``Annotated[..., Field(title=..., description=...)]`` hints. (Prefect's own schema
    titles every parameter with its name and drops what the annotation says.)"""
    from pydantic.fields import FieldInfo

    out: dict[str, dict[str, str]] = {}
    for name, hint in typing.get_type_hints(fn, include_extras=True).items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, FieldInfo):
                out[name] = {k: v for k, v in (("title", meta.title),
                                               ("description", meta.description)) if v}
    return out


def labelled_schema(schema: dict[str, Any] | None, fn: Any = None,
                    defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``schema`` closed (``additionalProperties: false``) and, given the flow's function,
    with its parameters' Danish titles and descriptions and the deployment's ``defaults``:
    what the UI's run form shows."""
    out = dict(schema or {"type": "object", "properties": {}})
    out["additionalProperties"] = False
    props = {k: dict(v) for k, v in out.get("properties", {}).items()}
    if fn is not None:
        for name, labels in parameter_labels(fn).items():
            if name in props:
                props[name].update(labels)
    for name, value in (defaults or {}).items():
        if name in props:
            props[name]["default"] = value
    out["properties"] = props
    return out


def close_parameters(deployment_id: Any, fn: Any = None) -> None:
    """Make the server refuse a run with a parameter the flow does not take, and give the
    parameters their Danish titles (``fn``: the flow's function).

    Prefect's schema for a flow's parameters allows other properties; with
    ``additionalProperties: false`` a run created with, say, a ``config`` or an ``as_of``
    is refused (409) when it is created. (A run that switches the schema check off still
    fails before it starts: the flow takes no such parameter.)
    """
    from prefect import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    with get_client(sync_client=True) as client:
        dep = client.read_deployment(deployment_id)
        schema = labelled_schema(dep.parameter_openapi_schema, fn, dict(dep.parameters or {}))
        client.update_deployment(deployment_id,
                                 DeploymentUpdate(parameter_openapi_schema=schema))
