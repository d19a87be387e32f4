"""AARSHJUL_IMAP_URL and the intake's mailbox, against a real Dovecot (tests/imapd.py)."""

from __future__ import annotations

import base64
import logging
import ssl
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from letters import mailbox as mailbox_mod
from letters.imap_url import ImapUrl, parse_imap_url
from letters.mailbox import Gone, MailboxError, TooLarge, open_mailbox, tls_context
from letters.smtp_url import parse_smtp_url
from models.kinds import IntakeFolder
from tests.imapd import PASSWORD, USER, Dovecot

CPH = timezone(timedelta(hours=2))
ARRIVED = datetime(2012, 4, 20, 10, 15, 30, tzinfo=CPH)


def mail(n: int, *, message_id: bool = True, body: bytes = b"Hej\r\n") -> bytes:
    mid = f"Message-ID: <svar-{n}@buu.kk.example>\r\n".encode() if message_id else b""
    return (b"From: BUU <buu@kk.example>\r\nTo: aarshjul@kk.example\r\n" + mid
            + f"Subject: Re: Opfordringsskrivelse {n}\r\n\r\n".encode() + body)


# --- the URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("imap://u:pw-9Q@mail.kk.example", dict(host="mail.kk.example", port=143, mailbox="INBOX",
                                        starttls=False, implicit_tls=False, tls=False)),
    ("imap://u%40kk.example:p%3As%2Fw%25@mail:1143/INBOX?starttls=true",
     dict(user="u@kk.example", password="p:s/w%", port=1143, starttls=True, tls=True)),
    ("imaps://u:pw-9Q@mail/INBOX.Svar", dict(port=993, implicit_tls=True, mailbox="INBOX.Svar")),
    ("imaps://u:pw-9Q@mail/INBOX%2FSvar%20fra%20udvalg/", dict(mailbox="INBOX/Svar fra udvalg")),
    ("imap://u:pw-9Q@mail/?timeout=5&cafile=/etc/ssl/kk.pem&STARTTLS=yes",
     dict(mailbox="INBOX", timeout=5.0, cafile="/etc/ssl/kk.pem", starttls=True)),
    ("IMAP://u:%C3%A6%C3%B8%C3%A5@[::1]:10143", dict(host="::1", port=10143, password="æøå")),
])
def test_imap_url(url: str, expected: dict[str, object]) -> None:
    u = parse_imap_url(url)
    for k, v in expected.items():
        assert getattr(u, k) == v, k
    assert u.password not in u.redacted() and u.password not in repr(u)
    assert ":***@" in u.redacted() and str(u) == u.redacted()
    again = parse_imap_url(u.redacted().replace("***", quote(u.password, safe="")))
    fields = ("host", "port", "user", "password", "mailbox", "implicit_tls", "starttls")
    assert [getattr(again, f) for f in fields] == [getattr(u, f) for f in fields]


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://u:p@mail", "must start with imap:// or imaps://"),
    ("imap://u:p@", "has no host"),
    ("imap://mail/INBOX", "has no user"),
    ("imap://u@mail/INBOX", "has no password"),
    ("imaps://u:p@mail?starttls=true", "already TLS"),
    ("imap://u:p@mail?starttls=maybe", "starttls must be true or false"),
    ("imap://u:p@mail?timeout=soon", "timeout must be a number"),
    ("imap://u:p@mail?timeout=-1", "timeout must be a number"),
    ("imap://u:p@mail?timeout=nan", "timeout must be a number"),
    ("imap://u:p@mail?helo=x&tls=1", "unknown option(s) helo, tls"),
    ("imap://u:p@mail:99999", "invalid port"),
    ("imap://u:p@mail/IN%22BOX", "quote"),
    ("imap://u:p@mail/IN%0ABOX", "control character"),
    ("imap://u:se/cret@mail", "an '@' after the host"),
    ("imap://u:se#cret@mail", "'#'"),
    ("imap://u:p@[::1/INBOX", "not a URL"),
])
def test_imap_url_refused(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="AARSHJUL_IMAP_URL") as err:
        parse_imap_url(url)
    assert fragment in str(err.value)


def test_smtp_url_shares_the_parser() -> None:
    with pytest.raises(ValueError, match="an '@' after the host") as err:
        parse_smtp_url("smtp://u:pass/zq9x@mail:587")
    assert "zq9x" not in str(err.value)
    assert "pw" not in repr(parse_smtp_url("smtps://u:pw@mail"))


# Passwords of any letters (not so short that they occur in the rest of the URL by chance),
# percent-encoded as they should be, and also pasted in raw as people do.
PASSWORDS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=6, max_size=40)
SHAPES = [
    "imap://aarshjul:{pw}@mail.kk.example/INBOX",
    "imaps://aarshjul:{pw}@mail.kk.example:993",
    "imap://aarshjul:{pw}@mail.kk.example:14x3/INBOX",
    "imap://aarshjul:{pw}",
    "imap://aarshjul:{pw}@",
    "imap://aarshjul:{pw}@mail.kk.example/INBOX?starttls=maybe",
    "imap://aarshjul:{pw}@mail.kk.example/INBOX?timeout=later&cafile=/x",
    "imaps://aarshjul:{pw}@mail.kk.example?starttls=true",
    "imap://aarshjul:{pw}@[mail.kk.example/INBOX",
    "ftp://aarshjul:{pw}@mail.kk.example",
    "imap://aarshjul:{pw}@mail.kk.example/IN\x01BOX",
]


def _said(url: str) -> str:
    try:
        u = parse_imap_url(url)
    except ValueError as exc:
        return str(exc)
    return u.redacted() + repr(u)


# Everything the parser says for these shapes when the password is harmless: a password that
# is part of that text (such as "AARSHJ") would be "found" without having leaked.
SAID = "\n".join(SHAPES + [_said(s.format(pw=q)) for s in SHAPES for q in ("Zq9Zq9", "Zq%2F9")])


def _leaks(pw: str, text: str) -> bool:
    return pw in text or quote(pw, safe="") in text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pw=PASSWORDS, shape=st.sampled_from(SHAPES), raw=st.booleans())
def test_imap_url_never_shows_the_password(pw: str, shape: str, raw: bool) -> None:
    assume(pw not in SAID and quote(pw, safe="") not in SAID)
    url = shape.format(pw=pw if raw else quote(pw, safe=""))
    try:
        u = parse_imap_url(url)
    except ValueError as exc:
        assert not _leaks(pw, str(exc)), str(exc)
        assert "AARSHJUL_IMAP_URL" in str(exc)
        return
    assert not _leaks(pw, u.redacted())
    assert not _leaks(pw, repr(u))
    if not raw:
        assert u.password == pw


# --- the mailbox ----------------------------------------------------------------------------

@pytest.mark.imap
def test_empty_mailbox_lists_nothing(dovecot: Dovecot) -> None:
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        assert box.pending() == []
        assert box.separator == "."
        assert box.uidvalidity
        assert repr(box).endswith(", open)")
    assert repr(box).endswith(", closed)")
    with pytest.raises(MailboxError, match="not open"):
        box.pending()
    dovecot.append(mail(1), ARRIVED)
    (m,) = mailbox_mod.list_pending(parse_imap_url(dovecot.url()))
    assert m.message_id == "<svar-1@buu.kk.example>"


@pytest.mark.imap
def test_pending_lists_without_bodies(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    raws = [mail(1), mail(2, message_id=False), mail(3, body=b"x" * 5000)]
    uids = [dovecot.append(r, ARRIVED + timedelta(minutes=i)) for i, r in enumerate(raws)]
    asked: list[object] = []
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        real = box.client.fetch

        def spy(messages: object, data: list[str], *a: object) -> object:
            asked.extend(data)
            return real(messages, data, *a)

        monkeypatch.setattr(box.client, "fetch", spy)
        listed = box.pending()
    assert [m.uid for m in listed] == uids
    assert [m.size for m in listed] == [len(r) for r in raws]
    assert [m.internaldate for m in listed] == [ARRIVED + timedelta(minutes=i) for i in range(3)]
    assert all(m.internaldate.utcoffset() is not None for m in listed)
    assert [m.message_id for m in listed] == ["<svar-1@buu.kk.example>", None,
                                              "<svar-3@buu.kk.example>"]
    assert not any("BODY[]" in str(d) or "BODY.PEEK[]" in str(d) or "RFC822" == d for d in asked)


@pytest.mark.imap
def test_pending_in_batches(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailbox_mod, "LIST_BATCH", 3)
    dovecot.append_many([mail(i) for i in range(7)], ARRIVED)
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        listed = box.pending()
    assert [m.message_id for m in listed] == [f"<svar-{i}@buu.kk.example>" for i in range(7)]


@pytest.mark.imap
def test_fetch_with_a_size_limit(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    small, big = mail(1), mail(2, body=b"y" * 20_000)
    u1, u2 = dovecot.append(small, ARRIVED), dovecot.append(big, ARRIVED)
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        assert box.fetch(u1, max_bytes=len(small)) == small
        asked: list[object] = []
        real = box.client.fetch

        def spy(messages: object, data: list[str], *a: object) -> object:
            asked.extend(data)
            return real(messages, data, *a)

        monkeypatch.setattr(box.client, "fetch", spy)
        with pytest.raises(TooLarge) as err:
            box.fetch(u2, max_bytes=10_000)
        assert (err.value.uid, err.value.size, err.value.limit) == (u2, len(big), 10_000)
        assert "over the limit of 10,000" in str(err.value)
        assert asked == ["RFC822.SIZE"]  # the body was never asked for
    # nothing moved, nothing marked read
    assert dovecot.uids() == [u1, u2]
    c = dovecot.client()
    c.select_folder("INBOX", readonly=True)
    assert all(b"\\Seen" not in f for f in c.get_flags([u1, u2]).values())


@pytest.mark.imap
def test_move_creates_the_folders_and_deletes_nothing(dovecot: Dovecot) -> None:
    raws = [mail(i) for i in range(3)]
    uids = [dovecot.append(r, ARRIVED) for r in raws]
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        assert box.folder_name(IntakeFolder.HANDLED) == "INBOX.aarshjul.behandlet"
        box.move(uids[0], IntakeFolder.HANDLED)
        box.move(uids[1], IntakeFolder.COORDINATOR)
        box.move(uids[0], IntakeFolder.HANDLED)  # already moved: nothing happens
        assert [m.uid for m in box.pending()] == [uids[2]]
        with pytest.raises(Gone):
            box.fetch(uids[0], max_bytes=100_000)
    assert dovecot.folders() == ["INBOX", "INBOX.aarshjul", "INBOX.aarshjul.behandlet",
                                 "INBOX.aarshjul.til-koordinator"]
    assert dovecot.messages("INBOX.aarshjul.behandlet") == [raws[0]]
    assert dovecot.messages("INBOX.aarshjul.til-koordinator") == [raws[1]]
    assert dovecot.messages() == [raws[2]]
    subscribed = {name for _f, _s, name in dovecot.client().list_sub_folders()}
    assert {"INBOX.aarshjul.behandlet", "INBOX.aarshjul.til-koordinator"} <= subscribed
    # the arrival instant travels with the message
    with open_mailbox(parse_imap_url(dovecot.url("INBOX.aarshjul.behandlet"))) as box:
        assert [m.internaldate for m in box.pending()] == [ARRIVED]


@pytest.mark.imap
def test_two_sessions_move_the_same_message(dovecot: Dovecot) -> None:
    uid = dovecot.append(mail(1), ARRIVED)
    url = parse_imap_url(dovecot.url())
    with open_mailbox(url) as a, open_mailbox(url) as b:
        assert [m.uid for m in a.pending()] == [m.uid for m in b.pending()] == [uid]
        a.move(uid, IntakeFolder.HANDLED)
        b.move(uid, IntakeFolder.HANDLED)  # the folder exists already; the message is gone
    assert len(dovecot.messages("INBOX.aarshjul.behandlet")) == 1
    assert dovecot.uids() == []


@pytest.mark.imap
def test_move_without_the_move_extension(dovecot: Dovecot) -> None:
    mine, other = dovecot.append(mail(1), ARRIVED), dovecot.append(mail(2), ARRIVED)
    admin = dovecot.client()
    admin.select_folder("INBOX")
    admin.add_flags([other], [b"\\Deleted"])  # someone else's, not expunged: must stay
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        box._capabilities -= {b"MOVE"}
        box.move(mine, IntakeFolder.HANDLED)
        assert [m.uid for m in box.pending()] == [other]
        box._capabilities -= {b"UIDPLUS"}
        with pytest.raises(MailboxError, match="neither MOVE nor UIDPLUS"):
            box.move(other, IntakeFolder.HANDLED)
    assert dovecot.messages("INBOX.aarshjul.behandlet") == [mail(1)]
    assert dovecot.uids() == [other]


@pytest.mark.imap
def test_another_mailbox_and_a_missing_one(dovecot: Dovecot) -> None:
    admin = dovecot.client()
    admin.create_folder("INBOX.Svar")
    dovecot.append(mail(1), ARRIVED, mailbox="INBOX.Svar")
    with open_mailbox(parse_imap_url(dovecot.url("INBOX.Svar"))) as box:
        (m,) = box.pending()
        box.move(m.uid, IntakeFolder.COORDINATOR)
    assert "INBOX.Svar.aarshjul.til-koordinator" in dovecot.folders()
    with pytest.raises(MailboxError, match=r"there is no mailbox 'INBOX\.Findes ikke'"):
        with open_mailbox(parse_imap_url(dovecot.url("INBOX.Findes ikke"))):
            pass


@pytest.mark.imap
def test_tls_starttls_and_implicit(dovecot_tls: Dovecot) -> None:
    uid = dovecot_tls.append(mail(1), ARRIVED)
    for url in (dovecot_tls.url(starttls=True, cafile=True),
                dovecot_tls.url(implicit_tls=True, cafile=True)):
        with open_mailbox(parse_imap_url(url)) as box:
            assert [m.uid for m in box.pending()] == [uid]
            assert box.fetch(uid, max_bytes=10_000) == mail(1)


@pytest.mark.imap
def test_tls_is_strict(dovecot_tls: Dovecot, dovecot: Dovecot) -> None:
    # the system CAs do not know the test CA
    for url in (dovecot_tls.url(starttls=True), dovecot_tls.url(implicit_tls=True)):
        with pytest.raises(MailboxError, match="certificate is not trusted"):
            with open_mailbox(parse_imap_url(url)):
                pass
    # a server that offers no STARTTLS is refused, not spoken to in plain text
    plain = parse_imap_url(dovecot.url(starttls=True, cafile=dovecot_tls.cafile))
    with pytest.raises(MailboxError, match="does not offer STARTTLS; refusing"):
        with open_mailbox(plain):
            pass
    assert "auth failed" not in dovecot.log() and "Login:" not in dovecot.log()
    ctx = tls_context(parse_imap_url(dovecot_tls.url(implicit_tls=True)))
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    with pytest.raises(MailboxError, match="cannot read cafile"):
        tls_context(parse_imap_url(dovecot_tls.url(implicit_tls=True, cafile=dovecot.root / "no")))


@pytest.mark.imap
def test_connection_errors_are_clear(dovecot: Dovecot) -> None:
    from tests.imapd import free_port

    url = parse_imap_url(f"imap://u:p@127.0.0.1:{free_port()}/INBOX?timeout=2")
    with pytest.raises(MailboxError, match="cannot connect: connection refused"):
        with open_mailbox(url):
            pass
    wrong = ImapUrl("127.0.0.1", dovecot.port, USER, "forkert-" + PASSWORD)
    with pytest.raises(MailboxError, match=r"login refused for user 'aarshjul@kk\.example'"):
        with open_mailbox(wrong):
            pass


@pytest.mark.imap
def test_the_password_appears_nowhere(dovecot_tls: Dovecot, dovecot: Dovecot,
                                      caplog: pytest.LogCaptureFixture,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A whole session at DEBUG (IMAPClient logs every command), a wrong password, a refused
    STARTTLS and an untrusted certificate: the password is in none of what was captured."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    uid = dovecot_tls.append(mail(1), ARRIVED)
    good = parse_imap_url(dovecot_tls.url(starttls=True, cafile=True))
    with open_mailbox(good) as box:
        seen += [repr(box), str(box), repr(box.url), str(box.url), repr(box.pending())]
        box.fetch(uid, max_bytes=100_000)
        box.move(uid, IntakeFolder.HANDLED)
    print(good, repr(good))
    attempts = [
        ImapUrl("127.0.0.1", dovecot_tls.port, USER, PASSWORD + "x", starttls=True,
                cafile=str(dovecot_tls.cafile)),  # a wrong password (the real one inside it)
        parse_imap_url(dovecot.url(starttls=True)),  # no STARTTLS offered
        parse_imap_url(dovecot_tls.url(implicit_tls=True)),  # untrusted certificate
        ImapUrl("127.0.0.1", dovecot.port, USER, PASSWORD, mailbox="INBOX.ingen"),
    ]
    for url in attempts:
        with pytest.raises(MailboxError) as err:
            with open_mailbox(url):
                pass
        seen += [str(err.value), repr(err.value), str(err.value.__context__ or ""),
                 str(err.value.__cause__ or "")]
    out = capsys.readouterr()
    seen += [out.out, out.err, caplog.text]
    seen += [r.getMessage() for r in caplog.records]
    assert any("AUTHENTICATE" in r.getMessage() for r in caplog.records)  # it did log, at DEBUG
    plain_blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    for text in seen:
        for secret in (PASSWORD, quote(PASSWORD, safe=""), plain_blob, plain_blob[8:-4]):
            assert secret not in text, text


def test_an_aware_internaldate_is_required() -> None:
    with pytest.raises(MailboxError, match="without a zone"):
        mailbox_mod._aware(datetime(2012, 4, 20, 10, 0))
    assert mailbox_mod._aware(datetime(2012, 4, 20, 8, 0, tzinfo=UTC)).utcoffset() == timedelta(0)


@pytest.mark.imap
@pytest.mark.parametrize("move_extension", [True, False])
def test_several_messages_move_in_one_command(dovecot: Dovecot, move_extension: bool) -> None:
    uids = [dovecot.append(mail(n), ARRIVED) for n in range(1, 5)]
    admin = dovecot.client()
    admin.select_folder("INBOX")
    admin.add_flags([uids[3]], [b"\\Deleted"])  # someone else's, not expunged: must stay
    with open_mailbox(parse_imap_url(dovecot.url())) as box:
        if not move_extension:
            box._capabilities -= {b"MOVE"}
        box.move(uids[0], IntakeFolder.HANDLED)  # one of them moved already
        box.move(uids[:3], IntakeFolder.HANDLED)
        box.move([], IntakeFolder.HANDLED)
        assert [m.uid for m in box.pending()] == [uids[3]]
    assert dovecot.messages("INBOX.aarshjul.behandlet") == [mail(1), mail(2), mail(3)]
