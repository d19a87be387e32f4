"""Helpers for the mail and delivery tests: outgoing messages and a migrated database."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from letters.delivery import enqueue
from letters.mail import Attachment, Outgoing
from models.db import make_engine, session, upgrade

TZ = ZoneInfo("Europe/Copenhagen")
DOMAIN = "kk.example"
SENDER = ("Beskæftigelses- og Integrationsforvaltningen", "integration@kk.example")
COORDINATOR = ("Koordinator Åse Ørsted", "koordinator@kk.example")
WINTER = datetime(2012, 1, 20, 9, 0, tzinfo=TZ)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def letter(committee: str = "BUU", **kw: Any) -> Outgoing:
    o = Outgoing(
        key=f"letter:2012:opfordring:{committee}", kind="letter", year=2012,
        committee=committee, event="opfordring", deliverable=None, slot=None, sender=SENDER,
        to=(f"{committee.lower()}@kk.example",), cc=("sekretariat@kk.example",),
        subject=f"Opfordringsskrivelse 2012 – {committee}: æøå ÆØÅ",
        text="Kære udvalg\n\nSe vedhæftede opfordringsskrivelse. Frist: 1. maj 2012.\n",
        html="<p>Kære udvalg</p><p>Frist: <b>1. maj 2012</b> &amp; æøå</p>",
        attachments=(Attachment(f"Opfordringsskrivelse {committee} – Børn og unge.docx",
                                b"PK\x03\x04 not really a docx"),
                     Attachment("Skema – handleplan.docx", b"PK\x03\x04 form")),
        date=WINTER,
    )
    return replace(o, **kw)


def reminder(committee: str = "BUU", slot: str = "before-7", **kw: Any) -> Outgoing:
    o = Outgoing(
        key=f"reminder:2012:handleplan:{committee}:{slot}", kind="reminder", year=2012,
        committee=committee, event=None, deliverable="handleplan", slot=slot, sender=SENDER,
        to=(f"{committee.lower()}@kk.example",), cc=(), subject="Påmindelse: handleplan",
        text="Husk fristen 1. maj 2012.\n", html=None, attachments=(),
        date=datetime(2012, 4, 24, 9, 0, tzinfo=TZ),
    )
    return replace(o, **kw)


def migrated(directory: Path) -> Engine:
    engine = make_engine(f"sqlite:///{directory / 'aarshjul.sqlite'}")
    upgrade(engine)
    return engine


def fill(engine: Engine, outs: list[Outgoing]) -> None:
    with session(engine) as s:
        for o in outs:
            enqueue(s, o, DOMAIN, TZ)
        s.commit()


def pad(raw: bytes) -> bytes:
    """``raw`` with transport padding after its first top-level delimiter: legal MIME, but
    not as this engine writes it."""
    return re.sub(rb"(\r\n--=_aarshjul_[0-9a-f]+_0)\r\n", rb"\1 \r\n", raw, count=1)
