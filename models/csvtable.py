"""Reading a small CSV table as people write it (Excel with ``;``, a BOM, comments).

Shared by the barometer and budget imports: the separator is taken from the header row,
``#`` lines and blank lines are skipped, column names go through aliases, and every problem
is collected with its line number (``models.problems.Problem``), never raised one by one.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from models.problems import ConfigError, Problem
from models.text import length_problem

# (row, header_len, columns, separator, too_many) -> the message for a row of the wrong width
WidthMessage = Callable[[list[str], int, dict[str, int], str, bool], str]


@dataclass(frozen=True)
class Spec:
    """A table's columns; the header messages are made from them, the same for every table."""

    aliases: Mapping[str, str]  # lower-case name as written -> canonical column
    columns: tuple[str, ...]  # the canonical columns, in the order a header names them
    required: tuple[str, ...]  # the others are optional
    row: str  # what one data line holds, for the empty-file message: "reading"
    width_message: WidthMessage
    # column -> the most characters a cell may hold (after trimming): what the state
    # database's column takes, checked here so that SQLite and PostgreSQL take the same files
    limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def columns_text(self) -> str:
        """``goal, period, value, source and illustrative``"""
        return _and(self.columns)

    @property
    def header_rule(self) -> str:
        """``the header row must be goal,period,value,source,illustrative (source and
        illustrative are optional)``"""
        optional = [c for c in self.columns if c not in self.required]
        rule = f"the header row must be {','.join(self.columns)}"
        if optional:
            rule += f" ({_and(optional)} {'is' if len(optional) == 1 else 'are'} optional)"
        return rule

    @property
    def empty_text(self) -> str:
        """The message for a file without a header row."""
        return (f"the file is empty: expected a header row {','.join(self.columns)} and one "
                f"{self.row} per line")


def _and(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def separator(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


class Table:
    """Iterate ``(line, row)`` over the data rows; header and width problems are recorded.

    After the loop, ``columns`` is the header's column map (None if the header was bad)
    and ``last_line`` the last line read.
    """

    def __init__(self, text: str, file: str, spec: Spec, problems: list[Problem]) -> None:
        self.text = text.removeprefix("\ufeff")
        self.file = file
        self.spec = spec
        self.problems = problems
        first = next(
            (ln for ln in self.text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")),
            None,
        )
        if first is None:
            raise ConfigError([Problem(file, 1, "(header)", spec.empty_text)])
        self.sep = separator(first)
        self.columns: dict[str, int] | None = None
        self.header_len = 0
        self.last_line = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.sep, strict=True)
        try:
            for row in reader:
                line = self.last_line + 1
                self.last_line = reader.line_num
                if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
                    continue
                if self.columns is None:
                    self.columns = self._header(row, line)
                    self.header_len = len(row)
                    if self.columns is None:
                        return
                    continue
                width = max(self.columns.values()) + 1
                too_many = len(row) > self.header_len and any(
                    c.strip() for c in row[self.header_len :]
                )
                if len(row) < width or too_many:
                    message = self.spec.width_message(
                        row, self.header_len, self.columns, self.sep, too_many
                    )
                    self.problems.append(Problem(self.file, line, "(row)", message))
                    continue
                self._check_cells(row, line)
                yield line, row
        except csv.Error as exc:
            self.problems.append(
                Problem(
                    self.file,
                    reader.line_num or self.last_line + 1,
                    "(row)",
                    f"not readable as CSV: {exc}",
                )
            )

    def _check_cells(self, row: list[str], line: int) -> None:
        """NUL characters (no database text type takes them) and cells over their column's
        limit, one problem per cell (the row is still read, so its other problems show)."""
        for name, i in sorted((self.columns or {}).items(), key=lambda kv: kv[1]):
            cell = row[i] if i < len(row) else ""
            if "\x00" in cell:
                self.problems.append(Problem(
                    self.file, line, name,
                    "contains a NUL character (\\x00): the file is damaged or not a CSV text file"))
                continue
            cap = self.spec.limits.get(name)
            problem = length_problem(cell.strip(), cap) if cap is not None else None
            if problem:
                self.problems.append(Problem(self.file, line, name, problem))

    def _header(self, row: list[str], line: int) -> dict[str, int] | None:
        spec, columns, ok = self.spec, {}, True
        for i, raw in enumerate(row):
            name = raw.strip().lower()
            if not name:
                continue
            canon = spec.aliases.get(name)
            if canon is None:
                close = difflib.get_close_matches(name, list(spec.aliases), n=1)
                hint = f" (did you mean {spec.aliases[close[0]]}?)" if close else ""
                self.problems.append(
                    Problem(
                        self.file,
                        line,
                        "(header)",
                        f"unknown column {raw.strip()!r}{hint}; the columns are "
                        + spec.columns_text,
                    )
                )
                ok = False
                continue
            if canon in columns:
                self.problems.append(
                    Problem(self.file, line, "(header)", f"column {canon} is named twice")
                )
                ok = False
                continue
            columns[canon] = i
        missing = [c for c in spec.required if c not in columns]
        if missing:
            self.problems.append(
                Problem(
                    self.file,
                    line,
                    "(header)",
                    f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                    + spec.header_rule,
                )
            )
            ok = False
        return columns if ok else None

    def cell(self, row: list[str], name: str) -> str:
        i = (self.columns or {}).get(name)
        return row[i].strip() if i is not None and i < len(row) else ""
