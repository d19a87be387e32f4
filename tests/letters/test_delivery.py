"""The outbox sender against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from letters.delivery import (
    AlertPolicy,
    DirectoryTransport,
    SmtpTransport,
    enqueue,
    is_paused,
    problem_rows,
    send_pending,
    sender_health,
    set_paused,
    transport_for,
)
from letters.journal import Journal
from letters.mail import build, message_id
from letters.smtp_url import parse_smtp_url
from models.db import make_engine, session, upgrade
from models.outbox import OutboxAlert, OutboxRow
from tests import ROOT
from tests.dbtools import temp_postgres
from tests.letters.mailtools import (
    COORDINATOR,
    DOMAIN,
    SENDER,
    TZ,
    WINTER,
    fill,
    letter,
    migrated,
    reminder,
)
from tests.smtpd import ScriptedHandler, Server, serve, smtpd, tls_pair  # noqa: F401

NOW = WINTER
ALERT = AlertPolicy(SENDER, COORDINATOR, DOMAIN, TZ)


def rows(engine) -> dict[str, OutboxRow]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return {r.key: r for r in s.exec(select(OutboxRow))}


def alerts(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return sorted((a.key, a.kind) for a in s.exec(select(OutboxAlert)))


def received_after_a_day(engine, server: Server) -> int:  # type: ignore[no-untyped-def]
    """One more sending pass, a day later; how many messages ``server`` has received in all
    (what it had already: nothing was sent again)."""
    send_pending(engine, SmtpTransport(server.url), None, now=NOW + timedelta(days=1))
    return len(server.handler.received)


def test_enqueue_is_idempotent_and_stores_the_built_bytes(tmp_path: Path) -> None:
    engine = migrated(tmp_path)
    with session(engine) as s:
        row = enqueue(s, letter(), DOMAIN, TZ)
        assert row is not None
        assert enqueue(s, letter(subject="changed"), DOMAIN, TZ) is None
        s.commit()
    with session(engine) as s:
        assert enqueue(s, letter(), DOMAIN, TZ) is None
        stored = s.exec(select(OutboxRow)).all()
    assert len(stored) == 1
    assert stored[0].raw == build(letter(), DOMAIN, TZ)
    assert stored[0].message_id == message_id(letter().key, DOMAIN)
    assert stored[0].recipients == ["buu@kk.example", "sekretariat@kk.example"]
    assert stored[0].status == "pending"


def test_sends_once_over_one_transaction_per_message(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter(c, cc=("a@kk.example", "b@kk.example")) for c in ("BUU", "KFU", "SUU")])
    journal = Journal(tmp_path / "journal")
    report = send_pending(engine, SmtpTransport(smtpd.url), journal, now=NOW)
    assert sorted(report.sent) == sorted(letter(c).key for c in ("BUU", "KFU", "SUU"))
    got = smtpd.handler.received
    assert len(got) == 3
    for r in got:
        assert r.mail_from == SENDER[1]
        assert len(r.rcpt_tos) == 3  # to + cc in one SMTP transaction
    stored = rows(engine)
    assert {r.data for r in got} == {row.raw for row in stored.values()}
    assert all(row.status == "sent" and row.last_code == 250 for row in stored.values())
    assert all(row.sent_at == NOW for row in stored.values())
    # a rerun sends nothing
    again = send_pending(engine, SmtpTransport(smtpd.url), journal, now=NOW + timedelta(days=1))
    assert again.deliveries == [] and len(smtpd.handler.received) == 3
    assert len(list(journal.entries())) == 3


@pytest.mark.parametrize("code", ["451", "421"])
def test_4xx_retries_later_with_backoff(tmp_path: Path, smtpd, code: str) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    smtpd.handler.script["buu@kk.example"] = [code]
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW)
    assert report.retry == [letter("BUU").key] and report.sent == [letter("KFU").key]
    row = rows(engine)[letter("BUU").key]
    assert row.status == "pending" and row.last_code == int(code)
    assert row.next_attempt_at == NOW + timedelta(minutes=5)
    # not due yet: nothing happens
    assert send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW).deliveries == []
    later = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW + timedelta(minutes=5))
    assert later.sent == [letter("BUU").key]
    mids = [r.message_id for r in smtpd.handler.received]
    assert sorted(mids) == sorted({message_id(letter(c).key, DOMAIN) for c in ("BUU", "KFU")})


def test_4xx_retries_are_bounded(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    smtpd.handler.script["buu@kk.example"] = ["451"] * 10
    now = NOW
    waits = []
    for _ in range(3):
        send_pending(engine, SmtpTransport(smtpd.url), None, now=now, max_attempts=3)
        row = rows(engine)[letter().key]
        if row.next_attempt_at:
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert waits == [timedelta(minutes=5), timedelta(minutes=10)]
    assert row.status == "failed" and row.attempts == 3
    assert smtpd.handler.received == []
    assert alerts(engine) == [(letter().key, "failed")]
    send_pending(engine, SmtpTransport(smtpd.url), None, now=now + timedelta(days=9))
    assert rows(engine)[letter().key].attempts == 3


def test_5xx_fails_for_good_and_alerts_the_coordinator(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    smtpd.handler.script["buu@kk.example"] = ["550"]
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW, alert=ALERT)
    assert report.failed == [letter("BUU").key]
    row = rows(engine)[letter("BUU").key]
    assert row.status == "failed" and row.last_code == 550 and row.attempts == 1
    assert alerts(engine) == [(letter("BUU").key, "failed")]
    # the coordinator's alert e-mail went out in the same run
    kinds = {r.message["X-Aarshjul-Kind"]: r for r in smtpd.handler.received}
    assert set(kinds) == {"letter", "alert"}
    assert kinds["alert"].rcpt_tos == (COORDINATOR[1],)
    assert letter("BUU").key in kinds["alert"].message.get_body().get_content()
    with session(engine) as s:
        assert [r.key for r in problem_rows(s)] == [letter("BUU").key]
    send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW + timedelta(days=1), alert=ALERT)
    assert len(smtpd.handler.received) == 2  # never retried


def test_one_refused_recipient(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter(cc=("gone@kk.example",))])
    smtpd.handler.refuse_rcpt["gone@kk.example"] = "550 5.1.1 no such user"
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW)
    assert report.sent == [letter().key]
    assert smtpd.handler.received[0].rcpt_tos == ("buu@kk.example",)
    assert alerts(engine) == [(letter().key, "refused")]


def test_a_failing_journal_never_causes_a_resend(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    (tmp_path / "not-a-dir").write_text("a file where the journal should be")
    report = send_pending(engine, SmtpTransport(smtpd.url), Journal(tmp_path / "not-a-dir"),
                          now=NOW)
    assert report.sent == [letter().key]
    assert rows(engine)[letter().key].status == "sent"
    assert alerts(engine) == [(letter().key, "journal")]
    assert received_after_a_day(engine, smtpd) == 1


def test_drop_after_data_resends_once_with_the_same_bytes(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    smtpd.handler.script["buu@kk.example"] = ["drop"]
    report = send_pending(engine, SmtpTransport(smtpd.url), Journal(tmp_path / "j"), now=NOW,
                          alert=ALERT)
    assert report.uncertain == [letter("BUU").key]
    assert report.sent == [letter("KFU").key, f"alert:uncertain:{letter('BUU').key}"]
    copies = smtpd.handler.by_message_id()[message_id(letter("BUU").key, DOMAIN)]
    assert len(copies) == 2 and copies[0].data == copies[1].data
    row = rows(engine)[letter("BUU").key]
    assert row.status == "sent" and row.uncertain and copies[0].data == row.raw
    assert alerts(engine) == [(letter("BUU").key, "uncertain")]
    alert_mail = [r for r in smtpd.handler.received if r.message["X-Aarshjul-Kind"] == "alert"]
    assert len(alert_mail) == 1 and "to gange" in alert_mail[0].message.get_body().get_content()


def test_drop_twice_is_not_resent_a_third_time(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    smtpd.handler.script["buu@kk.example"] = ["drop", "drop"]
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW)
    assert report.uncertain == [letter().key]
    assert rows(engine)[letter().key].status == "uncertain"
    assert received_after_a_day(engine, smtpd) == 2


def test_slow_server(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    smtpd.handler.script["buu@kk.example"] = ["slow:0.3"]
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW)
    assert len(report.sent) == 2 and len(smtpd.handler.received) == 2


def test_server_slower_than_the_timeout_is_uncertain(tmp_path: Path) -> None:
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    with serve() as server:
        server.handler.script["buu@kk.example"] = ["slow:1.5"]
        report = send_pending(engine, SmtpTransport(server.url + "?timeout=0.5"), None, now=NOW)
        assert report.uncertain == [letter().key]
        copies = server.handler.by_message_id()
    assert list(copies) == [message_id(letter().key, DOMAIN)]
    assert len(copies[message_id(letter().key, DOMAIN)]) == 2


def test_no_server_keeps_everything_for_later(tmp_path: Path) -> None:
    from tests.smtpd import free_port

    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    report = send_pending(engine, SmtpTransport(f"smtp://127.0.0.1:{free_port()}"), None, now=NOW)
    assert report.retry == [letter("BUU").key]  # the first try found no server: stop there
    assert {r.status for r in rows(engine).values()} == {"pending"}


def test_starttls_with_a_test_certificate(tmp_path: Path) -> None:
    tls = tls_pair()
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    with serve(tls_context=tls.server, require_starttls=True) as server:
        # without STARTTLS the server refuses: a 5xx, failed for good
        plain = send_pending(engine, SmtpTransport(server.url), None, now=NOW)
        assert plain.failed == [letter().key] and server.handler.received == []
        fill(engine, [letter("KFU")])
        url = server.url + "?starttls=true"
        report = send_pending(engine, SmtpTransport(url, ssl_context=tls.client), None, now=NOW)
        assert report.sent == [letter("KFU").key]
        assert len(server.handler.received) == 1
    # the CA file can also come from the URL
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls.ca_pem)
    fill(engine, [letter("SUU")])
    with serve(tls_context=tls.server, require_starttls=True) as server:
        report = send_pending(engine, SmtpTransport(f"{server.url}?starttls=true&cafile={ca}"),
                              None, now=NOW)
        assert report.sent == [letter("SUU").key]


def test_implicit_tls(tmp_path: Path) -> None:
    tls = tls_pair()
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    with serve(ssl_context=tls.server) as server:
        url = f"smtps://127.0.0.1:{server.port}"
        report = send_pending(engine, SmtpTransport(url, ssl_context=tls.client), None, now=NOW)
        assert report.sent == [letter().key] and len(server.handler.received) == 1


def test_pause_holds_everything_until_resume(tmp_path: Path, smtpd) -> None:  # noqa: F811
    engine = migrated(tmp_path)
    fill(engine, [letter()])
    with session(engine) as s:
        set_paused(s, True, NOW)
        assert is_paused(s)
        s.commit()
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW)
    assert report.paused and report.deliveries == [] and smtpd.handler.received == []
    assert rows(engine)[letter().key].status == "pending"
    with session(engine) as s:
        set_paused(s, False, NOW)
        s.commit()
    assert send_pending(engine, SmtpTransport(smtpd.url), None, now=NOW).sent == [letter().key]


def test_directory_transport_and_smtp_url(tmp_path: Path) -> None:
    for url in (None, "", "  "):
        assert isinstance(transport_for(url, tmp_path / "mail"), DirectoryTransport)
    t = transport_for(None, tmp_path / "mail")
    engine = migrated(tmp_path)
    fill(engine, [letter(), reminder()])
    report = send_pending(engine, t, None, now=NOW)
    assert len(report.sent) == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert {f.read_bytes() for f in files} == {r.raw for r in rows(engine).values()}
    t2 = transport_for("smtp://mail.kk.example:587?starttls=true", tmp_path / "mail")
    assert isinstance(t2, SmtpTransport) and t2.url.starttls and t2.url.port == 587
    with pytest.raises(ValueError, match="AARSHJUL_SMTP_URL"):
        transport_for("http://mail.kk.example", tmp_path / "mail")


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.kk.example", dict(host="mail.kk.example", port=25, starttls=False,
                                    implicit_tls=False, user=None)),
    ("smtp://u%40kk:p%3Ass@mail:587?starttls=true",
     dict(host="mail", port=587, starttls=True, user="u@kk", password="p:ss")),
    ("smtps://user:pw@mail", dict(port=465, implicit_tls=True, user="user", password="pw")),
    ("smtp://127.0.0.1:2525?timeout=5&helo=aarshjul.kk.example",
     dict(port=2525, timeout=5.0, helo="aarshjul.kk.example")),
])
def test_smtp_url(url: str, expected: dict[str, object]) -> None:
    u = parse_smtp_url(url)
    for k, v in expected.items():
        assert getattr(u, k) == v
    assert "pw" not in u.redacted() and "p:ss" not in u.redacted()


@pytest.mark.parametrize("url", ["http://mail", "smtp://", "smtps://h?starttls=true",
                                 "smtp://h?starttls=maybe", "smtp://h?tls=1", "smtp://h:99999"])
def test_smtp_url_refused(url: str) -> None:
    with pytest.raises(ValueError, match="AARSHJUL_SMTP_URL"):
        parse_smtp_url(url)


# --- two concurrent senders ----------------------------------------------------------


def _two_senders(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    n = 120
    fill(engine, [replace(reminder(f"C{i:03d}"), subject=f"Påmindelse {i}") for i in range(n)])
    engine.dispose()
    with serve() as server:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("AARSHJUL_FAULT", None)
        cmd = [sys.executable, "-m", "tests.letters.outbox_worker", db_url, server.url,
               str(tmp_path / "journal"), NOW.isoformat()]
        procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err.decode()
        received = server.handler.by_message_id()
    reports = [json.loads(out) for out, _ in outs]
    sent = [d["key"] for r in reports for d in r["deliveries"] if d["status"] == "sent"]
    assert len(sent) == n and len(set(sent)) == n
    assert len(received) == n
    assert all(len(copies) == 1 for copies in received.values())  # 0 duplicates
    journal = Journal(tmp_path / "journal")
    assert len(list(journal.entries())) == n
    engine = make_engine(db_url)
    assert {r.status for r in rows(engine).values()} == {"sent"}
    engine.dispose()


@pytest.mark.slow
def test_two_concurrent_senders_sqlite(tmp_path: Path) -> None:
    _two_senders(f"sqlite:///{tmp_path / 'aarshjul.sqlite'}", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_concurrent_senders_postgres(tmp_path: Path) -> None:
    with temp_postgres() as url:
        _two_senders(url, tmp_path)


# --- an unreachable server is never silent -------------------------------------------------

PASSWORD = "s3cret-Pw"


@contextlib.contextmanager
def _silent_port() -> Iterator[int]:
    """A port that accepts the connection and never says a word (no SMTP greeting)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def _refuse_login(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=False, handled=False)


@contextlib.contextmanager
def _unreachable(case: str) -> Iterator[tuple[str, ssl.SSLContext | None]]:
    """(SMTP URL, client TLS context) of a server that cannot be used, for each ``case``."""
    from tests.smtpd import free_port

    if case == "refused":
        yield f"smtp://127.0.0.1:{free_port()}", None
    elif case == "timeout":
        with _silent_port() as port:
            yield f"smtp://127.0.0.1:{port}?timeout=0.3", None
    elif case == "535":
        with serve(authenticator=_refuse_login, auth_require_tls=False) as server:
            yield f"smtp://aarshjul:{PASSWORD}@127.0.0.1:{server.port}", None
    elif case == "no STARTTLS":
        with serve() as server:
            yield f"smtp://aarshjul:{PASSWORD}@127.0.0.1:{server.port}?starttls=true", None
    elif case == "TLS not trusted":  # a certificate from a CA the client does not trust
        with serve(ssl_context=tls_pair().server) as server:
            yield f"smtps://aarshjul:{PASSWORD}@127.0.0.1:{server.port}", None
    elif case == "STARTTLS not trusted":
        with serve(tls_context=tls_pair().server, require_starttls=True) as server:
            yield f"smtp://127.0.0.1:{server.port}?starttls=true", None
    else:  # implicit TLS to a server that speaks plain SMTP
        with serve() as server:
            yield f"smtps://aarshjul:{PASSWORD}@127.0.0.1:{server.port}?timeout=5", None


UNREACHABLE = {
    "refused": "connection refused: nothing listens on 127.0.0.1:",
    "timeout": "no answer within 0.3 s (connect)",
    "535": "login refused: 535",
    "no STARTTLS": "the server does not offer STARTTLS",
    "TLS not trusted": "TLS: the server's certificate is not trusted",
    "STARTTLS not trusted": "TLS: the server's certificate is not trusted",
    "TLS to a plain server": "TLS failed (connect)",
}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("case", list(UNREACHABLE))
def test_an_unreachable_server_is_reported_recorded_and_logged(
        tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = migrated(tmp_path)
    fill(engine, [letter("BUU"), letter("KFU")])
    with _unreachable(case) as (url, ctx), caplog.at_level(logging.ERROR, "aarshjul.delivery"):
        report = send_pending(engine, SmtpTransport(url, ssl_context=ctx), None, now=NOW)
    redacted = parse_smtp_url(url).redacted()
    # the report says which server and why, without the password
    assert report.unreachable is not None
    assert report.unreachable.startswith(f"{redacted}: ")
    assert UNREACHABLE[case] in report.unreachable
    assert report.as_dict()["unreachable"] == report.unreachable
    assert report.sent == [] and report.retry == [letter("BUU").key]  # the run stopped there
    assert {r.status for r in rows(engine).values()} == {"pending"}
    # kept for status and doctor
    with session(engine) as s:
        health = sender_health(s)
    assert health.last_error == report.unreachable and health.last_error_at == NOW
    assert health.last_ok_at is None
    # one line at ERROR, naming the server
    logged = [r for r in caplog.records if r.name == "aarshjul.delivery"]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert redacted in logged[0].getMessage() and UNREACHABLE[case] in logged[0].getMessage()
    everything = caplog.text + report.unreachable + "".join(
        r.last_reply or "" for r in rows(engine).values())
    assert PASSWORD not in everything


def test_a_message_that_goes_out_clears_the_error(tmp_path: Path, smtpd) -> None:  # noqa: F811
    from tests.smtpd import free_port

    engine = migrated(tmp_path)
    fill(engine, [letter("BUU")])
    send_pending(engine, SmtpTransport(f"smtp://127.0.0.1:{free_port()}"), None, now=NOW)
    with session(engine) as s:
        assert sender_health(s).last_error is not None
    later = NOW + timedelta(minutes=5)
    report = send_pending(engine, SmtpTransport(smtpd.url), None, now=later)
    assert report.sent == [letter("BUU").key] and report.unreachable is None
    with session(engine) as s:
        health = sender_health(s)
    assert (health.last_error, health.last_error_at, health.last_ok_at) == (None, None, later)


# --- AARSHJUL_SMTP_URL: malformed input is a ValueError with a message ------------------------

_URL_PART = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=400, deadline=None)
@given(url=st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, user, pw, host, port, query: f"{scheme}://{user}:{pw}@{host}"
              f"{port}{query}",
              st.sampled_from(["smtp", "smtps", "SMTP", "http", ""]), _URL_PART, _URL_PART,
              st.one_of(_URL_PART, st.sampled_from(["[::1", "[::1]", "mail.kk.example", ""])),
              st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"),
                        _URL_PART.map(lambda p: f":{p}")),
              st.one_of(st.just(""), _URL_PART.map(lambda q: f"?{q}"),
                        st.sampled_from(["?starttls=true", "?timeout=nan", "?timeout=-1",
                                         "?timeout=inf", "?helo=a%0D%0AMAIL", "?cafile=",
                                         "?starttls=1&starttls=0"]))),
))
def test_smtp_url_raises_nothing_but_a_value_error(url: str) -> None:
    try:
        u = parse_smtp_url(url)
    except ValueError as exc:
        assert str(exc).startswith("AARSHJUL_SMTP_URL")
        return
    assert u.host and 0 < u.port < 65536
    assert u.timeout > 0 and math.isfinite(u.timeout)
    assert u.helo is None or re.fullmatch(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]", u.helo)
    assert not re.search(r"[\x00-\x20\x7f]", u.host)
    assert u.user is not None or u.password is None
    if u.password:
        assert f":{u.password}@" not in u.redacted() and ":***@" in u.redacted()
