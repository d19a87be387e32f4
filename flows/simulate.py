"""``aarshjul simulate``: a whole cycle year in virtual time (CONTRACT §5 "simulate").

The same flows and engine steps as live operation; only the clock and the store differ:
a fresh SQLite file in ``--out`` (never ``AARSHJUL_DATABASE_URL``), mail through ``--smtp``
only (never ``AARSHJUL_SMTP_URL``; without ``--smtp`` messages are written to
``--out/mailbox``), journal copies always (``--out/journal``).

The timeline is computed from the plan, not stepped day by day: every event at its instant
(``send_time`` on its day), a chase at every instant where some reminder slot of the
year's requests is due (a business day on which nothing is due sends nothing, so it needs
no flow run), and the scenario's submissions. At one instant: submissions first, then
letters, then the chase. ``summary.json`` lists the requests (on_time / late / missing at
the end of the year), every e-mail in send order, and the documents.

Scenario (YAML, read without type coercion)::

    submissions:
      - {committee: BUU, deliverable: handleplan, at: "2012-04-20T10:00", file: buu.docx}
    barometer:
      - {goal: HM2, period: 2011-H2, value: 7.4, source: illustrativ}

``file`` is optional (relative to the scenario); without it the committee's form is made
and filled in (:func:`fill_form`): under each goal heading the submission's ``goals`` text
(else an illustrative text, :func:`illustrative_goal_text`), and in the initiatives table
its ``initiatives`` (else 2-4 illustrative ones, :func:`illustrative_initiatives`)::

    submissions:
      - committee: BIU
        deliverable: handleplan
        at: "2012-04-27T09:30"
        goals: {HM2: "Jobcentret styrker virksomhedsrettede forløb ..."}
        initiatives:
          - {title: Virksomhedspraktik med mentor, goal: HM2, amount: "1.500.000 kr.",
             financed: Nej}
    budget:
      - {committee: BIU, initiative: Virksomhedspraktik med mentor, goal: HM2,
         amount: "1.000.000 kr.", funded: delvist}

``budget`` is the decisions of October, checked and stored exactly as ``aarshjul budget
import`` does (:func:`models.budget.parse_csv`, :func:`flows.cli_data.store_decisions`),
just before the year's first ``budget`` event.
``source`` is ours (default ``scenario``): where a barometer reading came from.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.common import DEFAULT_CONFIG, ConfigOption, fail, load_or_exit, year_or_exit
from models.numbers import count_text

if TYPE_CHECKING:
    from flows.engine import Setup
    from models.budget import Decision
    from models.wheel import Wheel

BUNDLED = Path(__file__).resolve().parent / "scenarios" / "copenhagen-2012.yaml"


# --- the scenario ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedInitiative:
    """One row of a form's initiatives table, as written in the form."""

    title: str
    goal: str
    amount: str  # Danish, as written: "1.500.000 kr.", "0,8 mio. kr."
    financed: str  # Ja | Nej | Delvist


@dataclass(frozen=True)
class PlannedSubmission:
    committee: str
    deliverable: str
    at: datetime
    file: Path | None
    line: int
    goals: tuple[tuple[str, str], ...] | None = None  # (goal key, text); None: illustrative
    initiatives: tuple[PlannedInitiative, ...] | None = None  # None: illustrative


@dataclass(frozen=True)
class PlannedReading:
    goal: str
    period: str
    value: float
    source: str


@dataclass
class Scenario:
    path: Path | None
    submissions: list[PlannedSubmission] = field(default_factory=list)
    barometer: list[PlannedReading] = field(default_factory=list)
    budget: list[Decision] = field(default_factory=list)


class ScenarioError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scenario(path: Path, wheel: Wheel) -> Scenario:
    """Read and check a scenario file; every problem at once (``file:line: message``)."""
    import yaml

    from models.plan import parse_instant

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from None
    data = yaml.load(text, Loader=yaml.BaseLoader) or {}  # noqa: S506 - BaseLoader: strings only
    problems: list[str] = []
    sc = Scenario(path)
    if not isinstance(data, dict):
        raise ScenarioError(
            [f"{path}:1: a scenario is a mapping with submissions/barometer/budget"]
        )
    lines = _lines(node)
    for key in data:
        if key not in ("submissions", "barometer", "budget"):
            problems.append(f"{path}:{lines.get((key,), 1)} {key}: unknown key")
    for i, item in enumerate(data.get("submissions") or []):
        line = lines.get(("submissions", i), 1)
        where = f"{path}:{line} submissions[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected committee, deliverable, at")
            continue
        extra = set(item) - {"committee", "deliverable", "at", "file", "goals", "initiatives"}
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        c, d, at = item.get("committee"), item.get("deliverable"), item.get("at")
        if c not in wheel.committee:
            problems.append(f"{where}.committee: {c!r} is not a committee of the wheel")
        if d not in wheel.deliverable:
            problems.append(f"{where}.deliverable: {d!r} is not a deliverable of the wheel")
        when = None
        try:
            when = parse_instant(str(at), wheel.policy.tz)
        except ValueError as exc:
            problems.append(f"{where}.at: {exc}")
        f = item.get("file")
        file = (path.parent / f) if f else None
        if file is not None and not file.is_file():
            problems.append(f"{where}.file: {file} does not exist")
        before = len(problems)
        goals = initiatives = None
        if file is not None and ("goals" in item or "initiatives" in item):
            problems.append(f"{where}: goals/initiatives fill in a made form; not with file")
        elif c in wheel.committee:
            goals = _goals(item.get("goals"), wheel, str(c), where, problems)
            initiatives = _initiatives(item.get("initiatives"), wheel, str(c), where, problems)
        if len(problems) > before:
            continue
        if when is not None and c in wheel.committee and d in wheel.deliverable:
            sc.submissions.append(
                PlannedSubmission(str(c), str(d), when, file, line, goals, initiatives)
            )
    for i, item in enumerate(data.get("barometer") or []):
        where = f"{path}:{lines.get(('barometer', i), 1)} barometer[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected goal, period, value")
            continue
        goal, period = item.get("goal"), item.get("period")
        if goal not in wheel.goal:
            problems.append(f"{where}.goal: {goal!r} is not a goal of the wheel")
        try:
            value = float(str(item.get("value")).replace(",", "."))
        except ValueError:
            problems.append(f"{where}.value: {item.get('value')!r} is not a number")
            continue
        if not period:
            problems.append(f"{where}.period: missing")
            continue
        if goal in wheel.goal:
            src = str(item.get("source") or "scenario")
            sc.barometer.append(PlannedReading(str(goal), str(period), value, src))
    if "budget" in data:
        sc.budget = _budget(data["budget"], wheel, path, lines, problems)
    if problems:
        raise ScenarioError(problems)
    return sc


def _goals(
    raw: Any, wheel: Wheel, committee: str, where: str, problems: list[str]
) -> tuple[tuple[str, str], ...] | None:
    """A submission's ``goals:`` (goal key -> text), checked against the committee's goals."""
    if raw is None:
        return None
    mine = [g.key for g in wheel.goals_for(committee)]
    if not isinstance(raw, dict):
        problems.append(f"{where}.goals: expected a mapping goal: text, e.g. {{HM2: ...}}")
        return None
    out = []
    for key, text in raw.items():
        if key not in mine:
            problems.append(
                f"{where}.goals.{key}: not a goal of {committee}'s form; its goals are "
                + (", ".join(mine) or "none")
            )
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"{where}.goals.{key}: expected a text")
        else:
            out.append((str(key), " ".join(text.split())))
    return tuple(out)


INITIATIVE_KEYS = ("title", "goal", "amount", "financed")


def _initiatives(
    raw: Any, wheel: Wheel, committee: str, where: str, problems: list[str]
) -> tuple[PlannedInitiative, ...] | None:
    """A submission's ``initiatives:`` (title, goal, amount, financed), every problem at once."""
    from models.budget import parse_funded
    from models.numbers import parse_dkk

    if raw is None:
        return None
    if not isinstance(raw, list):
        problems.append(f"{where}.initiatives: expected a list of {{title, goal, amount, "
                        "financed}")
        return None
    mine = [g.key for g in wheel.goals_for(committee)]
    out = []
    for j, it in enumerate(raw):
        w = f"{where}.initiatives[{j}]"
        if not isinstance(it, dict):
            problems.append(f"{w}: expected title, goal, amount, financed")
            continue
        extra = set(it) - set(INITIATIVE_KEYS)
        if extra:
            problems.append(f"{w}: unknown key(s) {', '.join(sorted(extra))}")
        title = " ".join(str(it.get("title") or "").split())
        goal, amount, fin = it.get("goal"), str(it.get("amount") or ""), it.get("financed")
        if not title:
            problems.append(f"{w}.title: missing")
        if goal not in mine:
            problems.append(f"{w}.goal: {goal!r} is not a goal of {committee}; its goals are "
                            + (", ".join(mine) or "none"))
        value = parse_dkk(amount) if amount else None
        if value is None or value < 0:
            problems.append(f"{w}.amount: {amount!r} is not an amount in kroner "
                            "(write 1.500.000 kr. or 1,5 mio. kr.)")
        funded = parse_funded(str(fin or ""))
        if funded is None:
            problems.append(f"{w}.financed: {fin!r} is not Ja, Nej or Delvist")
        if title and goal in mine and value is not None and value >= 0 and funded is not None:
            da = {"yes": "Ja", "no": "Nej", "partly": "Delvist"}[funded]
            out.append(PlannedInitiative(title, str(goal), amount.strip(), da))
    return tuple(out)


def _budget(
    raw: Any, wheel: Wheel, path: Path, lines: dict[tuple[Any, ...], int], problems: list[str]
) -> list[Decision]:
    """``budget:`` checked as ``aarshjul budget import`` checks a CSV file (same parser)."""
    import csv
    import io

    from models.budget import COLUMNS, parse_csv
    from models.problems import ConfigError

    if raw in ("", []):  # `budget:` with nothing under it: no decisions
        return []
    if not isinstance(raw, list):
        problems.append(f"{path}:{lines.get(('budget',), 1)} budget: expected a list of "
                        "{committee, initiative, goal, amount, funded}")
        return []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    csv_line = {1: "budget"}  # CSV line -> where in the scenario
    before = len(problems)
    for i, item in enumerate(raw):
        where = f"{path}:{lines.get(('budget', i), 1)} budget[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected committee, initiative, goal, amount, funded")
            item = {}
        extra = set(item) - set(COLUMNS)
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        writer.writerow([" ".join(str(item.get(k) or "").split()) for k in COLUMNS])
        csv_line[i + 2] = where
    try:
        decisions = parse_csv(buf.getvalue(), wheel, str(path))
    except ConfigError as exc:
        for p in exc.problems:
            where = csv_line.get(p.line, f"{path}:{lines.get(('budget',), 1)} budget")
            problems.append(f"{where}.{p.path}: {p.message}")
        return []
    return decisions if len(problems) == before else []


def _lines(node: Any) -> dict[tuple[Any, ...], int]:
    """(key,) and (key, index) -> line number, for messages."""
    out: dict[tuple[Any, ...], int] = {}
    if node is None or not hasattr(node, "value") or not isinstance(node.value, list):
        return out
    for pair in node.value:
        if not isinstance(pair, tuple):
            continue
        k, v = pair
        out[(k.value,)] = k.start_mark.line + 1
        if isinstance(v.value, list):
            for i, item in enumerate(v.value):
                if hasattr(item, "start_mark"):
                    out[(k.value, i)] = item.start_mark.line + 1
    return out


# --- the timeline --------------------------------------------------------------------------

SUBMIT, EVENT, CHASE = 0, 1, 2  # order at one instant


@dataclass(frozen=True)
class Step:
    at: datetime
    order: int
    what: str  # event key, "chase", or "committee/deliverable"
    submission: PlannedSubmission | None = None

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.at.astimezone(UTC), self.order)


def timeline(wheel: Wheel, year: int, scenario: Scenario) -> list[Step]:
    """Every instant at which something happens in ``year``, in order."""
    from models.plan import year_plan

    plan = year_plan(wheel, year)
    steps = [Step(pe.at, EVENT, pe.key) for pe in plan.events]
    chase_at = {s.at.astimezone(UTC): s.at for r in plan.requests for s in r.slots}
    steps += [Step(at, CHASE, "chase") for at in chase_at.values()]
    for sub in scenario.submissions:
        if sub.at.astimezone(wheel.policy.tz).year == year:
            steps.append(Step(sub.at, SUBMIT, f"{sub.committee}/{sub.deliverable}", sub))
    steps.sort(key=lambda s: s.sort_key)
    return steps


def end_of_year(st: Setup, year: int) -> datetime:
    from datetime import time as clock

    from models.plan import local_instant

    return local_instant(st.tz, date(year, 12, 31), clock(23, 59, 59))


# --- running ---------------------------------------------------------------------------


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


def _fresh(out: Path) -> None:
    """Remove what an earlier simulation wrote into ``out`` (and nothing else)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "summary.json"):
        (out / name).unlink(missing_ok=True)
    for name in ("journal", "documents", "mailbox", "submissions", "generated-forms", "reports"):
        shutil.rmtree(out / name, ignore_errors=True)


def make_setup(wheel: Wheel, out: Path, smtp: str | None) -> Setup:
    from flows import engine as E
    from flows.ports import DirectoryTransport, Journal, SmtpTransport
    from models.db import make_engine, upgrade

    db = make_engine(f"sqlite:///{(out / 'state.sqlite').resolve()}")
    upgrade(db)
    transport = SmtpTransport(smtp) if smtp else DirectoryTransport(out / "mailbox")
    return E.Setup(
        wheel,
        db,
        out,
        transport=transport,
        journal=Journal(out / "journal"),
        documents=out / "documents",
        actor="simulate",
    )


class _Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _submission_file(st: Setup, out: Path, year: int, sub: PlannedSubmission) -> Path:
    if sub.file is not None:
        return sub.file
    from flows import ports

    directory = out / "generated-forms"
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{sub.deliverable}-{year}-{sub.committee}"
    if sub.goals is not None or sub.initiatives is not None:
        # the scenario's own content: one file per submission (a revision may differ)
        name += "-" + sub.at.astimezone(st.tz).strftime("%Y%m%dT%H%M")
    path = directory / f"{name}.docx"
    if not path.exists():
        ctx = ports.form_context(st.wheel, st.plan(year), sub.deliverable, sub.committee)
        form = st.wheel.deliverable[sub.deliverable].form or "formular"
        goals = dict(sub.goals) if sub.goals is not None else {
            g.key: illustrative_goal_text(st.wheel, sub.committee, sub.deliverable, g.key, year)
            for g in st.wheel.goals_for(sub.committee)
        }
        rows = (sub.initiatives if sub.initiatives is not None
                else illustrative_initiatives(st.wheel, sub.committee))
        path.write_bytes(fill_form(ports.render_docx(form, ctx), goals, rows))
    return path


# --- filled-in forms -------------------------------------------------------------------------

ILLUSTRATIVE = "(Illustrativ tekst)"

# What a committee might do for each of Copenhagen's goals (illustrative, not real plans).
_EFFORTS: dict[str, tuple[str, ...]] = {
    "HM1": ("lektiecaféer og læsevejledning på skoler med mange tosprogede elever",
            "Mentorordning for tosprogede elever", "Sommerskole i dansk og matematik"),
    "HM2": ("virksomhedsrettede forløb og samarbejde med jobcentret om praktikpladser",
            "Virksomhedspraktik med mentor", "Brancheforløb for ledige med anden etnisk "
            "baggrund"),
    "HM3": ("rekruttering med fokus på mangfoldighed og talentforløb for medarbejdere",
            "Mangfoldig rekruttering i forvaltningen", "Talentforløb for kommende ledere"),
    "HM4": ("inddragelse af foreninger og borgermøder i lokalområderne",
            "Foreningsguider i lokalområderne", "Bland dig i Byen – borgerdialog"),
    "HM5": ("opsøgende arbejde, så flere familier i udsatte områder bruger tilbuddene",
            "Brobyggere i boligområderne", "Sundhedsformidlere på flere sprog"),
    "HM6": ("tryghedsvandringer og bedre belysning og byrum i udsatte boligområder",
            "Tryghedsvandringer med beboerne", "Lys og tryghed i byrummet"),
}
_AMOUNTS = (250_000, 400_000, 600_000, 800_000, 1_200_000, 1_500_000, 2_000_000)
_FINANCED = ("Ja", "Nej", "Delvist", "Nej")


def _crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def illustrative_goal_text(
    wheel: Wheel, committee: str, deliverable: str, goal: str, year: int
) -> str:
    """A short, deterministic, clearly illustrative Danish text for a made form."""
    c, g = wheel.committee[committee], wheel.goal[goal]
    effort = _EFFORTS.get(goal, (f"indsatser rettet mod «{g.title}»",))[0]
    if deliverable == "handleplan":
        return (f"{ILLUSTRATIVE} {c.name} vil i {year} bidrage til {goal} «{g.title}» "
                f"gennem {effort}. Indsatsen følges op i integrationsbarometeret.")
    if deliverable == "redegoerelse":
        return (f"{ILLUSTRATIVE} {c.name} har i {year - 1} arbejdet med {effort}. "
                f"Udviklingen for {goal} «{g.title}» vurderes samlet at gå i den rigtige "
                "retning; indsatsen fortsætter.")
    d = wheel.deliverable[deliverable]
    return (f"{ILLUSTRATIVE} {c.name} beskriver i «{d.title}» {year} sit bidrag til {goal} "
            f"«{g.title}» gennem {effort}.")


def _dkk_text(amount: int, style: int) -> str:
    if style % 2 and amount >= 100_000:
        mio = f"{amount / 1_000_000:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        return f"{mio} mio. kr."
    return f"{amount:,} kr.".replace(",", ".")


def illustrative_initiatives(wheel: Wheel, committee: str) -> tuple[PlannedInitiative, ...]:
    """2-4 deterministic illustrative initiatives tied to the committee's goals.

    The same for every deliverable of the committee (a form's table restates them), so the
    reports count each once. Financed rotates Ja, Nej, Delvist, Nej: every committee has
    both financed and not financed initiatives."""
    goals = [g.key for g in wheel.goals_for(committee)]
    if not goals:
        return ()
    n = 2 + _crc(committee) % 3
    out = []
    for i in range(n):
        goal = goals[i % len(goals)]
        titles = _EFFORTS.get(goal, ("", f"Indsats for {goal}", f"Opfølgning på {goal}"))[1:]
        title = titles[(i // len(goals)) % len(titles)]
        if i >= len(goals) * len(titles):  # more rows than titles: keep them apart
            title += f" ({i + 1})"
        amount = _AMOUNTS[_crc(f"{committee}/{title}") % len(_AMOUNTS)]
        out.append(PlannedInitiative(title, goal, _dkk_text(amount, i),
                                     _FINANCED[i % len(_FINANCED)]))
    return tuple(out)


def fill_form(
    raw: bytes, goals: dict[str, str], initiatives: tuple[PlannedInitiative, ...]
) -> bytes:
    """The form ``raw`` filled in: ``goals`` under their headings (the paragraph after the
    heading ``KEY …``), ``initiatives`` in the initiatives table. As a committee would."""
    import io

    import docx
    from docx.text.paragraph import Paragraph

    d = docx.Document(io.BytesIO(raw))
    for key, text in goals.items():
        head = next((p for p in d.paragraphs if p.text.startswith(key + " ")), None)
        if head is None:
            continue
        nxt = head._p.getnext()
        if nxt is not None and nxt.tag == head._p.tag:
            Paragraph(nxt, head._parent).add_run(text)
        else:
            head.insert_paragraph_before("")  # keep order: heading, then text
            new = head._p.getprevious()
            head._p.addnext(new)
            Paragraph(new, head._parent).add_run(text)
    table = next((t for t in d.tables if t.rows and "Initiativ" in t.rows[0].cells[0].text),
                 None)
    if table is not None and initiatives:
        for i, it in enumerate(initiatives):
            cells = table.rows[i + 1].cells if i + 1 < len(table.rows) else table.add_row().cells
            for cell, value in zip(cells, (it.title, it.goal, it.amount, it.financed),
                                   strict=False):
                cell.text = value
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def run_simulation(
    wheel: Wheel,
    year: int,
    scenario: Scenario,
    out: Path,
    *,
    smtp: str | None = None,
    config: str = "aarshjul.yaml",
    use_prefect: bool = True,
    progress: Any = None,
) -> Outcome:
    """Run the year; returns what happened (``summary.json`` is written too)."""
    from flows import engine as E
    from models.state import BarometerReading

    t0 = time.perf_counter()
    _fresh(out)
    st = make_setup(wheel, out, smtp)
    steps = timeline(wheel, year, scenario)
    clock = _Clock(steps[0].at if steps else end_of_year(st, year))
    st.clock = clock
    start = steps[0].at if steps else clock.at
    from sqlmodel import Session

    with Session(st.db) as s:
        for r in scenario.barometer:
            s.add(
                BarometerReading(
                    goal=r.goal, period=r.period, value=r.value, source=r.source, recorded_at=start
                )
            )
        s.commit()
    refused: list[str] = []
    notes: list[str] = []
    runs = 0
    budget_pending = bool(scenario.budget)
    flows_mod: Any = None
    if use_prefect:
        from flows import workflows as flows_mod
    ctx = flows_mod.bound(st) if flows_mod else _null()
    with ctx:
        for step in steps:
            clock.at = step.at
            iso = step.at.isoformat()
            if progress is not None:
                progress(step)
            try:
                if step.order == SUBMIT:
                    assert step.submission is not None
                    sub = step.submission
                    file = _submission_file(st, out, year, sub)
                    if flows_mod:
                        flows_mod.receipt_flow(
                            config=config,
                            year=year,
                            committee=sub.committee,
                            deliverable=sub.deliverable,
                            file=str(file),
                            at=iso,
                        )
                    else:
                        E.run_submit(st, year, sub.committee, sub.deliverable, file, step.at)
                elif step.order == EVENT:
                    if budget_pending and wheel.event[step.what].do == "budget":
                        budget_pending = False
                        _store_budget(st, year, scenario, step.at, notes)
                    if flows_mod:
                        report = flows_mod.event_flow(
                            config=config, year=year, event=step.what, as_of=iso
                        )
                    else:
                        report = E.run_event(st, step.what, year, step.at)
                    notes += report.notes
                else:
                    if flows_mod:
                        flows_mod.chase_flow(config=config, as_of=iso)
                    else:
                        E.run_chase(st, step.at)
            except E.Refused as exc:
                refused.append(f"{step.what} {iso}: {exc}")
            runs += 1
    summary = build_summary(st, year, out, refused)
    # streamed: json.dumps of a 2,000-committee year is a 50 MB string at the process's peak
    with (out / "summary.json").open("w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return Outcome(
        out, summary, refused, runs if flows_mod else 0, time.perf_counter() - t0, None, notes
    )


def _store_budget(st: Setup, year: int, scenario: Scenario, at: datetime,
                  notes: list[str]) -> None:
    """The scenario's budget decisions, stored as ``aarshjul budget import`` stores them."""
    from flows.cli_data import store_decisions

    source = scenario.path.name if scenario.path is not None else "scenario"
    stored = store_decisions(st.db, year, scenario.budget, source, at)
    notes.append(f"Budget {year}: {stored.total} beslutninger fra {source} indlæst "
                 f"({st.local(at).date().isoformat()}).")


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def build_summary(st: Setup, year: int, out: Path, refused: list[str]) -> dict[str, Any]:
    """summary.json (CONTRACT §5): requests, e-mails in send order, documents."""
    from sqlmodel import Session, col, select

    from flows import engine as E
    from models.outbox import OutboxRow

    rows = E.request_rows(st, year, end_of_year(st, year))
    requests = [
        {
            "committee": r.committee,
            "deliverable": r.deliverable,
            "due": r.due.isoformat(),
            "status": r.status if r.status in ("on_time", "late") else "missing",
            "received_at": r.received_at.isoformat() if r.received_at else None,
            "reminders_sent": r.reminders_sent,
        }
        for r in rows
    ]
    emails: list[dict[str, Any]] = []
    with Session(st.db) as s:
        ids = s.exec(
            select(OutboxRow.id)
            .where(col(OutboxRow.status) == "sent")
            .order_by(col(OutboxRow.sent_at), col(OutboxRow.id))
        ).all()
        for i in range(0, len(ids), 200):  # a few rows at a time: letters carry their .docx
            chunk = list(ids[i : i + 200])
            got = {r.id: r for r in s.exec(select(OutboxRow).where(col(OutboxRow.id).in_(chunk)))}
            emails += [email_entry(got[k].raw, st.tz, got[k]) for k in chunk]
            s.expunge_all()
    documents = sorted(
        p.relative_to(out).as_posix()
        for base in ("documents", "submissions")
        if (out / base).exists()
        for p in (out / base).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    journal = (
        sorted(p.relative_to(out).as_posix() for p in (out / "journal").rglob("*.eml"))
        if (out / "journal").exists()
        else []
    )
    return {
        "year": year,
        "requests": requests,
        "emails": emails,
        "documents": documents,
        "journal": journal,
        "refused": refused,
    }


def email_entry(raw: bytes, tz: Any, row: Any = None) -> dict[str, Any]:
    """One ``emails`` entry of summary.json, read back from the message as sent.

    Parsed with the compat32 policy (several times faster than the default policy's header
    registry); the outbox row, when given, supplies the fields it already holds.
    """
    import email
    from email.parser import BytesHeaderParser

    # headers only, unless the message has attachments (letters): then the whole message
    m = BytesHeaderParser().parsebytes(raw)
    if m.get_content_maintype() == "multipart" and m.get_content_subtype() == "mixed":
        m = email.message_from_bytes(raw)

    def addrs(h: str) -> list[str]:
        return [a for _, a in getaddresses([str(v) for v in m.get_all(h, [])])]

    def header(name: str) -> str | None:
        value = m.get(name)
        return None if value is None else str(value)

    date_ = parsedate_to_datetime(str(m["Date"]))
    if row is not None:
        fields = {
            "message_id": row.message_id,
            "kind": row.kind,
            "committee": row.committee,
            "event": row.event,
            "deliverable": row.deliverable,
            "slot": row.slot,
        }
        subject = row.subject
    else:
        fields = {
            "message_id": header("Message-ID"),
            "kind": header("X-Aarshjul-Kind"),
            "committee": header("X-Aarshjul-Committee"),
            "event": header("X-Aarshjul-Event"),
            "deliverable": header("X-Aarshjul-Deliverable"),
            "slot": header("X-Aarshjul-Slot"),
        }
        full = BytesParser(policy=email_policy.default).parsebytes(raw, headersonly=True)
        subject = str(full["Subject"])
    return {
        **fields,
        "to": addrs("To"),
        "cc": addrs("Cc"),
        "date": date_.isoformat(),
        "subject": subject,
        "attachments": [
            str(p.get_filename()) for p in m.walk() if p.get_content_disposition() == "attachment"
        ],
    }


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


# --- the verb ------------------------------------------------------------------------------


def simulate(
    year: Annotated[int, typer.Option("--year", "-y", help="The cycle year.")],
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="Submissions and barometer readings (YAML). "
            "Default: the bundled Copenhagen 2012 scenario.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where everything is written.")] = Path(
        "out"
    ),
    smtp: Annotated[
        str | None,
        typer.Option(
            "--smtp",
            help="Send through this SMTP server (smtp://host:port). Never AARSHJUL_SMTP_URL.",
        ),
    ] = None,
    no_prefect: Annotated[
        bool, typer.Option("--no-prefect", help="Run the engine without Prefect flow runs.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Run a whole cycle year in virtual time on a fresh state in --out."""
    loaded = load_or_exit(config)
    year_or_exit(loaded, year)
    wheel = loaded.wheel
    sc_path = scenario if scenario is not None else BUNDLED
    try:
        sc = load_scenario(sc_path, wheel)
    except ScenarioError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        fail(f"{sc_path}: refused; nothing was simulated.")
    if smtp is not None:
        from letters.smtp_url import parse_smtp_url

        try:
            parse_smtp_url(smtp)
        except ValueError as exc:
            print(f"--smtp: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, highlight=False)
    server = _prefect(not no_prefect)
    with server as api:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[what]}"),
            console=console,
            transient=False,
        ) as bar:
            task_id = bar.add_task(f"Simulerer {year}", total=None, what="")
            first = True

            def tick(step: Step) -> None:
                nonlocal first
                if first:
                    first = False
                else:
                    bar.advance(task_id)
                bar.update(task_id, what=f"{step.at.date().isoformat()} {step.what}")

            bar.update(task_id, total=len(timeline(wheel, year, sc)))
            outcome = run_simulation(
                wheel,
                year,
                sc,
                out,
                smtp=smtp,
                config=str(config),
                use_prefect=not no_prefect,
                progress=tick,
            )
            bar.advance(task_id)
    outcome.prefect = api
    outcome.prefect_stopped = server.started
    print_outcome(outcome, console)


class _prefect:
    """The Prefect server for the simulation: the configured one, else a supervised child.

    Flow-run heartbeats are off for the simulated runs (each costs ~1 s per flow run and
    means nothing in virtual time), and Prefect's console log is held at WARNING so the
    progress bar stays readable; the runs' logs still go to the server.
    """

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted
        self._stack: Any = None
        self.started = False  # True: a child server of ours (stopped on exit)

    def __enter__(self) -> str | None:
        if not self.wanted:
            return None
        import contextlib

        from flows.prefect_server import (
            DEFAULT_HOST,
            DEFAULT_PORT,
            configured_api_url,
            ensure_server,
            port_in_use,
        )

        self.started = not configured_api_url()
        self._stack = contextlib.ExitStack()
        port = None if port_in_use(DEFAULT_HOST, DEFAULT_PORT) else DEFAULT_PORT
        url = self._stack.enter_context(ensure_server(port=port))
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        self._stack.enter_context(temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        quiet_prefect_console()
        return str(url)

    def __exit__(self, *exc: Any) -> None:
        if self._stack is not None:
            self._stack.__exit__(*exc)


def quiet_prefect_console() -> None:
    """Raise Prefect's console handlers to WARNING (API log handlers are left alone)."""
    import logging

    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        for h in logging.getLogger(name).handlers:
            if isinstance(h, logging.StreamHandler) and not type(h).__name__.startswith("API"):
                h.setLevel(logging.WARNING)


def print_outcome(o: Outcome, console: Any) -> None:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    s = o.summary
    by = Counter(r["status"] for r in s["requests"])
    kinds = Counter(e["kind"] for e in s["emails"])
    t = Table(title=f"Simuleret {s['year']}: afleveringer", header_style="bold")
    for c in ("Udvalg", "Aflevering", "Frist", "Status", "Modtaget", "Påmindelser"):
        t.add_column(c)
    da = {"on_time": "rettidig", "late": "for sen", "missing": "mangler"}
    for r in s["requests"]:
        t.add_row(
            r["committee"],
            r["deliverable"],
            r["due"],
            da[r["status"]],
            (r["received_at"] or "–")[:16],
            str(r["reminders_sent"]),
        )
    out = Console(highlight=False, soft_wrap=True)
    out.print(t)
    out.print(
        f"Afleveringer: {count_text(by['on_time'], 'rettidig', 'rettidige')}, "
        f"{count_text(by['late'], 'for sen', 'for sene')}, "
        f"{by['missing']} mangler. E-mails: {len(s['emails'])} ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + ")."
    )
    for n in dict.fromkeys(o.notes):
        out.print(f"[yellow]Bemærk:[/yellow] {n}")
    for r in o.refused:
        out.print(f"[red]Afvist:[/red] {r}")
    where = o.out
    out.print(f"\nLook in {where}/:")
    out.print("  summary.json      what happened (requests, every e-mail in send order)")
    out.print(f"  journal/          the .eml journal copies ({len(s['journal'])}) + index")
    out.print("  documents/        the letters and forms that were sent")
    if (where / "mailbox").exists():
        out.print("  mailbox/          the messages as delivered (no --smtp given)")
    out.print("  submissions/      the submitted files, content-addressed")
    if o.prefect and o.prefect_stopped:
        import os

        from flows.prefect_server import prefect_home

        db = next((f"at {k}" for k in ("PREFECT_API_DATABASE_CONNECTION_URL",
                                         "PREFECT_SERVER_DATABASE_CONNECTION_URL")
                   if os.environ.get(k)), f"under PREFECT_HOME ({prefect_home()})")
        out.print(
            f"Flow runs and artifacts: {o.flow_runs} flow runs, kept in the Prefect database "
            f"{db}. The Prefect server simulate started has "
            "been stopped; to browse the history: prefect server start --host 127.0.0.1 "
            "(then http://127.0.0.1:4200)."
        )
    elif o.prefect:
        out.print(
            f"Flow runs and artifacts: {o.prefect.removesuffix('/api')} ({o.flow_runs} flow runs)"
        )
    out.print(f"Done in {o.seconds:.1f} s.")
