"""The message of an action: built from the wheel, the plan and the templates, nothing sent.

Building is free of side effects apart from reading templates; the dry-run preview and the
kept documents are written by the functions at the end, which the runs call explicitly.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.services.keys import Action, Queued
from flows.services.setup import Setup
from letters.bodies import body_context as _body_context
from letters.bodies import render_body
from letters.context import form_context, letter_context
from letters.docprops import FormIdentity
from letters.mail import Attachment, Outgoing, build
from letters.private import private_dir, write_private
from models.barometer import Reading
from models.kinds import MessageKind
from models.state import BarometerReading


def safe_name(name: str) -> str:
    """A file name made of the text's words (titles of events and deliverables)."""
    return re.sub(r"[^\w .-]+", "-", name).strip("- ")


def readings_by_goal(st: Setup) -> dict[str, list[Reading]]:
    """The barometer readings by goal, for the letters."""
    out: dict[str, list[Reading]] = defaultdict(list)
    with Session(st.db) as s:
        for r in s.exec(select(BarometerReading).order_by(col(BarometerReading.id))).all():
            out[r.goal].append(Reading(r.goal, r.period, r.value, r.source or None,
                                       r.illustrative))
    return dict(out)


def render_docx(st: Setup, name: str, ctx: dict[str, Any],
                properties: dict[str, str] | None = None) -> bytes:
    """Render the Word template ``name`` (python-docx and lxml load with the renderer);
    ``properties``: custom document properties (a form's identity)."""
    from letters.render import template

    return template(name, st.templates_dir).render(ctx, properties=properties)


def letter_attachments(st: Setup, a: Action,
                       readings: dict[str, list[Reading]] | None) -> list[Attachment]:
    """A letter's .docx and, for each deliverable it opens, the form to fill in."""
    w, plan = st.wheel, st.plan(a.year)
    c = w.committee[a.committee]
    pe = plan.event(a.event or "")
    ctx = letter_context(w, plan, pe.key, c.key, readings)
    out = [Attachment(f"{safe_name(pe.title)} {a.year} - {c.key}.docx",
                      render_docx(st, pe.letter or pe.key, ctx))]
    for dkey in a.opens:
        d = w.deliverable[dkey]
        fctx = form_context(w, plan, dkey, c.key)
        out.append(Attachment(f"Formular - {safe_name(d.title)} {a.year} - {c.key}.docx",
                              render_docx(st, d.form or "formular", fctx,
                                  FormIdentity(a.year, c.key, dkey).properties())))
    return out


def body_context(st: Setup, a: Action, attachments: Sequence[str] = ()) -> dict[str, Any]:
    """The context of the e-mail body of ``a`` (:func:`letters.bodies.body_context`)."""
    return _body_context(
        a.body, st.wheel, st.plan(a.year), committee=a.committee, event=a.event,
        deliverable=a.deliverable, slot=a.slot, received_at=a.received_at,
        revision=a.revision > 0, first_received_at=a.first_received_at,
        file_name=a.file_name, attachments=attachments, notes=a.notes, due=a.due,
        slots=a.ladder_slots,
    )


def outgoing(st: Setup, a: Action, as_of: datetime, *, to: Sequence[str], cc: Sequence[str],
             attachments: Sequence[Attachment] = ()) -> Outgoing:
    """The message of ``a``: its body rendered, to ``to`` with ``cc`` in Cc (once each)."""
    ctx = body_context(st, a, tuple(x.filename for x in attachments))
    subject, text, html = render_body(a.body, ctx, st.templates_dir)
    return Outgoing(
        key=a.key, kind=a.kind, year=a.year, committee=a.committee, event=a.event,
        deliverable=a.deliverable, slot=a.slot_name, sender=st.sender, to=tuple(to),
        cc=tuple(x for x in cc if x not in to), subject=subject, text=text, html=html,
        attachments=tuple(attachments), date=st.local(as_of),
    )


def build_outgoing(st: Setup, a: Action, as_of: datetime,
                   readings: dict[str, list[Reading]] | None = None) -> Outgoing:
    """The message of a letter, reminder, escalation or receipt to one committee.

    Letters, reminders and receipts go to the committee's ``to`` with its ``cc`` in Cc; an
    escalation to its ``escalate_to`` with the committee's ``to`` and ``cc`` in Cc. An
    action built beforehand (a notice) is its own message.
    """
    if a.outgoing is not None:
        return a.outgoing
    c = st.wheel.committee[a.committee]
    attachments = letter_attachments(st, a, readings) if a.kind == MessageKind.LETTER else []
    if a.kind == MessageKind.ESCALATION:
        to, cc = st.wheel.escalate_to(c), (*c.to, *c.cc)
    else:
        to, cc = c.to, c.cc
    return outgoing(st, a, as_of, to=to, cc=cc, attachments=attachments)


def write_preview(st: Setup, directory: Path, messages: Iterable[Outgoing]) -> list[str]:
    """Dry run: write each message (.eml) and its attachments into ``directory``."""
    private_dir(directory)
    written = []
    for o in messages:
        base = directory / safe_name(o.key.replace(":", "_"))
        eml = base.with_suffix(".eml")
        write_private(eml, build(o, st.domain, st.tz))
        written.append(str(eml))
        for att in o.attachments:
            p = directory / f"{base.name}--{att.filename}"
            write_private(p, att.content)
            written.append(str(p))
    return written


def document_dir(directory: Path, year: int, event_or_kind: str) -> Path:
    """``<documents>/<year>/<event or kind>/``: where a message's documents are kept."""
    return directory / str(year) / event_or_kind


def write_documents(directory: Path, messages: Iterable[Outgoing]) -> list[Path]:
    """Keep the attachments of ``messages`` under ``directory`` (see :func:`document_dir`)."""
    paths = []
    for o in messages:
        sub = document_dir(directory, o.year, o.event or o.kind)
        for att in o.attachments:
            p = sub / att.filename
            write_private(p, att.content)
            paths.append(p)
    return paths


def document_paths(queued: Iterable[Queued | Outgoing]) -> list[str]:
    """Where :func:`write_documents` put the attachments, relative to the documents folder."""
    out = []
    for o in queued:
        names = o.attachments if isinstance(o, Queued) else [a.filename for a in o.attachments]
        base = Path(str(o.year)) / (o.event or o.kind)
        out += [(base / name).as_posix() for name in names]
    return out
