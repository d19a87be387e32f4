"""``aarshjul site`` through the CLI runner: the files it writes, the status from a real
SQLite store, and the refusals (exit 1 with a message) and usage errors (exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner, Result

from flows.cli import app
from tests.flows import helpers
from tests.flows.helpers import CONFIG, cli_env

STAMP = "2026-11-22T08:00:00+00:00"
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_env(tmp_path, monkeypatch)


def cli(*args: str) -> Result:
    return helpers.cli(*args, runner=runner)


def test_site_writes_the_pages_and_the_same_calendar_file(env: Path) -> None:
    out = env / "intranet" / "aarshjul"  # a folder that does not exist yet
    r = cli("site", "--year", "2012", "-o", str(out), "--stamp", STAMP)
    assert r.exit_code == 0, r.output
    assert r.stdout == (f"{out}: index.html, aarshjul.css, aarshjul-2012.ics for 2012 "
                        "(3 files).\n")
    assert sorted(p.name for p in out.iterdir()) == ["aarshjul-2012.ics", "aarshjul.css",
                                                     "index.html"]
    cal = env / "cal.ics"
    assert cli("calendar", "--year", "2012", "-o", str(cal), "--stamp", STAMP).exit_code == 0
    assert (out / "aarshjul-2012.ics").read_bytes() == cal.read_bytes()
    doc = lxml.html.parse(str(out / "index.html")).getroot()
    assert doc.get("lang") == "da" and doc.xpath("//figure/*[local-name()='svg']")
    assert not list(env.glob("state.sqlite"))  # without --with-status: no database at all


def test_with_status_reads_the_state_and_shows_names_only(env: Path) -> None:
    from tests.flows.test_cli_run import _form

    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    assert r.exit_code == 0, r.output
    r = cli("submit", str(_form(env, "BUU", "handleplan")), "--year", "2012", "--committee",
            "BUU", "--deliverable", "handleplan", "--at", "2012-04-30T10:00")
    assert r.exit_code == 0, r.output
    out = env / "site"
    r = cli("site", "--year", "2012", "-o", str(out), "--with-status",
            "--as-of", "2012-05-02T12:00", "--stamp", STAMP)
    assert r.exit_code == 0, r.output
    assert "status.html" in r.stdout and "status pr. 2012-05-02 12:00" in r.stdout
    html = (out / "status.html").read_text(encoding="utf-8")
    doc = lxml.html.fromstring(html)
    rows = {tr[0].text_content().strip(): " ".join(tr[2].text_content().split())
            for tr in doc.xpath("(//table[contains(@class,'status')])[1]/tbody/tr")}
    assert rows["Børne- og Ungdomsudvalget"] == "✓ rettidig"
    assert rows["Økonomiudvalget"] == "✗ mangler"  # open past its due date (1 May)
    assert len(rows) == 7
    assert "@" not in html and "Overborgmesteren" not in html  # no addresses, no chairs
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="status.html"' in index
    # a later run without --with-status takes the old status page down
    r = cli("site", "--year", "2012", "-o", str(out), "--stamp", STAMP)
    assert r.exit_code == 0 and not (out / "status.html").exists()
    assert 'href="status.html"' not in (out / "index.html").read_text(encoding="utf-8")


def test_refusals_exit_1_with_a_message(env: Path) -> None:
    r = cli("site", "--year", "2019", "-o", str(env / "s"))
    assert r.exit_code == 1
    assert "2019 is not a cycle year of the policy (2011-2014)" in r.stderr
    assert not (env / "s").exists()
    a_file = env / "a-file"
    a_file.write_text("x", encoding="utf-8")
    r = cli("site", "--year", "2012", "-o", str(a_file))
    assert r.exit_code == 1 and "not a folder; nothing was written" in r.stderr
    assert a_file.read_text(encoding="utf-8") == "x"
    locked = env / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: use a path under a file
            target = a_file / "site"
        else:
            target = locked / "site"
        r = cli("site", "--year", "2012", "-o", str(target))
        assert r.exit_code == 1, r.output
        assert "cannot write the site" in r.stderr and "nothing was written" in r.stderr
        assert "Traceback" not in r.output
    finally:
        locked.chmod(0o700)
    broken = env / "broken.yaml"
    broken.write_text("version: 1\n", encoding="utf-8")
    r = runner.invoke(app, ["site", "--year", "2012", "-o", str(env / "t"), "-c", str(broken)])
    assert r.exit_code == 1 and "refused" in r.stderr and not (env / "t").exists()


def test_a_database_that_cannot_be_opened_is_a_refusal(env: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AARSHJUL_DATABASE_URL", f"sqlite:///{env / 'no' / 'such' / 'dir.db'}")
    r = cli("site", "--year", "2012", "-o", str(env / "s"), "--with-status")
    assert r.exit_code == 1
    assert "the state database cannot be opened" in r.stderr
    assert not (env / "s").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["site", "--year", "2012"],  # no -o
        ["site", "-o", "x"],  # no --year
        ["site", "--year", "2012", "-o", "x", "--stamp", "2026-11-22T08:00"],  # no offset
        ["site", "--year", "2012", "-o", "x", "--as-of", "2012-05-02T12:00"],  # no status
        ["site", "--year", "2012", "-o", "x", "--with-status", "--as-of", "gisp"],
    ],
)
def test_usage_errors_exit_2(env: Path, args: list[str]) -> None:
    r = runner.invoke(app, [*args, "--config", CONFIG])
    assert r.exit_code == 2, r.output
    assert not (Path.cwd() / "x").exists()
