"""Fast rendering of Word templates (.docx with Jinja tags).

A template is compiled once (:class:`DocxTemplate`) and rendered per letter:

1. The zip is opened once. Every XML part that can carry text (``word/document.xml``,
   headers, footers, foot- and endnotes) and contains ``{`` is pre-processed with lxml:

   - **Split tags are merged.** Word and LibreOffice break text into runs (``<w:r>``)
     wherever formatting, spelling marks or revision ids (rsid) change, so ``{{ x }}`` is
     often stored as ``{{ `` + ``x`` + `` }}`` in three runs. Within a paragraph the tag's
     text is moved into the run where it starts (that run's formatting wins). A tag that is
     not closed within its paragraph cannot be repaired and is reported.
   - Typographic quotes that Word's AutoCorrect puts inside tags (“ ” ‘ ’) become ASCII.
   - **Row and paragraph loops are hoisted** (the docxtpl convention): a table row holding
     ``{%tr for g in goals %}`` is replaced by ``{% for g in goals %}`` (and likewise
     ``{%tr endfor %}``, ``{%tr if ... %}``), so the rows between repeat; a paragraph
     holding ``{%p ... %}`` is replaced by the bare tag. The row/paragraph must hold
     nothing but the tag (otherwise its text would vanish: reported).
   - A newline is put before every paragraph, so a Jinja line number is a paragraph number
     (counted from the top of the part, table cells included): errors name the paragraph.

2. ONE Jinja template per part is compiled in the project's sandbox
   (:func:`letters.sandbox.environment`: templates are edited by users, and every render is
   bounded in loops, sizes and time) with ``autoescape=True`` (XML escaping) and
   ``StrictUndefined``. The environment is created once, at import.

3. Per letter only the tagged parts are rendered; the output zip is written by hand: the
   untouched members' local headers and already-compressed bytes are one precomputed blob,
   then the rendered parts (deflated), then the central directory. The output is
   deterministic (same data, same bytes).

Values: ``& < > " '`` are escaped, æøå pass through, a newline becomes ``<w:br/>`` and a tab
``<w:tab/>``, ``None`` prints as nothing. Other control characters (which XML 1.0 cannot
carry) are **removed, with a warning logged** on the ``letters.render`` logger.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markupsafe import Markup, escape

from letters import TEMPLATES_DIR, docprops
from letters.docxzip import ZipWriter
from letters.limits import LimitError
from letters.sandbox import environment

log = logging.getLogger("letters.render")


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_P = f"{{{W_NS}}}p"
W_T = f"{{{W_NS}}}t"
W_TR = f"{{{W_NS}}}tr"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

TEXT_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
MAX_TEMPLATE_BYTES = 20_000_000
MAX_PART_BYTES = 20_000_000  # uncompressed, checked before a member is read

TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
OPEN_RE = re.compile(r"\{\{|\{%|\{#")
HOIST_RE = re.compile(r"^\{%(-?)\s*(tr|p)\s(.*?)(-?)%\}$", re.S)
HOIST_ANY_RE = re.compile(r"\{%-?\s*(tr|p)\s")
QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "«": '"', "»": '"'})


class TemplateError(Exception):
    """A template that cannot be used: carries every problem found."""

    def __init__(self, path: Path, problems: list[TemplateProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


class RenderError(Exception):
    """Rendering failed (an undefined variable, a refused operation, ...)."""

    def __init__(self, path: Path, problem: TemplateProblem) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class TemplateProblem:
    part: str  # e.g. word/document.xml
    paragraph: int  # 1-based, 0 = before the first paragraph
    message: str
    text: str = ""  # the paragraph's text, for the reader

    def __str__(self) -> str:
        where = f"{self.part} paragraph {self.paragraph}" if self.paragraph else self.part
        shown = f" («{_shorten(self.text)}»)" if self.text else ""
        return f"{where}{shown}: {self.message}"


def _shorten(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- values -------------------------------------------------------------------------------

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'
_TAB = '</w:t><w:tab/><w:t xml:space="preserve">'


def clean_text(value: str) -> str:
    """``value`` without the control characters XML cannot carry (a warning is logged)."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _BAD_CHARS.search(value):
        log.warning("removed control characters from a value: %r", _shorten(value, 40))
        value = _BAD_CHARS.sub("", value)
    return value


_SPECIAL = re.compile("[\x00-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def xml_value(value: Any) -> Any:
    """Jinja ``finalize`` for the .docx parts: escape for XML, line breaks and tabs as Word's.

    The common case (text without control characters) is returned as it is: Jinja's
    autoescape escapes it once. Only text with a newline or tab becomes Markup here.
    """
    if type(value) is str:
        if _SPECIAL.search(value) is None:
            return value
        s = value
    elif value is None:
        return ""
    elif isinstance(value, Markup):
        return value
    else:
        s = str(value)  # StrictUndefined raises here
        if _SPECIAL.search(s) is None:
            return s
    if "\r" in s or _BAD_CHARS.search(s):
        s = clean_text(s)
    out = str(escape(s))
    if "\n" in out:
        out = out.replace("\n", _BREAK)
    if "\t" in out:
        out = out.replace("\t", _TAB)
    return Markup(out)  # noqa: S704 - escaped above; only our own <w:br/>/<w:tab/> added


ENV = environment(autoescape=True, finalize=xml_value)  # the .docx parts: one per process
_ENV_LOCK = threading.Lock()


# --- pre-processing -------------------------------------------------------------------------


@dataclass
class PreparedPart:
    name: str
    source: str  # the Jinja source (XML with tags), one line per paragraph
    lines: list[int]  # line (0-based) -> paragraph number
    texts: dict[int, str]  # paragraph number -> its text (for messages)
    problems: list[TemplateProblem]
    has_tags: bool


def _own_texts(p: Any) -> list[Any]:
    """The ``w:t`` of paragraph ``p``, not those of paragraphs nested in it (text boxes)."""
    out = []
    for t in p.iter(W_T):
        anc = t.getparent()
        while anc is not None and anc.tag != W_P:
            anc = anc.getparent()
        if anc is p:
            out.append(t)
    return out


def _merge_paragraph(p: Any, n: int, part: str, problems: list[TemplateProblem]) -> str:
    """Move every tag's text into the ``w:t`` where it starts; return the paragraph text."""
    ts = _own_texts(p)
    texts = [t.text or "" for t in ts]
    full = "".join(texts)
    if "{" not in full:
        return full
    owner: list[int] = []
    for i, s in enumerate(texts):
        owner.extend([i] * len(s))
    spans = [m.span() for m in TAG_RE.finditer(full)]
    rest = TAG_RE.sub(lambda m: " " * len(m.group()), full)
    chars = list(full)
    changed = False
    for m in OPEN_RE.finditer(rest):
        problems.append(
            TemplateProblem(
                part, n,
                f"the tag starting «{_shorten(full[m.start():], 30)}» is not closed in this "
                "paragraph (a tag must begin and end in the same paragraph; retype it)",
                full,
            )
        )
        chars[m.start()] = "{\u200b"  # defused, so the rest of the part can still be checked
        changed = True
    for s, e in spans:
        first = owner[s]
        if owner[e - 1] != first:
            changed = True
            for k in range(s, e):
                owner[k] = first
    for s, e in spans:
        tag = full[s:e]
        fixed = tag.translate(QUOTES)
        if fixed != tag:
            changed = True
            chars[s:e] = list(fixed)
    if changed:
        new = [""] * len(ts)
        parts: list[list[str]] = [[] for _ in ts]
        for k, ch in enumerate(chars):
            parts[owner[k]].append(ch)
        new = ["".join(x) for x in parts]
        for t, s in zip(ts, new, strict=True):
            t.text = s
    for t in ts:
        if t.text and ("{{" in t.text or "{%" in t.text):
            t.set(XML_SPACE, "preserve")
    return "".join(chars)


def prepare_part(name: str, data: bytes) -> PreparedPart:
    """Pre-process one XML part: merge split tags, hoist row/paragraph tags, number lines."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             remove_blank_text=False)
    root = etree.fromstring(data, parser)
    problems: list[TemplateProblem] = []
    paras = list(root.iter(W_P))
    texts: dict[int, str] = {}
    number: dict[Any, int] = {}
    for n, p in enumerate(paras, 1):
        number[p] = n
    for n, p in enumerate(paras, 1):
        texts[n] = _merge_paragraph(p, n, name, problems)
    has_tags = any(TAG_RE.search(t) for t in texts.values())

    # hoist {%tr %} and {%p %}
    hoisted: list[tuple[str, int, int, int]] = []  # (tag, first par, count, tag par)
    for kind in ("tr", "p"):
        for n, p in enumerate(paras, 1):
            if p.getroottree().getroot() is not root:  # detached with a hoisted row
                continue
            text = texts[n]
            if not HOIST_ANY_RE.search(text):
                continue
            tags = [m.group() for m in TAG_RE.finditer(text) if HOIST_RE.match(m.group())]
            tags = [t for t in tags if HOIST_RE.match(t).group(2) == kind]  # type: ignore[union-attr]
            if not tags:
                continue

            def defuse(p: Any = p, tags: list[str] = tags) -> None:
                """Drop a tag that cannot be hoisted, so the rest can still be checked."""
                for t in _own_texts(p):
                    for tag in tags:
                        if t.text and tag in t.text:
                            t.text = t.text.replace(tag, "")
            if kind == "tr":
                el = p.getparent()
                while el is not None and el.tag != W_TR:
                    el = el.getparent()
                if el is None:
                    problems.append(TemplateProblem(
                        name, n, "a {%tr ...%} tag must stand in a table row", text))
                    defuse()
                    continue
            else:
                el = p
            inner = [q for q in el.iter(W_P)]
            all_text = "".join(texts.get(number.get(q, 0), "") for q in inner)
            leftover = all_text
            for t in tags:
                leftover = leftover.replace(t, "", 1)
            if len(tags) > 1:
                problems.append(TemplateProblem(
                    name, n, f"only one {{%{kind} ...%}} tag may stand in a "
                    f"{'row' if kind == 'tr' else 'paragraph'}", text))
                defuse()
                continue
            if leftover.strip():
                where = "row" if kind == "tr" else "paragraph"
                problems.append(TemplateProblem(
                    name, n, f"the {where} of a {{%{kind} ...%}} tag must hold nothing else; "
                    f"«{_shorten(leftover.strip(), 30)}» would be lost", text))
                defuse()
                continue
            mm = HOIST_RE.match(tags[0])
            assert mm is not None
            tag = "{%" + mm.group(1) + " " + mm.group(3).strip() + " " + mm.group(4) + "%}"
            first = number.get(inner[0], n) if inner else n
            placeholder = etree.Element("ajhoist", k=str(len(hoisted)))
            hoisted.append((tag, first, len(inner), n))
            parent = el.getparent()
            placeholder.tail = el.tail
            parent.replace(el, placeholder)

    for el in root.iter():
        if el.text and ("\n" in el.text or "\r" in el.text):
            el.text = el.text.replace("\r", " ").replace("\n", " ")
        if el.tail and ("\n" in el.tail or "\r" in el.tail):
            el.tail = el.tail.replace("\r", " ").replace("\n", " ")
    for p, n in number.items():
        p.set("ajn", str(n))
    body = etree.tostring(root, encoding="unicode")
    lines = [0]

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is not None:  # a paragraph
            lines.append(int(m.group(3)))
            return "\n<" + m.group(1) + m.group(2)
        tag, first, count, at = hoisted[int(m.group(4))]
        out = []
        for k in range(first, first + max(count, 1)):
            lines.append(k)
            out.append("\n")
            if k == at or (count == 0 and k == first):
                out.append(tag)
        if at not in range(first, first + max(count, 1)):
            out.append(tag)
        return "".join(out)

    body = re.sub(
        r'<((?:\w+:)?p)\b([^>]*?) ajn="(\d+)"|<ajhoist\b[^>]*? k="(\d+)"[^>]*/>', sub, body
    )
    body = TAG_RE.sub(lambda m: html.unescape(m.group()), body)
    source = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + body
    return PreparedPart(name, source, lines, texts, problems, has_tags)


# --- the template -------------------------------------------------------------------------------


class DocxTemplate:
    """A .docx template compiled once; :meth:`render` makes one letter's bytes."""

    def __init__(self, path: Path, env: jinja2.Environment | None = None) -> None:
        self.path = Path(path)
        self.env = env or ENV
        raw = self.path.read_bytes()
        if len(raw) > MAX_TEMPLATE_BYTES:
            raise TemplateError(self.path, [TemplateProblem("(file)", 0, "larger than 20 MB")])
        try:
            zf = zipfile.ZipFile(BytesIO(raw))
        except zipfile.BadZipFile:
            raise TemplateError(
                self.path, [TemplateProblem("(file)", 0, "not a .docx file (not a zip archive)")]
            ) from None
        names = zf.namelist()
        if "word/document.xml" not in names:
            raise TemplateError(
                self.path,
                [TemplateProblem("(file)", 0, "not a Word document (no word/document.xml)")],
            )
        self.problems: list[TemplateProblem] = []
        self.parts: dict[str, PreparedPart] = {}
        self.compiled: dict[str, jinja2.Template] = {}
        for info in zf.infolist():
            if not TEXT_PARTS.match(info.filename):
                continue
            if info.file_size > MAX_PART_BYTES:
                raise TemplateError(
                    self.path, [TemplateProblem(info.filename, 0, "part larger than 20 MB")]
                )
            data = zf.read(info)
            if b"{" not in data:
                continue
            try:
                prepared = prepare_part(info.filename, data)
            except Exception as exc:  # lxml.etree.XMLSyntaxError and kin
                self.problems.append(TemplateProblem(info.filename, 0, f"not valid XML: {exc}"))
                continue
            self.problems += prepared.problems
            if not prepared.has_tags:
                continue
            self.parts[info.filename] = prepared
            try:
                with _ENV_LOCK:
                    self.compiled[info.filename] = self.env.from_string(prepared.source)
            except jinja2.TemplateSyntaxError as exc:
                self.problems.append(self._problem(prepared, exc.lineno, _syntax_message(exc)))
        self.order = list(self.compiled)
        self.writer = ZipWriter(raw, zf, self.order)
        self._raw = raw
        self._stamped: tuple[docprops.Stamp, ZipWriter] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def _problem(self, part: PreparedPart, lineno: int | None, message: str) -> TemplateProblem:
        n = part.lines[lineno - 1] if lineno and 0 < lineno <= len(part.lines) else 0
        return TemplateProblem(part.name, n, message, part.texts.get(n, ""))

    def check(self, contexts: list[Mapping[str, Any]]) -> list[TemplateProblem]:
        """Problems found by rendering with representative ``contexts`` (for the checker).

        Names a template uses that no context provides are all reported with their
        paragraph (found in the syntax tree); then each context is rendered, which finds
        misspelt attributes (``committee.navn``) and refused operations, one per part.
        """

        found: list[TemplateProblem] = []
        known = set().union(*(c.keys() for c in contexts)) if contexts else set()
        for name, part in self.parts.items():
            if name not in self.compiled:
                continue
            ast = self.env.parse(part.source)
            missing = meta.find_undeclared_variables(ast) - known
            for node in ast.find_all(nodes.Name):
                if node.ctx == "load" and node.name in missing:
                    found.append(self._problem(
                        part, node.lineno, f"undefined: {node.name!r} is not a name this "
                        f"template can use (known: {', '.join(sorted(known))})"))
                    missing.discard(node.name)
            if found:
                continue
            seen: set[str] = set()
            for ctx in contexts:
                try:
                    self.compiled[name].render(ctx)
                except Exception as exc:
                    p = self._runtime_problem(name, exc)
                    if str(p) not in seen:
                        seen.add(str(p))
                        found.append(p)
                    if isinstance(exc, LimitError):
                        break  # the template's, not the data's: the other contexts say the same
        return found

    def _raise_if_broken(self) -> None:
        if self.problems:
            raise TemplateError(self.path, self.problems)

    def render_parts(self, context: Mapping[str, Any]) -> dict[str, str]:
        """The rendered XML of every tagged part."""
        self._raise_if_broken()
        out: dict[str, str] = {}
        for name in self.order:
            try:
                out[name] = self.compiled[name].render(context)
            except Exception as exc:
                raise RenderError(self.path, self._runtime_problem(name, exc)) from exc
        return out

    def render(self, context: Mapping[str, Any],
               properties: Mapping[str, str] | None = None) -> bytes:
        """One letter: a .docx file's bytes. ``properties`` are written as custom document
        properties (a form's identity: ``letters.docprops.FormIdentity.properties()``)."""
        if self.problems:
            self._raise_if_broken()
        contents = []
        for name in self.order:
            try:
                contents.append(self.compiled[name].render(context).encode("utf-8"))
            except Exception as exc:
                raise RenderError(self.path, self._runtime_problem(name, exc)) from exc
        if properties is None:
            return self.writer.write(contents)
        if self._stamped is None:  # once per template: the package with the custom part
            stamp = docprops.Stamp.of(self._raw)
            zf = zipfile.ZipFile(BytesIO(stamp.package))
            own = [stamp.part] if stamp.exists else []
            self._stamped = (stamp, ZipWriter(stamp.package, zf, [*self.order, *own],
                                              [] if stamp.exists else [stamp.part],
                                              stored=[stamp.part]))
        stamp, writer = self._stamped
        return writer.write([*contents, stamp.custom_xml(properties)])

    def _runtime_problem(self, name: str, exc: Exception) -> TemplateProblem:
        lineno = None
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<template>":
                lineno = tb.tb_lineno
            tb = tb.tb_next
        return self._problem(self.parts[name], lineno, runtime_message(exc))


def _syntax_message(exc: jinja2.TemplateSyntaxError) -> str:
    return f"Jinja syntax error: {exc.message}"


def runtime_message(exc: Exception) -> str:
    from jinja2.exceptions import SecurityError

    if isinstance(exc, SecurityError):
        return f"refused by the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


_cache: dict[tuple[Path, str], DocxTemplate] = {}
_cache_lock = threading.Lock()


def template_path(name: str, directory: Path | None = None) -> Path:
    return (directory or TEMPLATES_DIR) / f"{name}.docx"


def template(name: str, templates_dir: Path | None = None) -> DocxTemplate:
    """The compiled template ``name`` (without .docx), cached per (directory, name).

    Raises :class:`TemplateError` when the template has problems (run ``aarshjul check``).
    The cache is keyed on the file's modification time and size as well, so an edited
    template is recompiled.
    """
    path = template_path(name, templates_dir)
    st = path.stat()
    key = (path.resolve(), f"{name}:{st.st_mtime_ns}:{st.st_size}")
    t = _cache.get(key)
    if t is None:
        with _cache_lock:
            t = _cache.get(key)
            if t is None:
                t = DocxTemplate(path)
                t._raise_if_broken()
                _cache[key] = t
    return t
