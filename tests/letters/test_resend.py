"""Resent-* fields (RFC 5322 section 3.6.6) prepended to a stored message, for a resend."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest

from letters.mail import HeaderInjection, build, message_id
from letters.resend import resent
from tests.letters.mailtools import COORDINATOR, DOMAIN, SENDER, TZ, letter

WHEN = datetime(2012, 5, 2, 10, 30, tzinfo=TZ)
NEW_ID = message_id("resend:1:letter:2012:opfordring:BUU", DOMAIN)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def test_resent_fields_round_trip_through_the_email_package() -> None:
    raw = build(letter(), DOMAIN, TZ)
    out = resent(raw, sender=SENDER, to=("buu-ny@kk.example", "sekretariat@kk.example"),
                 date=WHEN, message_id=NEW_ID)
    assert out.endswith(raw)  # the stored bytes untouched: same Message-ID, same Date
    m = parse(out)
    assert m["Resent-From"].addresses[0].display_name == SENDER[0]
    assert m["Resent-From"].addresses[0].addr_spec == SENDER[1]
    assert [a.addr_spec for a in m["Resent-To"].addresses] == [
        "buu-ny@kk.example", "sekretariat@kk.example"]
    assert m["Resent-Date"].datetime == WHEN
    assert m["Resent-Date"] == "Wed, 02 May 2012 10:30:00 +0200"
    assert m["Resent-Message-ID"] == NEW_ID
    assert m["Message-ID"] == message_id(letter().key, DOMAIN) and m["Date"] == parse(raw)["Date"]
    original = parse(raw)
    assert [a.get_filename() for a in m.iter_attachments()] == [
        a.get_filename() for a in original.iter_attachments()]
    block = out[: len(out) - len(raw)].decode("ascii")
    names = [line.split(":", 1)[0] for line in block.split("\r\n") if line and line[0] != " "]
    assert names == ["Resent-Date", "Resent-From", "Resent-To", "Resent-Message-ID"]
    assert all(len(line) <= 78 for line in block.split("\r\n"))


def test_a_second_resend_goes_before_the_first() -> None:
    raw = build(letter(), DOMAIN, TZ)
    once = resent(raw, sender=SENDER, to=("a@kk.example",), date=WHEN, message_id=NEW_ID)
    second = message_id("resend:2:letter:2012:opfordring:BUU", DOMAIN)
    twice = resent(once, sender=COORDINATOR, to=("b@kk.example",),
                   date=WHEN + timedelta(days=1), message_id=second)
    m = parse(twice)
    assert m.get_all("Resent-Message-ID") == [second, NEW_ID]  # the newest first
    assert [str(v) for v in m.get_all("Resent-To")] == ["b@kk.example", "a@kk.example"]
    assert twice.endswith(once)


@pytest.mark.parametrize(("field", "value"), [
    ("sender", ("Hej\r\nBcc: evil@attacker.example", SENDER[1])),
    ("sender", (SENDER[0], "not an address")),
    ("sender", ("Ø" * 30, SENDER[1])),
    ("to", ("buu@kk.example\r\nBcc: evil@attacker.example",)),
    ("to", ()),
    ("message_id", "<a@b>\r\nBcc: evil@attacker.example"),
    ("message_id", "no-brackets@kk.example"),
    ("date", datetime(2012, 5, 2, 10, 30)),
])
def test_resent_refuses_what_the_builder_refuses(field: str, value: object) -> None:
    kw: dict[str, object] = dict(sender=SENDER, to=("a@kk.example",), date=WHEN,
                                 message_id=NEW_ID)
    kw[field] = value
    with pytest.raises(ValueError) as info:
        resent(build(letter(), DOMAIN, TZ), **kw)  # type: ignore[arg-type]
    assert field.split("_")[0] in str(info.value)
    if field != "date" and value != ():
        assert isinstance(info.value, HeaderInjection)


def test_resent_needs_a_stored_message() -> None:
    with pytest.raises(ValueError, match="not a stored message"):
        resent(b"no header end", sender=SENDER, to=("a@kk.example",), date=WHEN,
               message_id=NEW_ID)
