"""run, chase, submit, status, pause and resume through the CLI (CliRunner), on real files,
a real SQLite store and, for failed sends, a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import Result

from tests.flows.helpers import CONFIG, cli, cli_env
from tests.smtpd import serve


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_env(tmp_path, monkeypatch)


def outgoing(tmp: Path) -> list[Path]:
    return sorted((tmp / "data" / "outgoing").glob("*.eml"))


def status_json(year: int = 2012, as_of: str = "2012-06-01T09:00") -> dict:  # type: ignore[type-arg]
    r = cli("status", "--year", str(year), "--json", "--as-of", as_of)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _form(tmp: Path, committee: str, deliverable: str) -> Path:
    from letters.context import form_context
    from letters.render import template
    from models.config import load
    from models.plan import year_plan

    w = load(CONFIG).wheel
    p = tmp / f"{committee}-{deliverable}.docx"
    ctx = form_context(w, year_plan(w, 2012), deliverable, committee)
    p.write_bytes(template("formular").render(ctx))
    return p


def _submit_buu_handleplan(env: Path) -> Result:
    """``aarshjul submit`` of BUU's handleplan for 2012, received 30 April 2012 at 10:00."""
    return cli("submit", str(_form(env, "BUU", "handleplan")), "--year", "2012",
               "--committee", "BUU", "--deliverable", "handleplan", "--at", "2012-04-30T10:00")


def test_run_chase_submit_status(env: Path) -> None:
    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    assert r.exit_code == 0, r.output
    assert len(outgoing(env)) == 7
    assert "sendt" in r.stdout
    r = cli("chase", "--as-of", "2012-04-30T09:00")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("before-1") == 7 and len(outgoing(env)) == 14
    r = cli("chase", "--as-of", "2012-04-30T09:00")
    assert r.exit_code == 0 and "Intet at sende" in r.stdout and len(outgoing(env)) == 14
    r = _submit_buu_handleplan(env)
    assert r.exit_code == 0, r.output
    assert "BUU handleplan 2012: rettidig" in r.stdout
    assert len(outgoing(env)) == 15
    doc = status_json()
    rows = {(q["committee"], q["deliverable"]): q for q in doc["requests"]}
    assert rows[("BUU", "handleplan")]["status"] == "on_time"
    assert rows[("BUU", "handleplan")]["received_at"] == "2012-04-30T10:00:00+02:00"
    assert rows[("OEU", "handleplan")]["status"] == "open"
    assert rows[("OEU", "handleplan")]["overdue"] is True
    assert doc["problems"] == [] and doc["pending"] == 0 and doc["paused"] is False
    r = cli("status", "--year", "2012", "--as-of", "2012-06-01T09:00")
    assert r.exit_code == 0
    assert "Udvalg" in r.stdout and "rettidig" in r.stdout and "mangler" in r.stdout
    assert "Modtaget: 1 af 14." in r.stdout


def test_dry_run_says_where_and_changes_nothing(env: Path) -> None:
    preview = env / "preview"
    r = cli(
        "run",
        "opfordring",
        "--year",
        "2012",
        "--as-of",
        "2012-01-20T09:00",
        "--dry-run",
        "--preview-dir",
        str(preview),
    )
    assert r.exit_code == 0, r.output
    assert f"written to {preview}" in r.stdout.replace("\n", "")
    assert len(list(preview.glob("*.eml"))) == 7
    assert outgoing(env) == []
    assert status_json()["requests"] == []


def test_refusals_and_usage_errors(env: Path) -> None:
    r = _submit_buu_handleplan(env)
    assert r.exit_code == 1 and "refused" in r.stderr and "no open request" in r.stderr
    cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    bad = env / "plan.docx"
    bad.write_text("not word")
    r = cli(
        "submit", str(bad), "--year", "2012", "--committee", "BUU", "--deliverable", "handleplan"
    )
    assert r.exit_code == 1 and "refused" in r.stderr
    r = cli("run", "nope", "--year", "2012")
    assert r.exit_code == 1 and "not an event" in r.stderr
    r = cli("run", "opfordring", "--year", "2030")
    assert r.exit_code == 1 and "not a cycle year" in r.stderr
    r = cli("chase", "--as-of", "2012-03-25T02:30")  # inside the spring-forward gap
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = cli("chase", "--as-of", "tomorrow")
    assert r.exit_code == 2
    r = cli("status")
    assert r.exit_code == 2


def test_pause_holds_then_resume_sends(env: Path) -> None:
    assert cli("pause").exit_code == 0
    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    assert r.exit_code == 0 and "pause" in r.stdout
    assert outgoing(env) == []
    doc = status_json()
    assert doc["paused"] is True and doc["pending"] == 7
    r = cli("resume")
    assert r.exit_code == 0 and "7 waiting message(s) sent" in r.stdout
    assert len(outgoing(env)) == 7 and status_json()["pending"] == 0


def test_failed_sends_show_in_status_and_fail_the_run(env: Path, monkeypatch) -> None:
    with serve() as smtp:
        smtp.handler.script["kfu-sekretariat@kff.kk.example"] = ["550"]
        monkeypatch.setenv("AARSHJUL_SMTP_URL", smtp.url)
        r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
        letters = {
            m.message["X-Aarshjul-Committee"]
            for m in smtp.handler.received
            if m.message["X-Aarshjul-Kind"] == "letter"
        }
        alerts = [m for m in smtp.handler.received if m.message["X-Aarshjul-Kind"] == "alert"]
    assert r.exit_code == 1 and "could not be delivered" in r.stderr
    assert "KFU" not in letters and len(letters) == 6
    # the coordinator is told, by e-mail
    assert [m.rcpt_tos for m in alerts] == [("koordinator@bif.kk.example",)]
    doc = status_json()
    failed = [p for p in doc["problems"] if p["state"] == "failed"]
    assert [(p["kind"], p["committee"], p["code"]) for p in failed] == [("letter", "KFU", 550)]
    r = cli("status", "--year", "2012")
    assert "Fejlede og usikre afsendelser" in r.stdout and "KFU" in r.stdout
