"""``aarshjul check`` and ``aarshjul plan`` driven through the CLI runner.

Exit status per README "Command line": 0 done, 1 refused (with a message saying why), 2 usage error.
A refused file prints one ``file:LINE key.path: message`` line per problem on stderr, then
one summary line, and nothing runs: no traceback, no output file, no database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flows.cli import app
from tests import ROOT
from tests.models.test_config import BASE, BROKEN, CASES, expected

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_check_ok(wheel_file: Path) -> None:
    r = invoke("check", "--config", str(wheel_file))
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        f"{wheel_file}: OK: Københavns Integrationspolitik 2011-2014, 2011-2014, 7 udvalg, "
        "6 hovedmål, 2 afleveringer, 8 begivenheder.\n"
    )
    assert r.stderr == ""


def test_check_reads_aarshjul_yaml_in_the_working_directory(root: Path) -> None:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        r = invoke("check")
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0 and r.stdout.startswith("aarshjul.yaml: OK: ")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_check_refuses_every_broken_file(path: Path) -> None:
    r = invoke("check", "-c", str(path))
    assert r.exit_code == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    want = expected(path)
    assert lines[-1] == (
        f"{path}: refused, {len(want)} problem{'s' if len(want) != 1 else ''}; nothing was run."
    )
    got = [line.split(": ", 1)[0] for line in lines[:-1]]
    assert got == [f"{path}:{n} {key}" for n, key, _ in sorted(want)]
    for line, (_, _, message) in zip(lines[:-1], sorted(want), strict=True):
        assert message in line
    assert "Traceback" not in r.output


def test_check_prints_warnings_and_passes(tmp_path: Path) -> None:
    f = tmp_path / "aarshjul.yaml"
    f.write_text(BASE.replace("    opens: [handleplan]\n", ""), encoding="utf-8")
    r = invoke("check", "-c", str(f))
    assert r.exit_code == 0
    assert r.stderr == (
        f"{f}:45 deliverables[0].key: warning: no event opens 'handleplan', "
        "so it is never requested, reminded or chased\n"
    )
    assert r.stdout.endswith("2 begivenheder. 1 warning (above).\n")


def test_check_a_file_that_does_not_exist(tmp_path: Path) -> None:
    r = invoke("check", "-c", str(tmp_path / "nope.yaml"))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"{tmp_path / 'nope.yaml'}:0 (file): the file does not exist",
        f"{tmp_path / 'nope.yaml'}: refused, 1 problem; nothing was run.",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--bogus"],
        ["check", "extra-argument"],
        ["plan"],
        ["plan", "--year", "tyve-tolv"],
        ["plan", "--year"],
        ["no-such-verb"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "Error:" in r.stderr and "Traceback" not in r.output


def test_plan_2012_in_danish(wheel_file: Path) -> None:
    r = invoke("plan", "--year", "2012", "-c", str(wheel_file))
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Årshjul 2012: Københavns Integrationspolitik 2011-2014" in out
    assert "20. januar 2012" in out and "Opfordringsskrivelse til de stående udvalg" in out
    assert "1. maj 2012" in out and "Frist: Revideret handleplan" in out
    assert "15. maj 2012" in out and "Frist: Integrationsredegørelse" in out
    assert "påmindelse" in out and "rykker" in out and "eskalering" in out
    # Store Bededag 2012 was Friday 4 May; Kristi Himmelfart Thursday 17 May
    assert "4. maj 2012" in out and "17. maj 2012" in out


def test_plan_2011_shows_the_moved_deadline(wheel_file: Path) -> None:
    r = invoke("plan", "--year", "2011", "-c", str(wheel_file))
    assert r.exit_code == 0
    # 1 May 2011 was a Sunday: if_closed next moves the handleplan to Monday 2 May
    assert "Frist: Revideret handleplan (flyttet fra 1. maj 2011)" in r.stdout
    assert "2. maj 2011" in r.stdout


@pytest.mark.parametrize("year", ["2010", "2015"])
def test_plan_outside_the_policy_years(wheel_file: Path, year: str) -> None:
    r = invoke("plan", "--year", year, "-c", str(wheel_file))
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == (
        f"{year} is not a cycle year of the policy (2011-2014). Give --year 2011 to 2014.\n"
    )


def test_plan_refuses_a_broken_file_before_planning() -> None:
    path = BROKEN / "send_time_dst_gap.yaml"
    r = invoke("plan", "--year", "2012", "-c", str(path))
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == f"{path}: refused, 1 problem; nothing was run."


def test_plan_json(wheel_file: Path) -> None:
    r = invoke("plan", "--year", "2012", "--json", "-c", str(wheel_file))
    assert r.exit_code == 0 and r.stderr == ""
    plan = json.loads(r.stdout)
    assert plan["year"] == 2012 and plan["timezone"] == "Europe/Copenhagen"
    events = {e["key"]: e for e in plan["events"]}
    assert len(events) == 8
    assert events["opfordring"]["at"] == "2012-01-20T09:00:00+01:00"
    assert events["opfordring"]["opens"] == ["handleplan", "redegoerelse"]
    assert events["statusrapport"]["at"] == "2012-08-15T09:00:00+02:00"
    dues = {d["key"]: d["due"] for d in plan["deliverables"]}
    assert dues == {"handleplan": "2012-05-01", "redegoerelse": "2012-05-15"}
    requests = plan["requests"]
    assert len(requests) == 14  # 2 deliverables x 7 committees, BIU included
    assert {r["committee"] for r in requests} == {"OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"}
    buu = next(
        r for r in requests if (r["committee"], r["deliverable"]) == ("BUU", "handleplan")
    )
    assert buu["opened_by"] == "opfordring" and buu["due"] == "2012-05-01"
    slots = {s["slot"]: s["at"] for s in buu["slots"]}
    # 1 May 2012 minus 14 days is Tuesday 17 April; plus 14 days is Tuesday 15 May
    assert slots["before-14"] == "2012-04-17T09:00:00+02:00"
    assert slots["escalate"] == "2012-05-15T09:00:00+02:00"
    assert set(slots) == {"before-14", "before-7", "before-1", "after-1", "after-7", "escalate"}


def test_nothing_runs_for_a_broken_file(tmp_path: Path) -> None:
    path = str(BROKEN / "multiple_problems.yaml")
    ics, png = tmp_path / "aar.ics", tmp_path / "hjul.png"
    r = invoke("calendar", "--year", "2012", "-o", str(ics), "-c", path)
    assert r.exit_code == 1 and "refused, 7 problems; nothing was run." in r.stderr
    r = invoke("wheel", "--year", "2012", "-o", str(png), "-c", path)
    assert r.exit_code == 1 and "refused, 7 problems; nothing was run." in r.stderr
    assert not ics.exists() and not png.exists()


def test_nothing_is_written_to_the_database_for_a_broken_file(tmp_path: Path) -> None:
    """status and simulate, in a fresh process: no database file, no simulation output."""
    aarshjul = str(Path(sys.executable).with_name("aarshjul"))
    db = tmp_path / "state.db"
    env = {**os.environ, "AARSHJUL_DATABASE_URL": f"sqlite:///{db}"}
    path = str(BROKEN / "custom_tag.yaml")
    for args in (["status", "--year", "2012"], ["simulate", "--year", "2012", "--out", "sim"]):
        r = subprocess.run(
            [aarshjul, *args, "-c", path], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )
        assert r.returncode == 1, r.stderr
        assert "nothing was run." in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not Path("/tmp/aarshjul-pwned").exists()


def test_check_imports_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        f"    app(['check', '--config', {str(ROOT / 'aarshjul.yaml')!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in ('prefect', 'sqlalchemy', 'matplotlib') if m in sys.modules))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "[]"
    assert "OK: Københavns Integrationspolitik" in r.stdout
