"""E-mail subjects and bodies (plain text and HTML), from Jinja templates.

The templates live in ``letters/templates/mail/`` (or ``$AARSHJUL_TEMPLATES_DIR/mail``):
``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html`` for each kind, with
``footer.txt`` and ``base.html`` shared. They are rendered in the project's sandbox
(:func:`letters.sandbox.environment`: loops, sizes and time bounded) with StrictUndefined;
the HTML is autoescaped, the text is not. A subject is made one line
(whitespace collapsed). Control characters in data (other than tab and newline in bodies)
are removed with a warning, as in the letters.

Kinds: ``letter``, ``reminder`` (påmindelse, before the deadline), ``overdue`` (rykker,
after it), ``escalation``, ``receipt`` (kvittering), ``report``, ``notice`` (meddelelse: a
coordinator's action told to a committee) and ``digest`` (ugeoversigt, to the
coordinator). Note that the
``X-Aarshjul-Kind`` header (README "E-mail, the outbox and journal copies") calls both
reminder and overdue ``reminder``; the
body kind only chooses the wording (see :data:`BODY_FOR_SLOT`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from letters import TEMPLATES_DIR
from letters.context import (
    _committee,
    _common,
    dato,
    deliverable_rows,
    salutation,
    ugedag_dato,
)
from letters.limits import LimitError
from letters.render import clean_text, runtime_message
from letters.sandbox import bytecode_cache, environment
from models.dates import dansk_tid
from models.digest import sample_digests, week_monday
from models.kinds import MESSAGE_KIND_DA, BodyKind, SlotKind
from models.plan import Slot, YearPlan, require_aware
from models.problems import Problem
from models.wheel import Wheel

KINDS: tuple[str, ...] = tuple(BodyKind)


def mail_dir(directory: Path | None = None) -> Path:
    return (directory or TEMPLATES_DIR) / "mail"


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return clean_text(value)
    return value


class _Envs:
    """The text and HTML environments of one mail directory: the same but for autoescape."""

    def __init__(self, directory: Path) -> None:
        loader = jinja2.FileSystemLoader(str(directory))
        # compiled templates are kept between processes (`aarshjul check` compiles two dozen
        # mail templates); see letters.sandbox.bytecode_cache
        cache = bytecode_cache()
        self.text = environment(autoescape=False, finalize=_finalize, loader=loader,
                                lines=True, bytecode_cache=cache)
        self.html = environment(autoescape=True, finalize=_finalize, loader=loader,
                                lines=True, bytecode_cache=cache)
        self.lock = threading.Lock()


@lru_cache(maxsize=8)
def _envs(directory: Path) -> _Envs:
    return _Envs(directory)


def render_body(
    kind: BodyKind, context: Mapping[str, Any], directory: Path | None = None
) -> tuple[str, str, str]:
    """``(subject, plain text, html)`` for one message of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown body kind {kind!r} (known: {', '.join(KINDS)})")
    envs = _envs(mail_dir(directory))
    with envs.lock:  # jinja's loader cache is not meant for concurrent first loads
        subject_t = envs.text.get_template(f"{kind}.subject.txt")
        text_t = envs.text.get_template(f"{kind}.txt")
        html_t = envs.html.get_template(f"{kind}.html")
    subject = " ".join(subject_t.render(context).split())
    text = _tidy(text_t.render(context))
    html = html_t.render(context)
    return subject, text, html


def _tidy(text: str) -> str:
    """At most one blank line in a row; ends with one newline."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# --- contexts ---------------------------------------------------------------------------------


# The wording of a chase message by the kind of its slot: a påmindelse before the deadline,
# a rykker after it, an eskalering.
BODY_FOR_SLOT = {SlotKind.BEFORE: BodyKind.REMINDER, SlotKind.AFTER: BodyKind.OVERDUE,
                 SlotKind.ESCALATE: BodyKind.ESCALATION}


def _deliverable(wheel: Wheel, plan: YearPlan, key: str,
                 due: date | None = None) -> dict[str, Any]:
    """A deliverable for a template; ``due``: the request's own due date (an extension)."""
    d = wheel.deliverable[key]
    day = due or plan.deliverable(key).due
    return {"key": key, "title": d.title, "due": dato(day), "due_weekday": ugedag_dato(day),
            "due_iso": day.isoformat()}


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " og " + items[-1]


def letter_body_context(
    wheel: Wheel, plan: YearPlan, event_key: str, committee_key: str,
    attachments: Sequence[str] = (),
) -> dict[str, Any]:
    c = wheel.committee[committee_key]
    pe = plan.event(event_key)
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c), salutation=salutation(c),
        event={"key": pe.key, "title": pe.title, "date": dato(pe.day), "iso": pe.day.isoformat()},
        deliverables=deliverable_rows(wheel, plan, event_key, committee_key),
        attachments=list(attachments),
    )
    return ctx


def chase_body_context(
    wheel: Wheel, plan: YearPlan, deliverable_key: str, committee_key: str, slot: Slot, *,
    due: date | None = None, slots: Sequence[Slot] | None = None,
) -> dict[str, Any]:
    """A reminder, overdue reminder or escalation for request (committee, deliverable), for
    ``slot`` of its ladder.

    ``due`` and ``slots`` are the request's own due date and ladder when they are not the
    plan's (an extension, a new ladder after a deadline moved)."""
    c = wheel.committee[committee_key]
    due_day = due or plan.deliverable(deliverable_key).due
    if slots is None:
        req = next((r for r in plan.requests
                    if r.committee == committee_key and r.deliverable == deliverable_key), None)
        slots = req.slots if req else (slot,)
    day = slot.day
    esc = next((s for s in slots if s.kind == SlotKind.ESCALATE), None)
    escalate_to = list(wheel.escalate_to(c))
    sent_before = [s for s in slots if s.is_reminder and s.day <= day and s.name != slot.name]
    n_sent = len(sent_before) + (1 if slot.is_reminder else 0)
    reminders_text = (f"{n_sent} påmindelser og rykkere" if n_sent != 1
                      else "én påmindelse") if n_sent else "ingen påmindelser"
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c), salutation=salutation(c),
        deliverable=_deliverable(wheel, plan, deliverable_key, due_day),
        slot=slot.name, kind=BODY_FOR_SLOT[slot.kind], send_date=dato(day),
        days_left=max((due_day - day).days, 0), days_late=max((day - due_day).days, 0),
        escalation_date=dato(esc.day) if esc is not None and slot.is_reminder else "",
        escalate_to=escalate_to, escalate_to_text=_and(escalate_to),
        reminders_sent_text=reminders_text,
    )
    return ctx


def receipt_body_context(
    wheel: Wheel, plan: YearPlan, deliverable_key: str, committee_key: str,
    received_at: datetime, *, revision: bool = False, first_received_at: datetime | None = None,
    file_name: str | None = None, due: date | None = None,
) -> dict[str, Any]:

    require_aware(received_at, "received_at")
    c = wheel.committee[committee_key]
    due_day = due or plan.deliverable(deliverable_key).due
    local = received_at.astimezone(wheel.policy.tz)
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c), salutation=salutation(c),
        deliverable=_deliverable(wheel, plan, deliverable_key, due_day),
        received_at=dansk_tid(local), on_time=local.date() <= due_day, revision=revision,
        first_received_at=dansk_tid(first_received_at.astimezone(wheel.policy.tz))
        if first_received_at else "",
        file_name=file_name or "",
    )
    return ctx


def report_body_context(
    wheel: Wheel, plan: YearPlan, event_key: str, attachments: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """A report e-mail: the event, the attachments, and ``notes`` for the coordinator (e.g.
    why there is no PDF copy)."""
    pe = plan.event(event_key)
    ctx = _common(wheel, plan)
    ctx.update(
        event={"key": pe.key, "title": pe.title, "date": dato(pe.day), "iso": pe.day.isoformat()},
        attachments=list(attachments),
        notes=list(notes),
    )
    return ctx


# --- notices and the digest (the coordinator's desk) ----------------------------------------

MAX_DIGEST_ITEMS = 100  # per section of a digest; the rest is counted ("og 12 flere")


def notice_body_context(
    wheel: Wheel, plan: YearPlan, deliverable_key: str, committee_key: str, *, cause: str,
    due: date, previous_due: date | None = None, reason: str | None = None,
    received_at: datetime | None = None, file_name: str | None = None,
    standing_at: datetime | None = None,
) -> dict[str, Any]:
    """A ``notice`` to a committee about one request (:class:`models.kinds.NoticeCause`):
    ``extended`` or ``moved`` (from ``previous_due`` to ``due``), ``excused``, ``unexcused``
    (the excuse was withdrawn), ``reopened``
    (the registration of ``file_name`` received at ``received_at`` was withdrawn: the request
    is open again) or ``withdrawn`` (a later one was; the one of ``standing_at`` stands)."""

    tz = wheel.policy.tz
    c = wheel.committee[committee_key]
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c), salutation=salutation(c), cause=str(cause),
        deliverable=_deliverable(wheel, plan, deliverable_key, due),
        previous_due=dato(previous_due) if previous_due else "",
        reason=" ".join((reason or "").split()),
        received_at=dansk_tid(received_at.astimezone(tz)) if received_at else "",
        file_name=file_name or "",
        standing_at=dansk_tid(standing_at.astimezone(tz)) if standing_at else "",
    )
    return ctx


def refusal_body_context(
    wheel: Wheel, plan: YearPlan, committee_key: str, received_at: datetime,
    files: Sequence[tuple[str, str]], *, subject: str = "", deliverable_key: str | None = None,
) -> dict[str, Any]:
    """A ``refusal``: the committee's mail of ``received_at`` (its ``subject``) carried files
    that could not be taken, each ``(file name, Danish reason)``; nothing was registered."""

    require_aware(received_at, "received_at")
    c = wheel.committee[committee_key]
    ctx = _common(wheel, plan)
    ctx.update(
        committee=_committee(c), salutation=salutation(c),
        received_at=dansk_tid(received_at.astimezone(wheel.policy.tz)),
        subject=" ".join(subject.split()),
        files=[{"name": n, "reason": r} for n, r in files],
        deliverable=_deliverable(wheel, plan, deliverable_key, plan.deliverable(
            deliverable_key).due) if deliverable_key else None,
    )
    return ctx


def _more(items: Sequence[Any]) -> tuple[list[Any], int]:
    return list(items[:MAX_DIGEST_ITEMS]), max(len(items) - MAX_DIGEST_ITEMS, 0)


def digest_body_context(wheel: Wheel, plan: YearPlan, digest: Any) -> dict[str, Any]:
    """The coordinator's ``digest`` of one cycle year (a :class:`models.digest.Digest`):
    every value a ready Danish text, each section at most :data:`MAX_DIGEST_ITEMS` long."""

    tz = wheel.policy.tz
    title = {d.key: d.title for d in wheel.deliverables}

    def name(key: str | None) -> str:
        c = wheel.committee.get(key or "")
        return f"{c.name} ({c.key})" if c is not None else (key or "–")

    def days(n: int) -> str:
        return "i dag" if n == 0 else "i morgen" if n == 1 else f"om {n} dage"

    today = digest.as_of.astimezone(tz).date()
    due_soon, due_more = _more([
        {"committee": name(x.committee), "title": title.get(x.deliverable, x.deliverable),
         "due": ugedag_dato(x.due), "when": days((x.due - today).days),
         "extended": x.extended} for x in digest.due_soon])
    overdue, overdue_more = _more([
        {"committee": name(x.committee), "title": title.get(x.deliverable, x.deliverable),
         "due": dato(x.due), "reminders": x.reminders_sent, "missing": x.received_at is None,
         "received_at": dansk_tid(x.received_at.astimezone(tz)) if x.received_at else ""}
        for x in digest.overdue])
    excused, excused_more = _more([
        {"committee": name(x.committee), "title": title.get(x.deliverable, x.deliverable),
         "at": dansk_tid(x.at.astimezone(tz)), "reason": x.reason or ""}
        for x in digest.excused])
    extended, extended_more = _more([
        {"committee": name(x.committee), "title": title.get(x.deliverable, x.deliverable),
         "previous": dato(x.previous), "until": dato(x.until), "reason": x.reason or ""}
        for x in digest.extended])
    held, held_more = _more([
        {"at": dansk_tid(x.received_at.astimezone(tz)), "sender": x.sender,
         "subject": x.subject, "why": x.why} for x in digest.held])
    state_da = {"failed": "kunne ikke leveres", "bounced": "kom retur",
                "uncertain": "usikker (måske modtaget to gange)",
                "refused": "afvist af en modtager", "journal": "journalkopi mangler"}
    problems, problems_more = _more([
        {"state": state_da.get(x.state, x.state), "kind": MESSAGE_KIND_DA.get(x.kind, (x.kind,))[0],
         "committee": name(x.committee) if x.committee else "", "what": x.what or "",
         "at": dansk_tid(x.at.astimezone(tz)), "detail": x.detail,
         "message_id": x.message_id} for x in digest.problems])
    undelivered = [{"committee": name(c), "event": plan.event(e).title
                    if e in {pe.key for pe in plan.events} else e}
                   for c, e in digest.undelivered]
    ctx = _common(wheel, plan)
    ctx.update(
        week=digest.week_of.isocalendar()[1], week_of=dato(digest.week_of),
        as_of=dansk_tid(digest.as_of.astimezone(tz)),
        due_soon=due_soon, due_soon_more=due_more, overdue=overdue, overdue_more=overdue_more,
        excused=excused, excused_more=excused_more, extended=extended,
        extended_more=extended_more, held=held, held_more=held_more, problems=problems,
        problems_more=problems_more, undelivered=undelivered, paused=digest.paused,
        pending=digest.pending,
    )
    return ctx


def desk_samples(wheel: Wheel, plan: YearPlan) -> list[tuple[BodyKind, dict[str, Any]]]:
    """Sample contexts of the notice (every cause) and of a digest with every section."""

    out: list[tuple[BodyKind, dict[str, Any]]] = []
    tz = wheel.policy.tz
    if plan.requests:
        r = plan.requests[0]
        later = r.due + timedelta(days=10)
        at = datetime.combine(r.due, wheel.policy.send_clock, tzinfo=tz)
        for cause in ("extended", "moved", "excused", "unexcused", "reopened", "withdrawn"):
            out.append((BodyKind.NOTICE, notice_body_context(
                wheel, plan, r.deliverable, r.committee, cause=cause,
                due=later if cause in ("extended", "moved") else r.due, previous_due=r.due,
                reason="Udvalget har bedt om mere tid", received_at=at,
                file_name="handleplan.docx", standing_at=at - timedelta(days=3))))
        as_of = datetime.combine(week_monday(r.due), wheel.policy.send_clock, tzinfo=tz)
        out += [(BodyKind.DIGEST, digest_body_context(wheel, plan, d))
                for d in sample_digests(plan.year, r.committee, r.deliverable, r.opened_by,
                                        r.due, as_of)]
    return out


def body_context(
    kind: BodyKind, wheel: Wheel, plan: YearPlan, *, committee: str | None = None,
    event: str | None = None, deliverable: str | None = None, slot: Slot | None = None,
    received_at: datetime | None = None, revision: bool = False,
    first_received_at: datetime | None = None, file_name: str | None = None,
    attachments: Sequence[str] = (), notes: Sequence[str] = (), due: date | None = None,
    slots: Sequence[Slot] | None = None,
) -> dict[str, Any]:
    """The context of ``kind`` (dispatches to the functions above; checks what it needs).

    ``due`` and ``slots``: the request's own due date and ladder, where they differ from the
    plan's (reminders, escalations and receipts after an extension or a moved deadline)."""

    def need(value: str | None, what: str) -> str:
        if value is None:
            raise ValueError(f"a {kind} body needs {what}")
        return value

    if kind in ("reminder", "overdue", "escalation"):
        if slot is None:
            raise ValueError(f"a {kind} body needs slot")
        return chase_body_context(wheel, plan, need(deliverable, "deliverable"),
                                  need(committee, "committee"), slot, due=due, slots=slots)

    if kind == "letter":
        return letter_body_context(wheel, plan, need(event, "event"), need(committee, "committee"),
                                   attachments)
    if kind == "receipt":
        if received_at is None:
            raise ValueError("a receipt body needs received_at")
        return receipt_body_context(wheel, plan, need(deliverable, "deliverable"),
                                    need(committee, "committee"), received_at, revision=revision,
                                    first_received_at=first_received_at, file_name=file_name,
                                    due=due)
    if kind == "report":
        return report_body_context(wheel, plan, need(event, "event"), attachments, notes)
    raise ValueError(f"unknown body kind {kind!r}")


# --- checks -----------------------------------------------------------------------------------


def sample_contexts(wheel: Wheel, plan: YearPlan) -> list[tuple[BodyKind, dict[str, Any]]]:
    """Representative contexts of every kind (for the checker and the tests)."""
    out: list[tuple[BodyKind, dict[str, Any]]] = []
    for e in plan.events:
        if e.do == "letters" and e.to:
            ctx = letter_body_context(wheel, plan, e.key, e.to[0], ["brev.docx"])
            out.append((BodyKind.LETTER, ctx))
        if e.do in ("status_report", "budget"):
            out.append((BodyKind.REPORT, report_body_context(
                wheel, plan, e.key, ["rapport.docx", "rapport.pdf"])))
            out.append((BodyKind.REPORT, report_body_context(
                wheel, plan, e.key, ["rapport.docx"], ["Der kunne ikke laves en PDF-kopi."])))
    if plan.requests:
        r = plan.requests[0]
        for s in r.slots:
            out.append((BODY_FOR_SLOT[s.kind],
                        chase_body_context(wheel, plan, r.deliverable, r.committee, s)))
        tz = wheel.policy.tz
        due = datetime.combine(r.due, wheel.policy.send_clock, tzinfo=tz)
        for late, rev in ((False, False), (True, False), (False, True)):
            at = due + timedelta(days=3) if late else due - timedelta(days=5)
            out.append((BodyKind.RECEIPT, receipt_body_context(
                wheel, plan, r.deliverable, r.committee, at, revision=rev,
                first_received_at=at if rev else None, file_name="handleplan.docx")))
        out.append((BodyKind.REFUSAL, refusal_body_context(
            wheel, plan, r.committee, due, [("handleplan.docm", "filen indeholder makroer")],
            subject="Re: Opfordringsskrivelse", deliverable_key=r.deliverable)))
        out.append((BodyKind.REFUSAL, refusal_body_context(
            wheel, plan, r.committee, due, [("winmail.dat", "Outlooks RTF-format"),
                                            ("budget.xlsm", "filen indeholder makroer")])))
    out += desk_samples(wheel, plan)
    return out


def body_problems(wheel: Wheel, plan: YearPlan, directory: Path | None = None) -> list[Problem]:
    """Missing mail templates, syntax errors and undefined names, as problems."""

    mdir = mail_dir(directory)
    problems: list[Problem] = []
    seen: set[str] = set()
    samples = sample_contexts(wheel, plan)
    for kind in KINDS:
        for suffix in ("subject.txt", "txt", "html"):
            path = mdir / f"{kind}.{suffix}"
            if not path.is_file():
                problems.append(Problem(os.path.relpath(path), 0, kind,
                                        "the mail template does not exist"))
    if problems:
        return problems
    refused: set[str] = set()  # kinds whose templates went over a limit: not rendered again
    for kind, ctx in samples:
        if kind in refused:
            continue
        try:
            render_body(kind, ctx, directory)
        except jinja2.TemplateSyntaxError as exc:
            p = Problem(os.path.relpath(exc.filename or mdir), exc.lineno or 0, kind,
                        f"Jinja syntax error: {exc.message}")
        except Exception as exc:

            file, line = _template_frame(exc)
            p = Problem(os.path.relpath(file) if file else str(mdir), line, kind,
                        runtime_message(exc))
            if isinstance(exc, LimitError):
                refused.add(kind)
        else:
            continue
        if str(p) not in seen:
            seen.add(str(p))
            problems.append(p)
    return problems


def _template_frame(exc: BaseException) -> tuple[str | None, int]:
    file, line = None, 0
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".txt", ".html")):
            file, line = name, tb.tb_lineno
        tb = tb.tb_next
    return file, line
