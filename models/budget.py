"""The budget decisions of October: which initiatives were funded, imported from CSV.

The file has a header row and one initiative per line::

    committee,initiative,goal,amount,funded
    BUU,Mentorordning for tosprogede elever,HM1,1.500.000 kr.,ja
    BUU,Sprogstøtte i dagtilbud,HM5,,nej
    SOU,Brobyggere i boligområderne,HM6,"0,8 mio. kr.",delvist

- ``committee``: a committee key of the wheel (``udvalg``).
- ``initiative``: the initiative's title as the committee wrote it in its form (``initiativ``);
  it is matched to the initiatives read back from the May forms by title (case, spacing and
  punctuation ignored).
- ``goal``: optional, a goal key of the wheel (``hovedmål``, ``mål``).
- ``amount``: the amount granted in kroner, Danish style (``1.500.000 kr.``, ``1,5 mio. kr.``;
  ``beløb``, ``bevilget``). May be left empty for ``ja`` (granted as asked) and ``nej``
  (nothing granted); required for ``delvist``.
- ``funded``: ``ja``, ``nej`` or ``delvist`` (also yes/no/partly; ``finansieret``).

``;`` works as the separator too (Danish Excel). UTF-8, with or without a BOM. Columns may
come in any order; blank lines and lines starting with ``#`` are skipped. Every problem is
reported at once as ``file:line column: message`` (a :class:`models.problems.ConfigError`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from models.csvtable import Spec, Table
from models.numbers import MAX_DKK_TEXT, read_dkk
from models.problems import ConfigError, Problem
from models.text import INITIATIVE_MAX, length_problem

if TYPE_CHECKING:
    from models.wheel import Wheel

Funded = Literal["yes", "no", "partly"]
FUNDED_DA = {"yes": "ja", "no": "nej", "partly": "delvist"}
COLUMNS = ("committee", "initiative", "goal", "amount", "funded")
REQUIRED = ("committee", "initiative", "funded")
ALIASES = {
    "committee": "committee", "udvalg": "committee",
    "initiative": "initiative", "initiativ": "initiative", "title": "initiative",
    "titel": "initiative",
    "goal": "goal", "mål": "goal", "maal": "goal", "hovedmål": "goal", "hovedmaal": "goal",
    "amount": "amount", "beløb": "amount", "beloeb": "amount", "bevilget": "amount",
    "beløb (kr.)": "amount", "granted": "amount",
    "funded": "funded", "finansieret": "funded", "financed": "funded",
}
_YES = {"ja", "j", "yes", "y", "x", "finansieret", "fuldt finansieret", "true"}
_NO = {"nej", "n", "no", "ikke finansieret", "ufinansieret", "false", "-"}
_PARTLY = {"delvist", "delvis", "partly", "partial", "delvist finansieret"}


@dataclass(frozen=True)
class Decision:
    """One initiative's budget decision."""

    committee: str
    initiative: str
    goal: str | None
    amount_dkk: int | None  # granted; None: as asked (yes) / not given
    funded: Funded
    line: int = 0

    @property
    def key(self) -> str:
        return title_key(self.initiative)


def title_key(title: str) -> str:
    """How initiative titles are matched: case, accents of form, spacing, punctuation ignored."""
    t = unicodedata.normalize("NFKC", title).casefold()
    t = re.sub(r"[^\w]+", " ", t)
    return " ".join(t.split())


def parse_funded(text: str) -> Funded | None:
    t = " ".join(text.strip().casefold().split()).rstrip(".")
    if t in _YES:
        return "yes"
    if t in _NO:
        return "no"
    if t in _PARTLY:
        return "partly"
    return None


def _width_message(
    row: list[str], header_len: int, columns: dict[str, int], sep: str, too_many: bool
) -> str:
    hint = ("; an amount with a comma must be quoted (\"1,5 mio. kr.\") or use ';' "
            "as the separator" if too_many and sep == "," else "")
    return f"{len(row)} fields, expected {header_len}{hint}"


SPEC = Spec(
    aliases=ALIASES,
    columns=COLUMNS,
    required=REQUIRED,
    row="initiative",
    width_message=_width_message,
    limits={"initiative": INITIATIVE_MAX},
)


def parse_csv(text: str, wheel: Wheel, file: str = "budget.csv") -> list[Decision]:
    """The decisions in ``text``, in file order; raises ConfigError with every problem."""
    problems: list[Problem] = []

    def problem(line: int, path: str, message: str) -> None:
        problems.append(Problem(file, line, path, message))

    table = Table(text, file, SPEC, problems)
    committees = list(wheel.committee)
    goals = list(wheel.goal)
    out: list[Decision] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in table:
        before = len(problems)
        committee = table.cell(row, "committee")
        if not committee:
            problem(line, "committee", "the committee is missing")
        elif committee not in committees:
            close = [c for c in committees if c.lower() == committee.lower()] or \
                difflib.get_close_matches(committee, committees, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problem(line, "committee", f"unknown committee {committee!r}{hint}; the "
                                       f"committees are {', '.join(committees)}")
        title = " ".join(table.cell(row, "initiative").split())
        if not title:
            problem(line, "initiative", "the initiative's title is missing")
        elif len(title) <= INITIATIVE_MAX and (
                too_long := length_problem(title_key(title), INITIATIVE_MAX)):
            problem(line, "initiative", f"its matching key {too_long}")  # NFKC can expand
        goal: str | None = table.cell(row, "goal") or None
        if goal is not None and goal not in goals:
            close = [g for g in goals if g.lower() == goal.lower()] or \
                difflib.get_close_matches(goal, goals, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problem(line, "goal", f"unknown goal {goal!r}{hint}; the goals are "
                                  f"{', '.join(goals)}")
        funded_text = table.cell(row, "funded")
        funded = parse_funded(funded_text)
        if not funded_text:
            problem(line, "funded", "funded is missing: write ja, nej or delvist")
        elif funded is None:
            problem(line, "funded", f"{funded_text!r} is not ja, nej or delvist")
        amount_text = table.cell(row, "amount")
        parsed = read_dkk(amount_text) if amount_text else None
        amount = parsed.kroner if parsed is not None else None
        if parsed is not None and parsed.too_large:
            problem(line, "amount", f"{amount_text!r} is not a plausible amount: "
                                    f"more than {MAX_DKK_TEXT}")
        elif amount_text and amount is None:
            problem(line, "amount", f"{amount_text!r} is not an amount in kroner "
                                    "(write 1.500.000 kr. or 1,5 mio. kr.)")
        elif amount is not None and amount < 0:
            problem(line, "amount", f"{amount_text!r} is negative")
        elif not amount_text and funded == "partly":
            problem(line, "amount", "a partly funded initiative needs the amount granted")
        if len(problems) > before or funded is None:
            continue
        k = (committee, title_key(title))
        if k in seen:
            problem(line, "initiative", f"{committee} {title!r} is given twice "
                                        f"(first on line {seen[k]})")
            continue
        seen[k] = line
        if funded == "no" and amount is None:
            amount = 0
        out.append(Decision(committee, title, goal, amount, funded, line))
    if table.columns is not None and not out and not problems:
        problem(table.last_line or 1, "(file)", "no decisions: the file has a header row only")
    if problems:
        raise ConfigError(sorted(problems))
    return out


