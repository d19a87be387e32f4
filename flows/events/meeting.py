"""``do: meeting``: an .ics invitation for the meeting, and an artifact. No e-mail: the
coordinator sends (or imports) the invitation.

A run writes ``<documents>/<year>/<event>/<title> <year>.ics`` (a dry run: into its preview
folder) and publishes a Danish markdown artifact (key ``aarshjul-<year>-<event>``; none for a
dry run). The invitation itself is :func:`letters.ics.invitation`: ``METHOD:REQUEST`` with the
coordinator as organizer and the event's committees as attendees, the year calendar's UID
(stable across runs), the event's instant in the policy's zone with its VTIMEZONE, and the
run's instant as DTSTAMP, so a rerun at the same instant writes the same bytes.
"""

from __future__ import annotations

from flows.artifacts import event_artifact_key
from flows.events.base import EventResult, EventRun
from flows.report import Artifact
from flows.services.messages import safe_name
from letters.ics import attendees, invitation, invitation_markdown
from letters.private import write_private


def ics_name(title: str, year: int) -> str:
    return f"{safe_name(title)} {year}.ics"


def handle(run: EventRun) -> EventResult:
    pe, w = run.event, run.st.wheel
    base = run.preview if run.dry_run else run.documents
    directory = base if run.dry_run else base / str(run.year) / pe.key
    path = directory / ics_name(pe.title, run.year)
    write_private(path, invitation(w, pe, run.year, run.as_of).to_ical())
    rel = path.relative_to(base).as_posix()
    n = len(attendees(w, pe.to))
    dry = " (prøvekørsel)" if run.dry_run else ""
    return EventResult(
        documents=[rel],
        notes=[f"Mødeinvitation skrevet: {path} ({n} modtagere fra {len(pe.to)} udvalg). "
               "Ingen e-mail er sendt; koordinatoren sender invitationen."],
        artifacts=[Artifact(None if run.dry_run else event_artifact_key(run.year, pe.key),
                            invitation_markdown(w, pe, run.year, rel, dry_run=run.dry_run),
                            f"Møde {run.year}: {pe.title}{dry}")],
    )
