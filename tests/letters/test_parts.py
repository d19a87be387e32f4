"""A message's top-level parts read from its bytes (``letters.parts``), and the encoding of
large attachments (``letters.mail``): the same bytes as before, without keeping them."""

from __future__ import annotations

import base64
import email
from dataclasses import replace
from email import policy

import pytest

import letters.mail as mail
from letters.mail import Attachment, build
from letters.parts import attachment_names, top_parts
from tests.letters.mailtools import DOCX, DOMAIN, TZ, letter, pad, reminder

NAMES = [
    "brev.docx",
    "Samlet statusrapport for integrationsindsatsen 2012.pdf",
    "Handleplan – Børne- og Ungdomsudvalget (BUU).docx",
    "Æble; \"citat\" og = tegn.docx",  # off the fast path: the package's own folding
    "Bilag " + "ø" * 150 + ".docx",  # a long RFC 2231 name
]


def _full_parse_names(raw: bytes) -> list[str]:
    return [str(p.get_filename()) for p in email.message_from_bytes(raw).walk()
            if p.get_content_disposition() == "attachment"]


@pytest.mark.parametrize("html", [None, "<p>Kære udvalg</p>"], ids=["text", "alternative"])
def test_attachment_names_are_those_a_full_parse_finds(html: str | None) -> None:
    atts = tuple(Attachment(n, f"PK {i}".encode() * 300, DOCX) for i, n in enumerate(NAMES))
    raw = build(replace(letter("BUU"), html=html, attachments=atts), DOMAIN, TZ)
    assert attachment_names(raw) == _full_parse_names(raw) == NAMES


def test_attachment_names_of_messages_without_attachments() -> None:
    assert attachment_names(build(reminder("BUU"), DOMAIN, TZ)) is None  # not multipart
    no_files = build(replace(letter("BUU"), attachments=()), DOMAIN, TZ)
    assert attachment_names(no_files) == []  # multipart/alternative, nothing attached
    padded = pad(build(letter("BUU"), DOMAIN, TZ))
    assert attachment_names(padded) is None  # not as this engine writes: the caller parses


def test_top_parts_are_offsets_into_the_message() -> None:
    o = letter("KFU")
    raw = build(o, DOMAIN, TZ)
    parts = top_parts(raw)
    assert parts is not None and len(parts) == 3  # the text (alternative), two attachments
    assert [raw[p.start:p.start + 2] for p in parts] == [b"\r\n"] * 3
    assert [base64.b64decode(raw[p.body:p.end]) for p in parts[1:]] == [
        a.content for a in o.attachments]
    assert parts[0].head.startswith(b"Content-Type: multipart/alternative")
    assert raw[parts[-1].end:].startswith(b"\r\n--=_aarshjul_")  # the close delimiter


@pytest.mark.parametrize("size", [0, 1, 57, 58, 1 << 20, (1 << 20) + 1, 3_000_001])
def test_large_attachments_are_encoded_as_the_mail_package_does_and_not_kept(size: int) -> None:
    content = bytes((i * 7 + size) % 251 for i in range(size))
    mail._b64_cached.cache_clear()
    raw = build(replace(letter("BUU"), attachments=(Attachment("stor.pdf", content),)),
                DOMAIN, TZ)
    part = next(p for p in email.message_from_bytes(raw, policy=policy.default).iter_parts()
                if p.get_content_disposition() == "attachment")
    assert part.get_content() == content
    body = mail._b64_body(content)
    expected = base64.encodebytes(content).replace(b"\n", b"\r\n")
    assert body == expected
    assert body in raw
    kept = mail._b64_cached.cache_info().currsize
    assert kept == (1 if size <= mail._B64_CACHED_MAX else 0)
