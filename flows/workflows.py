"""The Prefect layer: each flow wraps one composed run of :mod:`flows.runs`, nothing more.

Every step of the run becomes a Prefect task of the same name (:func:`task_step`: plan,
build-and-enqueue, send, ...), never a task per committee, so 1,000 committees cost the same
handful of task runs (~10-16 ms and ~25 KB of server database each). Each run ends by
publishing its artifacts (:func:`publish`).

- ``event_flow(year, event, dry_run)``: flow ``aarshjul-event``, run ``"<event> <year> ·
  <Danish date>"``, tags ``aarshjul``, the year, the event key and its ``do`` kind;
- ``chase_flow(dry_run, year)``: flow ``aarshjul-chase``, run ``"rykkerkørsel · <date>"``;
- ``receipt_flow(year, committee, deliverable)``: flow ``aarshjul-receipt`` (the CLI's
  ``submit``; the file comes with the run's binding);
- ``intake_flow(dry_run)``: flow ``aarshjul-intake``, run ``"postkasse · <date>"``: one pass
  over the replies mailbox (the binding's source, else ``AARSHJUL_IMAP_URL``), its replies
  sent, its artifact ``aarshjul-postkasse``; ``intake_accept_flow`` and
  ``intake_dismiss_flow`` for the messages it held (``dry_run`` on by default);
- the coordinator's actions ``extend_flow``, ``excuse_flow``, ``reopen_flow``,
  ``resend_flow``, ``pause_flow``, ``resume_flow`` (``dry_run`` on by default) and
  ``digest_flow``, at the end (:data:`ACTION_FLOWS`).

The parameters are only what a coordinator may choose, with Danish titles for the UI: no
file path, no wheel, no instant. The rest comes from :func:`flows.compose.binding`.
Exactly-once lives in the database (outbox key and slot state in one transaction), not in
Prefect's caching: tasks use ``NO_CACHE`` and no result persistence.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows import runs
from flows.artifacts import artifact_key, progress, summary_markdown, table_rows
from flows.binding import binding, current_binding, mailbox
from flows.report import RunReport
from flows.services.setup import Refused
from flows.settings import Settings
from flows.watchdog import deployed_round
from models.dates import dansk_dato, dansk_tid
from models.text import markdown_text as md

T = TypeVar("T")
_TASK: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}
SIMULATED = "simulering"

Year = Annotated[int, Field(title="År", description="Cykelåret, f.eks. 2012.")]
EventKey = Annotated[str, Field(title="Hændelse",
                                description="Hændelsens nøgle i årshjulet, f.eks. opfordring.")]
Committee = Annotated[str, Field(title="Udvalg", description="Udvalgets nøgle, f.eks. BUU.")]
Deliverable = Annotated[str, Field(title="Aflevering",
                                   description="Afleveringens nøgle, f.eks. handleplan.")]
DryRun = Annotated[bool, Field(title="Prøvekørsel",
                               description="Vis hvad der ville ske; intet sendes eller ændres.")]
OnlyYear = Annotated[int | None, Field(title="Kun år",
                                       description="Kun dette cykelårs anmodninger (tom: alle).")]


def task_step(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A step of a composed run as a Prefect task named ``name``."""
    t: Any = task(name=name, **_TASK)(fn)
    return t(*args, **kwargs)


# --- run names and tags ------------------------------------------------------------------


def _params() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def _name(text: str) -> str:
    p, b = _params(), current_binding()
    when = b.instant() if b is not None else datetime.now(UTC)
    dry = " (prøvekørsel)" if p.get("dry_run") else ""
    sim = f"{SIMULATED} · " if b is not None and b.simulation else ""
    return f"{sim}{text} · {dansk_dato(when)}{dry}"


def event_run_name() -> str:
    p = _params()
    return _name(f"{p.get('event')} {p.get('year')}")


def chase_run_name() -> str:
    return _name("rykkerkørsel")


def receipt_run_name() -> str:
    p = _params()
    return _name(f"kvittering {p.get('committee')} {p.get('deliverable')} {p.get('year')}")


def _tag_run(*tags: str) -> None:
    """Add tags to the current flow run (flows themselves take no tags in Prefect 3),
    keeping those it was created with: one API call."""

    from prefect.client.orchestration import get_client
    from prefect.context import TagsContext
    from prefect.runtime import flow_run

    found = flow_run.get_id()
    if found is None:
        return
    b = current_binding()
    extra = {SIMULATED} if b is not None and b.simulation else set()
    current = TagsContext.get().current_tags
    with get_client(sync_client=True) as client:
        client.update_flow_run(UUID(str(found)),
                               tags=sorted({*current, "aarshjul", *extra, *tags}))


# --- publishing ------------------------------------------------------------------------------


def _key(key: str | None, simulation: bool) -> str | None:
    """A simulation's keys are its own, so it never replaces the coordinators' artifacts."""
    if key is None or not simulation:
        return key
    return key.replace("aarshjul-", f"aarshjul-{SIMULATED}-", 1)


def publish(report: RunReport, simulation: bool = False) -> None:
    """The run's requests table, progress and Danish summary per cycle year, and the
    artifacts of its own (a snapshot, an invitation, report figures).

    The keyed copies (not for a dry run) make each year's latest state visible on the
    Artifacts page; every artifact is also attached to the run that made it.
    """
    from prefect.artifacts import (
        create_markdown_artifact,
        create_progress_artifact,
        create_table_artifact,
    )

    years: list[int | None] = [report.year] if report.year is not None else [
        *sorted({r.year for r in report.requests})] or [None]
    dry = " (prøvekørsel)" if report.dry_run else ""
    sim = " (simulering)" if simulation else ""
    for year in years:
        rows = [r for r in report.requests if year is None or r.year == year]
        received, total, pct = progress(rows)
        label = f"Årshjul {year}" if year is not None else "Årshjul"

        def key(what: str, y: int | None = year) -> str | None:
            return None if report.dry_run else _key(artifact_key(y, what), simulation)

        create_table_artifact(
            table=table_rows(rows), key=key("anmodninger"),
            description=f"{label}: anmodninger pr. {dansk_tid(report.as_of)}{dry}{sim}")
        create_progress_artifact(
            progress=pct, key=key("fremdrift"),
            description=f"{label}: {received} af {total} afleveringer modtaget{dry}{sim}")
        create_markdown_artifact(
            markdown=summary_markdown(report, rows), key=key("oversigt"),
            description=f"{label}: {report.title}{dry}{sim}")
    for a in report.artifacts:
        create_markdown_artifact(markdown=a.markdown, key=_key(a.key, simulation),
                                 description=a.description + sim)


@task(name="publish", **_TASK)
def publish_task(report: RunReport, simulation: bool = False) -> None:
    publish(report, simulation)


def _finish(report: RunReport) -> RunReport:
    logger = get_run_logger()
    for note in report.notes:
        logger.warning(note)
    b = current_binding()
    publish_task(report, b is not None and b.simulation)
    return report


# --- flows ---------------------------------------------------------------------------------


@flow(name="aarshjul-event", flow_run_name=event_run_name, persist_result=False)
def event_flow(year: Year, event: EventKey, dry_run: DryRun = False) -> RunReport:
    """Carry out one event of the wheel (its letters, snapshot, invitation or report)."""
    b = binding()
    pe = runs.planned_event(b.setup, event, year)
    _tag_run(str(year), pe.key, pe.do)
    return _finish(runs.event(b.setup, event, year, b.instant(), dry_run=dry_run,
                              preview_dir=b.preview_dir, step=task_step))


@flow(name="aarshjul-chase", flow_run_name=chase_run_name, persist_result=False)
def chase_flow(dry_run: DryRun = False, year: OnlyYear = None) -> RunReport:
    """Send the reminders, overdue reminders and escalations due now."""
    b = binding()
    _tag_run("chase", *([str(year)] if year else []))
    return _finish(runs.chase(b.setup, b.instant(), dry_run=dry_run, preview_dir=b.preview_dir,
                              year=year, step=task_step))


@flow(name="aarshjul-receipt", flow_run_name=receipt_run_name, persist_result=False)
def receipt_flow(year: Year, committee: Committee, deliverable: Deliverable) -> RunReport:
    """Register a handed-in file (from ``aarshjul submit``) and send its receipt."""
    b = binding()
    if b.upload is None:
        raise Refused("refused: a receipt run registers the file given to `aarshjul submit`; "
                      "there is none")
    _tag_run(str(year), deliverable, "receipt")
    return _finish(runs.submit(b.setup, year, committee, deliverable, b.upload, b.instant(),
                               step=task_step))


@flow(name="aarshjul-intake", flow_run_name=lambda: _name("postkasse"), persist_result=False)
def intake_flow(dry_run: DryRun = False) -> RunReport:
    """Læs postkassen med udvalgenes svar: registrér afleveringer, send kvitteringer, og hold
    resten til koordinatoren."""
    b = binding()
    _tag_run("intake")
    opened = (nullcontext(b.source) if b.source is not None
              else mailbox(Settings.from_env().imap_url))
    with opened as source:
        return _finish(runs.intake(b.setup, source, b.instant(), dry_run=dry_run,
                                   step=task_step))


# --- the coordinator's desk: actions and the digest --------------------------------------
#
# Each action is a flow a coordinator can start from the Prefect UI (a deployment of
# flows/deploy.py; in serve mode serve carries its runs out): Danish titles, dry_run on by
# default, no path, no wheel, no instant.

Until = Annotated[date, Field(
    title="Ny frist", description="Udvalgets nye frist: en hverdag, senere end den nuværende.")]
# Optional parameters are plain values with an empty default ("" or 0), not ``X | None``: the
# UI's run form then shows one plain field instead of a choice of types.
Reason = Annotated[str, Field(
    title="Begrundelse",
    description="Hvorfor; gemmes i revisionssporet og står i meddelelsen til udvalget.")]
DryRunOn = Annotated[bool, Field(
    title="Prøvekørsel",
    description="Vis hvad der ville ske; intet sendes eller ændres. Slå fra for at udføre.")]
SubmissionNo = Annotated[int, Field(
    title="Aflevering nr.",
    description="Nummeret på den registrering, der trækkes tilbage (aarshjul status --json). "
                "0: træk en fritagelse tilbage (giv år, udvalg og aflevering).")]
OptionalYear = Annotated[int, Field(title="År", description="Cykelåret, f.eks. 2012.")]
OptionalCommittee = Annotated[str, Field(
    title="Udvalg", description="Udvalgets nøgle, f.eks. BUU.")]
OptionalDeliverable = Annotated[str, Field(
    title="Aflevering", description="Afleveringens nøgle, f.eks. handleplan.")]
MessageRef = Annotated[str, Field(
    title="Message-ID",
    description="Beskedens Message-ID (aarshjul status eller journalens index.csv), "
                "f.eks. <1a2b….aarshjul@bif.kk.example>.")]
ResendTo = Annotated[tuple[str, ...], Field(
    title="Til", description="Send til disse adresser i stedet for udvalgets nuværende "
                             "(tom: udvalgets adresser i aarshjul.yaml).")]
DigestYear = Annotated[int, Field(
    title="Kun år", description="Kun dette cykelår (0: alle igangværende).")]
OnDigestDay = Annotated[bool, Field(
    title="Kun på ugeoversigtens dag",
    description="Send kun om mandagen (eller den første hverdag efter en helligdag).")]


def _desk(what: str, run: Callable[[], RunReport]) -> RunReport:
    """Carry out an action; a refusal is published (in Danish) before the run fails."""
    try:
        report = run()
    except Refused as exc:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(markdown=f"# Afvist: {md(what)}\n\n{md(exc)}\n",
                                 description=f"Afvist: {what}")
        raise
    return _finish(report)


def _request_name(what: str) -> Callable[[], str]:
    def name() -> str:
        p = _params()
        about = " ".join(str(p[k]) for k in ("committee", "deliverable", "year") if p.get(k))
        return _name(f"{what} {about}".strip())
    return name


@flow(name="aarshjul-extend", flow_run_name=_request_name("forlængelse"), persist_result=False)
def extend_flow(year: Year, committee: Committee, deliverable: Deliverable, until: Until,
                reason: Reason = "", dry_run: DryRunOn = True) -> RunReport:
    """Forlæng et udvalgs frist: en ny række påmindelser fra nu og en meddelelse til udvalget."""
    b = binding()
    _tag_run(str(year), committee, deliverable, "extend")
    return _desk(f"forlængelse af {deliverable} {year} fra {committee}", lambda: runs.extend(
        b.setup, year, committee, deliverable, until, b.instant(), reason=reason or None,
        dry_run=dry_run, step=task_step))


@flow(name="aarshjul-excuse", flow_run_name=_request_name("fritagelse"), persist_result=False)
def excuse_flow(year: Year, committee: Committee, deliverable: Deliverable,
                reason: Reason = "", dry_run: DryRunOn = True) -> RunReport:
    """Fritag et udvalg for en aflevering: ingen flere påmindelser; udvalget får besked."""
    b = binding()
    _tag_run(str(year), committee, deliverable, "excuse")
    return _desk(f"fritagelse for {deliverable} {year} fra {committee}", lambda: runs.excuse(
        b.setup, year, committee, deliverable, b.instant(), reason=reason or None,
        dry_run=dry_run, step=task_step))


@flow(name="aarshjul-reopen", flow_run_name=_request_name("genåbning"), persist_result=False)
def reopen_flow(submission: SubmissionNo = 0, year: OptionalYear = 0,
                committee: OptionalCommittee = "", deliverable: OptionalDeliverable = "",
                reason: Reason = "", dry_run: DryRunOn = True) -> RunReport:
    """Træk en fejlagtig registrering (eller en fritagelse) tilbage: anmodningen er åben igen."""
    b = binding()
    _tag_run("reopen", *(str(x) for x in (year, committee, deliverable) if x))
    return _desk(f"genåbning af aflevering {submission or ''}".strip(), lambda: runs.reopen(
        b.setup, b.instant(), submission=submission or None, year=year or None,
        committee=committee or None, deliverable=deliverable or None, reason=reason or None,
        dry_run=dry_run, step=task_step))


def resend_run_name() -> str:
    return _name(f"send igen {_params().get('message_id', '')}")


@flow(name="aarshjul-resend", flow_run_name=resend_run_name, persist_result=False)
def resend_flow(message_id: MessageRef, to: ResendTo = (), reason: Reason = "",
                dry_run: DryRunOn = True) -> RunReport:
    """Send en besked igen (med Resent-*-felter), efter at en adresse er rettet."""
    b = binding()
    _tag_run("resend")
    return _desk(f"send {message_id} igen", lambda: runs.resend(
        b.setup, message_id, b.instant(), to=tuple(to), reason=reason or None,
        dry_run=dry_run, step=task_step))


def _hold(hold: bool, reason: str, dry_run: bool) -> RunReport:
    """Pause (``hold``) or resume all sending, as of the bound instant."""
    b = binding()
    _tag_run("pause" if hold else "resume")
    return _desk("pause" if hold else "genoptag", lambda: runs.pause(
        b.setup, b.instant(), hold=hold, reason=reason or None, dry_run=dry_run, step=task_step))


@flow(name="aarshjul-pause", flow_run_name=lambda: _name("pause"), persist_result=False)
def pause_flow(reason: Reason = "", dry_run: DryRunOn = True) -> RunReport:
    """Sæt al afsendelse på pause; udbakken beholder beskederne."""
    return _hold(True, reason, dry_run)


@flow(name="aarshjul-resume", flow_run_name=lambda: _name("genoptag"), persist_result=False)
def resume_flow(reason: Reason = "", dry_run: DryRunOn = True) -> RunReport:
    """Genoptag afsendelse og send det, der venter i udbakken."""
    return _hold(False, reason, dry_run)


@flow(name="aarshjul-digest", flow_run_name=lambda: _name("ugeoversigt"), persist_result=False)
def digest_flow(year: DigestYear = 0, only_on_digest_day: OnDigestDay = False,
                dry_run: DryRun = False) -> RunReport:
    """Send koordinatorens ugeoversigt for hvert igangværende cykelår (én gang om ugen)."""
    b = binding()
    _tag_run("digest", *([str(year)] if year else []))
    return _finish(runs.digest(b.setup, b.instant(), year=year or None, dry_run=dry_run,
                               only_on_digest_day=only_on_digest_day, step=task_step))


HeldMessage = Annotated[str, Field(
    title="Message-ID",
    description="Den tilbageholdte beskeds Message-ID (aarshjul status), "
                "f.eks. <svar-42@buf.kk.example>.")]
IntakeYear = Annotated[int, Field(
    title="År", description="Cykelåret (0: formularens, ellers året beskeden kom).")]
AttachmentName = Annotated[str, Field(
    title="Fil", description="Hvilken vedhæftet .docx, når beskeden har flere (tom: den ene).")]


@flow(name="aarshjul-intake-accept", flow_run_name=_request_name("registrér i hånden"),
      persist_result=False)
def intake_accept_flow(message_id: HeldMessage, committee: Committee, deliverable: Deliverable,
                       year: IntakeYear = 0, file_name: AttachmentName = "",
                       dry_run: DryRunOn = True) -> RunReport:
    """Registrér en tilbageholdt beskeds Word-fil i hånden for et udvalg og en aflevering."""
    b = binding()
    _tag_run("intake", "accept", committee, deliverable)
    return _desk(f"registrering af {message_id}", lambda: runs.intake_accept(
        b.setup, b.instant(), message_id=message_id, committee=committee,
        deliverable=deliverable, year=year or None, file_name=file_name or None,
        dry_run=dry_run, step=task_step))


@flow(name="aarshjul-intake-dismiss", flow_run_name=lambda: _name("læg til side"),
      persist_result=False)
def intake_dismiss_flow(message_id: HeldMessage, reason: Reason = "",
                        dry_run: DryRunOn = True) -> RunReport:
    """Læg en tilbageholdt besked til side: intet registreres, den er væk fra listen."""
    b = binding()
    _tag_run("intake", "dismiss")
    return _desk(f"tilsidelæggelse af {message_id}", lambda: runs.intake_dismiss(
        b.setup, b.instant(), message_id=message_id, reason=reason or None, dry_run=dry_run,
        step=task_step))


# The flows a Runner starts by name (flows.compose.Runner.action), the CLI's and the UI's.
ACTION_FLOWS: dict[str, Any] = {
    "extend": extend_flow, "excuse": excuse_flow, "reopen": reopen_flow,
    "resend": resend_flow, "pause": pause_flow, "resume": resume_flow, "digest": digest_flow,
    "intake-accept": intake_accept_flow, "intake-dismiss": intake_dismiss_flow,
}


@flow(name="aarshjul-watchdog", flow_run_name=lambda: _name("vagt"), persist_result=False)
def watchdog_flow() -> int:
    """Vagten (deploy mode, every 5 minutes): one round of the watchdog of
    :mod:`flows.watchdog`, beating ``watchdog``; the number of alerts it sent."""
    return len(deployed_round(binding().setup))
