"""The integrationsbarometer: half-yearly readings per goal, imported from CSV.

The file has a header row and one reading per line::

    goal,period,value,source,illustrative
    HM2,2011-H1,7.4,Eksempeldata,ja
    HM2,2011-H2,"7,1",Eksempeldata,ja

``;`` works as the separator too (Danish Excel writes ``;`` with a decimal comma:
``HM2;2011-H2;7,1;Danmarks Statistik``). UTF-8, with or without a BOM. Columns may come in
any order; the Danish names ``mål``, ``periode``, ``værdi``, ``kilde``, ``illustrativ`` are
accepted too; ``source`` and ``illustrative`` may be left out. ``illustrative`` says that a
figure is example data, not a measurement (``ja``/``nej``, ``yes``/``no``, ``true``/``false``,
``1``/``0``; empty: no): the charts and reports label such figures. Blank lines and lines
starting with ``#`` are skipped.

Every problem is reported at once, as ``file:line column: message`` (a
:class:`models.problems.ConfigError`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, TypeVar

from models.csvtable import Spec, Table
from models.problems import ConfigError, Problem
from models.text import SOURCE_MAX

if TYPE_CHECKING:
    from models.wheel import Wheel

PERIOD_RE = re.compile(r"^(\d{4})-[Hh]([12])$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
COLUMNS = ("goal", "period", "value", "source", "illustrative")
ALIASES = {
    "goal": "goal", "mål": "goal", "maal": "goal", "hovedmål": "goal",
    "period": "period", "periode": "period",
    "value": "value", "værdi": "value", "vaerdi": "value",
    "source": "source", "kilde": "source",
    "illustrative": "illustrative", "illustrativ": "illustrative",
}
YES = frozenset({"ja", "j", "yes", "y", "true", "1", "x"})
NO = frozenset({"nej", "n", "no", "false", "0", ""})


@dataclass(frozen=True)
class Reading:
    """One barometer figure for a goal in a half-year period (``2011-H2``)."""

    goal: str
    period: str
    value: float
    source: str | None = None
    illustrative: bool = False  # example data, not a measurement: labelled as such

    @property
    def year(self) -> int:
        return int(self.period[:4])

    @property
    def half(self) -> int:
        return int(self.period[-1])

    @property
    def order(self) -> float:
        """A position on a time axis: 2011-H1 -> 2011.0, 2011-H2 -> 2011.5."""
        return self.year + (self.half - 1) / 2


def period_end(period: str) -> date:
    """The last day of a half-year period: ``2011-H2`` -> 2011-12-31 (ValueError if it is
    not one)."""
    m = PERIOD_RE.match(period)
    if not m:
        raise ValueError(f"{period!r} is not a half-year period such as 2011-H2")
    year = int(m.group(1))
    return date(year, 6, 30) if m.group(2) == "1" else date(year, 12, 31)


def period_label(period: str) -> str:
    """``2011-H2`` -> ``2. halvår 2011``."""
    m = PERIOD_RE.match(period)
    if not m:
        return period
    return f"{m.group(2)}. halvår {m.group(1)}"


def parse_period(text: str) -> str | None:
    """``2011-H2`` (or ``2011-h2``) -> ``2011-H2``; None when it is not a half-year."""
    m = PERIOD_RE.match(text.strip())
    if not m or not 1900 <= int(m.group(1)) <= 2100:
        return None
    return f"{m.group(1)}-H{m.group(2)}"


def parse_value(text: str) -> float | None:
    """``7.4``, ``7,4``, ``-0,5`` or ``7,4 %`` -> float; None otherwise (no NaN, no inf)."""
    t = text.strip().replace("\u00a0", " ")
    if t.endswith("%"):
        t = t[:-1].rstrip()
    t = t.replace(" ", "")
    if not _NUMBER_RE.match(t):
        return None
    v = float(t.replace(",", "."))
    return v if math.isfinite(v) else None


def is_illustrative(readings: Iterable[Reading]) -> bool:
    """Whether any of the readings is illustrative example data."""
    return any(r.illustrative for r in readings)


def for_goal(readings: Iterable[Reading], goal: str) -> list[Reading]:
    """The goal's readings in time order."""
    return sorted((r for r in readings if r.goal == goal), key=lambda r: r.order)


def _width_message(
    row: list[str], header_len: int, columns: dict[str, int], sep: str, too_many: bool
) -> str:
    n = f"{len(row)} field{'s' if len(row) != 1 else ''}"
    return (f"{n}, expected {header_len} ({sep.join(_ordered(columns))})"
            + _separator_hint(row, sep, too_many))


SPEC = Spec(
    aliases=ALIASES,
    columns=COLUMNS,
    required=("goal", "period", "value"),
    row="reading",
    width_message=_width_message,
    limits={"source": SOURCE_MAX},
)


def parse_csv(text: str, wheel: Wheel, file: str = "barometer.csv") -> list[Reading]:
    """The readings in ``text``, in file order; raises ConfigError with every problem."""
    problems: list[Problem] = []
    table = Table(text, file, SPEC, problems)
    goals = list(wheel.goal)
    readings: list[Reading] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in table:
        assert table.columns is not None
        reading = _reading(row, table.columns, goals, file, line, problems)
        if reading is None:
            continue
        key = (reading.goal, reading.period)
        if key in seen:
            problems.append(Problem(file, line, "period",
                                    f"{reading.goal} {reading.period} is given twice "
                                    f"(first on line {seen[key]})"))
            continue
        seen[key] = line
        readings.append(reading)
    if table.columns is not None and not readings and not problems:
        problems.append(Problem(file, table.last_line or 1, "(file)",
                                "no readings: the file has a header row only"))
    if problems:
        raise ConfigError(sorted(problems))
    return readings


def _ordered(columns: dict[str, int]) -> list[str]:
    return [name for name, _ in sorted(columns.items(), key=lambda kv: kv[1])]


def _separator_hint(row: Sequence[str], sep: str, too_many: bool) -> str:
    other = ";" if sep == "," else ","
    if not too_many and sum(c.count(other) for c in row) >= 2:
        return f"; the header is separated by '{sep}' but this line by '{other}'"
    if too_many and sep == ",":
        return "; a decimal comma must be quoted (\"7,4\") or use ';' as the separator"
    return ""


T = TypeVar("T")


def _required(text: str, column: str, parse: Callable[[str], T | None], file: str, line: int,
              problems: list[Problem], wrong: str) -> T | None:
    """``text`` of a required ``column`` as ``parse`` reads it; None, with a problem, when
    it is missing or ``parse`` cannot read it (``wrong`` says what it is not)."""
    if not text:
        problems.append(Problem(file, line, column, f"the {column} is missing"))
        return None
    parsed = parse(text)
    if parsed is None:
        problems.append(Problem(file, line, column, f"{text!r} {wrong}"))
    return parsed


def _reading(row: list[str], columns: dict[str, int], goals: list[str], file: str, line: int,
             problems: list[Problem]) -> Reading | None:
    def cell(name: str) -> str:
        i = columns.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    before = len(problems)
    goal = cell("goal")
    if not goal:
        problems.append(Problem(file, line, "goal", "the goal is missing"))
    elif goal not in goals:
        exact = [g for g in goals if g.lower() == goal.lower()]
        close = exact or difflib.get_close_matches(goal, goals, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(Problem(file, line, "goal",
                                f"unknown goal {goal!r}{hint}; the goals are {', '.join(goals)}"))
    period = _required(cell("period"), "period", parse_period, file, line, problems,
                       "is not a half-year period such as 2011-H2 (year, '-H', then 1 or 2)")
    value = _required(cell("value"), "value", parse_value, file, line, problems,
                      "is not a number (write 7,4 or 7.4)")
    flag = cell("illustrative").lower()
    if flag not in YES | NO:
        problems.append(Problem(file, line, "illustrative",
                                f"{cell('illustrative')!r} is not ja or nej"))
    if len(problems) > before or period is None or value is None:
        return None
    source = cell("source") or None
    return Reading(goal=goal, period=period, value=value, source=source,
                   illustrative=flag in YES)
