"""`aarshjul calendar` and `aarshjul wheel` driven through the CLI runner: real files
written, read back, exit codes and messages, refusals that leave nothing behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import icalendar
import pytest
from PIL import Image
from typer.testing import CliRunner

from flows.cli import app
from flows.cli_outputs import write_atomic
from tests import ROOT

CONFIG = str(ROOT / "aarshjul.yaml")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _files(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_calendar_writes_an_ics_file(tmp_path: Path) -> None:
    out = tmp_path / "aarshjul-2012.ics"
    code, output = run("calendar", "--year", "2012", "-o", str(out), "--config", CONFIG)
    assert code == 0, output
    assert f"{out}: 22 entries for 2012 (Europe/Copenhagen)." in output
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    assert len(cal.walk("VEVENT")) == 22
    assert len(cal.walk("VTIMEZONE")) == 1
    assert _files(tmp_path) == ["aarshjul-2012.ics"]  # no temporary file left behind
    mode = out.stat().st_mode & 0o777
    assert mode & 0o044  # readable by others (not the 0600 of a temp file)


def test_calendar_no_waves(tmp_path: Path) -> None:
    out = tmp_path / "a.ics"
    code, output = run("calendar", "-y", "2012", "-o", str(out), "-c", CONFIG, "--no-waves")
    assert code == 0, output
    assert len(icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")) == 10


def test_calendar_two_runs_same_uids_and_stamp_makes_bytes_identical(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.ics", tmp_path / "b.ics", tmp_path / "c.ics"
    stamp = "2026-11-22T08:00:00+00:00"
    for path in (a, b):
        code, output = run("calendar", "-y", "2013", "-o", str(path), "-c", CONFIG,
                           "--stamp", stamp)
        assert code == 0, output
    assert a.read_bytes() == b.read_bytes()
    assert b"DTSTAMP:20261122T080000Z\r\n" in a.read_bytes()
    code, output = run("calendar", "-y", "2013", "-o", str(c), "-c", CONFIG)  # the clock
    assert code == 0, output

    def strip(x: bytes) -> bytes:
        return re.sub(rb"DTSTAMP:\d{8}T\d{6}Z\r\n", b"", x)

    assert strip(a.read_bytes()) == strip(c.read_bytes())


@pytest.mark.parametrize(("verb", "name", "says"), [
    *(("calendar", name, "must end in .ics") for name in ("out.txt", "out.ical", "out")),
    *(("wheel", name, "must end in .png or .svg") for name in ("w.jpg", "w.pdf", "w")),
])
def test_an_output_of_another_suffix_is_refused(tmp_path: Path, verb: str, name: str,
                                                 says: str) -> None:
    code, output = run(verb, "-y", "2012", "-o", str(tmp_path / name), "-c", CONFIG)
    assert code == 2
    assert says in output
    assert _files(tmp_path) == []


def test_calendar_refuses_a_naive_stamp(tmp_path: Path) -> None:
    code, output = run("calendar", "-y", "2012", "-o", str(tmp_path / "a.ics"), "-c", CONFIG,
                       "--stamp", "2012-01-01T00:00")
    assert code == 2
    assert "needs a UTC offset" in output


def test_unwritable_paths_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "a.ics"
    code, output = run("calendar", "-y", "2012", "-o", str(missing), "-c", CONFIG)
    assert code == 1
    assert f"{missing}: cannot write the file: the directory does not exist" in output
    assert "nothing was written" in output
    (tmp_path / "dir.ics").mkdir()
    code, output = run("calendar", "-y", "2012", "-o", str(tmp_path / "dir.ics"), "-c", CONFIG)
    assert code == 1
    assert "cannot write the file" in output
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    code, output = run("wheel", "-y", "2012", "-o", str(a_file / "w.png"), "-c", CONFIG)
    assert code == 1
    assert "cannot write the file" in output
    assert _files(tmp_path) == ["dir.ics", "plain"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, output = run("calendar", "-y", "2012", "-o", str(ro / "a.ics"), "-c", CONFIG)
    finally:
        ro.chmod(0o700)
    assert code == 1
    assert "cannot write the file" in output


def test_write_atomic_replaces_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "x.ics"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _files(tmp_path) == ["x.ics"]


def _broken_config(tmp_path: Path) -> Path:
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "aarshjul.yaml"
    bad.write_text(text.replace("send_time: \"09:00\"", "send_time: \"09:00\"\n  colour: blue"),
                   encoding="utf-8")
    return bad


@pytest.mark.parametrize("verb,name", [("calendar", "a.ics"), ("wheel", "a.png")])
def test_bad_config_exits_1_and_writes_nothing(tmp_path: Path, verb: str, name: str) -> None:
    bad = _broken_config(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    old = out_dir / name
    old.write_bytes(b"the previous file")
    code, output = run(verb, "-y", "2012", "-o", str(old), "-c", str(bad))
    assert code == 1
    assert re.search(r"aarshjul\.yaml:\d+ policy\.colour: ", output), output
    assert "refused, 1 problem; nothing was run." in output
    assert old.read_bytes() == b"the previous file"
    assert _files(out_dir) == [name]


@pytest.mark.parametrize("verb,name", [("calendar", "a.ics"), ("wheel", "a.svg")])
def test_year_outside_the_policy_is_refused(tmp_path: Path, verb: str, name: str) -> None:
    code, output = run(verb, "-y", "2015", "-o", str(tmp_path / name), "-c", CONFIG)
    assert code == 1
    assert "2015 is not a cycle year of the policy (2011-2014)." in output
    assert _files(tmp_path) == []


def test_wheel_png_and_svg(tmp_path: Path) -> None:
    png, svg = tmp_path / "w.png", tmp_path / "w.svg"
    code, output = run("wheel", "-y", "2012", "-o", str(png), "-c", CONFIG,
                       "--today", "2012-06-01")
    assert code == 0, output
    assert f"{png}: the årshjul for 2012 (PNG, with today's marker)." in output
    with Image.open(png) as im:
        assert im.size == (3507, 2481)
    assert png.stat().st_size > 300_000
    code, output = run("wheel", "-y", "2012", "-o", str(svg), "-c", CONFIG,
                       "--today", "2013-06-01")
    assert code == 0, output
    assert f"{svg}: the årshjul for 2012 (SVG)." in output
    text = svg.read_text(encoding="utf-8")
    assert "december" in text and "Årlig integrationskonference" in text
    assert 'id="today-marker"' not in text
    assert _files(tmp_path) == ["w.png", "w.svg"]


def test_wheel_today_defaults_to_the_clock(tmp_path: Path) -> None:
    this_year = date.today().year
    svg = tmp_path / "w.svg"
    code, output = run("wheel", "-y", "2012", "-o", str(svg), "-c", CONFIG)
    assert code == 0, output
    assert ('id="today-marker"' in svg.read_text(encoding="utf-8")) == (this_year == 2012)


def test_wheel_refuses_a_bad_today(tmp_path: Path) -> None:
    code, output = run("wheel", "-y", "2012", "-o", str(tmp_path / "w.png"), "-c", CONFIG,
                       "--today", "20. april")
    assert code == 2
    assert "is not a date of the form YYYY-MM-DD" in output
    assert _files(tmp_path) == []


def test_the_cli_module_imports_no_heavy_libraries() -> None:
    """Loading the CLI (as `check` does) must not pull in matplotlib, icalendar or Prefect."""
    code = (
        "import sys, json; import flows.cli, flows.cli_outputs; "
        "print(json.dumps(sorted(m for m in ('matplotlib', 'icalendar', 'prefect', "
        "'sqlalchemy') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == []
