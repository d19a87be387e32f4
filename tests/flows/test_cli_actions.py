"""extend, excuse, reopen, resend and digest through the CLI (CliRunner), on real files and a
real SQLite store: Danish output, exit 1 with the reason on a refusal, exit 2 on a malformed
option, --dry-run changes nothing (and makes no database file), status shows the actions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flows.helpers import CONFIG, cli, cli_env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_prefect: None) -> Path:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    return cli_env(tmp_path, monkeypatch)


def _status(as_of: str = "2012-05-20T09:00") -> dict:  # type: ignore[type-arg]
    r = cli("status", "--year", "2012", "--json", "--as-of", as_of)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _letters() -> None:
    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00")
    assert r.exit_code == 0, r.output


def test_a_dry_run_makes_no_database_file(env: Path) -> None:
    for args in (["extend", "--year", "2012", "--committee", "TMU", "--deliverable",
                  "handleplan", "--until", "2012-05-11"],
                 ["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00"],
                 ["chase", "--as-of", "2012-04-30T09:00"], ["digest"]):
        cli(*args, "--dry-run")
    assert not (env / "state.sqlite").exists()
    r = cli("run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00", "--dry-run")
    assert r.exit_code == 0 and "7 message(s)" in r.stdout.replace("\n", " ")
    assert not (env / "state.sqlite").exists()


def test_extend_excuse_reopen_resend_and_status(env: Path) -> None:
    _letters()
    r = cli("extend", "--year", "2012", "--committee", "TMU", "--deliverable", "handleplan",
            "--until", "2012-05-11", "--as-of", "2012-04-25T10:00", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "Prøvekørsel, intet er ændret: fristen for «Revideret handleplan» 2012 fra TMU " \
           "ville blive forlænget fra 1. maj 2012 til 11. maj 2012" in " ".join(r.stdout.split())
    assert _status()["actions"] == []

    r = cli("extend", "--year", "2012", "--committee", "TMU", "--deliverable", "handleplan",
            "--until", "2012-05-11", "--as-of", "2012-04-25T10:00", "--reason", "Mødet flyttet")
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())
    assert "Fristen for «Revideret handleplan» 2012 fra TMU er forlænget" in out
    assert "meddelelse TMU handleplan tmu-sekretariat@tmf.kk.example sendt" in out

    r = cli("excuse", "--year", "2012", "--committee", "SOU", "--deliverable", "redegoerelse",
            "--as-of", "2012-05-02T12:00")
    assert r.exit_code == 0, r.output
    r = cli("resend", "letter:2012:opfordring:KFU", "--to", "kfu-ny@kff.kk.example",
            "--as-of", "2012-05-02T13:00", "--reason", "Ny adresse")
    assert r.exit_code == 0, r.output
    assert "brev KFU opfordring kfu-ny@kff.kk.example sendt" in " ".join(r.stdout.split())

    doc = _status()
    rows = {(x["committee"], x["deliverable"]): x for x in doc["requests"]}
    assert rows[("TMU", "handleplan")]["due"] == "2012-05-11"
    assert rows[("TMU", "handleplan")]["extended"] is True
    assert rows[("SOU", "redegoerelse")]["status"] == "excused"
    assert [(a["action"], a["committee"], a["reason"]) for a in doc["actions"]] == [
        ("extend", "TMU", "Mødet flyttet"), ("excuse", "SOU", None), ("resend", "KFU",
                                                                       "Ny adresse")]
    assert all(a["actor"].startswith("cli") for a in doc["actions"])

    r = cli("status", "--year", "2012", "--as-of", "2012-05-20T09:00")
    assert r.exit_code == 0
    assert "fritaget" in r.stdout and "11. maj*" in r.stdout
    assert "* udvalgets egen, forlængede frist" in r.stdout
    assert "Koordinatorens handlinger:" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_refusals_exit_1_with_the_reason_in_danish(env: Path) -> None:
    _letters()
    cases = [
        (["extend", "--year", "2012", "--committee", "TMU", "--deliverable", "handleplan",
          "--until", "2012-05-17", "--as-of", "2012-04-25T10:00"],
         "afvist: torsdag den 17. maj 2012 er ikke en hverdag (en helligdag)"),
        (["extend", "--year", "2012", "--committee", "TMU", "--deliverable", "handleplan",
          "--until", "2012-04-30", "--as-of", "2012-04-25T10:00"],
         "afvist: 30. april 2012 er ikke senere end den nuværende frist (1. maj 2012)"),
        (["reopen", "--submission", "41", "--as-of", "2012-04-25T10:00"],
         "afvist: der er ingen aflevering nr. 41"),
        (["resend", "<nope@bif.kk.example>", "--as-of", "2012-04-25T10:00"],
         "afvist: <nope@bif.kk.example> er ikke en besked fra årshjulet"),
        (["reopen", "--as-of", "2012-04-25T10:00"], "afvist: giv --submission ID"),
        (["resend", "letter:2012:opfordring:TMU", "--to", "not an address"],
         "afvist: 'not an address' er ikke en e-mailadresse"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.stderr, (args, r.stderr)
    cli("excuse", "--year", "2012", "--committee", "SOU", "--deliverable", "handleplan",
        "--as-of", "2012-04-25T10:00")
    r = cli("excuse", "--year", "2012", "--committee", "SOU", "--deliverable", "handleplan",
            "--as-of", "2012-04-26T10:00")
    assert r.exit_code == 1 and "allerede fritaget 25. april 2012" in r.stderr
    r = cli("extend", "--year", "2012", "--committee", "SOU", "--deliverable", "handleplan",
            "--until", "2012-05-11")
    assert r.exit_code == 1 and "en lukket anmodning kan ikke forlænges" in r.stderr
    r = cli("extend", "--year", "2012", "--committee", "TMU", "--deliverable", "handleplan",
            "--until", "11-05-2012")
    assert r.exit_code == 2 and "ÅÅÅÅ-MM-DD" in r.stderr


def test_reopen_a_registration_by_its_number_from_status(env: Path, tmp_path: Path) -> None:
    from letters.context import form_context
    from letters.render import template
    from models.config import load
    from models.plan import year_plan

    _letters()
    w = load(CONFIG).wheel
    f = tmp_path / "buu.docx"
    f.write_bytes(template("formular").render(form_context(w, year_plan(w, 2012), "handleplan",
                                                           "BUU")))
    r = cli("submit", str(f), "--year", "2012", "--committee", "BUU", "--deliverable",
            "handleplan", "--at", "2012-04-20T10:00")
    assert r.exit_code == 0, r.output
    (sub,) = _status()["submissions"]
    assert (sub["committee"], sub["withdrawn_at"]) == ("BUU", None)
    r = cli("reopen", "--submission", str(sub["id"]), "--as-of", "2012-04-23T10:00",
            "--reason", "Forkert udvalg")
    assert r.exit_code == 0, r.output
    assert "anmodningen er åben igen" in " ".join(r.stdout.split())
    doc = _status("2012-04-24T09:00")
    assert doc["submissions"][0]["withdrawn_at"] == "2012-04-23T10:00:00+02:00"
    row = next(x for x in doc["requests"] if (x["committee"], x["deliverable"]) == (
        "BUU", "handleplan"))
    assert row["status"] == "open" and row["received_at"] is None


def test_digest_verb_sends_once_a_week(env: Path) -> None:
    _letters()
    r = cli("digest", "--as-of", "2012-04-23T09:00")
    assert r.exit_code == 0, r.output
    assert "ugeoversigt koordinator@bif.kk.example sendt" in " ".join(r.stdout.split())
    r = cli("digest", "--as-of", "2012-04-24T09:00")
    assert r.exit_code == 0 and "er sendt før" in r.stdout
