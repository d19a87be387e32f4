"""``aarshjul doctor`` through the CLI: all green, then each check failing (exit 1), against a
real SQLite store, a real SMTP server, a real IMAP server (Dovecot) and a small HTTP server
that guards its API like Prefect's basic auth; never a password in the output."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.flows.helpers import ROOT
from tests.imapd import PASSWORD as IMAP_PASSWORD
from tests.imapd import dovecot  # noqa: F401
from tests.smtpd import free_port, serve

# Doctor is a process of its own: no Prefect API unless a test names one, even when the
# session's test server is up in this process (configured_api_url would find it).
pytestmark = pytest.mark.usefixtures("no_prefect")

CONFIG = str(ROOT / "aarshjul.yaml")
PASSWORD = "Hemmelig-Pw-42"
PREFECT_SECRET = "aarshjul:prefect-password-0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from models.db import make_engine, upgrade

    db = f"sqlite:///{tmp_path / 'state.sqlite'}"
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", db)
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "data"))
    for var in ("AARSHJUL_SMTP_URL", "AARSHJUL_IMAP_URL", "PREFECT_API_URL",
                "AARSHJUL_PREFECT_AUTH_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    engine = make_engine(db)
    upgrade(engine)
    engine.dispose()
    return tmp_path


def doctor(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["doctor", *args, "--config", CONFIG],
                              catch_exceptions=False)


def checks(*args: str) -> tuple[int, dict[str, dict]]:  # type: ignore[type-arg]
    r = doctor("--json", *args)
    doc = json.loads(r.stdout)
    assert doc["ok"] is (r.exit_code == 0)
    return r.exit_code, {c["check"]: c for c in doc["checks"]}


def failing(code: int, found: dict[str, dict]) -> set[str]:  # type: ignore[type-arg]
    assert code == (1 if any(not c["ok"] for c in found.values()) else 0)
    return {name for name, c in found.items() if not c["ok"]}


def _engine(tmp: Path):  # type: ignore[no-untyped-def]
    from models.db import make_engine

    return make_engine(f"sqlite:///{tmp / 'state.sqlite'}")


def beat(tmp: Path, name: str, at: datetime, *, stopped: bool = False) -> None:
    from flows.services.beats import record_beat

    engine = _engine(tmp)
    record_beat(engine, name, at, stopped=stopped)
    engine.dispose()


# --- a Prefect-like API with basic auth -------------------------------------------------------


@contextlib.contextmanager
def prefect_api(secret: str = PREFECT_SECRET) -> Iterator[str]:
    """``/api/health`` open, ``/api/admin/version`` only with ``Authorization: Basic``
    (``secret`` empty: open to anyone, a server without auth)."""
    want = "Basic " + base64.b64encode(secret.encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if (self.path == "/api/health" or not secret
                    or self.headers.get("Authorization") == want):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'"3.9.1"')
                return
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def credential_file(tmp: Path, secret: str) -> Path:
    path = tmp / "prefect-auth"
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return path


# --- all green ---------------------------------------------------------------------------------


def test_all_green_with_smtp_and_prefect(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve() as smtp, prefect_api() as api:
        monkeypatch.setenv("AARSHJUL_SMTP_URL", smtp.url)
        monkeypatch.setenv("PREFECT_API_URL", api)
        monkeypatch.setenv("AARSHJUL_PREFECT_AUTH_FILE",
                           str(credential_file(env, PREFECT_SECRET)))
        beat(env, "serve", datetime.now(UTC))
        r = doctor()
        code, found = checks()
        assert smtp.handler.received == []  # no mail sent
    assert r.exit_code == 0, r.output
    assert code == 0 and failing(code, found) == set()
    assert list(found) == ["config", "database", "smtp", "prefect", "heartbeat", "outbox",
                           "chase", "alerts"]
    lines = r.stdout.splitlines()
    assert len(lines) == len(found) + 1 and all(x.startswith("OK ") for x in lines[:-1])
    assert lines[-1] == "Alt i orden."
    assert "0011_watch (nyeste)" in found["database"]["detail"]
    assert "tager legitimationen" in found["prefect"]["detail"]


def test_without_smtp_the_eml_files_count_as_green(env: Path) -> None:
    code, found = checks()
    assert code == 0 and "ikke sat" in found["smtp"]["detail"]
    assert "heartbeat" in found and found["heartbeat"]["at"] is None  # no serve yet: holds


# --- each check failing ---------------------------------------------------------------------------


def test_no_database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite'}")
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, found = checks()
    assert failing(code, found) == {"database", "heartbeat", "outbox", "chase", "alerts"}
    assert "findes ikke" in found["database"]["detail"]
    assert not (tmp_path / "none.sqlite").exists()  # doctor creates nothing


def test_an_old_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.db import make_engine, upgrade

    db = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(db)
    upgrade(engine, "0009_pace")
    engine.dispose()
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", db)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, found = checks()
    assert "database" in failing(code, found)
    assert found["database"]["revision"] == "0009_pace"
    assert found["database"]["head"] == "0011_watch"


def test_smtp_refused(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AARSHJUL_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    code, found = checks()
    assert failing(code, found) == {"smtp"}
    assert "connection refused" in found["smtp"]["detail"]


def _refuse_login(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=False, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_refused_and_no_password_shown(env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(authenticator=_refuse_login, auth_require_tls=False) as smtp:
        monkeypatch.setenv("AARSHJUL_SMTP_URL",
                           f"smtp://aarshjul:{PASSWORD}@127.0.0.1:{smtp.port}")
        r = doctor()
        code, found = checks()
    assert r.exit_code == 1 and failing(code, found) == {"smtp"}
    assert "login refused: 535" in found["smtp"]["detail"]
    assert "aarshjul:***@" in found["smtp"]["detail"]
    assert PASSWORD not in r.output and PASSWORD not in json.dumps(found)


def test_smtp_without_starttls(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve() as smtp:
        monkeypatch.setenv("AARSHJUL_SMTP_URL", f"{smtp.url}?starttls=true")
        code, found = checks()
    assert failing(code, found) == {"smtp"}
    assert "does not offer STARTTLS" in found["smtp"]["detail"]


def test_prefect_down(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    code, found = checks()
    assert failing(code, found) == {"prefect"} and "svarer ikke" in found["prefect"]["detail"]


def test_prefect_refuses_a_wrong_credential_though_its_health_answers(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "aarshjul:not-the-password-987654321"
    with prefect_api() as api:
        monkeypatch.setenv("PREFECT_API_URL", api)
        monkeypatch.setenv("AARSHJUL_PREFECT_AUTH_FILE", str(credential_file(env, wrong)))
        r = doctor()
        code, found = checks()
    assert failing(code, found) == {"prefect"}
    assert "afviste legitimationen (401)" in found["prefect"]["detail"]
    assert "not-the-password" not in r.output


def test_prefect_open_to_anyone(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Prefect API that answers without any credential fails: anyone could start runs."""
    with prefect_api(secret="") as api:
        monkeypatch.setenv("PREFECT_API_URL", api)
        code, found = checks()
    assert failing(code, found) == {"prefect"}
    assert "svarer uden legitimation" in found["prefect"]["detail"]


def test_prefect_without_a_credential(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with prefect_api() as api:
        monkeypatch.setenv("PREFECT_API_URL", api)
        code, found = checks()
    assert failing(code, found) == {"prefect"}
    assert "AARSHJUL_PREFECT_AUTH_FILE" in found["prefect"]["detail"]


def test_a_stale_heartbeat(env: Path) -> None:
    beat(env, "serve", datetime.now(UTC) - timedelta(minutes=10))
    code, found = checks()
    assert failing(code, found) == {"heartbeat"}
    assert "10 min siden" in found["heartbeat"]["detail"]


def test_a_serve_that_stopped(env: Path) -> None:
    beat(env, "serve", datetime.now(UTC), stopped=True)
    code, found = checks()
    assert failing(code, found) == {"heartbeat"} and "stoppede" in found["heartbeat"]["detail"]


def _queue(tmp: Path, at: datetime) -> None:
    from sqlmodel import Session

    from letters.delivery import enqueue
    from letters.mail import Outgoing
    from models.config import load

    w = load(CONFIG).wheel
    engine = _engine(tmp)
    with Session(engine) as s:
        enqueue(s, Outgoing(key="alert:test:1", kind="alert", year=2012, committee=None,
                            event=None, deliverable=None, slot=None,
                            sender=("Årshjul", "aarshjul@bif.kk.example"),
                            to=("koordinator@bif.kk.example",), cc=(), subject="Test",
                            text="Test\n", html=None, date=at), w.mail_domain, w.policy.tz)
        s.commit()
    engine.dispose()


def test_the_outbox_waits_too_long(env: Path) -> None:
    _queue(env, datetime.now(UTC) - timedelta(minutes=90))
    code, found = checks()
    assert failing(code, found) == {"outbox"}
    assert "ventet 1 t 30 min (grænse 1 t)" in found["outbox"]["detail"]


def test_a_waiting_message_within_the_threshold_holds(env: Path) -> None:
    _queue(env, datetime.now(UTC) - timedelta(minutes=5))
    code, found = checks()
    assert code == 0 and found["outbox"]["age_s"] >= 300


def test_the_outbox_threshold_is_a_setting(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _queue(env, datetime.now(UTC) - timedelta(minutes=5))
    monkeypatch.setenv("AARSHJUL_OUTBOX_MAX_WAIT", "2")
    code, found = checks()
    assert failing(code, found) == {"outbox"}


def test_the_last_chase_is_late_while_a_year_is_in_progress(env: Path) -> None:
    import time_machine

    cph = ZoneInfo("Europe/Copenhagen")
    beat(env, "chase", datetime(2012, 3, 1, 9, tzinfo=cph))
    with time_machine.travel(datetime(2012, 3, 5, 12, tzinfo=cph), tick=False):
        code, found = checks()
    assert failing(code, found) == {"chase"}
    assert "5. marts 2012 kl. 09.00 er ikke kørt" in found["chase"]["detail"]
    with time_machine.travel(datetime(2012, 3, 5, 10, tzinfo=cph), tick=False):
        code, found = checks()  # within two hours of the planned chase: holds
    assert code == 0, found
    beat(env, "chase", datetime(2012, 3, 5, 9, tzinfo=cph))
    with time_machine.travel(datetime(2012, 3, 5, 12, tzinfo=cph), tick=False):
        code, found = checks()
    assert code == 0, found


def test_an_open_alert_of_the_watchdog(env: Path) -> None:
    from flows.watchdog import Open, save_state

    engine = _engine(env)
    now = datetime.now(UTC)
    save_state(engine, {"imap": Open("imap", now, "login refused", alerted=True)}, now)
    engine.dispose()
    code, found = checks()
    assert failing(code, found) == {"alerts"} and "login refused" in found["alerts"]["detail"]


def test_a_malformed_smtp_url_is_a_usage_error_without_the_password(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AARSHJUL_SMTP_URL", f"smtp://u:{PASSWORD}@mail.example:99999")
    r = doctor()
    assert r.exit_code == 2 and "AARSHJUL_SMTP_URL" in r.stderr
    assert PASSWORD not in r.output and "Traceback" not in r.output


@pytest.mark.imap
def test_imap_login_and_a_wrong_password(env: Path, monkeypatch: pytest.MonkeyPatch,
                                         dovecot) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("AARSHJUL_IMAP_URL", dovecot.url())
    code, found = checks()
    assert code == 0, found
    assert "logget ind" in found["imap"]["detail"]
    bad = dovecot.url().replace("@127.0.0.1", "x@127.0.0.1", 1)
    monkeypatch.setenv("AARSHJUL_IMAP_URL", bad)
    r = doctor()
    code, found = checks()
    assert failing(code, found) == {"imap"} and "login refused" in found["imap"]["detail"]
    assert IMAP_PASSWORD not in r.output and "***" in found["imap"]["detail"]
    assert IMAP_PASSWORD not in json.dumps(found, ensure_ascii=False)

