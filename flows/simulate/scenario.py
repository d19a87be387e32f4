"""The scenario of a simulated year: what the committees hand in, the barometer readings and
the budget decisions (YAML, read without type coercion; every problem at once, as
``file:line key.path: message``).

::

    submissions:
      - {committee: BUU, deliverable: handleplan, at: "2012-04-20T10:00", file: buu.docx}
    barometer:
      - {goal: HM2, period: 2011-H2, value: 7.4, source: Eksempeldata}

``via: mail`` makes the submission a committee's reply to the letter, with the file
attached, read by the mail intake (README "The mail intake in operation"); the default is ``file``.
``file`` is optional (relative to the scenario); without it the committee's form is made
and filled in (:func:`flows.simulate.forms.fill_form`): under each goal heading the
submission's ``goals`` text (else an illustrative text), and in the initiatives table its
``initiatives`` (else 2-4 illustrative ones)::

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

``budget`` is the decisions of October, checked exactly as ``aarshjul budget import`` checks
a CSV file (:func:`models.budget.parse_csv`), and stored just before the year's first
``budget`` event. ``source`` is ours (default ``scenario``): where a barometer reading came
from; ``illustrative`` (ours, default true: a scenario's figures are example data) labels it.
A reading is a :class:`models.barometer.Reading`, as ``aarshjul barometer import`` stores it.

``actions`` are the coordinator's actions, carried out at their instants (after the
submissions and letters of the same instant, before its chase)::

    actions:
      - {at: "2012-04-28T10:00", do: extend, committee: TMU, deliverable: handleplan,
         until: "2012-05-11", reason: Udvalgsmødet er flyttet}
      - {at: "2012-05-02T12:00", do: excuse, committee: SOU, deliverable: redegoerelse}
      - {at: "2012-05-03T10:00", do: reopen, committee: BUU, deliverable: handleplan}
      - {at: "2012-02-01T10:00", do: resend, committee: TMU, event: opfordring,
         to: [tmu-ny@tmf.kk.example]}

``reopen`` withdraws the request's latest standing registration (or its excuse); ``resend``
sends the committee's letter of ``event`` again (``to``: optional).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from models.barometer import Reading
from models.budget import COLUMNS, Decision, parse_csv, parse_funded
from models.kinds import ActionKind, SubmissionVia
from models.numbers import parse_dkk
from models.plan import parse_instant
from models.problems import ConfigError
from models.wheel import Wheel

BUNDLED = Path(__file__).resolve().parent / "scenarios" / "copenhagen-2012.yaml"


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
    via: SubmissionVia = SubmissionVia.FILE  # mail: a reply to the letter, through the intake


@dataclass(frozen=True)
class PlannedAction:
    """A coordinator's action at ``at`` (``do``: extend, excuse, reopen or resend)."""

    at: datetime
    do: ActionKind
    committee: str
    line: int
    deliverable: str | None = None
    until: date | None = None
    reason: str | None = None
    event: str | None = None  # resend: the letter of this event
    to: tuple[str, ...] = ()


@dataclass
class Scenario:
    path: Path | None
    submissions: list[PlannedSubmission] = field(default_factory=list)
    barometer: list[Reading] = field(default_factory=list)
    budget: list[Decision] = field(default_factory=list)
    actions: list[PlannedAction] = field(default_factory=list)


class ScenarioError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scenario(path: Path, wheel: Wheel) -> Scenario:
    """Read and check a scenario file; every problem at once (``file:line: message``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.BaseLoader) or {}  # noqa: S506 - BaseLoader: strings
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from None
    problems: list[str] = []
    sc = Scenario(path)
    if not isinstance(data, dict):
        raise ScenarioError(
            [f"{path}:1: a scenario is a mapping with submissions/barometer/budget/actions"]
        )
    lines = _lines(node)
    for key in data:
        if key not in ("submissions", "barometer", "budget", "actions"):
            problems.append(f"{path}:{lines.get((key,), 1)} {key}: unknown key")
    for i, item in enumerate(_items(data, "submissions", path, lines, problems)):
        line = lines.get(("submissions", i), 1)
        where = f"{path}:{line} submissions[{i}]"
        if not _entry(item, where, "committee, deliverable, at",
                      ("committee", "deliverable", "at", "file", "via"), problems):
            continue
        extra = set(item) - {"committee", "deliverable", "at", "file", "goals", "initiatives",
                             "via"}
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
        via = item.get("via", SubmissionVia.FILE.value)
        if via not in [v.value for v in SubmissionVia]:
            problems.append(f"{where}.via: {via!r} is not one of "
                            f"{', '.join(v.value for v in SubmissionVia)}")
        if len(problems) > before:
            continue
        if when is not None and c in wheel.committee and d in wheel.deliverable:
            sc.submissions.append(PlannedSubmission(
                str(c), str(d), when, file, line, goals, initiatives, SubmissionVia(via)))
    for i, item in enumerate(_items(data, "barometer", path, lines, problems)):
        where = f"{path}:{lines.get(('barometer', i), 1)} barometer[{i}]"
        if not _entry(item, where, "goal, period, value",
                      ("goal", "period", "value", "source", "illustrative"), problems):
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
        flag = str(item.get("illustrative", "true")).lower()
        if flag not in ("true", "false"):
            problems.append(f"{where}.illustrative: {item.get('illustrative')!r} is not true or "
                            "false")
            continue
        if goal in wheel.goal:
            src = str(item.get("source") or "scenario")
            sc.barometer.append(Reading(str(goal), str(period), value, src, flag == "true"))
    if "budget" in data:
        sc.budget = _budget(data["budget"], wheel, path, lines, problems)
    for i, item in enumerate(_items(data, "actions", path, lines, problems)):
        where = f"{path}:{lines.get(('actions', i), 1)} actions[{i}]"
        action = _action(item, wheel, where, lines.get(("actions", i), 1), problems)
        if action is not None:
            sc.actions.append(action)
    if problems:
        raise ScenarioError(problems)
    return sc


def _items(data: dict[str, Any], key: str, path: Path, lines: dict[tuple[Any, ...], int],
           problems: list[str]) -> list[Any]:
    """The list under ``key`` (none: empty); a problem if it is not a list."""
    raw = data.get(key)
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        problems.append(f"{path}:{lines.get((key,), 1)} {key}: expected a list (one '- ' item "
                        "per line)")
        return []
    return raw


def _entry(item: Any, where: str, expected: str, keys: tuple[str, ...],
           problems: list[str]) -> bool:
    """Whether ``item`` is a mapping (else a problem naming what is ``expected``) in which each
    of ``keys`` it has is one value, not a list or a mapping (a problem for each that is)."""
    if not isinstance(item, dict):
        problems.append(f"{where}: expected {expected}")
        return False
    ok = True
    for key in keys:
        value = item.get(key)
        if isinstance(value, list | dict):
            problems.append(f"{where}.{key}: expected one value, not a "
                            f"{'list' if isinstance(value, list) else 'mapping'}")
            ok = False
    return ok


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


ACTION_KEYS = {
    ActionKind.EXTEND: {"committee", "deliverable", "until"},
    ActionKind.EXCUSE: {"committee", "deliverable"},
    ActionKind.REOPEN: {"committee", "deliverable"},
    ActionKind.RESEND: {"committee", "event"},
}
ACTION_OPTIONAL = {ActionKind.EXTEND: {"reason"}, ActionKind.EXCUSE: {"reason"},
                   ActionKind.REOPEN: {"reason"}, ActionKind.RESEND: {"reason", "to"}}


def _action(item: Any, wheel: Wheel, where: str, line: int,
            problems: list[str]) -> PlannedAction | None:
    """One ``actions:`` item, checked; every problem added to ``problems``."""
    if not _entry(item, where, "at, do, committee, ...",
                  ("at", "do", "committee", "deliverable", "event", "until", "reason"), problems):
        return None
    before = len(problems)
    do = item.get("do")
    if do not in ACTION_KEYS:
        problems.append(f"{where}.do: {do!r} is not one of {', '.join(ACTION_KEYS)}")
        return None
    need, may = ACTION_KEYS[do], ACTION_OPTIONAL[do]
    missing = sorted(need - set(item))
    if missing:
        problems.append(f"{where}: {do} needs {', '.join(missing)}")
    extra = set(item) - need - may - {"at", "do"}
    if extra:
        problems.append(f"{where}: unknown key(s) for {do}: {', '.join(sorted(extra))}")
    when = until = None
    try:
        when = parse_instant(str(item.get("at")), wheel.policy.tz)
    except ValueError as exc:
        problems.append(f"{where}.at: {exc}")
    c, d, e = item.get("committee"), item.get("deliverable"), item.get("event")
    if c is not None and c not in wheel.committee:
        problems.append(f"{where}.committee: {c!r} is not a committee of the wheel")
    if d is not None and d not in wheel.deliverable:
        problems.append(f"{where}.deliverable: {d!r} is not a deliverable of the wheel")
    if e is not None and e not in wheel.event:
        problems.append(f"{where}.event: {e!r} is not an event of the wheel")
    if "until" in item:
        try:
            until = date.fromisoformat(str(item["until"]))
        except ValueError:
            problems.append(f"{where}.until: {item['until']!r} is not a date (YYYY-MM-DD)")
    to = item.get("to") or []
    if not isinstance(to, list) or not all(isinstance(x, str) and "@" in x for x in to):
        problems.append(f"{where}.to: expected a list of addresses")
        to = []
    if len(problems) > before or when is None:
        return None
    return PlannedAction(when, ActionKind(do), str(c), line, str(d) if d else None, until,
                         str(item["reason"]) if item.get("reason") else None,
                         str(e) if e else None, tuple(to))


INITIATIVE_KEYS = ("title", "goal", "amount", "financed")


def _initiatives(
    raw: Any, wheel: Wheel, committee: str, where: str, problems: list[str]
) -> tuple[PlannedInitiative, ...] | None:
    """A submission's ``initiatives:`` (title, goal, amount, financed), every problem at once."""
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
