"""Notices (kind ``notice``): a coordinator's action, or a moved deadline, told to a committee.

Built like every other message (a Danish body from ``letters/templates/mail/notice.*``), to
the committee's ``to`` with its ``cc`` in Cc, and queued in the transaction of the change it
tells of, under a key of its own, so each notice goes out once:

- ``notice:{year}:{deliverable}:{committee}:extended:{ladder}`` and ``...:moved:{ladder}``
  (each starts a ladder of its own number);
- ``...:excused:{instant}``, ``...:reopened:{submission}``, ``...:withdrawn:{submission}``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows.services.keys import notice_key
from flows.services.setup import Setup
from letters.bodies import notice_body_context, render_body
from letters.mail import Outgoing
from models.kinds import BodyKind, MessageKind, NoticeCause


def notice(st: Setup, year: int, committee: str, deliverable: str, cause: NoticeCause,
           what: str, as_of: datetime, *, due: date, previous_due: date | None = None,
           reason: str | None = None, received_at: datetime | None = None,
           file_name: str | None = None, standing_at: datetime | None = None) -> Outgoing:
    """The notice to ``committee`` about its request for ``deliverable`` in ``year``; ``what``
    tells this notice from others of the same cause (a ladder, a submission, an instant)."""
    c = st.wheel.committee[committee]
    ctx = notice_body_context(
        st.wheel, st.plan(year), deliverable, committee, cause=cause, due=due,
        previous_due=previous_due, reason=reason, received_at=received_at,
        file_name=file_name, standing_at=standing_at)
    subject, text, html = render_body(BodyKind.NOTICE, ctx, st.templates_dir)
    return Outgoing(
        key=notice_key(year, deliverable, committee, cause, what), kind=MessageKind.NOTICE,
        year=year, committee=committee, event=None, deliverable=deliverable, slot=None,
        sender=st.sender, to=tuple(c.to), cc=tuple(x for x in c.cc if x not in c.to),
        subject=subject, text=text, html=html, date=st.local(as_of))


def stamp(instant: datetime) -> str:
    """A compact UTC instant for a key: ``20120502T100000Z``."""
    return f"{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"
