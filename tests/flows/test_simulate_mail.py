"""simulate with ``via: mail``: the committee's reply is a real RFC 5322 message answering
the letter, with its form attached, read by the mail intake without IMAP; the simulated year
shows the intake path (summary.json ``via`` and ``intake``, the receipt answering the reply,
the incoming message in the journal)."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests import ROOT

CONFIG = str(ROOT / "aarshjul.yaml")


def _simulate(tmp: Path, scenario: str) -> tuple[Any, Path]:
    path = tmp / "s.yaml"
    path.write_text(scenario)
    out = tmp / "out"
    r = CliRunner().invoke(app, ["simulate", "--year", "2012", "--out", str(out), "--scenario",
                                 str(path), "--no-prefect", "--config", CONFIG],
                           catch_exceptions=False)
    return r, out


@pytest.mark.slow
def test_a_reply_by_mail_is_registered_through_the_intake(tmp_path: Path) -> None:
    r, out = _simulate(tmp_path, (
        "submissions:\n"
        '  - {committee: BUU, deliverable: handleplan, at: "2012-04-20T10:00", via: mail}\n'
        '  - {committee: BUU, deliverable: redegoerelse, at: "2012-05-20T10:00", via: mail}\n'
        '  - {committee: KFU, deliverable: handleplan, at: "2012-04-24T10:00"}\n'))
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    q = {(x["committee"], x["deliverable"]): x for x in summary["requests"]}
    assert (q[("BUU", "handleplan")]["status"], q[("BUU", "handleplan")]["via"]) == (
        "on_time", "mail")
    assert q[("BUU", "handleplan")]["received_at"] == "2012-04-20T10:00:00+02:00"
    assert (q[("BUU", "redegoerelse")]["status"], q[("BUU", "redegoerelse")]["via"]) == (
        "late", "mail")
    assert q[("KFU", "handleplan")]["via"] == "file" and q[("SOU", "handleplan")]["via"] is None
    intake = summary["intake"]
    assert [(m["committee"], m["deliverable"], m["outcome"]) for m in intake] == [
        ("BUU", "handleplan", "registered"), ("BUU", "redegoerelse", "registered")]
    assert all(m["from"] == "buu-sekretariat@buf.kk.example" for m in intake)
    assert summary["refused"] == []
    # the receipts answer the committee's replies; the reminders stopped
    buu = [e for e in summary["emails"] if (e["committee"], e["deliverable"]) == (
        "BUU", "handleplan")]
    assert [e["kind"] for e in buu] == ["reminder", "receipt"]  # before-14 on 17 April
    [receipt] = [e for e in buu if e["kind"] == "receipt"]
    raw = next(p for p in (out / "mailbox").rglob("*.eml")
               if receipt["message_id"].encode() in p.read_bytes())
    m = email.message_from_bytes(raw.read_bytes(), policy=email.policy.default)
    assert m["In-Reply-To"] == intake[0]["message_id"]
    # the journal keeps both sides: the replies are there, marked incoming
    index = (out / "journal" / "index.csv").read_text(encoding="utf-8")
    assert index.count("incoming") >= 2 and intake[0]["message_id"] in index


def test_via_must_be_file_or_mail(tmp_path: Path) -> None:
    r, _ = _simulate(tmp_path, (
        "submissions:\n"
        '  - {committee: BUU, deliverable: handleplan, at: "2012-04-20T10:00", via: fax}\n'))
    assert r.exit_code != 0
    assert "submissions[0].via: 'fax' is not one of file, mail" in r.output
