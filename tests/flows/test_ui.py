"""The coordinators' view: a real Prefect server with its API locked, a chase that publishes
artifacts, and Debian's chromium driven through chromedriver (Selenium).

- Straight to the server: the UI shows its login page and asks for the credential; after
  logging in, the artifact's page (the rendered DOM, and a screenshot as evidence).
- Through the reverse proxy of deploy/nginx-aarshjul.conf: the coordinator logs in with a
  user of their own; the page shows the same table, with no Prefect login page, and the
  browser never holds the Prefect credential.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import ROOT
from tests.locked import (
    NGINX,
    Api,
    assert_nowhere,
    basic,
    credential_file,
    nginx_proxy,
    secret_of,
)

# A copy of one run's screenshots is kept in tests/flows/evidence/ (looked at by a person).
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1600,1000", "--hide-scrollbars",
]
KEY = "aarshjul-2012-anmodninger"
WAIT_S = 120

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Debian's chromium and chromium-driver are not installed"),
]


@contextmanager
def _browser(**options: Any) -> Iterator[Any]:
    """Headless chromium through Debian's chromedriver (never a downloaded driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        opts.add_argument(flag)
    for name, value in options.items():
        setattr(opts, name, value)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, what: str, predicate: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, WAIT_S, poll_frequency=0.25).until(lambda d: predicate(d))
    except Exception as exc:
        raise AssertionError(f"waited {WAIT_S} s for {what}; at {driver.current_url}") from exc


@dataclass
class Year:
    """A locked server on which the 2012 letters and the 30 April chase have run."""

    api_url: str
    ui_url: str
    auth: Path
    env: dict[str, str]
    artifact_id: str
    log: Path


@contextmanager
def _year(tmp: Path, ui_api_url: str | None = None) -> Iterator[Year]:
    from flows.prefect_auth import read_credential
    from flows.prefect_server import start_local_server

    auth = credential_file(tmp / "etc")
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect-home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_UI_API_URL", None)
    if ui_api_url:
        env["PREFECT_UI_API_URL"] = ui_api_url
    srv = start_local_server(port=None, env=env, log=tmp / "server.log", timeout=240,
                             credential=read_credential(auth))
    try:
        run_env = {
            **env,
            "PREFECT_API_URL": srv.api_url,
            "AARSHJUL_PREFECT_AUTH_FILE": str(auth),
            "AARSHJUL_DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}",
            "AARSHJUL_DATA_DIR": str(tmp / "data"),
        }
        run_env.pop("AARSHJUL_SMTP_URL", None)
        exe = str(Path(sys.executable).with_name("aarshjul"))
        for args in (["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"],
                     ["chase", "--as-of", "2012-04-30T09:00"]):
            proc = subprocess.run(
                [exe, *args, "--config", str(ROOT / "aarshjul.yaml")],
                env=run_env, cwd=tmp, capture_output=True, text=True, timeout=300,
            )
            assert proc.returncode == 0, proc.stderr
        code, latest = Api(srv.api_url, secret_of(auth)).post(
            "/artifacts/latest/filter", {"artifacts": {"key": {"any_": [KEY]}}})
        assert code == 200 and len(latest) == 1, latest
        yield Year(srv.api_url, srv.ui_url, auth, env, latest[0]["latest_id"], srv.log)
    finally:
        srv.stop()


def _rendered(driver: Any) -> bool:
    """The table and the flow run it belongs to are on the page (loaded one after the other)."""
    dom = driver.page_source
    return "påmindelse before-1 sendt 30. april 2012" in dom and "rykkerkørsel · 30. april" in dom


def _assert_requests_table(dom: str) -> None:
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


def _keep(shot: Path, name: str) -> None:
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    out = ROOT / "out" / "ui"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, out / name)


def test_the_ui_asks_for_the_credential_then_renders_the_requests_table(
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with _year(tmp_path) as year, _browser() as d:
        secret = secret_of(year.auth)
        page = f"{year.ui_url}/artifacts/artifact/{year.artifact_id}"
        d.get(page)
        _wait(d, "the login page", lambda d: "/login" in d.current_url
              and d.find_elements(By.CSS_SELECTOR, "input[placeholder='admin:pass']"))
        assert "p-table__table" not in d.page_source  # nothing shown before the login
        d.save_screenshot(str(tmp_path / "login.png"))
        _keep(tmp_path / "login.png", "login.png")

        field = d.find_element(By.CSS_SELECTOR, "input[placeholder='admin:pass']")
        field.send_keys("aarshjul:not-the-credential-at-all", Keys.ENTER)
        _wait(d, "the refusal", lambda d: "Authentication failed." in d.page_source)
        assert "/login" in d.current_url and "p-table__table" not in d.page_source

        field = d.find_element(By.CSS_SELECTOR, "input[placeholder='admin:pass']")
        field.clear()
        field.send_keys(secret, Keys.ENTER)
        _wait(d, "the requests table", lambda d: d.current_url == page and _rendered(d))
        _assert_requests_table(d.page_source)
        # opened again (the login is kept): the page without the login attempts' messages
        d.get(page)
        _wait(d, "the requests table again", _rendered)
        assert "/login" not in d.current_url and "Authentication failed." not in d.page_source
        _assert_requests_table(d.page_source)
        # straight to the server, the browser keeps the shared credential (base64) in its
        # local storage: why coordinators reach the UI through the reverse proxy
        stored = d.execute_script("return localStorage.getItem('prefect-password')")
        assert f"Basic {stored}" == basic(secret)
        d.save_screenshot(str(tmp_path / "artifact.png"))
        _keep(tmp_path / "artifact.png", "artifact-anmodninger.png")

        d.get(f"{year.ui_url}/artifacts")
        _wait(d, "the artifact list", lambda d: KEY in d.page_source)
        for key in (KEY, "aarshjul-2012-fremdrift", "aarshjul-2012-oversigt"):
            assert key in d.page_source


@pytest.mark.proxy
@pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed")
def test_through_the_proxy_a_coordinator_logs_in_with_an_own_user(tmp_path: Path) -> None:
    from flows.prefect_server import free_port

    proxy_port = free_port()
    proxy_api = f"https://127.0.0.1:{proxy_port}/api"
    users = {"anna": "anna-koordinator-2012"}
    with _year(tmp_path / "year", ui_api_url=proxy_api) as year:
        port = int(year.api_url.rsplit(":", 1)[1].split("/")[0])
        secret = secret_of(year.auth)
        with nginx_proxy(tmp_path / "nginx", port, year.auth, users,
                         https_port=proxy_port) as proxy, \
                _browser(accept_insecure_certs=True) as d:
            page = f"{proxy.base}/artifacts/artifact/{year.artifact_id}"
            # the browser's own login (basic auth against the proxy's user file), as a
            # coordinator answers the browser's dialog
            d.execute_cdp_cmd("Network.enable", {})
            d.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                              {"headers": {"Authorization": basic("anna:anna-koordinator-2012")}})
            d.get(page)
            _wait(d, "the requests table", _rendered)
            assert "/login" not in d.current_url
            _assert_requests_table(d.page_source)
            assert d.execute_script("return localStorage.getItem('prefect-password')") is None
            held = [d.page_source, str(d.get_cookies()), d.execute_script(
                "return JSON.stringify([Object.entries(localStorage),"
                " Object.entries(sessionStorage)])")]
            d.save_screenshot(str(tmp_path / "proxied.png"))
            _keep(tmp_path / "proxied.png", "artifact-via-proxy.png")
            log = proxy.access_log.read_text()
    assert_nowhere(secret, *held)
    assert " anna [" in log and "/api/artifacts/" in log
    page_line = rf' anna \[[^]]+\] "GET /artifacts/artifact/{year.artifact_id} HTTP/2\.0" 200 '
    assert re.search(page_line, log), log
