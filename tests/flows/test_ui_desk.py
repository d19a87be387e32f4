"""The coordinator's desk in the Prefect UI, end to end: a real Prefect server, ``aarshjul
serve`` running against it, the action deployments read back from the API (names, Danish
parameter titles, ``dry_run`` on by default), one extension created through the API as the
UI creates it (``POST /deployments/{id}/create_flow_run``) and carried out by serve without
a worker (the state changed, the notice sent, the artifact in Danish), and Chromium on that
deployment's run form: the Danish titles in the DOM, and a screenshot (kept in
tests/flows/evidence/, looked at by a person)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from flows.deploy import DESK as DESK_DEPLOYMENTS
from tests import ROOT
from tests.flows.test_ui import CHROMIUM, FLAGS

DESK = {
    "aarshjul-extend/forlaeng": {"year": "År", "committee": "Udvalg", "deliverable": "Aflevering",
                                 "until": "Ny frist", "reason": "Begrundelse",
                                 "dry_run": "Prøvekørsel"},
    "aarshjul-excuse/fritag": {"year": "År", "committee": "Udvalg", "reason": "Begrundelse"},
    "aarshjul-reopen/genaabn": {"submission": "Aflevering nr.", "dry_run": "Prøvekørsel"},
    "aarshjul-resend/send-igen": {"message_id": "Message-ID", "to": "Til"},
    "aarshjul-pause/pause": {"dry_run": "Prøvekørsel"},
    "aarshjul-resume/genoptag": {"dry_run": "Prøvekørsel"},
    "aarshjul-event/koer-nu": {"year": "År", "event": "Hændelse", "dry_run": "Prøvekørsel"},
    "aarshjul-digest/ugeoversigt": {"year": "Kun år", "only_on_digest_day":
                                    "Kun på ugeoversigtens dag"},
}

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def _chromium(url: str, tmp: Path, *extra: str) -> str:
    """Headless chromium on ``url`` (no login: this server runs without the credential)."""
    assert CHROMIUM is not None
    profile = tmp / f"chrome-{len(list(tmp.glob('chrome-*')))}"
    # the virtual time budget lets the UI's scripts render before the DOM is dumped
    proc = subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=15000",
                           f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _api(url: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _wait(predicate: Any, timeout: float, what: str, proc: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"serve exited ({proc.returncode}) before {what}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _business_day(after: date, days: int) -> date:
    from models.config import load
    from models.plan import calendar_for

    cal = calendar_for(load(ROOT / "aarshjul.yaml").wheel)
    return cal.roll(after + timedelta(days=days), "next")


def long_wheel(tmp: Path) -> Path:
    """The Copenhagen wheel with its years extended to 2028, so that this year is one."""
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    out = tmp / "aarshjul.yaml"
    out.write_text(text.replace("years: [2011, 2014]", "years: [2011, 2028]"), encoding="utf-8")
    return out


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A Prefect server, this year's letters, and ``aarshjul serve`` against both."""
    from flows.prefect_server import start_local_server

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("AARSHJUL_SMTP_URL", None)
    srv = start_local_server(port=None, env=env, log=tmp_path / "server.log", timeout=240)
    cfg = long_wheel(tmp_path)
    year = datetime.now().year
    app_env = {**env, "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
               "AARSHJUL_DATA_DIR": str(tmp_path / "data"), "AARSHJUL_CONFIG": str(cfg)}
    exe = str(Path(sys.executable).with_name("aarshjul"))
    letters = subprocess.run([exe, "run", "opfordring", "--year", str(year), "--as-of",
                              f"{year}-01-20T09:00", "--config", str(cfg)], env=app_env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert letters.returncode == 0, letters.stderr
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([exe, "serve", "--config", str(cfg)],
                                env={**app_env, "PREFECT_API_URL": srv.api_url}, cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        serving = f"serving {len(DESK_DEPLOYMENTS)} deployments"
        _wait(lambda: serving in log.read_text(errors="replace"), 300,
              "serve's desk", proc)
        yield srv, proc, tmp_path, year
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        srv.stop()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_an_extension_from_the_ui_is_carried_out_by_serve(served) -> None:  # type: ignore[no-untyped-def]
    srv, proc, tmp, year = served
    deps = {f"{d['flow_name']}/{d['name']}": d for d in _api_deployments(srv.api_url)}
    assert set(DESK) <= set(deps)
    for name, titles in DESK.items():
        props = deps[name]["parameter_openapi_schema"]["properties"]
        for param, title in titles.items():
            assert props[param]["title"] == title, (name, param, props[param])
            assert props[param].get("description"), (name, param)
        assert deps[name]["parameter_openapi_schema"]["additionalProperties"] is False
        if "dry_run" in props and name != "aarshjul-digest/ugeoversigt":
            assert props["dry_run"]["default"] is True, name
        assert not set(props) & {"config", "wheel", "as_of", "path", "preview_dir"}
        assert deps[name]["work_pool_name"] is None  # serve runs them: no worker
    assert deps["aarshjul-event/koer-nu"]["parameters"] == {"dry_run": True}

    extend = deps["aarshjul-extend/forlaeng"]
    until = _business_day(date.today(), 21)
    created = _api(f"{srv.api_url}/deployments/{extend['id']}/create_flow_run", {
        "parameters": {"year": year, "committee": "TMU", "deliverable": "handleplan",
                       "until": until.isoformat(), "reason": "Bestilt i brugerfladen",
                       "dry_run": False}})

    def finished() -> Any:
        run = _api(f"{srv.api_url}/flow_runs/{created['id']}")
        return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    run = _wait(finished, 60, "the run to finish", proc)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["name"].startswith(f"forlængelse TMU handleplan {year} · ")
    assert {"aarshjul", "extend", "TMU"} <= set(run["tags"])

    from sqlmodel import Session, select

    from models.db import make_engine
    from models.state import AuditEntry, Request

    eng = make_engine(f"sqlite:///{tmp / 'app.sqlite'}")
    with Session(eng) as s:
        req = s.exec(select(Request).where(Request.year == year, Request.committee == "TMU",
                                           Request.deliverable == "handleplan")).one()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "extend")).one()
    eng.dispose()
    assert (req.extended_to, req.ladder) == (until, 1)
    assert (audit.actor, audit.reason) == ("prefect-ui", "Bestilt i brugerfladen")
    notices = [m for m in _eml(tmp / "data" / "outgoing") if m["X-Aarshjul-Kind"] == "notice"]
    assert [n["X-Aarshjul-Committee"] for n in notices] == ["TMU"]
    assert "forlænget" in notices[0]["Subject"]

    arts = _api(f"{srv.api_url}/artifacts/filter",
                {"artifacts": {"flow_run_id": {"any_": [created["id"]]}}})
    summary = next(a for a in arts if a["type"] == "markdown" and a["key"]
                   and a["key"].endswith("-oversigt"))
    assert "## Udført" in summary["data"] and "er forlænget" in summary["data"]

    page = f"{srv.ui_url}/deployments/deployment/{extend['id']}/run"
    # reduced motion: the run form fades in, and a headless screenshot would catch it half-way
    dom = _chromium(page, tmp, "--dump-dom", "--force-prefers-reduced-motion")
    for title in ("Ny frist", "Begrundelse", "Prøvekørsel", "Udvalg", "Aflevering"):
        assert title in dom, title
    assert "Udvalgets nye frist: en hverdag" in dom
    assert "Can't connect to Server API" not in dom
    shot = tmp / "desk-run-form.png"
    _chromium(page, tmp, f"--screenshot={shot}", "--window-size=1400,1400", "--hide-scrollbars",
              "--force-prefers-reduced-motion")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    out = ROOT / "out" / "ui"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, out / "desk-run-form.png")

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 0


def _api_deployments(api: str) -> list[dict[str, Any]]:
    deps = _api(f"{api}/deployments/filter", {})
    flows = {f["id"]: f["name"] for f in _api(f"{api}/flows/filter", {})}
    for d in deps:
        d["flow_name"] = flows[d["flow_id"]]
    return deps  # type: ignore[no-any-return]


def _eml(directory: Path) -> list[Any]:
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(directory.glob("*.eml"))]
