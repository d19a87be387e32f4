"""Serve's heartbeat and watchdog (README "Monitoring").

Every ``AARSHJUL_HEARTBEAT_EVERY`` seconds (default 60) serve's watchdog thread

1. writes the heartbeat (table ``heartbeat``, row ``serve``: the instant, host and pid;
   ``stopped`` on a clean stop), which ``aarshjul doctor`` reads;
2. looks (:mod:`flows.health`): the Prefect API (an authenticated call), the SMTP server (a
   session, no mail), the IMAP mailbox when ``AARSHJUL_IMAP_URL`` is set, the outbox's
   oldest waiting message, and the flow runs that crashed or failed in the last 24 hours;
3. decides (:func:`decide`, pure): a condition that has failed for its grace period (Prefect,
   SMTP, IMAP: ``AARSHJUL_WATCH_GRACE`` minutes; the outbox: as soon as its oldest message
   has waited ``AARSHJUL_OUTBOX_MAX_WAIT`` minutes; a crashed run: at once) is alerted ONCE;
   when it holds again, the recovery is alerted once;
4. keeps the open conditions in ``watch_state`` (so a restarted serve does not alert again)
   and tells the coordinator on every channel that works: a log line (logger
   ``aarshjul.watchdog``, ERROR for an alert and WARNING for a recovery: journald/syslog), a
   Prefect artifact (key ``aarshjul-vagt``) when Prefect answers, an e-mail of kind
   ``alert`` to ``policy.coordinator`` when the SMTP server answers, and ``doctor``'s
   ``alarmer`` line (it reads ``watch_state``).

In deploy mode the same round runs as the deployment ``aarshjul-watchdog/vagt`` every 5
minutes (:func:`flows.workflows.watchdog_flow`), beating ``watchdog`` instead of ``serve``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flows import health
from flows.prefect_server import configured_api_url
from flows.services.beats import record_beat
from flows.settings import Settings
from letters.delivery import enqueue
from letters.mail import Outgoing
from models.kinds import AlertChange, MessageKind
from models.plan import require_aware

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from flows.prefect_auth import Credential
    from flows.services.setup import Setup

log = logging.getLogger("aarshjul.watchdog")

CRASH = "crash:"  # a crashed flow run's check: crash:<flow run id>
CRASH_WINDOW = timedelta(hours=24)
ARTIFACT_KEY = "aarshjul-vagt"
# The coordinators' actions and a receipt fail their run when they refuse (the refusal is
# their artifact, or the CLI's message): a failed one is not a crash; a crashed one is.
REFUSING_FLOWS = frozenset({"aarshjul-receipt", "aarshjul-extend", "aarshjul-excuse",
                            "aarshjul-reopen", "aarshjul-resend", "aarshjul-pause",
                            "aarshjul-resume"})
WHAT_DA = {"prefect": "Prefect-serveren", "smtp": "Mailserveren (SMTP)",
           "imap": "Postkassen (IMAP)", "outbox": "Udbakken"}


# --------------------------------------------------------------------------- pure decisions


@dataclass(frozen=True)
class Observation:
    """What one round saw of one condition; ``grace``: how long it may fail unalerted."""

    check: str
    ok: bool
    detail: str = ""
    grace: timedelta = timedelta(0)


@dataclass(frozen=True)
class Open:
    """A condition that fails: since when, what it said last, whether it was alerted."""

    check: str
    since: datetime
    detail: str
    alerted: bool = False


@dataclass(frozen=True)
class Alert:
    """One message to the coordinator: a condition alerted, or recovered."""

    check: str
    change: AlertChange
    detail: str
    since: datetime
    at: datetime

    @property
    def key(self) -> str:
        """The e-mail's idempotency key: one alert and one recovery per failing spell."""
        return f"watch:{self.check}:{self.since.astimezone(UTC):%Y%m%dT%H%M%SZ}:{self.change}"

    def text_da(self, tz: Any) -> str:
        what = WHAT_DA.get(self.check, "En flowkørsel" if self.check.startswith(CRASH)
                           else self.check)
        since = health.dansk_tid(self.since.astimezone(tz))
        if self.change == AlertChange.RECOVERED:
            return f"{what} er i orden igen (fejlede fra {since}): {self.detail}"
        if self.check.startswith(CRASH):
            return f"{what} gik ned ({since}): {self.detail}"
        return f"{what} fejler siden {since}: {self.detail}"


def decide(state: Mapping[str, Open], seen: Iterable[Observation], now: datetime,
           forget: Iterable[str] = ()) -> tuple[dict[str, Open], list[Alert]]:
    """The open conditions after this round, and the alerts to send.

    A failing observation opens its condition (``since`` = ``now``) or keeps it open; once it
    has failed for its ``grace``, it is alerted, once. A holding observation closes its
    condition, with a recovery alert when it had been alerted. A condition not observed this
    round stays as it was (its probe could not run), unless it is in ``forget`` (no longer
    watched, or a crash out of the window): then it goes, silently.
    """
    require_aware(now, "now")
    out: dict[str, Open] = {}
    alerts: list[Alert] = []
    observed: set[str] = set()
    for o in seen:
        observed.add(o.check)
        cur = state.get(o.check)
        if o.ok:
            if cur is not None and cur.alerted:
                alerts.append(Alert(o.check, AlertChange.RECOVERED, o.detail, cur.since, now))
            continue
        cur = Open(o.check, now, o.detail) if cur is None else replace(cur, detail=o.detail)
        if not cur.alerted and now - cur.since >= o.grace:
            cur = replace(cur, alerted=True)
            alerts.append(Alert(o.check, AlertChange.RAISED, o.detail, cur.since, now))
        out[o.check] = cur
    gone = set(forget)
    for check, cur in state.items():
        if check not in observed and check not in gone:
            out[check] = cur
    return out, alerts


# --------------------------------------------------------------------------- stored state


def load_state(engine: Engine) -> dict[str, Open]:
    from sqlmodel import select

    from models.db import session
    from models.watch import WatchState

    with session(engine) as s:
        return {r.check: Open(r.check, r.since, r.detail, r.alerted)
                for r in s.exec(select(WatchState)).all()}


def save_state(engine: Engine, state: Mapping[str, Open], now: datetime) -> None:
    """Make ``watch_state`` hold exactly ``state``."""
    from sqlmodel import col, delete, select

    from models.db import write_session
    from models.watch import WatchState

    with write_session(engine) as s:
        s.exec(delete(WatchState).where(col(WatchState.check).not_in(list(state))))
        have = {r.check: r for r in s.exec(select(WatchState)).all()}
        for check, o in state.items():
            row = have.get(check) or WatchState(check=check, since=o.since, checked_at=now)
            row.since, row.detail, row.alerted, row.checked_at = o.since, o.detail, o.alerted, now
            s.add(row)
        s.commit()


# --------------------------------------------------------------------------- looking


def crashed_runs(since: datetime) -> list[tuple[str, str, str]]:
    """(id, "flow «run»", state) of the flow runs that crashed or failed since ``since``."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    flt = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.CRASHED, StateType.FAILED])),
        expected_start_time=FlowRunFilterExpectedStartTime(after_=since))  # type: ignore[arg-type]  # pydantic takes a datetime
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=flt, limit=50)
        flows = {f: client.read_flow(f).name for f in {r.flow_id for r in runs}}
    return [(str(r.id), f"{flows[r.flow_id]} «{r.name}»", str(r.state_type.value))
            for r in runs if r.state_type is not None and not (
                r.state_type == StateType.FAILED and flows[r.flow_id] in REFUSING_FLOWS)]


def publish_artifact(state: Mapping[str, Open], alerts: Sequence[Alert], tz: Any) -> None:
    """The watchdog's artifact (key ``aarshjul-vagt``): the open alerts and this round's."""
    from prefect import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    lines = ["# Vagten", ""]
    lines += [f"- {a.text_da(tz)}" for a in alerts]
    opened = [o for o in state.values() if o.alerted]
    lines += ["", "## Åbne alarmer", ""]
    lines += [f"- {WHAT_DA.get(o.check, o.check)} siden "
              f"{health.dansk_tid(o.since.astimezone(tz))}: {o.detail}" for o in opened
              ] or ["Ingen."]
    with get_client(sync_client=True) as client:
        client.create_artifact(artifact=ArtifactCreate(
            type="markdown", key=ARTIFACT_KEY, description="Vagtens alarmer",
            data="\n".join(lines).replace("<", "&lt;")))


def deployed_round(st: Setup) -> list[Alert]:
    """One round in a flow run of the deployment ``aarshjul-watchdog/vagt`` (deploy mode):
    the worker's settings and Prefect API, beating ``watchdog``."""
    dog = Watchdog(Settings.from_env(), lambda: st, name="watchdog")
    dog.api_url = configured_api_url()
    return dog.round()


class Watchdog:
    """One watchdog: rounds (:meth:`round`) in a thread of its own (:meth:`start`)."""

    def __init__(self, settings: Settings, setup: Callable[[], Setup], *, name: str = "serve",
                 credential: Credential | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings, self.setup, self.name = settings, setup, name
        self.credential = credential
        self.api_url: str | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.every = settings.heartbeat_every
        self.prefect_answers = False  # this round: the Prefect API answered
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, now: datetime, state: Mapping[str, Open]
                ) -> tuple[list[Observation], set[str]]:
        """This round's observations, and the conditions no longer watched."""
        from models.db import session

        grace = timedelta(minutes=self.settings.watch_grace)
        seen: list[Observation] = []
        forget: set[str] = set()
        self.prefect_answers = False
        for name, probe in (("prefect", health.prefect(self.api_url, self.credential)
                             if self.api_url else None),
                            ("smtp", health.smtp(self.settings.smtp_url)
                             if self.settings.smtp_url else None),
                            ("imap", health.imap(self.settings.imap_url))):
            if probe is None:
                forget.add(name)
            else:
                seen.append(Observation(name, probe.ok, probe.detail, grace))
                if name == "prefect":  # answers (even when open to anyone: then it fails)
                    self.prefect_answers = bool(probe.data.get("answers"))
        st = self.setup()
        with session(st.db) as s:
            probe = health.outbox(s, now, timedelta(minutes=self.settings.outbox_max_wait))
        age = timedelta(seconds=int(probe.data.get("age_s", 0)))
        too_long = (not probe.data["paused"] and probe.data["oldest"] is not None
                    and age > timedelta(minutes=self.settings.outbox_max_wait))
        seen.append(Observation("outbox", not too_long, probe.detail))
        crashes = {c for c in state if c.startswith(CRASH)}
        if self.prefect_answers:
            try:
                found = crashed_runs(now - CRASH_WINDOW)
            except Exception as exc:
                log.warning("the crashed flow runs could not be read: %s", exc)
            else:
                for run_id, run, state_type in found:
                    seen.append(Observation(f"{CRASH}{run_id}", False, f"{run} ({state_type})"))
                forget |= crashes - {f"{CRASH}{r[0]}" for r in found}
        return seen, forget

    def round(self) -> list[Alert]:
        """One round: beat, look, decide, keep, tell. Returns this round's alerts."""
        now = self.clock()
        st = self.setup()
        record_beat(st.db, self.name, now)
        state = load_state(st.db)
        seen, forget = self.observe(now, state)
        new, alerts = decide(state, seen, now, forget)
        save_state(st.db, new, now)
        if alerts:
            works = {o.check: o.ok for o in seen}
            self.notify(st, new, alerts, now, prefect=self.prefect_answers,
                        smtp=works.get("smtp", True))
        return alerts

    def notify(self, st: Setup, state: Mapping[str, Open], alerts: Sequence[Alert],
               now: datetime, *, prefect: bool, smtp: bool) -> None:
        """Tell the coordinator: the log always, the artifact when Prefect answers, the
        e-mail when the mail server does."""
        tz = st.tz
        for a in alerts:
            if a.change == AlertChange.RAISED:
                log.error("ALARM %s: %s", a.check, a.text_da(tz))
            else:
                log.warning("I ORDEN IGEN %s: %s", a.check, a.text_da(tz))
        if prefect and self.api_url:
            try:
                publish_artifact(state, alerts, tz)
            except Exception as exc:
                log.warning("the watchdog's artifact could not be published: %s", exc)
        if smtp:
            try:
                self.mail(st, alerts, now)
            except Exception:
                log.exception("the watchdog's alert e-mail could not be sent")

    def mail(self, st: Setup, alerts: Sequence[Alert], now: datetime) -> None:
        """One e-mail of kind ``alert`` per alert (its key makes it once), then send."""
        from flows.services.outbox import deliver
        from models.db import write_session

        p = st.wheel.policy
        with write_session(st.db) as s:
            for a in alerts:
                title = "I orden igen" if a.change == AlertChange.RECOVERED else "Alarm"
                text = (f"{a.text_da(st.tz)}\n\nSe `aarshjul doctor` og Prefect-artefaktet "
                        f"{ARTIFACT_KEY}.\n")
                enqueue(s, Outgoing(
                    key=a.key, kind=MessageKind.ALERT, year=st.local(now).year, committee=None,
                    event=None, deliverable=None, slot=None,
                    sender=(p.sender.name, p.sender.email), to=(p.coordinator.email,), cc=(),
                    subject=f"{title}: {WHAT_DA.get(a.check, 'flowkørsel')}", text=text,
                    html=None, date=now), st.domain, st.tz)
            s.commit()
        deliver(st, now)

    # -- the thread
    def start(self, api_url: str | None) -> None:
        self.api_url = api_url
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="aarshjul-watchdog",
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                self.round()
            except Exception:
                log.exception("the watchdog's round failed; the next one tries again")
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        """Stop the thread and beat ``stopped`` (a clean stop, for doctor)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
            self._thread = None
        try:
            record_beat(self.setup().db, self.name, self.clock(), stopped=True)
        except Exception:
            log.exception("the last heartbeat could not be written")
