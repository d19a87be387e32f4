"""Prefect artifacts: the coordinators' view of the year in the Prefect UI.

Every chase and letters run publishes three artifacts for its cycle year:

- a table of requests (``aarshjul-<year>-anmodninger``): Udvalg, Aflevering, Frist,
  Status, Påmindelser sendt, Seneste handling;
- a progress artifact (``aarshjul-<year>-fremdrift``): received out of all requests;
- a Danish markdown summary (``aarshjul-<year>-oversigt``): what went out (counts per kind
  and a list), what is late or missing, failed and uncertain sends, and notes (e.g. an event
  kind that is not built yet).

The keys are stable per year, so the UI's Artifacts page shows the latest state of each year
and its history; each artifact is also attached to the flow run that made it. A dry run
publishes the same artifacts without keys (attached to its own run only), so a preview never
replaces the year's real state.

The builders (``table_rows``, ``progress``, ``summary_markdown``) are pure; ``publish`` is the
only function that talks to Prefect, and it imports Prefect lazily.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, tzinfo

from flows.report import Handled, IntakeReport, MessageRow, RequestRow, RunReport
from models.dates import dansk_dato, dansk_tid, dansk_ugedag_dato
from models.kinds import MESSAGE_KIND_DA, STATUS_DA, IntakeOutcome
from models.text import markdown_text as md

KIND_DA = MESSAGE_KIND_DA  # (singular, plural) of each message kind
KIND_ORDER = tuple(KIND_DA)
STATE_DA = {
    "queued": "i kø",
    "sent": "sendt",
    "failed": "fejlet",
    "uncertain": "usikker",
    "preview": "prøvekørsel, ikke sendt",
}
RUN_KIND_DA = {
    "event": "hændelse",
    "chase": "rykkerkørsel",
    "receipt": "kvittering",
    "simulate": "simulering",
    "action": "koordinatorens handling",
    "digest": "ugeoversigt",
    "intake": "postkasse",
}
COLUMNS = ("Udvalg", "Aflevering", "Frist", "Status", "Påmindelser sendt", "Seneste handling")

# The markdown list of messages is cut here, so a batch of thousands stays readable.
MAX_LISTED = 200

_KEY_OK = re.compile(r"^[a-z0-9-]+$")


def artifact_key(year: int | None, what: str) -> str:
    """A stable artifact key: lowercase letters, digits and dashes (Prefect's rule)."""
    key = f"aarshjul-{year}-{what}" if year is not None else f"aarshjul-{what}"
    if not _KEY_OK.match(key):
        raise ValueError(f"{key!r} is not a valid Prefect artifact key")
    return key


def event_artifact_key(year: int, event: str) -> str:
    """The key of an event's own artifact (barometer snapshot, invitation, report figures):
    ``aarshjul-<year>-<event key, lower case, '_' as '-'>``."""
    return artifact_key(year, re.sub(r"[^a-z0-9-]+", "-", event.lower()).strip("-"))


def status_da(row: RequestRow) -> str:
    """Danish status; an open request past its due date shows as ``mangler``."""
    if row.status == "open" and row.overdue:
        return STATUS_DA["missing"]
    return STATUS_DA.get(row.status, row.status)


def table_rows(requests: list[RequestRow]) -> list[dict[str, str | int]]:
    """The requests table, one dict per request, columns in Danish."""
    return [
        {
            "Udvalg": md(r.committee),
            "Aflevering": md(r.deliverable),
            # The UI renders each cell as markdown: "15. maj 2012" would become an ordered
            # list item (shown as "1."); "tirsdag den 15. maj 2012" stays text.
            "Frist": dansk_ugedag_dato(r.due) + (" (forlænget)" if r.extended else ""),
            "Status": status_da(r),
            "Påmindelser sendt": r.reminders_sent,
            "Seneste handling": md(r.last_action) if r.last_action else "–",
        }
        for r in requests
    ]


def progress(requests: list[RequestRow]) -> tuple[int, int, float]:
    """(received, total, percent) for the progress artifact; 0 requests is 0 %."""
    total = len(requests)
    received = sum(r.status in ("on_time", "late") for r in requests)
    return received, total, (100.0 * received / total if total else 0.0)


def _plural(kind: str, n: int) -> str:
    one, many = KIND_DA.get(kind, (kind, kind))
    return f"{n} {one if n == 1 else many}"


def _message_line(m: MessageRow) -> str:
    kind = KIND_DA.get(m.kind, (m.kind, m.kind))[0].capitalize()
    what = [md(x) for x in (m.committee, m.deliverable or m.event, m.slot) if x]
    to = ", ".join(md(a) for a in m.to)
    cc = f" (cc: {', '.join(md(a) for a in m.cc)})" if m.cc else ""
    state = STATE_DA.get(m.state, m.state)
    return f"- {kind} · {' · '.join(what)} · til {to}{cc} · «{md(m.subject)}» · {state}"


def _when(instant: datetime) -> str:
    return dansk_tid(instant)


def _years(report: RunReport) -> list[int | None]:
    if report.year is not None:
        return [report.year]
    years = sorted({r.year for r in report.requests})
    return list(years) if years else [None]


def _md_text(text: str) -> str:
    """``text`` shown as it is in Markdown: no link, image, emphasis or HTML from it."""
    return re.sub(r"([\\`*_\[\]()<>!#|])", r"\\\1", text)


def summary_markdown(report: RunReport, requests: list[RequestRow] | None = None) -> str:
    """The Danish summary of a run: what went out, what is late or missing, notes."""
    rows = report.requests if requests is None else requests
    lines: list[str] = [f"# {md(report.title)}", ""]
    kind = RUN_KIND_DA.get(report.kind, report.kind)
    lines.append(f"Kørt pr. {_when(report.as_of)} ({kind}).")
    if report.dry_run:
        lines += ["", "**Prøvekørsel:** intet er sendt, og ingen tilstand er ændret."]
    if report.done:
        lines += ["", "## Hvad der ville ske" if report.dry_run else "## Udført", ""]
        lines += [f"- {md(d)}" for d in report.done]
    received, total, pct = progress(rows)
    lines += ["", f"**Modtaget:** {received} af {total} afleveringer ({pct:.0f} %)."]

    lines += ["", "## Sendt i denne kørsel", ""]
    out = [m for m in report.messages if m.state not in ("failed", "uncertain")]
    if not out:
        lines.append("Intet at sende.")
    else:
        counts = Counter(m.kind for m in out)
        order = sorted(counts, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
        lines.append("I alt " + ", ".join(_plural(k, counts[k]) for k in order) + ".")
        lines.append("")
        lines += [_message_line(m) for m in out[:MAX_LISTED]]
        if len(out) > MAX_LISTED:
            lines.append(f"- … og {len(out) - MAX_LISTED} flere")

    if report.unreachable:
        lines += ["", "## Mailserveren kunne ikke nås", "",
                  f"{_md_text(report.unreachable)}. Beskederne venter i udbakken; kørslen "
                  "fejlede (se `aarshjul doctor`)."]

    trouble = [m for m in report.messages if m.state in ("failed", "uncertain")]
    if trouble:
        lines += ["", "## Fejlede og usikre afsendelser", ""]
        lines += [_message_line(m) for m in trouble[:MAX_LISTED]]
        if len(trouble) > MAX_LISTED:
            lines.append(f"- … og {len(trouble) - MAX_LISTED} flere")

    late = [r for r in rows if r.status in ("late", "missing") or r.overdue]
    lines += ["", "## For sent og mangler", ""]
    if not late:
        lines.append("Ingen afleveringer er forsinkede.")
    else:
        for r in late[:MAX_LISTED]:
            got = f", modtaget {_when(r.received_at)}" if r.received_at else ""
            lines.append(
                f"- {md(r.committee)} · {md(r.deliverable)}: {status_da(r)} "
                f"(frist {dansk_dato(r.due)}{got}; {r.reminders_sent} påmindelser sendt)"
            )
        if len(late) > MAX_LISTED:
            lines.append(f"- … og {len(late) - MAX_LISTED} flere")

    lines += _desk_lines(rows)
    if report.notes:
        lines += ["", "## Bemærkninger", ""]
        lines += [f"- {md(n)}" for n in report.notes]
    if report.documents:
        lines += ["", f"{len(report.documents)} dokumenter er skrevet."]
    return "\n".join(lines) + "\n"


def _desk_lines(rows: list[RequestRow]) -> list[str]:
    """The summary's sections for excused and extended requests and undelivered letters."""
    lines: list[str] = []
    excused = [r for r in rows if r.status == "excused"]
    extended = [r for r in rows if r.extended]
    undelivered = [r for r in rows if r.letter in ("failed", "bounced")]
    if undelivered:
        lines += ["", "## Breve der ikke kunne leveres", ""]
        lines += [f"- {md(r.committee)} · {md(r.deliverable)}: brevet kunne ikke leveres; "
                  "påmindelserne "
                  "holdes tilbage, til det er sendt igen (`aarshjul resend`)"
                  for r in undelivered[:MAX_LISTED]]
    if excused or extended:
        lines += ["", "## Fritaget og forlænget", ""]
        lines += [f"- {md(r.committee)} · {md(r.deliverable)}: fritaget"
                  for r in excused[:MAX_LISTED]]
        lines += [f"- {md(r.committee)} · {md(r.deliverable)}: frist forlænget til "
                  f"{dansk_dato(r.due)}"
                  for r in extended[:MAX_LISTED]]
    return lines


# The intake artifact's sections (README "Replies by e-mail"): outcome -> heading.
INTAKE_SECTIONS = (
    (IntakeOutcome.REGISTERED, "Registreret"), (IntakeOutcome.ACCEPTED, "Registreret i hånden"),
    (IntakeOutcome.HELD, "Til koordinatoren"), (IntakeOutcome.REFUSED, "Afvist fil"),
    (IntakeOutcome.BOUNCED, "Kom retur"), (IntakeOutcome.AUTO_REPLY, "Automatiske svar"),
    (IntakeOutcome.DISMISSED, "Lagt til side"),
)


def _intake_row(h: Handled, tz: tzinfo) -> str:
    when = dansk_tid(h.received_at.astimezone(tz)) if h.received_at is not None else "–"
    about = (f"{h.deliverable} {h.year} fra {h.committee}" if h.deliverable and h.committee
             else "–")
    cells = [md(h.from_address or "ukendt afsender"), md(h.subject or "–"),
             when, md(about), md(h.reason or "–"), md(h.key)]
    return "| " + " | ".join(cells) + " |"


def intake_markdown(report: IntakeReport, tz: tzinfo) -> str:
    """The intake run's Danish artifact: what was registered, held, refused and bounced,
    one table per outcome; everything the committees wrote is escaped (`markdown_text`)."""
    dry = " (prøvekørsel: intet er gemt, sendt eller flyttet)" if report.dry_run else ""
    new = [h for h in report.handled if not h.duplicate]
    counts = Counter(IntakeOutcome(h.outcome) for h in new)
    out = [f"# Postkassen {dansk_tid(report.as_of.astimezone(tz))}{dry}", ""]
    listed = ", ".join(f"{counts[k]} {title.lower()}" for k, title in INTAKE_SECTIONS
                       if counts[k]) or "ingen nye beskeder"
    again = [h for h in report.handled if h.duplicate]
    out.append(f"{len(new)} nye beskeder: {listed}."
               + (f" {len(again)} var behandlet før (kun flyttet)." if again else ""))
    for key, title in INTAKE_SECTIONS:
        rows = [h for h in new if h.outcome == key]
        if not rows:
            continue
        out += ["", f"## {title} ({len(rows)})", "",
                "| Fra | Emne | Modtaget | Aflevering | Bemærkning | Message-ID |",
                "|---|---|---|---|---|---|"]
        out += [_intake_row(h, tz) for h in rows[:MAX_LISTED]]
        if len(rows) > MAX_LISTED:
            out.append(f"\n… og {len(rows) - MAX_LISTED} til.")
    if report.problems:
        out += ["", f"## Problemer ({len(report.problems)})", ""]
        out += [f"- {md(p)}" for p in report.problems]
    return "\n".join(out) + "\n"


def publish(report: RunReport) -> None:
    """Publish the run's table, progress and Danish summary as Prefect artifacts.

    Call it from inside a flow or task run, so the artifacts are attached to the run; the
    keyed copies (not for a dry run) make the year's latest state visible on the Artifacts
    page. Reports to whatever Prefect API the process is configured for.
    """
    from prefect.artifacts import (
        create_markdown_artifact,
        create_progress_artifact,
        create_table_artifact,
    )

    for year in _years(report):
        rows = [r for r in report.requests if year is None or r.year == year]
        received, total, pct = progress(rows)
        label = f"Årshjul {year}" if year is not None else "Årshjul"
        dry = " (prøvekørsel)" if report.dry_run else ""
        create_table_artifact(
            table=table_rows(rows),
            key=None if report.dry_run else artifact_key(year, "anmodninger"),
            description=f"{label}: anmodninger pr. {_when(report.as_of)}{dry}",
        )
        create_progress_artifact(
            progress=pct,
            key=None if report.dry_run else artifact_key(year, "fremdrift"),
            description=f"{label}: {received} af {total} afleveringer modtaget{dry}",
        )
        create_markdown_artifact(
            markdown=summary_markdown(report, rows),
            key=None if report.dry_run else artifact_key(year, "oversigt"),
            description=f"{label}: {report.title}{dry}",
        )
