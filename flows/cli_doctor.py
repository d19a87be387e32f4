"""``aarshjul doctor``: is everything in order? One line per check (README "Monitoring").

Exit 0 when every check holds, 1 when one fails (for a monitoring system: a systemd timer,
Nagios, Zabbix ...), 2 for a malformed environment. ``--json`` prints the same as one JSON
document. No check sends mail, changes state or creates the database, and no line holds a
password. The probes are :mod:`flows.health`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows import health
from flows.common import DEFAULT_CONFIG, ConfigOption, settings_or_exit
from flows.health import Probe
from flows.prefect_auth import CredentialError, from_settings
from flows.prefect_server import configured_api_url
from flows.serve import chase_period, wakes
from flows.settings import Settings
from models.config import load
from models.plan import require_aware
from models.problems import ConfigError

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.wheel import Wheel

LABEL = {
    "config": "årshjul", "database": "database", "smtp": "smtp", "imap": "imap",
    "prefect": "prefect", "heartbeat": "hjerteslag", "outbox": "udbakke",
    "chase": "rykkerkørsel", "alerts": "alarmer",
}


def _wheel(config: Path) -> tuple[Any, Probe]:
    try:
        wheel = load(config).wheel
    except ConfigError as exc:
        n = len(exc.problems)
        return None, Probe("config", False, f"{config}: {n} problem{'er' if n != 1 else ''} "
                           "(`aarshjul check` viser dem)")
    except OSError as exc:
        return None, Probe("config", False, f"{config}: {exc.strerror or exc}")
    return wheel, Probe("config", True, f"{config}: {wheel.policy.name}")


def _prefect(settings: Settings) -> Probe | None:
    url = configured_api_url()
    if url is None:
        return None
    try:
        credential = from_settings(settings)
    except CredentialError as exc:
        return Probe("prefect", False, f"{url}: {exc}")
    return health.prefect(url, credential)


def _state(settings: Settings, wheel: Any, now: datetime) -> list[Probe]:
    """The database and what it says."""
    from models.db import session

    engine, why = health.open_engine(settings.database_url)
    db = health.database(engine, why)
    out = [db]
    names = ("heartbeat", "outbox", "chase", "alerts")
    if engine is None or not db.ok:
        out += [Probe(n, False, "ikke undersøgt: databasen er ikke i orden") for n in names]
        if engine is not None:
            engine.dispose()
        return out
    tz = wheel.policy.tz if wheel is not None else UTC
    try:
        with session(engine) as s:
            out.append(health.heartbeat(s, now, timedelta(seconds=settings.heartbeat_max_age),
                                        tz))
            out.append(health.outbox(s, now, timedelta(minutes=settings.outbox_max_wait)))
            if wheel is None:
                out.append(Probe("chase", False, "ikke undersøgt: årshjulet kan ikke læses"))
            else:
                out.append(chase(s, wheel, now, timedelta(minutes=settings.chase_late)))
            out.append(health.alerts(s, tz))
    finally:
        engine.dispose()
    return out


def chase(s: Session, wheel: Wheel, now: datetime, late: timedelta) -> Probe:
    """The last chase, against the plan: fails when a chase was planned more than ``late``
    ago (while a year is in progress) and none has run since."""
    require_aware(now, "now")
    tz = wheel.policy.tz
    last = health.last_chase(s)
    data = {"last": last.isoformat() if last else None}
    seen = f"sidste rykkerkørsel {health.dansk_tid(last.astimezone(tz))}" if last else \
        "ingen rykkerkørsel endnu"
    today = now.astimezone(tz).date()
    years = wheel.policy.years
    if not years[0] <= today.year <= years[1] + 1:  # cheap: no plan needed
        return Probe("chase", True, f"{seen}; intet cykelår i gang", data)
    first, end = chase_period(wheel)
    if not first <= today <= end + timedelta(days=1):
        return Probe("chase", True, f"{seen}; intet cykelår i gang", data)
    planned = wakes(wheel, now - timedelta(days=14), now)
    if not planned:
        return Probe("chase", True, f"{seen}; ingen planlagt endnu", data)
    due = planned[-1].at
    data["planned"] = due.isoformat()
    if (last is not None and last >= due) or now - due <= late:
        return Probe("chase", True, seen, data)
    when = health.dansk_tid(due.astimezone(tz))
    return Probe("chase", False, f"rykkerkørslen {when} er ikke kørt "
                 f"({seen}; grænse {health.age_da(late)})", data)


def checks(settings: Settings, now: datetime) -> list[Probe]:
    """Every check of ``doctor``, in its order."""
    wheel, config = _wheel(settings.config)
    out = [config, *_state(settings, wheel, now)]
    out.insert(2, health.smtp(settings.smtp_url))
    extra = [p for p in (health.imap(settings.imap_url), _prefect(settings)) if p is not None]
    return out[:3] + extra + out[3:]


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Check the database, SMTP, IMAP, Prefect, serve's heartbeat, the outbox and the last
    chase: one line each; exit 0 when all hold, 1 when one fails (for monitoring)."""
    settings = settings_or_exit(config)
    found = checks(settings, datetime.now(UTC))
    ok = all(p.ok for p in found)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [p.as_dict() for p in found]},
                         ensure_ascii=False, indent=2))
    else:
        width = max(len(LABEL.get(p.name, p.name)) for p in found)
        for p in found:
            print(f"{'OK' if p.ok else 'FEJL':4}  {LABEL.get(p.name, p.name):{width}}  {p.detail}")
        failing = sum(not p.ok for p in found)
        print("Alt i orden." if ok else f"{failing} af {len(found)} kontroller fejler.",
              file=sys.stdout)
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
