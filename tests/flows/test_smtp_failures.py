"""A mail server that cannot be used is never silent (README "Monitoring"): each failure kind
(refused connection, 535, TLS failure, missing STARTTLS, timeout ...) ends the run with exit 1
and the reason, ``status`` shows it, ``doctor`` fails on it, a log line names it, and the
run's artifact says it; never with the password."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.flows.helpers import ROOT
from tests.letters.test_delivery import PASSWORD, UNREACHABLE, _unreachable

CONFIG = str(ROOT / "aarshjul.yaml")


def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--config", CONFIG], catch_exceptions=False)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("AARSHJUL_DATA_DIR", str(tmp_path / "data"))
    for var in ("AARSHJUL_SMTP_URL", "AARSHJUL_IMAP_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    return tmp_path


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("case", list(UNREACHABLE))
def test_each_failure_kind_fails_the_run_and_shows_everywhere(
        env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        case: str) -> None:
    with _unreachable(case) as (url, _ctx), caplog.at_level(logging.ERROR, "aarshjul"):
        monkeypatch.setenv("AARSHJUL_SMTP_URL", url)
        run = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
        status = cli("status", "--year", "2012", "--as-of", "2012-01-20T10:00")
        doc = json.loads(cli("status", "--year", "2012", "--json",
                             "--as-of", "2012-01-20T10:00").stdout)
        doctor = cli("doctor", "--json")
    reason = UNREACHABLE[case]
    # the run fails, with the reason
    assert run.exit_code == 1, run.output
    assert "the mail server could not be reached" in run.stderr and reason in run.stderr
    assert "7 message(s) wait in the outbox" in run.stderr
    assert "Mailserveren kunne ikke nås" in run.stdout
    # status says why (and no longer that all is well)
    assert status.exit_code == 0
    assert "Mailserveren kunne ikke nås ved sidste forsøg" in status.stdout
    assert reason in status.stdout
    assert doc["pending"] == 7 and reason in doc["sender"]["last_error"]
    # doctor fails on the SMTP check and on the outbox, naming the reason
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert doctor.exit_code == 1
    assert not checks["smtp"]["ok"] and reason in checks["smtp"]["detail"]
    assert not checks["outbox"]["ok"] and reason in checks["outbox"]["detail"]
    # one log line for the journal
    logged = [r.getMessage() for r in caplog.records if r.name == "aarshjul.delivery"]
    assert len(logged) == 1 and reason in logged[0]
    everything = run.output + status.output + doctor.output + caplog.text + json.dumps(doc)
    assert PASSWORD not in everything


def test_the_run_artifact_says_the_server_could_not_be_reached() -> None:
    from flows.artifacts import summary_markdown
    from flows.report import RunReport
    from models.kinds import RunKind

    report = RunReport(title="Rykkerkørsel", kind=RunKind.CHASE, year=2012,
                       as_of=datetime(2012, 3, 1, 9, tzinfo=ZoneInfo("Europe/Copenhagen")),
                       unreachable="smtp://u:***@mail.example:587: login refused: 535 [x](y)")
    text = summary_markdown(report)
    assert "## Mailserveren kunne ikke nås" in text
    assert "login refused: 535 \\[x\\]\\(y\\)" in text  # shown as text, not as a link


def test_a_run_that_reaches_the_server_again_passes(env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.smtpd import free_port, serve

    port = free_port()
    monkeypatch.setenv("AARSHJUL_SMTP_URL", f"smtp://127.0.0.1:{port}")
    assert cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"
               ).exit_code == 1
    with serve(port=port) as smtp:
        r = cli("chase", "--as-of", "2012-01-23T09:00")
        # six go out; the one whose attempt met the refused connection waits for its retry
        assert len(smtp.handler.received) == 6
    assert r.exit_code == 0, r.output
    s = cli("status", "--year", "2012", "--as-of", "2012-01-23T10:00")
    assert "Mailserveren kunne ikke nås" not in s.stdout


def test_resume_that_cannot_reach_the_server_fails(env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.smtpd import free_port

    assert cli("pause").exit_code == 0
    assert cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"
               ).exit_code == 0  # paused: queued, nothing tried
    monkeypatch.setenv("AARSHJUL_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    r = cli("resume")
    assert r.exit_code == 1 and "the mail server could not be reached" in r.stderr
    assert "connection refused" in r.stderr


VERBS = [
    ["check"], ["plan", "--year", "2012"], ["status", "--year", "2012"],
    ["run", "opfordring", "--year", "2012"], ["chase"], ["pause"], ["resume"], ["doctor"],
    ["serve"], ["deploy"],
    ["submit", str(ROOT / "aarshjul.yaml"), "--year", "2012", "--committee", "BUU",
     "--deliverable", "handleplan"],
]


@pytest.mark.parametrize("url", [f"smtp://u:{PASSWORD}@mail.example:99999",
                                 f"http://u:{PASSWORD}@mail.example",
                                 f"smtp://u:{PASSWORD}@mail.example?tls=yes"])
@pytest.mark.parametrize("verb", VERBS, ids=lambda v: v[0])
def test_a_malformed_smtp_url_is_refused_clearly_by_every_verb(
        env: Path, monkeypatch: pytest.MonkeyPatch, verb: list[str], url: str) -> None:
    monkeypatch.setenv("AARSHJUL_SMTP_URL", url)
    r = cli(*verb)  # catch_exceptions=False: a traceback fails the test
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("AARSHJUL_SMTP_URL: ")
    assert "refused: fix the environment; nothing was run." in r.stderr
    assert PASSWORD not in r.output and "Traceback" not in r.output
    assert not (env / "state.sqlite").exists()  # nothing was run
