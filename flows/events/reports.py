"""``do: status_report`` (August) and ``do: budget`` (October): one ``report`` e-mail each.

Key ``report:{year}:{event}``, with the document attached as .docx and as a tagged PDF/UA copy
(:func:`letters.pdf.tagged_pdf`; the report goes on the council's public agenda), to the owner
committee's ``to`` and the coordinator (the owner's ``cc`` in Cc). When no PDF can be made
(LibreOffice missing or failing), the .docx goes alone, and the e-mail's body, the run's notes
and its artifact say why. The message goes through the outbox like
every letter: built first, then queued in one transaction with its audit entry, then sent
by the one sender, so a rerun, a retry or a second worker never sends it twice. A rerun
after it was queued reports the queued message and builds nothing.

What the documents show is gathered by :func:`flows.services.report_data.gather`; the
documents are :mod:`letters.reports`'; the figures are also the run's markdown artifact
(key ``aarshjul-<year>-<event>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from flows.artifacts import event_artifact_key
from flows.events.base import EventResult, EventRun
from flows.report import Artifact
from flows.services.keys import Action, report_key
from flows.services.messages import outgoing, safe_name, write_documents, write_preview
from flows.services.outbox import (
    PAUSED_NOTE,
    deliver,
    enqueue_one,
    is_queued,
    message_rows,
    paused,
)
from flows.services.report_data import gather
from flows.services.setup import Setup
from letters.mail import Attachment, Outgoing
from letters.pdf import PdfCopy, no_pdf_note, tagged_pdf
from letters.private import write_private
from letters.reports.budget_overview import budget_overview_docx
from letters.reports.data import StatusData
from letters.reports.markdown import (
    budget_markdown,
    budget_summary,
    status_markdown,
    status_summary,
)
from letters.reports.status_report import status_report_docx
from models.kinds import BodyKind, MessageKind
from models.plan import PlannedEvent


def report_outgoing(st: Setup, pe: PlannedEvent, year: int, as_of: datetime,
                    attachments: Sequence[Attachment], notes: Sequence[str] = ()) -> Outgoing:
    """The ``report`` message: to the owner committee's ``to`` and the coordinator, with
    ``notes`` for them in the body."""
    w = st.wheel
    owner = w.committee[w.policy.owner]
    a = Action(MessageKind.REPORT, BodyKind.REPORT, report_key(year, pe.key), year, owner.key,
               event=pe.key, notes=tuple(notes))
    to = tuple(dict.fromkeys((*owner.to, w.policy.coordinator.email)))
    return outgoing(st, a, as_of, to=to, cc=owner.cc, attachments=attachments)


def report_files(title: str, name: str, content: bytes,
                 copy: PdfCopy) -> tuple[list[Attachment], list[str]]:
    """The .docx and, where LibreOffice made one, its tagged PDF copy; else a note saying
    why the .docx goes alone."""
    files = [Attachment(f"{name}.docx", content)]
    if copy.pdf is not None:
        return [*files, Attachment(f"{name}.pdf", copy.pdf)], []
    return files, [no_pdf_note(title, copy.reason)]


def _again(run: EventRun, key: str) -> EventResult:
    """The report was queued before: it is not built again (a pending one is sent)."""
    if run.send:
        run.step("send", deliver, run.st)
    note = (f"«{run.event.title}» {run.year} er allerede dannet og sendt én gang; "
            "den sendes ikke igen.")
    return EventResult(messages=message_rows(run.st, [key]), notes=[note])


def _report(run: EventRun, build: Callable[[StatusData], bytes],
            markdown: Callable[[StatusData], str], summary: Callable[[StatusData], str],
            with_budget: bool) -> EventResult:
    st, pe, year, as_of = run.st, run.event, run.year, run.as_of
    key = report_key(year, pe.key)
    if not run.dry_run and is_queued(st, key):
        return _again(run, key)
    data = run.step("gather", gather, st, year, as_of, run.title, with_budget=with_budget)
    content = run.step("build-report", build, data)
    title = f"{pe.title} {year}"
    copy = run.step("pdf", tagged_pdf, content, title=title)
    files, missing = report_files(title, f"{safe_name(pe.title)} {year}", content, copy)
    o = report_outgoing(st, pe, year, as_of, files, missing)
    dry = " (prøvekørsel)" if run.dry_run else ""
    result = EventResult(notes=[summary(data), *missing], artifacts=[Artifact(
        None if run.dry_run else event_artifact_key(year, pe.key), markdown(data),
        f"Årshjul {year}: {pe.key}{dry}")])
    if run.dry_run:
        result.documents += write_preview(st, run.preview, [o])
        result.messages = message_rows(st, [key], messages=[o], dry_run=True)
        return result
    queued = run.step("build-and-enqueue", enqueue_one, st, o, as_of)
    if queued:
        keep = st.data / "reports" / str(year)
        for f in o.attachments:
            write_private(keep / f.filename, f.content)
        if st.documents is not None:
            write_documents(st.documents, [o])
            result.documents += [f"{year}/{pe.key}/{f.filename}" for f in o.attachments]
    if run.send:
        run.step("send", deliver, st)
    if paused(st):
        result.notes.append(PAUSED_NOTE)
    result.messages = message_rows(st, [key], messages=[o] if queued else [])
    return result


def handle_status_report(run: EventRun) -> EventResult:
    return _report(run, status_report_docx, status_markdown, status_summary, False)


def handle_budget(run: EventRun) -> EventResult:
    return _report(run, budget_overview_docx, budget_markdown, budget_summary, True)
