"""Reading incoming mail (letters.inbound): replies, automatic replies, bounces, attachments,
and a hostile corpus that must be described, never raise."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letters.inbound import DOCX_TYPE, Inbound, Limits, describe, normalize_message_id
from models.kinds import InboundKind

CPH = timezone(timedelta(hours=2))
ARRIVED = datetime(2012, 4, 20, 10, 15, tzinfo=CPH)
OURS = "<3f2a9c.aarshjul@kk.example>"


def docx_bytes(text: str = "HM1 – Beskæftigelse") -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


FORM = docx_bytes()


def reply(*, filename: str | None = "Handleplan BUU æøå.docx", data: bytes = FORM,
          ctype: str = DOCX_TYPE, subject: str = "SV: Opfordringsskrivelse – handleplan 2012",
          headers: dict[str, str] | None = None, message_id: str | None = "<svar-1@buu.kk.example>",
          sender: str = "Birgitte Ø. Hansen <BUU@KK.example>") -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = sender
    m["To"] = "aarshjul@kk.example"
    m["Subject"] = subject
    m["Date"] = "Fri, 20 Apr 2012 10:14:02 +0200"
    if message_id:
        m["Message-ID"] = message_id
    m["In-Reply-To"] = OURS
    m["References"] = f"<tidligere@kk.example> {OURS}"
    m["Thread-Topic"] = "Opfordringsskrivelse – handleplan 2012"
    m["Thread-Index"] = "Ac0ew7Ypo1Tk3J4LR0Kz5E0tV2jvGg=="
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content("Hermed vores reviderede handleplan.\n\nVenlig hilsen\nBUU")
    if filename is not None:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m.as_bytes()


def test_a_committees_reply_with_its_form() -> None:
    raw = reply()
    d = describe(raw, ARRIVED)
    assert d.kind is InboundKind.PERSON and d.unreadable is None
    assert d.key == d.message_id == "<svar-1@buu.kk.example>"
    assert d.from_address == "buu@kk.example" and d.from_name == "Birgitte Ø. Hansen"
    assert d.subject == "SV: Opfordringsskrivelse – handleplan 2012"
    assert d.date == datetime(2012, 4, 20, 10, 14, 2, tzinfo=CPH)
    assert d.received_at == ARRIVED and d.size == len(raw)
    assert d.in_reply_to == (OURS,)
    assert d.references == ("<tidligere@kk.example>", OURS)
    assert d.referenced == (OURS, "<tidligere@kk.example>")
    assert d.thread_topic == "Opfordringsskrivelse – handleplan 2012"
    assert d.thread_index == "Ac0ew7Ypo1Tk3J4LR0Kz5E0tV2jvGg=="
    (a,) = d.attachments
    assert (a.filename, a.content_type, a.size) == ("Handleplan BUU æøå.docx", DOCX_TYPE, len(FORM))
    assert a.data == FORM and a.is_docx and a.refused is None and not a.forwarded
    assert d.docx == (a,) and d.refused == ()
    assert d.text.startswith("Hermed vores reviderede handleplan.")
    assert d.notes == ()
    assert "data=" not in repr(a)  # the bytes stay out of reprs and logs


def test_without_a_message_id_the_key_is_the_hash_of_the_bytes() -> None:
    raw = reply(message_id=None)
    a, b = describe(raw, ARRIVED), describe(raw, ARRIVED + timedelta(days=1))
    assert a.message_id is None and a.key.startswith("sha256:") and a.key == b.key
    assert a.key == "sha256:" + a.sha256
    assert describe(raw + b"\r\n", ARRIVED).key != a.key


def test_message_ids_are_read_as_written() -> None:
    assert normalize_message_id("  <a.b@c>  ") == "<a.b@c>"
    assert normalize_message_id("<a@b> (comment)") == "<a@b>"
    assert normalize_message_id("a@b") == "a@b"
    assert normalize_message_id("") is None
    raw = "From: buu@kk.example\r\nMessage-ID: <Svar-ÆØ@buu.kk.example>\r\n\r\nx".encode()
    assert describe(raw, ARRIVED).message_id == "<Svar-ÆØ@buu.kk.example>"


@pytest.mark.parametrize(("disposition", "expected"), [
    # Outlook: RFC 2047 inside the quoted parameter
    ('attachment; filename="=?utf-8?B?' + base64.b64encode("Redegørelse SOU.docx".encode()).decode()
     + '?="', "Redegørelse SOU.docx"),
    # RFC 2231 with a charset and continuations
    ("attachment; filename*0*=iso-8859-1''Handleplan%20KFU%20; filename*1*=%E6%F8%E5.docx",
     "Handleplan KFU æøå.docx"),
    # a path in the name is dropped
    ('attachment; filename="C:\\\\Users\\\\buu\\\\handleplan.docx"', "handleplan.docx"),
    ("attachment", "uden navn"),
])
def test_attachment_names(disposition: str, expected: str) -> None:
    b64 = base64.encodebytes(FORM).decode()
    raw = ("From: buu@kk.example\r\nMessage-ID: <n@kk.example>\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           "Content-Type: text/plain\r\n\r\nHermed.\r\n--b\r\n"
           f"Content-Type: {DOCX_TYPE}\r\nContent-Disposition: {disposition}\r\n"
           f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n").encode()
    (a,) = describe(raw, ARRIVED).attachments
    assert a.filename == expected and a.data == FORM
    assert a.is_docx == expected.endswith(".docx") or a.content_type == DOCX_TYPE


@pytest.mark.parametrize(("filename", "ctype", "fragment"), [
    ("handleplan.docm", "application/vnd.ms-word.document.macroEnabled.12", "(.docm)"),
    ("skabelon.dotm", "application/octet-stream", "(.dotm)"),
    ("budget.xlsm", "application/octet-stream", "(.xlsm)"),
    ("handleplan", "application/vnd.ms-word.document.macroEnabled.12", "macro-enabled"),
    ("winmail.dat", "application/ms-tnef", "winmail.dat"),
])
def test_refused_kinds(filename: str, ctype: str, fragment: str) -> None:
    d = describe(reply(filename=filename, ctype=ctype), ARRIVED)
    (a,) = d.attachments
    assert a.refused is not None and fragment in a.refused
    assert d.docx == () and d.refused == (a,)


def test_other_files_are_listed_but_are_not_forms() -> None:
    d = describe(reply(filename="handleplan.pdf", data=b"%PDF-1.4 ...",
                       ctype="application/pdf"), ARRIVED)
    (a,) = d.attachments
    assert not a.is_docx and a.refused is None and d.docx == ()
    assert describe(reply(filename=None), ARRIVED).attachments == ()


@pytest.mark.parametrize("encoded", [False, True])
def test_a_forwarded_message_brings_its_attachments(encoded: bool) -> None:
    inner = reply(filename="Handleplan TMU.docx")
    if encoded:  # some clients base64-encode the forwarded message, against RFC 2046
        m = EmailMessage(policy=SMTP)
        m["From"] = "sekretariat@tmu.kk.example"
        m["Subject"] = "VS: Handleplan"
        m["Message-ID"] = "<vs-1@tmu.kk.example>"
        m.set_content("Videresendt fra udvalget.")
        m.add_attachment(inner, maintype="message", subtype="rfc822")
        raw = m.as_bytes()
        assert b"Content-Transfer-Encoding: base64" in raw
    else:
        raw = (b"From: sekretariat@tmu.kk.example\r\nSubject: VS: Handleplan\r\n"
               b"Message-ID: <vs-1@tmu.kk.example>\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="F"\r\n\r\n--F\r\n'
               b"Content-Type: text/plain\r\n\r\nVideresendt fra udvalget.\r\n--F\r\n"
               b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
               + inner + b"\r\n--F--\r\n")
    d = describe(raw, ARRIVED)
    assert d.kind is InboundKind.PERSON
    (a,) = d.attachments
    assert a.filename == "Handleplan TMU.docx" and a.forwarded and a.data == FORM
    assert d.text == "Videresendt fra udvalget."


def test_a_too_large_attachment_is_listed_without_its_bytes() -> None:
    d = describe(reply(), ARRIVED, Limits(max_file_bytes=len(FORM) - 1))
    (a,) = d.attachments
    assert a.too_large and a.data == b"" and a.size == len(FORM)
    assert d.docx == () and d.refused == (a,)


# --- automatic replies ------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "subject", "marker"), [
    ({"Auto-Submitted": "auto-replied"}, None, "Auto-Submitted: auto-replied"),
    ({"Auto-Submitted": "auto-generated; owner-email=x@kk.example"}, None,
     "Auto-Submitted: auto-generated"),
    ({"X-Autoreply": "yes"}, None, "X-Autoreply"),
    ({"X-Autorespond": "Fraværsbesked"}, None, "X-Autorespond"),
    ({"Precedence": "auto_reply"}, None, "Precedence: auto_reply"),
    ({}, "Automatisk svar: Opfordringsskrivelse", "out-of-office subject (Automatisk svar)"),
    ({}, "Automatic reply: Opfordringsskrivelse", "out-of-office subject (Automatic reply)"),
    ({}, "Out of Office: Opfordringsskrivelse", "out-of-office subject (Out of Office)"),
    ({}, "Fraværende: Opfordringsskrivelse", "out-of-office subject (Fraværende)"),
])
def test_automatic_replies(headers: dict[str, str], subject: str | None, marker: str) -> None:
    kw = {"subject": subject} if subject else {}
    d = describe(reply(filename=None, headers=headers, **kw), ARRIVED)
    assert d.kind is InboundKind.AUTO_REPLY and d.auto_reply == marker


def test_not_automatic_replies() -> None:
    for headers in ({"Auto-Submitted": "no"}, {"X-Auto-Response-Suppress": "All"},
                    {"Precedence": "bulk"}):
        assert describe(reply(headers=headers), ARRIVED).kind is InboundKind.PERSON
    assert describe(reply(subject="SV: Automatisk svar på spørgsmål om handleplanen"),
                    ARRIVED).kind is InboundKind.PERSON
    # an Exchange rule's reply without a file is automatic; a form forwarded by a rule is not
    loop = {"X-MS-Exchange-Inbox-Rules-Loop": "buu@kk.example"}
    assert describe(reply(filename=None, headers=loop), ARRIVED).kind is InboundKind.AUTO_REPLY
    assert describe(reply(headers=loop), ARRIVED).kind is InboundKind.PERSON


# --- bounces ----------------------------------------------------------------------------------


def dsn(returned: str, *, recipients: str | None = None) -> bytes:
    recipients = recipients if recipients is not None else (
        "Final-Recipient: rfc822; buu@kk.example\r\nOriginal-Recipient: rfc822;BUU@kk.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.kk.example\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <buu@kk.example>: Recipient address rejected: User "
        "unknown\r\n\r\n"
        "Final-Recipient: rfc822; kfu@kk.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        "Diagnostic-Code: smtp; connection timed out\r\n")
    return ("From: MAILER-DAEMON@mail.kk.example (Mail Delivery System)\r\n"
            "To: aarshjul@kk.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Message-ID: <20120420081500.ABC@mail.kk.example>\r\nAuto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
            "--R\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at mail.kk.example."
            "\r\n\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mail.kk.example\r\nArrival-Date: Fri, 20 Apr 2012 09:00:01 +0200"
            f"\r\n\r\n{recipients}\r\n--R\r\n{returned}\r\n--R--\r\n").encode()


RETURNED_HEADERS = ("Content-Type: text/rfc822-headers\r\n\r\n"
                    f"Message-ID: {OURS}\r\nSubject: Opfordringsskrivelse\r\n"
                    "X-Aarshjul-Kind: letter\r\nX-Aarshjul-Year: 2012\r\n"
                    "X-Aarshjul-Committee: BUU\r\n")


def test_a_delivery_status_notification() -> None:
    d = describe(dsn(RETURNED_HEADERS), ARRIVED)
    assert d.kind is InboundKind.BOUNCE and d.bounce is not None
    b = d.bounce
    assert b.standard and b.reporting_mta == "dns; mail.kk.example"
    assert b.about_message_id == OURS
    assert dict(b.about_headers) == {"X-Aarshjul-Kind": "letter", "X-Aarshjul-Year": "2012",
                                     "X-Aarshjul-Committee": "BUU"}
    buu, kfu = b.recipients
    assert (buu.address, buu.action, buu.status) == ("buu@kk.example", "failed", "5.1.1")
    assert "User unknown" in buu.diagnostic and buu.remote_mta == "dns; mx.kk.example"
    assert (kfu.action, kfu.status, kfu.failed) == ("delayed", "4.4.1", False)
    assert b.failed == (buu,)
    assert d.auto_reply is None  # a bounce, not an out-of-office reply


def test_a_bounce_returning_our_letter_does_not_list_our_form() -> None:
    ours = reply(message_id=OURS, filename="Formular handleplan BUU.docx").decode()
    d = describe(dsn(f"Content-Type: message/rfc822\r\n\r\n{ours}"), ARRIVED)
    assert d.kind is InboundKind.BOUNCE
    assert d.bounce is not None and d.bounce.about_message_id == OURS
    assert d.attachments == () and d.docx == ()


def test_a_dsn_without_readable_recipients_falls_back_to_flufl_bounce() -> None:
    broken = "Final-Recipient buu@kk.example\r\n"  # no colon: nothing per recipient
    d = describe(dsn(RETURNED_HEADERS, recipients=broken), ARRIVED)
    assert d.kind is InboundKind.BOUNCE and d.bounce is not None
    assert d.bounce.about_message_id == OURS


QMAIL = (b"From: MAILER-DAEMON@mail.kk.example\r\nTo: aarshjul@kk.example\r\n"
         b"Subject: failure notice\r\nMessage-ID: <q1@mail.kk.example>\r\n\r\n"
         b"Hi. This is the qmail-send program at mail.kk.example.\r\n"
         b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
         b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
         b"<sou@kk.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
         b"--- Below this line is a copy of the message.\r\n\r\n"
         b"Message-ID: " + OURS.encode() + b"\r\nSubject: Opfordringsskrivelse\r\n\r\nHej\r\n")


def test_a_bounce_in_another_format() -> None:
    d = describe(QMAIL, ARRIVED)
    assert d.kind is InboundKind.BOUNCE and d.bounce is not None
    assert not d.bounce.standard
    assert [(r.address, r.failed) for r in d.bounce.recipients] == [("sou@kk.example", True)]


# --- the hostile corpus ---------------------------------------------------------------------


def nested(depth: int) -> bytes:
    head = b"From: x@kk.example\r\nMessage-ID: <deep@kk.example>\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: text/plain\r\n\r\nbund\r\n"
    for i in reversed(range(depth)):
        body = (f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                + body + f"\r\n--b{i}--\r\n".encode())
    return head + body


def many_parts(n: int) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n))
    return (b"From: x@kk.example\r\nMessage-ID: <many@kk.example>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n")


def rfc822_tower(n: int) -> bytes:
    return (b"From: x@kk.example\r\nMessage-ID: <tower@kk.example>\r\n"
            + b"Content-Type: message/rfc822\r\n\r\n" * n + b"Subject: bund\r\n\r\nx\r\n")


HOSTILE: dict[str, tuple[bytes, str]] = {
    "deep nesting": (nested(40), "nested more than 8 levels"),
    "10,000 parts": (many_parts(10_000), "more than 200 MIME parts"),
    "10,000 parts without Content-Type": (
        many_parts(10_000).replace(b"Content-Type: text/plain\r\n", b""),
        "more than 200 MIME parts"),
    "a tower of forwarded messages": (rfc822_tower(5_000), "more than 200 MIME parts"),
    "a tower just under the part limit": (rfc822_tower(150), "nested more than 8 levels"),
    "huge headers": (b"From: x@kk.example\r\nMessage-ID: <h@kk.example>\r\n"
                     + b"X-Fill: " + b"a" * 400_000 + b"\r\n\r\nbody\r\n",
                     "headers are over 256,000 bytes"),
    "huge headers without a body": (b"Subject: " + b"a" * 400_000, "headers are over"),
    "broken base64": (reply().replace(base64.b64encode(FORM[:30])[:40], b"!!not*base64!!"),
                      "broken base64"),
    "two From headers": (b"From: buu@kk.example\r\nFrom: boss@evil.example\r\n"
                         b"Message-ID: <2f@kk.example>\r\n\r\nx\r\n", "more than one From"),
    "cut off in the middle": (reply()[: len(reply()) * 2 // 3], "MIME structure is broken"),
    "a multipart without a boundary": (
        b"From: x@kk.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--\r\nx\r\n", "MIME structure is broken"),
    "empty": (b"", "empty"),
    "over the message size": (reply(data=FORM * 4), "over the limit of"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_messages_are_unreadable_never_raised(case: str) -> None:
    raw, fragment = HOSTILE[case]
    limits = Limits(max_message_bytes=len(reply()) * 3) if case == "over the message size" \
        else Limits()
    d = describe(raw, ARRIVED, limits)
    assert d.kind is InboundKind.UNREADABLE, d
    assert d.unreadable is not None and fragment in d.unreadable, d.unreadable
    assert d.attachments == () and d.docx == ()
    assert d.key  # it can still be recorded as handled
    assert d.sha256 and d.size == len(raw)


def test_an_unreadable_message_keeps_what_could_be_read() -> None:
    raw, _ = HOSTILE["broken base64"]
    d = describe(raw, ARRIVED)
    assert d.kind is InboundKind.UNREADABLE
    assert d.message_id == "<svar-1@buu.kk.example>" and d.from_address == "buu@kk.example"
    deep = describe(nested(40), ARRIVED)
    assert deep.message_id == "<deep@kk.example>" and deep.from_address == "x@kk.example"


def test_unknown_charsets_and_raw_8bit_are_read_not_raised() -> None:
    raw = (b"From: =?x-klingon?q?Qapla=27?= <buu@kk.example>\r\n"
           b"Subject: =?x-klingon?b?SGVq?= og =?utf-8?q?h=C3=A6ndelse?=\r\n"
           b"Message-ID: <cs@kk.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=x-klingon\r\n\r\nbody \xe6\xf8\xe5\r\n")
    d = describe(raw, ARRIVED)
    assert d.kind is InboundKind.PERSON
    assert d.subject.endswith("og hændelse") and d.from_address == "buu@kk.example"
    assert any("unknown charset 'x-klingon'" in n for n in d.notes)
    assert d.text == "body æøå"
    raw8 = ("From: Søren <buu@kk.example>\r\nSubject: Svar på brev\r\n\r\nx\r\n").encode()
    assert describe(raw8, ARRIVED).subject == "Svar på brev"
    raw_latin = "Subject: Svar på brev\r\n\r\nx\r\n".encode("latin-1")
    assert describe(raw_latin, ARRIVED).subject == "Svar på brev"


def test_duplicate_headers_take_the_first_and_say_so() -> None:
    raw = ("From: buu@kk.example\r\nSubject: Den første\r\nSubject: Den anden\r\n"
           "Message-ID: <a@kk.example>\r\nMessage-ID: <b@kk.example>\r\n\r\nx\r\n").encode()
    d = describe(raw, ARRIVED)
    assert d.kind is InboundKind.PERSON
    assert d.subject == "Den første" and d.message_id == "<a@kk.example>"
    assert "2 Subject headers: the first is used" in d.notes
    assert "2 Message-ID headers: the first is used" in d.notes


def test_header_oddities() -> None:
    raw = (b"From: buu@kk.example, boss@evil.example\r\nDate: not a date\r\n"
           b"In-Reply-To: 3f2a9c.aarshjul@kk.example\r\nSubject: a\x00b\r\n\r\nx\r\n")
    d = describe(raw, ARRIVED)
    assert d.from_address == "buu@kk.example"
    assert "more than one sender address: the first is used" in d.notes
    assert d.date is None and d.in_reply_to == (OURS,) and d.subject == "ab"
    assert describe(b"Date: Fri, 20 Apr 2012 10:14:02 -0000\r\n\r\nx", ARRIVED).date is None


REPLY = reply()


def test_an_encoded_sender_name_with_a_comma() -> None:
    raw = (b"From: =?utf-8?q?Hansen=2C_Birgitte_=C3=98=2E?= <Birgitte.Hansen@KK.example>\r\n"
           b"Message-ID: <c@kk.example>\r\n\r\nx\r\n")
    d = describe(raw, ARRIVED)
    assert d.from_address == "birgitte.hansen@kk.example"
    assert d.from_name == "Hansen, Birgitte Ø." and d.notes == ()


def test_received_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        describe(reply(), datetime(2012, 4, 20, 10, 15))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000) | st.builds(
    lambda cut, junk: REPLY[:cut] + junk, st.integers(0, 9000), st.binary(max_size=200)))
def test_any_bytes_are_described(raw: bytes) -> None:
    d = describe(raw, ARRIVED)
    assert isinstance(d, Inbound) and d.key
    assert (d.kind is InboundKind.UNREADABLE) == (d.unreadable is not None)
