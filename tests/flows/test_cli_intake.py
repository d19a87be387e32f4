"""``aarshjul intake``, ``intake accept`` and ``intake dismiss`` through the command line,
against a real Dovecot (marker imap); ``status`` lists what was held; the password is in
nothing a pass produces, failing or working (README "Replies by e-mail")."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.flows.helpers import at, cli, cli_env_opened
from tests.flows.intake_world import BUU, STRANGER, Reply
from tests.imapd import PASSWORD, USER, Dovecot

pytestmark = pytest.mark.imap
ON_TIME = at("2012-04-30T10:00")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imap: Dovecot,
        no_prefect: None) -> Path:
    monkeypatch.setenv("AARSHJUL_IMAP_URL", imap.url())
    return cli_env_opened(tmp_path, monkeypatch)


def sent(tmp: Path, kind: str) -> list:  # type: ignore[type-arg]
    out = []
    for p in sorted((tmp / "data" / "outgoing").glob("*.eml")):
        m = BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        if m["X-Aarshjul-Kind"] == kind:
            out.append(m)
    return out


def letter(tmp: Path) -> tuple[str, tuple[str, bytes]]:
    m = next(m for m in sent(tmp, "letter") if m["X-Aarshjul-Committee"] == "BUU")
    form = next(p for p in m.iter_attachments()
                if (p.get_filename() or "").startswith("Formular - Revideret handleplan"))
    return str(m["Message-ID"]), (str(form.get_filename()), form.get_payload(decode=True))


def test_intake_registers_sends_the_receipt_and_status_lists_the_held(
        env: Path, imap: Dovecot) -> None:
    mid, form = letter(env)
    good = Reply(BUU, 1, in_reply_to=mid, files=[form])
    stranger = Reply(STRANGER, 2, in_reply_to=mid, files=[form])
    imap.append(good.raw(), ON_TIME)
    imap.append(stranger.raw(), ON_TIME)
    dry = cli("intake", "--as-of", "2012-05-04T09:00", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("Prøvekørsel") and len(imap.uids()) == 2
    r = cli("intake", "--as-of", "2012-05-04T09:00")
    assert r.exit_code == 0, r.output
    assert "1 registreret, 1 til koordinatoren" in r.output
    assert f"registreret: {good.message_id} fra {BUU}" in r.output
    assert "Sendt: 1 besked(er)." in r.output
    assert [m["In-Reply-To"] for m in sent(env, "receipt")] == [good.message_id]
    s = cli("status", "--year", "2012", "--as-of", "2012-05-04T09:00")
    assert "Til koordinatoren fra postkassen (1):" in s.output
    assert STRANGER in s.output and "ukendt afsender" in s.output
    doc = json.loads(cli("status", "--year", "2012", "--json", "--as-of",
                         "2012-05-04T09:00").output)
    assert [h["message_id"] for h in doc["held"]] == [stranger.message_id]
    again = cli("intake", "--as-of", "2012-05-04T10:00")
    assert again.exit_code == 0 and "Postkassen: 0 beskeder" in again.output
    # the coordinator registers the stranger's mail by hand, for the request they choose
    a = cli("intake", "accept", stranger.message_id, "--committee", "BUU", "--deliverable",
            "redegoerelse", "--as-of", "2012-05-04T11:00")
    assert a.exit_code == 0, a.output
    assert "registreret som redegoerelse 2012 fra BUU (rettidig)" in a.output
    assert len(sent(env, "receipt")) == 2
    refused = cli("intake", "dismiss", stranger.message_id, "--as-of", "2012-05-04T11:00")
    assert refused.exit_code == 1 and "venter ikke" in refused.output
    unknown = cli("intake", "dismiss", "<ukendt@kk.example>")
    assert unknown.exit_code == 1 and "ikke en besked" in unknown.output
    doc = json.loads(cli("status", "--year", "2012", "--json", "--as-of",
                         "2012-05-04T12:00").output)
    assert doc["held"] == []
    assert [a["action"] for a in doc["actions"]] == ["accept"]


def test_dismiss_through_the_command_line(env: Path, imap: Dovecot) -> None:
    mid, _form = letter(env)
    chat = Reply(BUU, 3, in_reply_to=mid, text="Vi sender den i næste uge.\n")
    imap.append(chat.raw(), ON_TIME)
    assert cli("intake", "--as-of", "2012-05-04T09:00").exit_code == 0
    dry = cli("intake", "dismiss", chat.message_id, "--dry-run", "--as-of", "2012-05-04T09:00")
    assert dry.exit_code == 0 and dry.output.startswith("Prøvekørsel")
    r = cli("intake", "dismiss", chat.message_id, "--reason", "Besvaret pr. telefon",
            "--as-of", "2012-05-04T09:00")
    assert r.exit_code == 0 and "lagt til side" in r.output
    assert sent(env, "receipt") == [] and sent(env, "refusal") == []


def test_intake_without_a_mailbox_says_so_and_exits_2(env: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AARSHJUL_IMAP_URL")
    r = cli("intake")
    assert r.exit_code == 2 and "AARSHJUL_IMAP_URL er ikke sat" in r.output


def _secrets(password: str) -> list[bytes]:
    plain = password.encode()
    sasl = base64.b64encode(b"\0" + USER.encode() + b"\0" + plain)
    return [plain, quote(password, safe="").encode(), sasl, base64.b64encode(plain)]


def test_the_password_is_in_nothing_a_pass_produces(
        env: Path, imap: Dovecot, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mid, form = letter(env)
    imap.append(Reply(BUU, 1, in_reply_to=mid, files=[form]).raw(), ON_TIME)
    imap.append(Reply(STRANGER, 2, text="Hej\n").raw(), ON_TIME)
    wrong = "Forkert Kode@99/ø%#"
    monkeypatch.setenv("AARSHJUL_IMAP_URL", imap.url().replace(quote(PASSWORD, safe=""),
                                                               quote(wrong, safe="")))
    failing = cli("intake", "--as-of", "2012-05-04T09:00")
    assert failing.exit_code == 1 and "postkassen kunne ikke læses" in failing.output
    monkeypatch.setenv("AARSHJUL_IMAP_URL", imap.url())
    working = cli("intake", "--as-of", "2012-05-04T09:00")
    assert working.exit_code == 0 and "1 registreret" in working.output
    status = cli("status", "--year", "2012", "--json", "--as-of", "2012-05-04T09:00")
    produced = [failing.output.encode(), working.output.encode(), status.output.encode(),
                caplog.text.encode()]
    produced += [p.read_bytes() for p in env.rglob("*") if p.is_file()]
    with sqlite3.connect(env / "state.sqlite") as c:
        produced.append("\n".join(c.iterdump()).encode())
    for secret in _secrets(PASSWORD) + _secrets(wrong):
        assert not any(secret in blob for blob in produced), secret
