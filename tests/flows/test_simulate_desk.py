"""simulate with scenario ``actions:``: carried out at their instants through the same runs,
the extension's ladder chased at its own instants, summary.json showing ``excused``, the
extended ``due`` and the actions; a bad action is refused with its line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flows.cli import app
from tests.flows.helpers import ROOT

CONFIG = str(ROOT / "aarshjul.yaml")

SCENARIO = """\
submissions:
  - {committee: TMU, deliverable: handleplan, at: "2012-05-10T12:00"}
  - {committee: BUU, deliverable: handleplan, at: "2012-04-20T10:00"}
actions:
  - {at: "2012-04-28T10:00", do: extend, committee: TMU, deliverable: handleplan,
     until: "2012-05-11", reason: Udvalgsmødet er flyttet}
  - {at: "2012-05-02T12:00", do: excuse, committee: SOU, deliverable: redegoerelse,
     reason: Ingen aktiviteter i år}
  - {at: "2012-05-03T10:00", do: reopen, committee: BUU, deliverable: handleplan}
"""


def _simulate(tmp: Path, text: str, *extra: str) -> Any:
    scenario = tmp / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["simulate", "--year", "2012", "--out", str(tmp / "out"),
                                    "--scenario", str(scenario), "--no-prefect", *extra,
                                    "--config", CONFIG], catch_exceptions=False)


def test_scenario_actions_in_summary(tmp_path: Path) -> None:
    r = _simulate(tmp_path, SCENARIO)
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert s["refused"] == []
    req = {(q["committee"], q["deliverable"]): q for q in s["requests"]}
    tmu = req[("TMU", "handleplan")]
    assert (tmu["due"], tmu["status"], tmu["extended"]) == ("2012-05-11", "on_time", True)
    assert req[("SOU", "redegoerelse")]["status"] == "excused"
    assert req[("SOU", "handleplan")]["status"] == "missing"
    assert req[("OEU", "handleplan")]["due"] == "2012-05-01"
    assert req[("BUU", "handleplan")]["status"] == "missing"  # reopened, never handed in again
    emails = [(e["kind"], e["slot"], e["date"][:16]) for e in s["emails"]
              if (e["committee"], e["deliverable"]) == ("TMU", "handleplan")]
    # ladder 1 from 28 April, due Friday 11 May: before-7 falls on Store Bededag (4 May) and
    # goes on Thursday 3 May, a day that is in no one else's ladder
    assert emails == [
        ("reminder", "before-14", "2012-04-17T09:00"), ("reminder", "before-7", "2012-04-24T09:00"),
        ("notice", None, "2012-04-28T10:00"), ("reminder", "before-7", "2012-05-03T09:00"),
        ("reminder", "before-1", "2012-05-10T09:00"), ("receipt", None, "2012-05-10T12:00")]
    sou = [(e["kind"], e["slot"]) for e in s["emails"]
           if (e["committee"], e["deliverable"]) == ("SOU", "redegoerelse")]
    assert sou == [("reminder", "before-14"), ("notice", None)]
    buu = [(e["kind"], e["slot"], e["date"][:10]) for e in s["emails"]
           if (e["committee"], e["deliverable"]) == ("BUU", "handleplan")]
    assert buu == [
        ("reminder", "before-14", "2012-04-17"), ("receipt", None, "2012-04-20"),
        ("notice", None, "2012-05-03"), ("reminder", "after-7", "2012-05-08"),
        ("escalation", "escalate", "2012-05-15")]
    assert [(a["action"], a["committee"], a["reason"]) for a in s["actions"]] == [
        ("extend", "TMU", "Udvalgsmødet er flyttet"), ("excuse", "SOU", "Ingen aktiviteter i år"),
        ("reopen", "BUU", None)]
    assert all(a["actor"] == "simulate" for a in s["actions"])
    out = " ".join(r.stdout.split())
    assert "1 fritaget" in out
    assert "Handling: Fristen for «Revideret handleplan» 2012 fra TMU" in out


def test_a_refused_action_is_listed_and_the_year_goes_on(tmp_path: Path) -> None:
    text = ("actions:\n"
            '  - {at: "2012-04-28T10:00", do: extend, committee: TMU, deliverable: handleplan,\n'
            '     until: "2012-05-17"}\n')
    r = _simulate(tmp_path, text)
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    (refused,) = s["refused"]
    assert "afvist: torsdag den 17. maj 2012 er ikke en hverdag" in refused
    assert s["actions"] == []


def test_bad_actions_are_refused_with_their_lines(tmp_path: Path) -> None:
    text = ("actions:\n"
            '  - {at: "2012-04-28T10:00", do: prolong, committee: TMU}\n'
            '  - {at: "2012-04-28T10:00", do: extend, committee: XYZ, deliverable: handleplan}\n'
            '  - {at: "2012-04-28T10:00", do: excuse, committee: TMU, deliverable: handleplan,\n'
            '     until: "2012-05-11"}\n'
            '  - {at: "2012-03-25T02:30", do: resend, committee: TMU, event: nope}\n')
    r = _simulate(tmp_path, text)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    for expected in (
        "s.yaml:2 actions[0].do: 'prolong' is not one of extend, excuse, reopen, resend",
        "s.yaml:3 actions[1]: extend needs until",
        "s.yaml:3 actions[1].committee: 'XYZ' is not a committee of the wheel",
        "s.yaml:4 actions[2]: unknown key(s) for excuse: until",
        "s.yaml:6 actions[3].at: 2012-03-25T02:30 does not exist in Europe/Copenhagen",
        "s.yaml:6 actions[3].event: 'nope' is not an event of the wheel",
    ):
        assert any(expected in line for line in lines), (expected, lines)
