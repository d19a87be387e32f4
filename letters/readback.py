"""Reading a submitted form back (README "Submitted forms"): the text under each goal heading
and every row
of the initiatives table.

The file has already passed :func:`letters.intake.check_docx`, so its sizes are known to be
sane. The reader works on the WordprocessingML itself (:mod:`letters.wordml`: the document as
a list of paragraphs and tables), not through python-docx: it is faster, and it can follow
what people do in Word: content controls, tracked changes, runs split by formatting, soft
line breaks, tabs and non-breaking spaces. This module finds the form in those blocks.

Tolerance: sections may come in any order; a heading matches a goal when it *begins* with the
goal key (``HM2 – ...``, ``HM2: ...``, ``hm2 ...``), so a renamed heading that keeps its key
still matches; a heading that lost its key matches by the goal's title when titles are given,
with a warning; a goal paragraph that is not styled as a heading is read, with a warning.
A deleted table, an extra column, a row without a goal or with an amount that cannot be read
give warnings, never an exception. A document that is not the form at all reads as
``is_form=False`` with a warning: it is still a document the committee sent.

Text conventions: whitespace inside a line (tabs, non-breaking and other spaces, runs of
spaces) becomes one space; a soft line break is ``"\\n"``; paragraphs are separated by a
blank line (``"\\n\\n"``); empty paragraphs are dropped. Table cells keep their paragraphs
separated by ``"\\n"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from letters.wordml import (
    Block,
    Para,
    Table,
    UnreadableDocument,
    clean,
    clean_line,
    document_blocks,
)
from models.form import COLUMN_HEADER, TABLE_HEADER_TEXT, Column, goal_heading
from models.numbers import MAX_DKK_TEXT, read_dkk

_SEPARATOR = re.compile(r"^\s*[–—\-:.)]")
KEPT = "det er gemt, som det blev sendt"  # a file that cannot be read is still kept

_YES = {"ja", "j", "yes", "y", "x", "✓", "✔", "true", "finansieret", "fuldt finansieret",
        "ja, finansieret", "ja, fuldt"}
_NO = {"nej", "n", "no", "false", "ikke finansieret", "ufinansieret", "nej, ikke finansieret",
       "ikke", "-", "–"}
_PARTLY = {"delvist", "delvis", "delvist finansieret", "delvis finansieret", "ja, delvist"}


@dataclass(frozen=True)
class Initiative:
    title: str
    goal: str | None
    amount_dkk: int | None
    amount_text: str
    financed: bool | None  # None: not stated, partly ("delvist") or not readable
    row: int  # 1 = the first row under the header (counted on across tables)
    financed_text: str = ""  # the cell as written ("Ja", "delvist", ...)


@dataclass(frozen=True)
class FormReading:
    goals: dict[str, str]  # goal key -> the text under its heading ("" when left empty)
    initiatives: tuple[Initiative, ...]
    warnings: tuple[str, ...]
    missing_goals: tuple[str, ...]  # expected goals whose heading was not found
    is_form: bool
    table_found: bool = False
    headings: dict[str, str] = field(default_factory=dict)  # goal key -> its heading as written

    @property
    def empty_goals(self) -> tuple[str, ...]:
        """Goals whose heading is there with nothing written under it."""
        return tuple(k for k, v in self.goals.items() if not v)


# --- the initiatives table --------------------------------------------------------------


def _column(header: str) -> Column | None:
    h = clean_line(header.replace("\n", " ")).lower()
    if not h:
        return None
    if h.startswith("initiativ") or h in ("indsats", "tiltag", "navn"):
        return Column.TITLE
    if "hovedmål" in h or h in ("mål", "goal"):
        return Column.GOAL
    if h.startswith("beløb") or h in ("kr.", "kr", "dkk", "udgift", "pris"):
        return Column.AMOUNT
    if h.startswith("finansier"):
        return Column.FINANCED
    return None


def _header_map(row: list[str]) -> dict[int, Column]:
    found: dict[int, Column] = {}
    for i, cell in enumerate(row):
        col = _column(cell)
        if col is not None and col not in found.values():
            found[i] = col
    return found


def _is_initiatives_header(row: list[str]) -> bool:
    cols = set(_header_map(row).values())
    return (Column.TITLE in cols and len(cols) >= 2) or len(cols) >= 3


def _financed(text: str) -> tuple[bool | None, bool]:
    """(value, understood)."""
    t = clean_line(text.replace("\n", " ")).lower().rstrip(".!")
    if not t:
        return None, True
    if t in _YES:
        return True, True
    if t in _NO:
        return False, True
    if t in _PARTLY or t.startswith("delvis"):
        return None, True
    first = re.split(r"[\s,;(]+", t, maxsplit=1)[0]
    if first in ("ja", "yes"):
        return True, True
    if first in ("nej", "no"):
        return False, True
    return None, False


def _key_pattern(keys: Sequence[str]) -> re.Pattern[str] | None:
    if not keys:
        return None
    alts = "|".join(re.escape(k) for k in sorted(set(keys), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])({alts})(?![A-Za-z0-9_])", re.I)


# --- reading ----------------------------------------------------------------------------


def _not_read(expected: Sequence[str], why: str) -> FormReading:
    return FormReading({}, (), (why,), tuple(expected), False)


def read_form(
    data: bytes,
    expected_goals: Sequence[str],
    *,
    known_goals: Sequence[str] = (),
    goal_titles: Mapping[str, str] | None = None,
) -> FormReading:
    """Read a submitted form (``data`` has passed :func:`letters.intake.check_docx`).

    ``expected_goals``: the keys of the goals the form asked this committee about.
    ``known_goals``: every goal key of the wheel (a heading or row naming one of those that
    is not expected is read, with a warning). ``goal_titles``: key -> title, used to match a
    heading whose key was deleted.
    """
    expected = list(dict.fromkeys(expected_goals))
    try:
        blocks = document_blocks(data)
    except UnreadableDocument as exc:
        if exc.cause is None:
            return _not_read(expected, f"dokumentet har intet indhold; {KEPT}")
        return _not_read(expected, f"dokumentet kunne ikke læses: {exc.cause}; {KEPT}")
    return _read_blocks(blocks, expected, list(known_goals), dict(goal_titles or {}))


@dataclass
class _Reader:
    """What reading one form knows: the goals it asks about and how to find their keys."""

    blocks: list[Block]
    expected: list[str]
    titles: dict[str, str]
    keys_re: re.Pattern[str] | None
    canonical: dict[str, str]  # lower-case key -> the key as the wheel writes it
    warnings: list[str] = field(default_factory=list)


def _read_blocks(
    blocks: list[Block], expected: list[str], known: list[str], titles: dict[str, str]
) -> FormReading:
    all_keys = list(dict.fromkeys(expected + known))
    r = _Reader(blocks, expected, titles, _key_pattern(all_keys),
                {k.lower(): k for k in all_keys})
    table_idx = [i for i, b in enumerate(blocks) if isinstance(b, Table) and b.rows
                 and any(_is_initiatives_header(row) for row in b.rows[:2])]
    heads, pseudo = _goal_headings(r)
    goals, headings = _sections(r, heads, pseudo, set(table_idx))
    found = set(heads.values())
    missing = _goal_warnings(r, goals, found)
    initiatives = _initiatives(r, table_idx)
    is_form = bool(set(expected) & found) or bool(table_idx)
    if not is_form:
        asked = ", ".join(expected) if expected else "ingen"
        r.warnings.insert(0, "dokumentet ligner ikke formularen: hverken en overskrift for et "
                             f"af målene ({asked}) eller en initiativtabel er fundet; {KEPT}")
    return FormReading(
        goals=goals,
        initiatives=tuple(initiatives),
        warnings=tuple(r.warnings),
        missing_goals=missing,
        is_form=is_form,
        table_found=bool(table_idx),
        headings=headings,
    )


def _goal_headings(r: _Reader) -> tuple[dict[int, str], set[int]]:
    """Block index -> goal key of every goal heading, and those that are paragraphs not
    styled as headings: styled headings that begin with a key; then paragraphs that look
    like one (``HM2 – ...``); then headings that lost their key, matched by the goal's title."""
    heads: dict[int, str] = {}
    pseudo: set[int] = set()
    keys_re = r.keys_re
    if keys_re is None:
        return heads, pseudo
    for i, b in enumerate(r.blocks):
        if isinstance(b, Para) and b.level is not None and b.text:
            m = keys_re.match(b.text.lstrip())
            if m:
                heads[i] = r.canonical[m.group(1).lower()]
    found = set(heads.values())
    for i, b in enumerate(r.blocks):
        if (isinstance(b, Para) and b.level is None and b.text
                and len(b.text) <= 200 and "\n" not in b.text):
            m = keys_re.match(b.text)
            if m and _SEPARATOR.match(b.text[m.end():]):
                key = r.canonical[m.group(1).lower()]
                if key not in found:
                    heads[i] = key
                    pseudo.add(i)
                    r.warnings.append(
                        f"{key}: afsnittet {_quote(b.text)} er ikke formateret som overskrift; "
                        "det er læst som målets overskrift"
                    )
    found = set(heads.values())
    for key in r.expected:
        title = _norm_title(r.titles.get(key, ""))
        if key in found or not title:
            continue
        for i, b in enumerate(r.blocks):
            if (isinstance(b, Para) and b.level is not None and i not in heads
                    and b.text and (_norm_title(b.text) == title
                                    or _norm_title(b.text).endswith(title))):
                heads[i] = key
                r.warnings.append(
                    f"{key}: overskriften {_quote(b.text)} begynder ikke længere med {key}; "
                    "den er genkendt på målets titel"
                )
                break
    return heads, pseudo


def _sections(
    r: _Reader, heads: dict[int, str], pseudo: set[int], tables: set[int]
) -> tuple[dict[str, str], dict[str, str]]:
    """The text under each goal heading (until the next heading of the same or a higher level,
    the next goal heading or an initiatives table), and each goal's heading as written."""
    goals: dict[str, str] = {}
    headings: dict[str, str] = {}
    for i in sorted(heads):
        key = heads[i]
        head = r.blocks[i]
        assert isinstance(head, Para)
        level = None if i in pseudo else head.level
        parts: list[str] = []
        for j in range(i + 1, len(r.blocks)):
            b = r.blocks[j]
            if j in heads or j in tables:
                break
            if isinstance(b, Table):
                parts.extend(" | ".join(c for c in row if c) for row in b.rows if any(row))
                continue
            if b.level is not None and (level is None or b.level <= level):
                break
            if b.level is not None and r.keys_re and r.keys_re.match(b.text.lstrip()):
                break
            if b.text:
                parts.append(b.text)
        text = "\n\n".join(p for p in parts if p)
        if key in goals:
            r.warnings.append(f"{key}: målet har mere end én overskrift; teksterne er lagt "
                              "sammen")
            goals[key] = "\n\n".join(t for t in (goals[key], text) if t)
        else:
            goals[key] = text
            headings[key] = head.text
    return goals, headings


def _goal_warnings(r: _Reader, goals: dict[str, str], found: set[str]) -> tuple[str, ...]:
    """Warn of goals read that the form does not ask about, goals asked about whose heading
    is missing (returned) and headings with nothing under them."""
    expected = r.expected
    for key in goals:
        if key not in expected and expected:
            r.warnings.append(f"{key}: en overskrift for et mål, som ikke er blandt formularens "
                              f"mål ({', '.join(expected)}); teksten under den er læst")
    missing = tuple(k for k in expected if k not in found)
    for key in missing:
        what = goal_heading(key, r.titles[key]) if key in r.titles else key
        r.warnings.append(f"{key}: ingen overskrift begynder med {key}; intet er læst for "
                          f"{what}")
    for key, text in goals.items():
        if not text and key in expected:
            r.warnings.append(f"{key}: der er ikke skrevet noget under overskriften")
    return missing


def _initiatives(r: _Reader, table_idx: list[int]) -> list[Initiative]:
    """Every filled-in row of the initiatives table(s), numbered on across tables."""
    initiatives: list[Initiative] = []
    if not table_idx:
        r.warnings.append(
            "ingen initiativtabel fundet (en tabel med overskriftsrækken "
            f"{TABLE_HEADER_TEXT}); ingen initiativer er læst"
        )
    elif len(table_idx) > 1:
        r.warnings.append(f"{len(table_idx)} initiativtabeller fundet; alle deres rækker er "
                          "læst")
    row_no = 0
    for t in table_idx:
        table = r.blocks[t]
        assert isinstance(table, Table)
        hdr_at = 0 if _is_initiatives_header(table.rows[0]) else 1
        header = table.rows[hdr_at]
        cols = _header_map(header)
        names = set(cols.values())
        for col, label in COLUMN_HEADER.items():
            if col is not Column.TITLE and col not in names:
                r.warnings.append(f"initiativtabellen mangler kolonnen {label}")
        for h in [h for i, h in enumerate(header) if i not in cols and clean_line(h)]:
            r.warnings.append(
                f"initiativtabellen har en ekstra kolonne {_quote(h)}; den er ikke læst"
            )
        for row in table.rows[hdr_at + 1:]:
            if _is_initiatives_header(row) and _header_map(row) == cols:
                continue  # a repeated header row
            cells = {col: clean("\n".join(x.strip() for x in row[i].split("\n")))
                     if i < len(row) else "" for i, col in cols.items()}
            if not any(cells.values()):
                if any(clean_line(c) for c in row):
                    row_no += 1
                    r.warnings.append(f"initiativrække {row_no}: kun de ekstra kolonner er "
                                      "udfyldt; rækken er ikke læst")
                continue
            row_no += 1
            init, row_warnings = _initiative(cells, row_no, r.expected, r.keys_re, r.canonical)
            initiatives.append(init)
            r.warnings.extend(row_warnings)
    return initiatives


def _initiative(
    cells: dict[Column, str], row: int, expected: list[str], keys_re: re.Pattern[str] | None,
    canonical: dict[str, str],
) -> tuple[Initiative, list[str]]:
    warnings: list[str] = []
    title = cells.get(Column.TITLE, "")
    if not title:
        warnings.append(f"initiativrække {row}: cellen Initiativ er tom")
    goal_text = cells.get(Column.GOAL, "")
    goal: str | None = None
    if goal_text:
        keys = [canonical[m.group(1).lower()] for m in keys_re.finditer(goal_text)] \
            if keys_re else []
        keys = list(dict.fromkeys(keys))
        if keys:
            goal = keys[0]
            if len(keys) > 1:
                warnings.append(f"initiativrække {row}: flere mål nævnt ({', '.join(keys)}); "
                                f"talt med under {goal}")
            if expected and goal not in expected:
                warnings.append(f"initiativrække {row}: {goal} er ikke blandt formularens mål "
                                f"({', '.join(expected)})")
        else:
            warnings.append(f"initiativrække {row}: Hovedmål {_quote(goal_text)} nævner ingen "
                            "målnøgle (som HM2)")
    elif title:
        warnings.append(f"initiativrække {row}: Hovedmål er ikke udfyldt")
    amount_text = cells.get(Column.AMOUNT, "")
    parsed = read_dkk(amount_text.replace("\n", " ")) if amount_text else None
    amount = parsed.kroner if parsed is not None else None
    if parsed is not None and parsed.too_large:
        warnings.append(f"initiativrække {row}: beløbet {_quote(amount_text)} er urealistisk "
                        f"stort (mere end {MAX_DKK_TEXT}); det er ikke talt med")
    elif amount_text and amount is None:
        warnings.append(f"initiativrække {row}: beløbet {_quote(amount_text)} kunne ikke læses "
                        "som kroner")
    financed_text = cells.get(Column.FINANCED, "")
    financed, understood = _financed(financed_text)
    if not understood:
        warnings.append(f"initiativrække {row}: Finansieret {_quote(financed_text)} er ikke "
                        "ja, nej eller delvist")
    return Initiative(title, goal, amount, amount_text, financed, row, financed_text), warnings


def _norm_title(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _quote(text: str, n: int = 60) -> str:
    one = " ".join(text.split())
    return f"“{one if len(one) <= n else one[: n - 1] + '…'}”"
