"""Running a simulated year: a fresh state in ``--out``, a virtual clock, the same runs.

The same composed runs as live operation, through the same :class:`flows.compose.Runner`;
only the clock and the store differ: a fresh SQLite file in ``--out`` (never
``AARSHJUL_DATABASE_URL``), mail through ``--smtp`` only (never ``AARSHJUL_SMTP_URL``; without
``--smtp`` messages are written to ``--out/mailbox``), journal copies always
(``--out/journal``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.compose import Runner
from flows.services.keys import letter_key
from flows.services.messages import render_docx
from flows.services.setup import Refused, Setup, open_database
from flows.services.storage import store_decisions, store_readings
from flows.simulate.forms import fill_form, illustrative_goal_text, illustrative_initiatives
from flows.simulate.reply import reply_message
from flows.simulate.scenario import PlannedAction, PlannedSubmission, Scenario
from flows.simulate.summary import build_summary
from flows.simulate.timeline import Order, Step, end_of_year, timeline
from letters.context import form_context
from letters.delivery import DirectoryTransport, SmtpTransport, Transport
from letters.docprops import FormIdentity
from letters.journal import Journal
from letters.mailsource import MemorySource
from letters.private import open_private, private_dir, write_private
from models.kinds import ActionKind, EventKind, IntakeOutcome, SubmissionVia
from models.state import Request, Submission
from models.wheel import Wheel


@dataclass
class Outcome:
    out: Path
    summary: dict[str, Any]
    refused: list[str]
    flow_runs: int
    seconds: float
    prefect: str | None
    notes: list[str]
    prefect_stopped: bool = False  # simulate started that server itself and has stopped it
    actions: list[str] = field(default_factory=list)  # what the scenario's actions did


def _fresh(out: Path) -> None:
    """Remove what an earlier simulation wrote into ``out`` (and nothing else)."""
    private_dir(out)
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "summary.json"):
        (out / name).unlink(missing_ok=True)
    for name in ("journal", "documents", "mailbox", "submissions", "generated-forms", "reports"):
        shutil.rmtree(out / name, ignore_errors=True)


class Clock:
    """The simulated "now": set to each step's instant as the year goes by."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def make_setup(wheel: Wheel, out: Path, smtp: str | None, clock: Clock) -> Setup:
    db = open_database(f"sqlite:///{(out / 'state.sqlite').resolve()}")
    transport: Transport = SmtpTransport(smtp) if smtp else DirectoryTransport(out / "mailbox")
    return Setup(wheel, db, out, transport, journal=Journal(out / "journal"),
                 documents=out / "documents", actor="simulate", clock=clock)


def submission_file(st: Setup, out: Path, year: int, sub: PlannedSubmission) -> Path:
    """The scenario's file, or the committee's form filled in (made once per content)."""
    if sub.file is not None:
        return sub.file
    directory = out / "generated-forms"
    private_dir(directory)
    name = f"{sub.deliverable}-{year}-{sub.committee}"
    if sub.goals is not None or sub.initiatives is not None:
        # the scenario's own content: one file per submission (a revision may differ)
        name += "-" + sub.at.astimezone(st.tz).strftime("%Y%m%dT%H%M")
    path = directory / f"{name}.docx"
    if not path.exists():
        ctx = form_context(st.wheel, st.plan(year), sub.deliverable, sub.committee)
        form = st.wheel.deliverable[sub.deliverable].form or "formular"
        goals = dict(sub.goals) if sub.goals is not None else {
            g.key: illustrative_goal_text(st.wheel, sub.committee, sub.deliverable, g.key, year)
            for g in st.wheel.goals_for(sub.committee)
        }
        rows = (sub.initiatives if sub.initiatives is not None
                else illustrative_initiatives(st.wheel, sub.committee))
        ident = FormIdentity(year, sub.committee, sub.deliverable).properties()
        write_private(path, fill_form(render_docx(st, form, ctx, ident), goals, rows))
    return path


def _store_budget(st: Setup, year: int, scenario: Scenario, at: datetime) -> str:
    """The scenario's budget decisions, stored as ``aarshjul budget import`` stores them."""
    source = scenario.path.name if scenario.path is not None else "scenario"
    stored = store_decisions(st.db, year, scenario.budget, source, at)
    return (f"Budget {year}: {stored.total} beslutninger fra {source} indlæst "
            f"({st.local(at).date().isoformat()}).")


class _Year:
    """One simulated year in motion: carries out each step of the timeline."""

    def __init__(self, st: Setup, runner: Runner, out: Path, year: int,
                 scenario: Scenario) -> None:
        self.st, self.runner, self.out, self.year, self.scenario = st, runner, out, year, scenario
        self.notes: list[str] = []
        self.refused: list[str] = []
        self.budget_pending = bool(scenario.budget)
        self.actions: list[str] = []

    def act(self, a: PlannedAction) -> str:
        """Carry out a scenario action through the runner; what it did (Danish)."""
        params: dict[str, Any] = {"reason": a.reason}
        if a.do in (ActionKind.EXTEND, ActionKind.EXCUSE):
            params.update(year=self.year, committee=a.committee, deliverable=a.deliverable)
            if a.do == ActionKind.EXTEND:
                params["until"] = a.until
        elif a.do == ActionKind.REOPEN:
            sub = standing_submission(self.st, self.year, a.committee, a.deliverable or "")
            if sub is not None:
                params["submission"] = sub
            else:  # nothing registered: the excuse, if any, is withdrawn
                params.update(year=self.year, committee=a.committee, deliverable=a.deliverable)
        else:
            params.update(message_id=letter_key(self.year, a.event or "", a.committee),
                          to=list(a.to) or None)
        report = self.runner.action(a.do, a.at, dry_run=False, **params)
        return report.done[0] if report.done else report.title

    def by_mail(self, sub: PlannedSubmission, file: Path, at: datetime) -> None:
        """The committee replies to the letter with the file attached; the mail intake reads
        it (the same run as live, from memory instead of IMAP), arriving at ``at``."""
        box = MemorySource()
        box.add(reply_message(self.st, self.year, sub, file, at), at)
        report = self.runner.intake(at, box)
        got = report.intake
        assert got is not None
        for h in got.handled:
            if h.outcome not in (IntakeOutcome.REGISTERED, IntakeOutcome.ACCEPTED):
                self.refused.append(f"{sub.deliverable} {at.isoformat()}: via mail: "
                                    f"{h.outcome}: {h.reason}")
        self.refused += [f"{sub.deliverable} {at.isoformat()}: via mail: {p}"
                         for p in got.problems]

    def __call__(self, step: Step) -> None:
        try:
            if step.order == Order.SUBMIT:
                assert step.submission is not None
                sub = step.submission
                file = submission_file(self.st, self.out, self.year, sub)
                if sub.via == SubmissionVia.MAIL:
                    self.by_mail(sub, file, step.at)
                else:
                    self.runner.submit(self.year, sub.committee, sub.deliverable, file, step.at)
            elif step.order == Order.ACTION:
                assert step.action is not None
                self.actions.append(self.act(step.action))
            elif step.order == Order.EVENT:
                kind = self.st.wheel.event[step.what].do
                if self.budget_pending and kind == EventKind.BUDGET:
                    self.budget_pending = False
                    self.notes.append(_store_budget(self.st, self.year, self.scenario, step.at))
                self.notes += self.runner.event(step.what, self.year, step.at).notes
            else:
                self.runner.chase(step.at)
        except Refused as exc:
            self.refused.append(f"{step.what} {step.at.isoformat()}: {exc}")


def standing_submission(st: Setup, year: int, committee: str, deliverable: str) -> int | None:
    """The latest registration of the request that is not withdrawn."""
    with Session(st.db) as s:
        found = s.exec(select(Submission.id).join(
            Request, col(Request.id) == col(Submission.request_id)).where(
            Request.year == year, Request.committee == committee,
            Request.deliverable == deliverable, col(Submission.withdrawn_at).is_(None),
        ).order_by(col(Submission.received_at).desc())).first()
    return found


def run_simulation(wheel: Wheel, year: int, scenario: Scenario, out: Path, *,
                   smtp: str | None = None, use_prefect: bool = True,
                   progress: Callable[[Step], None] | None = None) -> Outcome:
    """Run the year; returns what happened (``summary.json`` is written too)."""
    t0 = time.perf_counter()
    _fresh(out)
    steps = timeline(wheel, year, scenario)
    clock = Clock(steps[0].at if steps else end_of_year(wheel.policy.tz, year))
    st = make_setup(wheel, out, smtp, clock)
    store_readings(st.db, scenario.barometer, clock.at)
    the_year = _Year(st, Runner(st, prefect=use_prefect, simulation=True), out, year, scenario)
    for step in steps:
        clock.at = step.at
        if progress is not None:
            progress(step)
        the_year(step)
    summary = build_summary(st, year, out, the_year.refused)
    # streamed: json.dumps of a 2,000-committee year is a 50 MB string at the process's peak
    fd = open_private(out / "summary.json", os.O_WRONLY | os.O_TRUNC)
    with open(fd, "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2)
        f.write("\n")
    runs = len(steps) if use_prefect else 0
    return Outcome(out, summary, the_year.refused, runs, time.perf_counter() - t0, None,
                   the_year.notes, actions=the_year.actions)
