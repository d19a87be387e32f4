"""WordprocessingML as a reader sees it: the document as a flat list of blocks.

A block is a paragraph (its text and its heading level, if any) or a table (its rows of cell
texts by grid column). What people do in Word is followed: content controls (an unfilled
placeholder reads as nothing), tracked changes (insertions read, deletions not), runs split
by formatting, soft line breaks, tabs, non-breaking spaces, text boxes and field codes left
out, alternate content read once. Heading levels come from the styles (``heading N`` by name
or id, Danish ``Overskrift N``, an outline level, following ``basedOn``), so documents saved
by Danish Word and LibreOffice read the same; "Strict Open XML" saves read too.

Text conventions: whitespace inside a line (tabs, non-breaking and other spaces, runs of
spaces) becomes one space; a soft line break is ``"\\n"``; table cells keep their
paragraphs separated by ``"\\n"``.

The XML is parsed with entity resolution and the network off (:func:`letters.intake.safe_parser`);
sizes have been checked before (:func:`letters.intake.check_docx`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from letters.intake import safe_parser

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


class UnreadableDocument(Exception):
    """The document cannot be read as WordprocessingML (``cause``: why, in Danish for the
    coordinator; None: it has no body)."""

    def __init__(self, cause: str | None) -> None:
        self.cause = cause
        super().__init__(cause or "the document has no body")


# --- text -------------------------------------------------------------------------------


def clean_line(line: str) -> str:
    return _SPACE.sub(" ", _INVISIBLE.sub("", line)).strip()


def clean(text: str) -> str:
    lines = [clean_line(x) for x in text.split("\n")]
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
    return clean("".join(out))


# --- styles -----------------------------------------------------------------------------


def _style_levels(styles_xml: bytes | None) -> dict[str, int]:
    """styleId -> heading level (1-9; 0 for Title) from word/styles.xml, following basedOn."""
    if not styles_xml:
        return {}
    from lxml import etree


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
class Para:
    text: str
    level: int | None


@dataclass
class Table:
    rows: list[list[str]]  # cell texts by grid column


Block = Para | Table


def _blocks(container: Any, levels: Mapping[str, int], out: list[Block]) -> None:
    for child in container:
        tag = child.tag
        if tag == W + "p":
            out.append(Para(paragraph_text(child), _paragraph_level(child, levels)))
        elif tag == W + "tbl":
            out.append(Table(_table_rows(child, levels)))
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


def _children(parent: Any, tag: str) -> list[Any]:
    """The ``tag`` children of a row or table, also those wrapped in content controls
    (``w:sdt``) or custom XML, however deep."""
    out: list[Any] = []
    for child in parent:
        if child.tag == W + tag:
            out.append(child)
        elif child.tag in (W + "sdt", W + "customXml"):
            inner = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if inner is not None:
                out.extend(_children(inner, tag))
    return out


def _cell_text(tc: Any, levels: Mapping[str, int]) -> str:
    blocks: list[Block] = []
    _blocks(tc, levels, blocks)
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            if b.text:
                lines.append(b.text)
        else:
            lines.extend(" | ".join(c for c in r if c) for r in b.rows if any(r))
    return "\n".join(lines)


def _table_rows(tbl: Any, levels: Mapping[str, int]) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in _children(tbl, "tr"):
        cells: list[str] = []
        trpr = tr.find(W + "trPr")
        if trpr is not None:
            gb = trpr.find(W + "gridBefore")
            if gb is not None and (gb.get(W + "val") or "").isdigit():
                cells.extend([""] * int(gb.get(W + "val") or "0"))
        for tc in _children(tr, "tc"):
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


# --- the document ------------------------------------------------------------------------


def _main_part(z: zipfile.ZipFile) -> str:
    from lxml import etree


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



def document_blocks(data: bytes) -> list[Block]:
    """The blocks of the main document part of the .docx ``data``, in order."""
    from lxml import etree


    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        main = _main_part(z)
        root = etree.fromstring(_transitional(z.read(main)), safe_parser())
        try:
            styles: bytes | None = _transitional(z.read("word/styles.xml"))
        except KeyError:
            styles = None
    except zipfile.BadZipFile:
        raise UnreadableDocument("det er ikke en zip-fil, som et Word-dokument er") from None
    except KeyError as exc:
        m = re.search(r"'([^']+)'", str(exc))
        raise UnreadableDocument("en del af dokumentet mangler"
                                 + (f" ({m.group(1)})" if m else "")) from None
    except etree.XMLSyntaxError as exc:
        raise UnreadableDocument(f"dokumentets XML er ikke gyldig (linje {exc.lineno})") \
            from None
    except (ValueError, OSError) as exc:
        raise UnreadableDocument(f"filen kunne ikke åbnes ({type(exc).__name__})") from None
    body = root.find(W + "body")
    if body is None:
        raise UnreadableDocument(None)
    out: list[Block] = []
    _blocks(body, _style_levels(styles), out)
    return out
