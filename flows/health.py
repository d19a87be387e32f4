"""The probes behind ``aarshjul doctor`` and serve's watchdog (README "Monitoring").

Each probe looks at one thing and returns a :class:`Probe`: whether it holds and one Danish
line saying what was seen. A probe never raises for what it looks at (an unreachable server
is a failing probe, not an exception) and never puts a password in its line: the SMTP and
IMAP probes name their server by its redacted URL, and whatever a server echoes is scrubbed.

- :func:`database`: connect, and the migration head;
- :func:`smtp`: connect, EHLO, STARTTLS or TLS as the URL says, login when it has a user;
  no mail is sent;
- :func:`imap`: connect, login, select the mailbox;
- :func:`prefect`: an authenticated API call (``GET /api/admin/version``; ``/api/health``
  answers without the credential, so it cannot tell a wrong one);
- :func:`heartbeat`, :func:`outbox`, :func:`alerts`: what the database says (the last
  chase against the plan: :func:`flows.cli_doctor.chase`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.prefect_server import Access, access
from letters.delivery.outbox import sender_health
from letters.delivery.transports import SmtpTransport, TransientFailure
from letters.imap_url import parse_imap_url
from models.dates import MAANEDER
from models.kinds import WAITING
from models.plan import require_aware

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from flows.prefect_auth import Credential


@dataclass(frozen=True)
class Probe:
    """One check: its name (``database``, ``smtp`` ...), whether it holds, a Danish line."""

    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)  # for --json (no secrets)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, **self.data}


def age_da(delta: timedelta) -> str:
    """``3 min``, ``2 t 5 min``, ``4 døgn``: an age in Danish, to the minute."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return f"{max(0, int(delta.total_seconds()))} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} t {rest} min" if rest else f"{hours} t"
    return f"{hours // 24} døgn"


def dansk_tid(t: datetime) -> str:
    """``1. maj 2012 kl. 09.00`` (as :func:`models.dates.dansk_tid`, without loading Babel:
    doctor stays under a second)."""
    return f"{t.day}. {MAANEDER[t.month - 1]} {t.year} kl. {t:%H.%M}"


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# --- services -------------------------------------------------------------------------------


def open_engine(database_url: str) -> tuple[Engine | None, str | None]:
    """An engine on ``database_url`` (None and why, when it cannot be had). A SQLite file that
    does not exist is not created."""
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    try:
        url = make_url(database_url)
    except Exception as exc:
        return None, f"AARSHJUL_DATABASE_URL kan ikke læses: {_why(exc)}"
    if url.get_backend_name() == "sqlite":
        db = url.database or ""
        if db and db != ":memory:" and not Path(db).exists():
            return None, f"databasefilen {db} findes ikke (har aarshjul kørt her?)"
    try:
        return make_engine(database_url), None
    except Exception as exc:
        return None, f"databasen kan ikke åbnes: {_why(exc)}"


def database(engine: Engine | None, why: str | None = None) -> Probe:
    """Connect, and compare the migration with the newest one of this version."""
    if engine is None:
        return Probe("database", False, why or "ingen database")
    where = engine.url.render_as_string(hide_password=True)
    from models.db import current_revision, migration_heads

    try:
        have = current_revision(engine)
    except Exception as exc:
        return Probe("database", False, f"{where} svarer ikke: {_why(exc)}")
    head = "+".join(sorted(migration_heads()))
    data = {"revision": have, "head": head}
    if have != head:
        return Probe("database", False, f"{where}: migration {have or 'ingen'}, men denne "
                     f"version har {head} (kør en verbum, der skriver, fx `aarshjul serve`)",
                     data)
    return Probe("database", True, f"{where}: svarer, migration {have} (nyeste)", data)


def smtp(smtp_url: str | None) -> Probe:
    """Open an SMTP session and quit (no mail sent); without a URL, mail is .eml files."""
    if not smtp_url:
        return Probe("smtp", True, "AARSHJUL_SMTP_URL er ikke sat: beskeder skrives som "
                     ".eml-filer i datamappen", {"configured": False})
    try:
        transport = SmtpTransport(smtp_url)
    except ValueError as exc:
        return Probe("smtp", False, _why(exc), {"configured": True})
    where = transport.url.redacted()
    try:
        transport.probe()
    except TransientFailure as exc:
        return Probe("smtp", False, exc.reply, {"configured": True, "code": exc.code})
    how = "TLS" if transport.url.implicit_tls else "STARTTLS" if transport.url.starttls else ""
    login = ", logget ind" if transport.url.user is not None else ""
    return Probe("smtp", True, f"{where}: EHLO{' ' + how if how else ''}{login}",
                 {"configured": True})


def imap(imap_url: str | None) -> Probe | None:
    """Log in and select the mailbox; None when no mailbox is configured."""
    if not imap_url:
        return None
    from letters.mailbox import Mailbox

    try:
        url = parse_imap_url(imap_url)
    except ValueError as exc:
        return Probe("imap", False, _why(exc))
    box = Mailbox(url)
    try:
        box.connect()
    except Exception as exc:
        text = _why(exc)
        if url.password and len(url.password) >= 3:
            text = text.replace(url.password, "***")
        return Probe("imap", False, text if url.redacted() in text
                     else f"{url.redacted()}: {text}")
    box.close()
    return Probe("imap", True, f"{url.redacted()}: logget ind, postkassen {url.mailbox} åbnet")


def prefect(api_url: str | None, credential: Credential | None,
            timeout: float = 5.0) -> Probe | None:
    """An authenticated API call; None when no Prefect API is configured."""
    if not api_url:
        return None
    got = access(api_url, credential, timeout)
    if got is Access.DOWN:
        return Probe("prefect", False, f"{api_url} svarer ikke")
    if got is Access.REFUSED:
        how = "afviste legitimationen" if credential is not None else \
            "kræver legitimation (sæt AARSHJUL_PREFECT_AUTH_FILE)"
        return Probe("prefect", False, f"{api_url} {how} (401)")
    if got is Access.OPEN:  # README "Security": the API must ask for the credential
        return Probe("prefect", False, f"{api_url} svarer uden legitimation: alle, der når "
                     "den, kan starte kørslerne (sæt PREFECT_SERVER_API_AUTH_STRING)",
                     {"answers": True})
    return Probe("prefect", True, f"{api_url} svarer og tager legitimationen",
                 {"answers": True})


# --- what the database says -----------------------------------------------------------------


def heartbeat(s: Session, now: datetime, max_age: timedelta, tz: Any) -> Probe:
    """Serve's (or the watchdog deployment's) last heartbeat; none at all holds (no serve
    has run against this database: deploy mode without the watchdog, or a first start)."""
    from sqlmodel import col, select

    from models.watch import Heartbeat

    require_aware(now, "now")
    beats = s.exec(select(Heartbeat).where(col(Heartbeat.name).in_(("serve", "watchdog")))
                   .order_by(col(Heartbeat.at).desc())).all()
    if not beats:
        return Probe("heartbeat", True, "ingen hjerteslag: serve har ikke kørt mod denne "
                     "database", {"at": None})
    b = beats[0]
    age = now - b.at
    data = {"at": b.at.isoformat(), "name": b.name, "host": b.host, "pid": b.pid,
            "stopped": b.stopped, "age_s": int(age.total_seconds())}
    where = f"{b.name} på {b.host or '?'} (pid {b.pid})"
    if b.stopped:
        return Probe("heartbeat", False, f"{where} stoppede {dansk_tid(b.at.astimezone(tz))}",
                     data)
    if age > max_age:
        return Probe("heartbeat", False, f"sidste hjerteslag fra {where} for {age_da(age)} "
                     f"siden (grænse {age_da(max_age)})", data)
    return Probe("heartbeat", True, f"{where}, for {age_da(age)} siden", data)


def oldest_waiting(s: Session) -> datetime | None:
    from sqlalchemy import func
    from sqlmodel import col, select

    from models.outbox import OutboxRow

    return s.exec(select(func.min(OutboxRow.queued_at))
                  .where(col(OutboxRow.status).in_(WAITING))).one()


def outbox(s: Session, now: datetime, max_wait: timedelta) -> Probe:
    """The oldest waiting message, with its age (fails past ``max_wait``, unless sending is
    paused), and why the mail server could not be reached at the last try, if so."""
    require_aware(now, "now")
    health = sender_health(s)
    oldest = oldest_waiting(s)
    error = f"; sidste forsøg: {health.last_error}" if health.last_error else ""
    data: dict[str, Any] = {"oldest": oldest.isoformat() if oldest else None,
                            "paused": health.paused, "last_error": health.last_error}
    if oldest is None:
        return Probe("outbox", True, f"ingen beskeder venter{error}", data)
    if oldest.tzinfo is None:  # pragma: no cover - UTCDateTime gives aware values
        oldest = oldest.replace(tzinfo=UTC)
    age = now - oldest
    data["age_s"] = int(age.total_seconds())
    text = f"ældste ventende besked har ventet {age_da(age)}"
    if health.paused:
        return Probe("outbox", True, f"{text}; afsendelse er sat på pause", data)
    if age > max_wait:
        return Probe("outbox", False, f"{text} (grænse {age_da(max_wait)}){error}", data)
    return Probe("outbox", health.last_error is None, f"{text}{error}", data)


def last_chase(s: Session) -> datetime | None:
    from models.watch import Heartbeat

    beat = s.get(Heartbeat, "chase")
    return beat.at if beat is not None else None


def alerts(s: Session, tz: Any) -> Probe:
    """The watchdog's open alerts (the coordinator has been told; not yet recovered)."""
    from sqlmodel import col, select

    from models.watch import WatchState

    rows = s.exec(select(WatchState).where(col(WatchState.alerted).is_(True))
                  .order_by(col(WatchState.since))).all()
    data = {"open": [{"check": r.check, "since": r.since.isoformat(), "detail": r.detail}
                     for r in rows]}
    if not rows:
        return Probe("alerts", True, "ingen åbne alarmer fra vagten", data)
    listed = "; ".join(f"{r.check} siden {dansk_tid(r.since.astimezone(tz))}: {r.detail}"
                       for r in rows)
    return Probe("alerts", False, f"{len(rows)} åbne alarmer: {listed}", data)
