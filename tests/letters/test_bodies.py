"""E-mail subjects and bodies: every kind, Danish wording, one-line subjects, HTML escaping,
the sandbox."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from letters.bodies import BODY_FOR_SLOT, KINDS, body_context, render_body, sample_contexts
from letters.render import TEMPLATES_DIR
from models.kinds import SlotKind


def test_every_kind_renders_with_a_one_line_subject(wheel, plan) -> None:
    seen = set()
    for kind, ctx in sample_contexts(wheel, plan):
        subject, text, html = render_body(kind, ctx)
        seen.add(kind)
        assert subject and "\n" not in subject and subject == subject.strip()
        assert text.endswith("\n") and "\n\n\n" not in text
        assert html.lstrip().startswith("<!DOCTYPE html>") and 'lang="da"' in html
        if kind != "digest":  # the digest goes to the coordinator, from the engine
            assert "Med venlig hilsen" in text and "Med venlig hilsen" in html
    assert seen == set(KINDS)


def test_letter_body(wheel, plan) -> None:
    ctx = body_context("letter", wheel, plan, event="opfordring", committee="SOU",
                       attachments=["Opfordringsskrivelse 2012 - SOU.docx", "Formular.docx"])
    subject, text, html = render_body("letter", ctx)
    assert subject == "Opfordringsskrivelse til de stående udvalg 2012 – Socialudvalget"
    assert "Kære formand og medlemmer af Socialudvalget" in text
    assert "  - Revideret handleplan, senest 1. maj 2012" in text
    assert "  - Integrationsredegørelse, senest 15. maj 2012" in text
    assert "<li><strong>Revideret handleplan</strong>, senest 1. maj 2012</li>" in html


def _slot(plan, name: str):  # type: ignore[no-untyped-def]
    req = next(r for r in plan.requests if (r.committee, r.deliverable) == ("BUU", "handleplan"))
    return next(s for s in req.slots if s.name == name)


def test_reminder_overdue_and_escalation(wheel, plan) -> None:
    # the wording comes from the slot's kind, not from its name
    assert [BODY_FOR_SLOT[k] for k in SlotKind] == ["reminder", "overdue", "escalation"]
    ctx = body_context("reminder", wheel, plan, deliverable="handleplan", committee="BUU",
                       slot=_slot(plan, "before-7"))
    subject, text, _ = render_body("reminder", ctx)
    assert subject == ("Påmindelse: Revideret handleplan fra Børne- og Ungdomsudvalget – "
                       "frist 1. maj 2012")
    assert "Fristen er tirsdag den 1. maj 2012 (om 7 dage)." in text
    ctx = body_context("overdue", wheel, plan, deliverable="handleplan", committee="BUU",
                       slot=_slot(plan, "after-7"))
    subject, text, _ = render_body("overdue", ctx)
    assert subject.startswith("Rykker: Revideret handleplan")
    assert "Fristen var tirsdag den 1. maj 2012, for 7 dage siden." in text
    assert "orienteres direktion@buf.kk.example" in text  # BUU's escalate_to
    ctx = body_context("escalation", wheel, plan, deliverable="handleplan", committee="BUU",
                       slot=_slot(plan, "escalate"))
    subject, text, _ = render_body("escalation", ctx)
    assert subject == ("Eskalering: Børne- og Ungdomsudvalget mangler Revideret handleplan "
                       "(frist 1. maj 2012)")
    assert text.startswith("Til direktion@buf.kk.example")
    assert "(14 dage siden)" in text  # escalate_after: 14, on Tuesday 15 May 2012
    assert "udvalget har fået 5 påmindelser og rykkere" in text
    with pytest.raises(ValueError, match="needs slot"):
        body_context("reminder", wheel, plan, deliverable="handleplan", committee="BUU")


def test_receipt_on_time_late_and_revision(wheel, plan) -> None:
    tz = wheel.policy.tz
    on_time = body_context("receipt", wheel, plan, deliverable="handleplan", committee="KFU",
                           received_at=datetime(2012, 5, 1, 23, 30, tzinfo=tz))
    subject, text, _ = render_body("receipt", on_time)
    assert subject == ("Kvittering: Revideret handleplan 2012 fra Kultur- og Fritidsudvalget "
                       "er modtaget")
    assert "1. maj 2012 kl. 23.30" in text and "inden fristen" in text
    late = body_context("receipt", wheel, plan, deliverable="handleplan", committee="KFU",
                        received_at=datetime(2012, 5, 2, 0, 5, tzinfo=tz))
    assert "efter fristen" in render_body("receipt", late)[1]
    rev = body_context("receipt", wheel, plan, deliverable="handleplan", committee="KFU",
                       received_at=datetime(2012, 5, 9, 10, 0, tzinfo=tz), revision=True,
                       first_received_at=datetime(2012, 4, 20, 10, 0, tzinfo=tz))
    subject, text, _ = render_body("receipt", rev)
    assert "(revideret udgave)" in subject and "20. april 2012 kl. 10.00" in text
    with pytest.raises(ValueError, match="naive"):
        body_context("receipt", wheel, plan, deliverable="handleplan", committee="KFU",
                     received_at=datetime(2012, 5, 1, 9, 0))


def test_report_body(wheel, plan) -> None:
    ctx = body_context("report", wheel, plan, event="statusrapport",
                       attachments=["Statusrapport 2012.pdf"])
    subject, text, _ = render_body("report", ctx)
    assert subject == "Samlet statusrapport for integrationsindsatsen 2012"
    assert "Vedhæftet: Statusrapport 2012.pdf" in text


def test_html_is_escaped_text_is_not_and_subjects_stay_one_line(wheel, plan, caplog) -> None:
    ctx = body_context("letter", wheel, plan, event="opfordring", committee="BUU")
    ctx["committee"] = dict(ctx["committee"], name="R&D <b>Udvalg</b>\nX-Evil: ja\x07")
    ctx["salutation"] = "<script>alert('æøå')</script>"
    with caplog.at_level(logging.WARNING, logger="letters.render"):
        subject, text, html = render_body("letter", ctx)
    assert "removed control characters" in caplog.text
    assert "\n" not in subject and "\x07" not in subject
    assert subject.endswith("R&D <b>Udvalg</b> X-Evil: ja")
    assert "Kære <script>alert('æøå')</script>" in text
    assert "&lt;script&gt;alert(&#39;æøå&#39;)&lt;/script&gt;" in html
    assert "<script>" not in html


def test_mail_templates_are_sandboxed(tmp_path: Path, wheel, plan) -> None:
    d = tmp_path / "t"
    shutil.copytree(TEMPLATES_DIR / "mail", d / "mail")
    (d / "mail" / "report.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}",
                                           encoding="utf-8")
    ctx = body_context("report", wheel, plan, event="statusrapport")
    with pytest.raises(SecurityError):
        render_body("report", ctx, d)


def test_unknown_kind(wheel, plan) -> None:
    with pytest.raises(ValueError, match="unknown body kind"):
        render_body("brev", {})  # type: ignore[arg-type]
