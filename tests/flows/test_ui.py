"""The coordinators' view: a real Prefect server, a chase that publishes artifacts, and
headless Chromium on the artifact's page (the rendered DOM, and a screenshot as evidence)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A copy of one run's screenshot is kept in tests/flows/evidence/ (looked at by a person).
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000",
]

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def _chromium(url: str, tmp: Path, *extra: str) -> str:
    assert CHROMIUM is not None
    profile = tmp / f"chrome-{len(list(tmp.glob('chrome-*')))}"
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _post(url: str, body: dict) -> list[dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_requests_table_is_rendered_in_the_prefect_ui(tmp_path: Path) -> None:
    from flows.prefect_server import start_local_server

    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    srv = start_local_server(port=None, env=env, log=tmp_path / "server.log", timeout=240)
    try:
        run_env = {
            **env,
            "PREFECT_API_URL": srv.api_url,
            "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
            "AARSHJUL_DATA_DIR": str(tmp_path / "data"),
        }
        run_env.pop("AARSHJUL_SMTP_URL", None)
        exe = str(Path(sys.executable).with_name("aarshjul"))
        for args in (["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"],
                     ["chase", "--as-of", "2012-04-30T09:00"]):
            proc = subprocess.run(
                [exe, *args, "--config", str(ROOT / "aarshjul.yaml")],
                env=run_env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
            )
            assert proc.returncode == 0, proc.stderr

        latest = _post(f"{srv.api_url}/artifacts/latest/filter",
                       {"artifacts": {"key": {"any_": ["aarshjul-2012-anmodninger"]}}})
        assert len(latest) == 1
        page = f"{srv.ui_url}/artifacts/artifact/{latest[0]['latest_id']}"

        dom = _chromium(page, tmp_path, "--dump-dom")
        assert '<table class="p-table__table">' in dom
        for column in ("Udvalg", "Aflevering", "Frist", "Status", "Påmindelser sendt",
                       "Seneste handling"):
            assert f'title="{column}"' in dom, column
        for committee in ("OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"):
            assert f">{committee}<" in dom, committee
        assert "påmindelse before-1 sendt 30. april 2012" in dom
        assert "tirsdag den 15. maj 2012" in dom  # a Danish date, not a markdown list
        assert "rykkerkørsel · 30. april 2012" in dom  # the flow run it belongs to
        assert "Can't connect to Server API" not in dom

        listing = _chromium(f"{srv.ui_url}/artifacts", tmp_path, "--dump-dom")
        for key in ("aarshjul-2012-anmodninger", "aarshjul-2012-fremdrift",
                    "aarshjul-2012-oversigt"):
            assert key in listing

        shot = tmp_path / "artifact.png"
        _chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1600,1000",
                  "--hide-scrollbars")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        out = ROOT / "out" / "ui"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, out / "artifact-anmodninger.png")
    finally:
        srv.stop()
