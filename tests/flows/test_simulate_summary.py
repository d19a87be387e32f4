"""summary.json's e-mail entries (``flows.simulate.summary.email_entry``) read a message's
headers and its attachments' part headers, never the bodies: a report's e-mail with its
tagged PDF is megabytes, and parsing it whole was the peak of a simulated year's memory."""

from __future__ import annotations

import email
import tracemalloc
from dataclasses import replace

from flows.simulate.summary import email_entry
from letters.mail import Attachment, build
from tests.letters.mailtools import DOMAIN, TZ, letter, pad, reminder

PDF = "application/pdf"


def _report(size: int) -> bytes:
    content = bytes((i * 31) % 253 for i in range(size))
    atts = (Attachment("Samlet statusrapport for integrationsindsatsen 2012.docx", content[:999]),
            Attachment("Samlet statusrapport for integrationsindsatsen 2012.pdf", content, PDF))
    return build(replace(letter("BUU"), attachments=atts), DOMAIN, TZ)


def test_a_large_message_is_described_without_reading_its_bodies() -> None:
    raw = _report(6_000_000)
    tracemalloc.start()
    try:
        entry = email_entry(raw, TZ)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert entry["attachments"] == [
        "Samlet statusrapport for integrationsindsatsen 2012.docx",
        "Samlet statusrapport for integrationsindsatsen 2012.pdf"]
    assert entry["subject"] == "Opfordringsskrivelse 2012 – BUU: æøå ÆØÅ"
    assert entry["to"] == ["buu@kk.example"] and entry["cc"] == ["sekretariat@kk.example"]
    assert entry["kind"] == "letter" and entry["committee"] == "BUU"
    assert peak < len(raw) // 8, f"{peak} bytes at the peak for a {len(raw)}-byte message"


def test_the_entry_is_the_one_a_whole_parse_gives() -> None:
    for raw in (_report(5_000), build(reminder("KFU"), DOMAIN, TZ),
                build(replace(letter("BUU"), attachments=()), DOMAIN, TZ)):
        whole = email.message_from_bytes(raw)
        entry = email_entry(raw, TZ)
        assert entry["attachments"] == [str(p.get_filename()) for p in whole.walk()
                                        if p.get_content_disposition() == "attachment"]
        assert entry["message_id"] == whole["Message-ID"]


def test_a_message_not_cut_as_ours_is_read_whole() -> None:
    raw = _report(5_000)
    assert email_entry(pad(raw), TZ)["attachments"] == email_entry(raw, TZ)["attachments"]
