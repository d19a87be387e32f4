"""The coordinator's digest for a scripted year, against hand-written expectations: what is
due in the next 14 days, what is missing or came late, the week's excuses and extensions,
messages held for the coordinator (from the source the mail intake fills), bounced and
failed sends, undelivered letters; once a week; nothing when there is nothing to say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from flows import runs
from flows.services import digest as digest_service
from flows.services.deliveries import record_bounce
from flows.services.outbox import message_rows
from flows.services.setup import Setup
from models.config import loads
from models.digest import Held, digest_day
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, form_docx, mailbox, make_setup


@pytest.fixture
def st(tmp_path: Path) -> Iterator[Setup]:
    with database("sqlite", tmp_path) as eng:
        yield make_setup(eng, tmp_path)


@pytest.fixture
def held_source() -> Iterator[list[Held]]:
    """A stand-in for the mail intake: what it holds for the coordinator."""
    held: list[Held] = []

    def source(st: Setup, year: int) -> list[Held]:
        return [h for h in held if h.received_at.year == year]

    digest_service.HELD_SOURCES.append(source)
    try:
        yield held
    finally:
        digest_service.HELD_SOURCES.remove(source)


def _digest(st: Setup, tmp: Path, when: str) -> str | None:
    """The text of the digest sent as of ``when`` (None: none was sent)."""
    n = len(mailbox(tmp))
    report = runs.digest(st, at(when))
    new = [m for m in mailbox(tmp)[n:] if m["X-Aarshjul-Kind"] == "digest"]
    assert len(new) <= 1 and [m.state for m in report.messages] == ["sent"] * len(new)
    if not new:
        return None
    m = new[0]
    assert m["To"] == "koordinator@bif.kk.example" and m["X-Aarshjul-Year"] == "2012"
    assert m["X-Aarshjul-Committee"] is None
    return f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}"


def test_the_digest_of_a_scripted_year(st: Setup, tmp_path: Path, held_source) -> None:  # type: ignore[no-untyped-def]
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    # a quiet week: nothing due within 14 days, nothing wrong: no digest
    assert _digest(st, tmp_path, "2012-02-06T09:00") is None
    runs.chase(st, at("2012-04-17T09:00"))
    (letter,) = message_rows(st, ["letter:2012:opfordring:KFU"])
    record_bounce(st, letter.message_id, "kfu-sekretariat@kff.kk.example", "5.1.1",
                  at("2012-04-24T08:00"))
    runs.excuse(st, 2012, "SOU", "redegoerelse", at("2012-04-25T10:00"),
                reason="Ingen aktiviteter i år")
    runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 11), at("2012-04-26T10:00"),
                reason="Udvalgsmødet er flyttet")
    runs.submit(st, 2012, "BUU", "handleplan", form_docx(st, tmp_path / "buu.docx", "BUU",
                                                         "handleplan"), at("2012-04-27T10:00"))
    held_source.append(Held(at("2012-04-27T14:12"), "ukendt@example.org",
                            "Re: Opfordringsskrivelse", "afsenderen er ikke et af udvalgenes"))

    text = _digest(st, tmp_path, "2012-04-30T09:00")
    assert text is not None
    head, body = text.split("\n", 1)
    assert head == ("Ugeoversigt 2012, uge 18: Københavns Integrationspolitik 2011-2014 – "
                    "afsendelser kræver handling")
    sections = _sections(body)
    assert sections["Breve der ikke kunne leveres"] == [
        "- Kultur- og Fritidsudvalget (KFU): Opfordringsskrivelse til de stående udvalg"]
    (bounce,) = sections["Fejlede, usikre og returnerede afsendelser"]
    assert bounce.startswith("- Kultur- og Fritidsudvalget (KFU), brev (opfordring): kom retur, "
                             "24. april 2012 kl. 08.00. kfu-sekretariat@kff.kk.example: 5.1.1")
    assert sections["Beskeder der venter på koordinatoren"] == [
        "- 27. april 2012 kl. 14.12 fra ukendt@example.org: «Re: Opfordringsskrivelse» "
        "(afsenderen er ikke et af udvalgenes)"]
    tomorrow = "Revideret handleplan, tirsdag den 1. maj 2012 (i morgen)."
    assert sections["Frist inden for 14 dage"] == [
        f"- Økonomiudvalget (OEU): {tomorrow}", f"- Kultur- og Fritidsudvalget (KFU): {tomorrow}",
        f"- Sundheds- og Omsorgsudvalget (SUU): {tomorrow}", f"- Socialudvalget (SOU): {tomorrow}",
        "- Teknik- og Miljøudvalget (TMU): Revideret handleplan, fredag den 11. maj 2012 "
        "(om 11 dage, forlænget frist).",
        f"- Beskæftigelses- og Integrationsudvalget (BIU): {tomorrow}"]
    assert sections["Forlænget i den seneste uge"] == [
        "- Teknik- og Miljøudvalget (TMU): Revideret handleplan, fra 1. maj 2012 til 11. maj "
        "2012 (Udvalgsmødet er flyttet)."]
    assert sections["Fritaget i den seneste uge"] == [
        "- Socialudvalget (SOU): Integrationsredegørelse, 25. april 2012 kl. 10.00 (Ingen "
        "aktiviteter i år)."]
    assert "Mangler og for sent modtaget" not in sections

    # once a week: a second run the same week sends nothing
    assert _digest(st, tmp_path, "2012-05-02T09:00") is None

    runs.submit(st, 2012, "SUU", "handleplan", form_docx(st, tmp_path / "suu.docx", "SUU",
                                                         "handleplan"), at("2012-05-03T10:00"))
    text = _digest(st, tmp_path, "2012-05-07T09:00")
    assert text is not None
    sections = _sections(text.split("\n", 1)[1])
    assert sections["Mangler og for sent modtaget"] == [
        "- Økonomiudvalget (OEU): Revideret handleplan, frist 1. maj 2012: mangler (1 "
        "påmindelse sendt).",
        "- Kultur- og Fritidsudvalget (KFU): Revideret handleplan, frist 1. maj 2012: mangler "
        "(1 påmindelse sendt).",
        "- Sundheds- og Omsorgsudvalget (SUU): Revideret handleplan, frist 1. maj 2012: "
        "modtaget for sent 3. maj 2012 kl. 10.00.",
        "- Socialudvalget (SOU): Revideret handleplan, frist 1. maj 2012: mangler (1 "
        "påmindelse sendt).",
        "- Beskæftigelses- og Integrationsudvalget (BIU): Revideret handleplan, frist 1. maj "
        "2012: mangler (1 påmindelse sendt)."]
    soon = sections["Frist inden for 14 dage"]
    assert soon[0] == ("- Teknik- og Miljøudvalget (TMU): Revideret handleplan, fredag den 11. "
                       "maj 2012 (om 4 dage, forlænget frist).")
    assert len(soon) == 7 and all("Integrationsredegørelse, tirsdag den 15. maj 2012" in x
                                  for x in soon[1:])
    assert not any("Socialudvalget" in x for x in soon)  # excused
    assert "Fejlede, usikre og returnerede afsendelser" not in sections  # last week's
    assert "Breve der ikke kunne leveres" in sections  # still not delivered
    assert "Forlænget i den seneste uge" not in sections


def _sections(body: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in body.splitlines():
        if line.startswith("- ") and current is not None:
            out[current].append(line)
        elif line.endswith(":") or line.split(" (", 1)[0] in (
                "Breve der ikke kunne leveres",):
            current = line.rstrip(":").split(" (påmindelserne", 1)[0]
            out[current] = []
        elif not line.strip():
            current = None
    return out


def test_the_digest_day_and_the_switch(st: Setup, tmp_path: Path) -> None:
    assert digest_day(st.cal, date(2012, 4, 11)) == date(2012, 4, 10)  # Easter Monday: Tuesday
    assert digest_day(st.cal, date(2012, 5, 30)) == date(2012, 5, 29)  # Whit Monday
    assert digest_day(st.cal, date(2012, 5, 2)) == date(2012, 4, 30)
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    r = runs.digest(st, at("2012-04-24T09:00"), only_on_digest_day=True)  # a Tuesday
    assert r.messages == [] and r.notes == [
        "I dag er ikke ugeoversigtens dag; den sendes mandag den 30. april 2012."]
    # Whit Monday 28 May: the digest goes on Tuesday (the handleplaner are missing by then)
    assert len(runs.digest(st, at("2012-05-29T09:00"), only_on_digest_day=True).messages) == 1
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").replace(
        '  send_time: "09:00"\n', '  send_time: "09:00"\n  digest: false\n', 1)
    off = make_setup(st.db, tmp_path, loads(text))
    r = runs.digest(off, at("2012-04-16T09:00"))
    assert r.messages == [] and r.notes == ["Ugeoversigten er slået fra (policy.digest: false)."]


def test_a_dry_run_digest_builds_it_and_sends_nothing(st: Setup, tmp_path: Path) -> None:
    runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
    n = len(mailbox(tmp_path))
    r = runs.digest(st, at("2012-04-23T09:00"), dry_run=True)
    assert [(m.kind, m.state) for m in r.messages] == [("digest", "preview")]
    assert len(mailbox(tmp_path)) == n
    assert r.artifacts and r.artifacts[0].key is None
    assert len(runs.digest(st, at("2012-04-23T09:00")).messages) == 1  # then for real
