"""Reading a submitted form back (CONTRACT §4): the text under each goal heading and every row
of the initiatives table.

The file has already passed :func:`letters.intake.check_docx`, so its sizes are known to be
sane; it is still parsed with entity resolution and the network off. The reader works on the
WordprocessingML itself (``word/document.xml`` and ``word/styles.xml``), not through
python-docx: it is faster, and it can follow what people do in Word: content controls,
tracked changes, runs split by formatting, soft line breaks, tabs and non-breaking spaces.

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

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.form import COLUMN_HEADER, TABLE_HEADER_TEXT, Column, goal_heading
from models.numbers import MAX_DKK_TEXT, read_dkk

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT = b"http://purl.oclc.org/ooxml/wordprocessingml/main"  # "Strict Open XML" saves
W = "{" + W_NS + "}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
CT_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

# subtrees whose text is not what the reader sees: deleted or moved-away text, the fallback
# copy of alternate content, text boxes, field codes, paragraph and run properties
_SKIP = {W + "del", W + "moveFrom", MC + "Fallback", W + "txbxContent", W + "instrText",
         W + "pPr", W + "rPr", W + "delText", W + "sdtPr", W + "sdtEndPr"}
_SPACE = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_HEADING_NAME = re.compile(r"^(?:heading|overskrift)\s*(\d)$", re.I)
_SEPARATOR = re.compile(r"^\s*[–—\-:.)]")

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


# --- text -------------------------------------------------------------------------------


def _clean_line(line: str) -> str:
    return _SPACE.sub(" ", _INVISIBLE.sub("", line)).strip()


def _clean(text: str) -> str:
    lines = [_clean_line(x) for x in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _placeholder(sdt: Any) -> bool:
    pr = sdt.find(W + "sdtPr")
    return pr is not None and pr.find(W + "showingPlcHdr") is not None


def _runs_text(el: Any, out: list[str]) -> None:
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == W + "t":
            out.append(child.text or "")
        elif tag == W + "tab" or tag == W + "ptab":
            out.append("\t")
        elif tag in (W + "br", W + "cr"):
            out.append("\n")
        elif tag == W + "noBreakHyphen":
            out.append("-")
        elif tag == W + "sdt" and _placeholder(child):
            continue
        else:
            _runs_text(child, out)


def paragraph_text(p: Any) -> str:
    out: list[str] = []
    _runs_text(p, out)
    return _clean("".join(out))


# --- styles -----------------------------------------------------------------------------


def _style_levels(styles_xml: bytes | None) -> dict[str, int]:
    """styleId -> heading level (1-9; 0 for Title) from word/styles.xml, following basedOn."""
    if not styles_xml:
        return {}
    from lxml import etree

    from letters.intake import safe_parser

    try:
        root = etree.fromstring(styles_xml, safe_parser())
    except etree.XMLSyntaxError:
        return {}
    own: dict[str, int | None] = {}
    based: dict[str, str] = {}
    for st in root.iter(W + "style"):
        if st.get(W + "type") not in (None, "paragraph"):
            continue
        sid = st.get(W + "styleId")
        if not sid:
            continue
        level: int | None = None
        name_el = st.find(W + "name")
        name = (name_el.get(W + "val") if name_el is not None else "") or ""
        m = _HEADING_NAME.match(name.strip()) or _HEADING_NAME.match(sid)
        if m:
            level = int(m.group(1))
        elif name.strip().lower() == "title" or sid.lower() in ("title", "titel"):
            level = 0
        else:
            lvl = st.find(f"{W}pPr/{W}outlineLvl")
            if lvl is not None and (lvl.get(W + "val") or "").isdigit():
                v = int(lvl.get(W + "val") or "9")
                level = v + 1 if v < 9 else None
        own[sid] = level
        base = st.find(W + "basedOn")
        if base is not None and base.get(W + "val"):
            based[sid] = base.get(W + "val") or ""
    levels: dict[str, int] = {}
    for sid in own:
        seen: set[str] = set()
        cur: str | None = sid
        while cur is not None and cur not in seen:
            seen.add(cur)
            if own.get(cur) is not None:
                levels[sid] = own[cur]  # type: ignore[assignment]
                break
            cur = based.get(cur)
    return levels


def _paragraph_level(p: Any, levels: Mapping[str, int]) -> int | None:
    ppr = p.find(W + "pPr")
    if ppr is None:
        return None
    lvl = ppr.find(W + "outlineLvl")
    if lvl is not None and (lvl.get(W + "val") or "").isdigit():
        v = int(lvl.get(W + "val") or "9")
        return v + 1 if v < 9 else None
    ps = ppr.find(W + "pStyle")
    if ps is None:
        return None
    sid = ps.get(W + "val") or ""
    if sid in levels:
        return levels[sid]
    m = _HEADING_NAME.match(sid)
    return int(m.group(1)) if m else None


# --- blocks -----------------------------------------------------------------------------


@dataclass
class _Para:
    text: str
    level: int | None


@dataclass
class _Table:
    rows: list[list[str]]  # cell texts by grid column


_Block = _Para | _Table


def _blocks(container: Any, levels: Mapping[str, int], out: list[_Block]) -> None:
    for child in container:
        tag = child.tag
        if tag == W + "p":
            out.append(_Para(paragraph_text(child), _paragraph_level(child, levels)))
        elif tag == W + "tbl":
            out.append(_Table(_table_rows(child, levels)))
        elif tag == W + "sdt":
            if _placeholder(child):
                continue
            content = child.find(W + "sdtContent")
            if content is not None:
                _blocks(content, levels, out)
        elif tag in (W + "customXml", W + "ins", W + "moveTo", W + "smartTag"):
            _blocks(child, levels, out)
        elif tag == MC + "AlternateContent":
            choice = child.find(MC + "Choice")
            if choice is not None:
                _blocks(choice, levels, out)


def _cells(tr: Any) -> list[Any]:
    out: list[Any] = []
    for child in tr:
        if child.tag == W + "tc":
            out.append(child)
        elif child.tag in (W + "sdt", W + "customXml"):
            inner = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if inner is not None:
                out.extend(_cells(inner))
    return out


def _rows(tbl: Any) -> list[Any]:
    out: list[Any] = []
    for child in tbl:
        if child.tag == W + "tr":
            out.append(child)
        elif child.tag in (W + "sdt", W + "customXml"):
            inner = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if inner is not None:
                out.extend(_rows(inner))
    return out


def _cell_text(tc: Any, levels: Mapping[str, int]) -> str:
    blocks: list[_Block] = []
    _blocks(tc, levels, blocks)
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, _Para):
            if b.text:
                lines.append(b.text)
        else:
            lines.extend(" | ".join(c for c in r if c) for r in b.rows if any(r))
    return "\n".join(lines)


def _table_rows(tbl: Any, levels: Mapping[str, int]) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in _rows(tbl):
        cells: list[str] = []
        trpr = tr.find(W + "trPr")
        if trpr is not None:
            gb = trpr.find(W + "gridBefore")
            if gb is not None and (gb.get(W + "val") or "").isdigit():
                cells.extend([""] * int(gb.get(W + "val") or "0"))
        for tc in _cells(tr):
            span = 1
            tcpr = tc.find(W + "tcPr")
            if tcpr is not None:
                gs = tcpr.find(W + "gridSpan")
                if gs is not None and (gs.get(W + "val") or "").isdigit():
                    span = max(1, min(int(gs.get(W + "val") or "1"), 64))
            cells.append(_cell_text(tc, levels))
            cells.extend([""] * (span - 1))
        rows.append(cells)
    return rows


# --- the initiatives table --------------------------------------------------------------


def _column(header: str) -> Column | None:
    h = _clean_line(header.replace("\n", " ")).lower()
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
    t = _clean_line(text.replace("\n", " ")).lower().rstrip(".!")
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


def _main_part(z: zipfile.ZipFile) -> str:
    from lxml import etree

    from letters.intake import safe_parser

    try:
        root = etree.fromstring(z.read("[Content_Types].xml"), safe_parser())
        for el in root:
            if (el.get("ContentType") or "").lower() == CT_DOCUMENT and el.get("PartName"):
                return (el.get("PartName") or "").lstrip("/")
    except (KeyError, etree.XMLSyntaxError):
        pass
    return "word/document.xml"


def _transitional(xml: bytes) -> bytes:
    """Word's "Strict Open XML" namespace read as the usual (transitional) one."""
    return xml.replace(W_STRICT, W_NS.encode()) if W_STRICT in xml else xml


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
    from lxml import etree

    from letters.intake import safe_parser

    expected = list(dict.fromkeys(expected_goals))
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        main = _main_part(z)
        root = etree.fromstring(_transitional(z.read(main)), safe_parser())
        try:
            styles: bytes | None = _transitional(z.read("word/styles.xml"))
        except KeyError:
            styles = None
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError, OSError) as exc:
        return _not_read(expected, f"the document could not be read ({exc}); it is kept as sent")
    body = root.find(W + "body")
    if body is None:
        return _not_read(expected, "the document has no body; it is kept as sent")
    blocks: list[_Block] = []
    _blocks(body, _style_levels(styles), blocks)
    return _read_blocks(blocks, expected, list(known_goals), dict(goal_titles or {}))


def _read_blocks(
    blocks: list[_Block], expected: list[str], known: list[str], titles: dict[str, str]
) -> FormReading:
    warnings: list[str] = []
    all_keys = list(dict.fromkeys(expected + known))
    keys_re = _key_pattern(all_keys)
    canonical = {k.lower(): k for k in all_keys}

    # 1. the initiatives table(s)
    table_idx = [i for i, b in enumerate(blocks) if isinstance(b, _Table) and b.rows
                 and any(_is_initiatives_header(r) for r in b.rows[:2])]

    # 2. goal headings: styled headings that begin with a key
    heads: dict[int, str] = {}  # block index -> goal key
    pseudo: set[int] = set()
    for i, b in enumerate(blocks):
        if isinstance(b, _Para) and b.level is not None and b.text and keys_re:
            m = keys_re.match(b.text.lstrip())
            if m:
                heads[i] = canonical[m.group(1).lower()]
    found = set(heads.values())
    # paragraphs not styled as headings that look like one ("HM2 – ...")
    for i, b in enumerate(blocks):
        if (isinstance(b, _Para) and b.level is None and b.text and keys_re
                and len(b.text) <= 200 and "\n" not in b.text):
            m = keys_re.match(b.text)
            if m and _SEPARATOR.match(b.text[m.end():]):
                key = canonical[m.group(1).lower()]
                if key not in found:
                    heads[i] = key
                    pseudo.add(i)
                    warnings.append(
                        f"{key}: the paragraph {_quote(b.text)} is not formatted as a heading; "
                        "it was read as the goal's heading"
                    )
    found = set(heads.values())
    # headings that lost their key: match by the goal's title
    for key in expected:
        title = _norm_title(titles.get(key, ""))
        if key in found or not title:
            continue
        for i, b in enumerate(blocks):
            if (isinstance(b, _Para) and b.level is not None and i not in heads
                    and b.text and (_norm_title(b.text) == title
                                    or _norm_title(b.text).endswith(title))):
                heads[i] = key
                warnings.append(
                    f"{key}: the heading {_quote(b.text)} no longer begins with {key}; "
                    "it was matched by the goal's title"
                )
                break
    found = set(heads.values())

    # 3. the text of each section
    goals: dict[str, str] = {}
    headings: dict[str, str] = {}
    for i in sorted(heads):
        key = heads[i]
        head = blocks[i]
        assert isinstance(head, _Para)
        level = None if i in pseudo else head.level
        parts: list[str] = []
        tables = set(table_idx)
        for j in range(i + 1, len(blocks)):
            b = blocks[j]
            if j in heads or j in tables:
                break
            if isinstance(b, _Table):
                parts.extend(" | ".join(c for c in r if c) for r in b.rows if any(r))
                continue
            if b.level is not None and (level is None or b.level <= level):
                break
            if b.level is not None and keys_re and keys_re.match(b.text.lstrip()):
                break
            if b.text:
                parts.append(b.text)
        text = "\n\n".join(p for p in parts if p)
        if key in goals:
            warnings.append(f"{key}: the goal has more than one heading; the texts are joined")
            goals[key] = "\n\n".join(t for t in (goals[key], text) if t)
        else:
            goals[key] = text
            headings[key] = head.text
    for key in goals:
        if key not in expected and expected:
            warnings.append(f"{key}: a heading for a goal that is not one of this form's goals "
                            f"({', '.join(expected)}); its text was read")
    missing = tuple(k for k in expected if k not in found)
    for key in missing:
        what = goal_heading(key, titles[key]) if key in titles else key
        warnings.append(f"{key}: no heading begins with {key}; nothing was read for {what}")
    for key, text in goals.items():
        if not text and key in expected:
            warnings.append(f"{key}: nothing is written under the heading")

    # 4. the initiatives
    initiatives: list[Initiative] = []
    if not table_idx:
        warnings.append(
            "no initiatives table was found (a table with the header row "
            f"{TABLE_HEADER_TEXT}); no initiatives were read"
        )
    elif len(table_idx) > 1:
        warnings.append(f"{len(table_idx)} initiatives tables were found; all their rows were read")
    row_no = 0
    for t in table_idx:
        table = blocks[t]
        assert isinstance(table, _Table)
        hdr_at = 0 if _is_initiatives_header(table.rows[0]) else 1
        header = table.rows[hdr_at]
        cols = _header_map(header)
        names = set(cols.values())
        for col, label in COLUMN_HEADER.items():
            if col is not Column.TITLE and col not in names:
                warnings.append(f"the initiatives table has no {label} column")
        extra = [h for i, h in enumerate(header) if i not in cols and _clean_line(h)]
        for h in extra:
            warnings.append(
                f"the initiatives table has an extra column {_quote(h)}; it was not read"
            )
        for r in table.rows[hdr_at + 1:]:
            if _is_initiatives_header(r) and _header_map(r) == cols:
                continue  # a repeated header row
            cells = {col: _clean("\n".join(x.strip() for x in r[i].split("\n")))
                     if i < len(r) else "" for i, col in cols.items()}
            if not any(cells.values()):
                if any(_clean_line(c) for c in r):
                    row_no += 1
                    warnings.append(f"initiatives row {row_no}: only the extra columns are "
                                    "filled in; the row was not read")
                continue
            row_no += 1
            init, row_warnings = _initiative(cells, row_no, expected, keys_re, canonical)
            initiatives.append(init)
            warnings.extend(row_warnings)

    is_form = bool(set(expected) & found) or bool(table_idx)
    if not is_form:
        asked = ", ".join(expected) if expected else "none"
        warnings.insert(0, "this does not look like the form: no goal heading (goals: "
                           f"{asked}) and no initiatives table were found; the document is "
                           "kept as sent")
    return FormReading(
        goals=goals,
        initiatives=tuple(initiatives),
        warnings=tuple(warnings),
        missing_goals=missing,
        is_form=is_form,
        table_found=bool(table_idx),
        headings=headings,
    )


def _initiative(
    cells: dict[Column, str], row: int, expected: list[str], keys_re: re.Pattern[str] | None,
    canonical: dict[str, str],
) -> tuple[Initiative, list[str]]:
    warnings: list[str] = []
    title = cells.get(Column.TITLE, "")
    if not title:
        warnings.append(f"initiatives row {row}: the Initiativ cell is empty")
    goal_text = cells.get(Column.GOAL, "")
    goal: str | None = None
    if goal_text:
        keys = [canonical[m.group(1).lower()] for m in keys_re.finditer(goal_text)] \
            if keys_re else []
        keys = list(dict.fromkeys(keys))
        if keys:
            goal = keys[0]
            if len(keys) > 1:
                warnings.append(f"initiatives row {row}: several goals named ({', '.join(keys)}); "
                                f"counted under {goal}")
            if expected and goal not in expected:
                warnings.append(f"initiatives row {row}: {goal} is not one of this form's goals "
                                f"({', '.join(expected)})")
        else:
            warnings.append(f"initiatives row {row}: Hovedmål {_quote(goal_text)} names no goal "
                            "key (such as HM2)")
    elif title:
        warnings.append(f"initiatives row {row}: no Hovedmål given")
    amount_text = cells.get(Column.AMOUNT, "")
    parsed = read_dkk(amount_text.replace("\n", " ")) if amount_text else None
    amount = parsed.kroner if parsed is not None else None
    if parsed is not None and parsed.too_large:
        warnings.append(f"initiatives row {row}: the amount {_quote(amount_text)} is not "
                        f"plausible (more than {MAX_DKK_TEXT}); it was not counted")
    elif amount_text and amount is None:
        warnings.append(f"initiatives row {row}: the amount {_quote(amount_text)} could not be "
                        "read as kroner")
    financed_text = cells.get(Column.FINANCED, "")
    financed, understood = _financed(financed_text)
    if not understood:
        warnings.append(f"initiatives row {row}: Finansieret {_quote(financed_text)} is not "
                        "ja, nej or delvist")
    return Initiative(title, goal, amount, amount_text, financed, row, financed_text), warnings


def _norm_title(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _quote(text: str, n: int = 60) -> str:
    one = " ".join(text.split())
    return f"“{one if len(one) <= n else one[: n - 1] + '…'}”"
