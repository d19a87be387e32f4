"""The ``meeting`` event (CONTRACT §2): an .ics invitation for the meeting, and an artifact.

No e-mail: the coordinator sends (or imports) the invitation. A run writes
``<documents>/<year>/<event>/<title> <year>.ics`` (``Setup.documents``, or
``<data>/documents``; a dry run writes into its preview folder) and publishes a Danish
markdown artifact (key ``aarshjul-<year>-<event>``; none for a dry run) inside a Prefect flow
run. The run's :class:`flows.report.RunReport` lists the file and a note.

The invitation (RFC 5545 / iTIP RFC 5546):

- ``METHOD:REQUEST`` with the coordinator (``policy.coordinator``) as ORGANIZER: it is an
  invitation that asks for answers, so Outlook and Google show it as a meeting request with
  accept/decline. (The year calendar of ``aarshjul calendar`` stays ``METHOD:PUBLISH``.)
- one ATTENDEE per address of the event's committees (``to`` of the event, default every
  committee but the owner): the committee's ``to`` as ``ROLE=REQ-PARTICIPANT``, its ``cc``
  as ``ROLE=OPT-PARTICIPANT``, ``CUTYPE=GROUP`` (they are secretariat mailboxes),
  ``CN=<committee name>``, ``PARTSTAT=NEEDS-ACTION``, ``RSVP=TRUE``; an address that
  appears twice is invited once, with its strongest role.
- the UID is the one the year calendar gives the event
  (:func:`letters.ics.uid` with kind ``begivenhed``): stable across runs, and the invitation
  and the calendar entry are the same meeting in the recipients' calendars. ``SEQUENCE:0``.
- DTSTART at the event's instant (its day, moved to a business day, at ``send_time``) with
  ``TZID=<policy.timezone>`` and the VTIMEZONE of that zone; DTEND after
  :data:`letters.ics.MEETING_DURATION`. DTSTAMP is the run's ``as_of`` (UTC), so a rerun at
  the same instant writes the same bytes.

Importing this module registers the handler (:func:`flows.engine.register_event_handler`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flows import engine as E
from flows.event_barometer import artifact_key, output_dir, publish_markdown
from flows.report import RunReport
from models.plan import PlannedEvent

if TYPE_CHECKING:
    from icalendar import Calendar

    from models.wheel import Wheel

METHOD = "REQUEST"
ROLE_DA = {"REQ-PARTICIPANT": "deltager", "OPT-PARTICIPANT": "kopi (valgfri)"}


def ics_name(pe: PlannedEvent, year: int) -> str:
    return f"{E._safe(pe.title)} {year}.ics"


def attendees(wheel: Wheel, committees: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    """(committee key, committee name, address, role) per invited address, in order."""
    out: dict[str, tuple[str, str, str, str]] = {}
    for key in committees:
        c = wheel.committee[key]
        for addr in c.to:
            prev = out.get(addr.lower())
            if prev is None or prev[3] != "REQ-PARTICIPANT":
                out[addr.lower()] = (c.key, c.name, addr, "REQ-PARTICIPANT")
        for addr in c.cc:
            if addr.lower() not in out:
                out[addr.lower()] = (c.key, c.name, addr, "OPT-PARTICIPANT")
    return list(out.values())


def invitation(wheel: Wheel, pe: PlannedEvent, year: int, stamp: datetime) -> Calendar:
    """The meeting invitation as an icalendar Calendar (see the module text)."""
    from icalendar import Calendar, Event, vCalAddress, vText

    from letters.ics import MEETING_DURATION, PRODID, uid, vtimezone
    from models.dates import dansk_dato
    from models.plan import require_aware

    require_aware(stamp, "stamp")
    tz = wheel.policy.tz
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", METHOD)
    cal.add_component(vtimezone(tz, year, year))
    ev = Event()
    ev.add("uid", uid(wheel, year, "begivenhed", pe.key))
    ev.add("dtstamp", stamp.astimezone(UTC).replace(microsecond=0))
    ev.add("sequence", 0)
    ev.add("status", "CONFIRMED")
    ev.add("class", "PUBLIC")
    ev.add("transp", "OPAQUE")
    ev.add("categories", ["Årshjul", "Møde"])
    ev.add("summary", pe.title)
    start = pe.at.astimezone(tz)
    ev.add("dtstart", start)
    ev.add("dtend", (start + MEETING_DURATION).astimezone(tz))
    coord = wheel.policy.coordinator
    organizer = vCalAddress(f"mailto:{coord.email}")
    organizer.params["cn"] = vText(coord.name)
    ev.add("organizer", organizer)
    for _key, name, addr, role in attendees(wheel, pe.to):
        a = vCalAddress(f"mailto:{addr}")
        a.params["cn"] = vText(name)
        a.params["cutype"] = vText("GROUP")
        a.params["role"] = vText(role)
        a.params["partstat"] = vText("NEEDS-ACTION")
        a.params["rsvp"] = vText("TRUE")
        ev.add("attendee", a, encode=False)
    names = ", ".join(wheel.committee[k].name for k in pe.to)
    lines = [
        f"{pe.title}, {dansk_dato(pe.day)}.",
        f"Deltagere: {names}.",
        "Tidspunkt og varighed er årshjulets standard; ret dem, før invitationen sendes.",
        f"Årshjul {year}: {wheel.policy.name}.",
    ]
    if pe.nominal != pe.day:
        lines.insert(1, f"Flyttet fra {dansk_dato(pe.nominal)}, som ikke er en arbejdsdag.")
    ev.add("description", "\n".join(lines))
    cal.add_component(ev)
    return cal


def meeting_markdown(wheel: Wheel, pe: PlannedEvent, year: int, file: str, *, dry_run: bool) -> str:
    from letters.ics import MEETING_DURATION, uid
    from models.dates import dansk_tid

    start = pe.at.astimezone(wheel.policy.tz)
    end = (start + MEETING_DURATION).astimezone(wheel.policy.tz)
    lines = [f"# {pe.title} {year}", ""]
    if dry_run:
        lines += ["**Prøvekørsel:** invitationen er skrevet til prøvemappen.", ""]
    lines += [
        f"Mødeinvitation (iCalendar, METHOD:{METHOD}) fra "
        f"{wheel.policy.coordinator.name} <{wheel.policy.coordinator.email}>.",
        "",
        f"- **Tidspunkt:** {dansk_tid(start)} – {end.strftime('%H.%M')} ({wheel.policy.timezone})",
        f"- **Fil:** `{file}`",
        f"- **UID:** `{uid(wheel, year, 'begivenhed', pe.key)}`",
        "- Der er ikke sendt e-mail: send eller importér invitationen fra kalenderen.",
        "",
        "| Udvalg | Navn | Adresse | Rolle |",
        "|---|---|---|---|",
    ]
    for key, name, addr, role in attendees(wheel, pe.to):
        lines.append(f"| {key} | {name} | {addr} | {ROLE_DA[role]} |")
    return "\n".join(lines) + "\n"


def meeting_event(
    st: E.Setup,
    report: RunReport,
    pe: PlannedEvent,
    year: int,
    as_of: datetime,
    dry_run: bool,
    preview_dir: Path | None,
    send: bool,
) -> None:
    """The ``meeting`` handler: the .ics invitation written, the artifact published."""
    directory, base = output_dir(st, year, pe.key, dry_run, preview_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ics_name(pe, year)
    path.write_bytes(invitation(st.wheel, pe, year, as_of).to_ical())
    rel = path.relative_to(base).as_posix()
    report.documents.append(rel)
    n = len(attendees(st.wheel, pe.to))
    report.notes.append(
        f"Mødeinvitation skrevet: {path} ({n} modtagere fra {len(pe.to)} udvalg). "
        "Ingen e-mail er sendt; koordinatoren sender invitationen."
    )
    publish_markdown(
        None if dry_run else artifact_key(year, pe.key),
        meeting_markdown(st.wheel, pe, year, rel, dry_run=dry_run),
        f"Møde {year}: {pe.title}" + (" (prøvekørsel)" if dry_run else ""),
    )


E.register_event_handler("meeting", meeting_event)
