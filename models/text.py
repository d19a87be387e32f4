"""Text from people: what it may hold, how long it may be, and how a file name is shown.

One place for the checks every text from the wheel file or an imported CSV goes through
(README "Length caps and unsafe characters", "Submissions and imports"):

- :func:`unsafe_problem` finds characters that make text display as something it is not:
  the bidirectional controls (U+202A-202E, U+2066-2069), the zero-width characters and
  direction marks (U+200B-200F), the byte-order mark U+FEFF used as a zero-width no-break
  space, and lone surrogates (not text at all: they cannot be written as UTF-8);
- :func:`capped` builds a pydantic validator that refuses those and text over a length cap
  (the caps below are documented in README "Length caps and unsafe characters");
- :func:`shown` escapes control and invisible characters for printing a file name, so a
  name cannot move the cursor, clear the terminal or hide part of itself.

Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Caps on one-line text in aarshjul.yaml (characters).
NAME_MAX = 120  # policy.name, sender/coordinator names, committees[].name and chair
TITLE_MAX = 200  # titles of focus areas, goals, deliverables and events; goals' target_text
UNIT_MAX = 60  # goals[].unit
TEXT_MAX = 2000  # multi-line text: focus_areas[].lighthouse

# Caps on imported CSV cells (characters): what the state database's columns hold, so that
# SQLite and PostgreSQL take the same files.
SOURCE_MAX = 200  # the barometer's source column
INITIATIVE_MAX = 500  # a budget initiative's title

_UNSAFE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# What shown() escapes: C0 and C1 controls, DEL, the line separators and the unsafe set.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)


def _describe(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} (a lone surrogate, not a character)"
    return f"the invisible character U+{code:04X} {unicodedata.name(ch, 'CONTROL CHARACTER')}"


def unsafe_problem(value: str) -> str | None:
    """Why ``value`` holds a character that hides or reorders text, or None."""
    m = _UNSAFE.search(value)
    if m is None:
        return None
    return (f"contains {_describe(m.group())} at position "
            f"{m.start() + 1}: remove it (it can make the text display differently from "
            "what it is)")


def length_problem(value: str, cap: int) -> str | None:
    """Why ``value`` is too long for ``cap`` characters, or None."""
    if len(value) <= cap:
        return None
    return f"is {len(value):,} characters long; at most {cap:,} are allowed"


def capped(cap: int) -> Callable[[str], str]:
    """A pydantic ``AfterValidator`` that refuses unsafe characters and text over ``cap``."""

    def check(value: str) -> str:
        problem = unsafe_problem(value) or length_problem(value, cap)
        if problem:
            raise ValueError(problem)
        return value

    return check


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(name: object) -> str:
    """``name`` (a file name or path) safe to print: controls and invisible characters as
    ``\\xNN``/``\\uNNNN`` escapes, everything else as it is."""
    return _UNPRINTABLE.sub(_escape, str(name))


# What Markdown (CommonMark with the GFM tables and autolinks the Prefect UI renders) reads as
# markup inside a line: links and images ([ ] !), raw HTML and autolinks (< >), emphasis
# (* _ ~), code (`), table cells (|) and the escape itself.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|!~#&])")
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")


def _unlink(m: re.Match[str]) -> str:
    return r":\/\/" if m.group() == "://" else m.group()[:-1] + r"\."


def markdown_text(value: object) -> str:
    """``value`` as literal text inside a line of Markdown (README "Text from forms and the
    wheel in artifacts"). Markup characters are backslash-escaped, so a
    committee's ``![x](http://evil)``, ``[klik](javascript:...)``, ``<img>`` or ``|`` shows as
    written and renders as no image, link, HTML or table cell; bare URLs are not linked;
    line breaks become spaces (no new block can start)."""
    text = " ".join(str(value).splitlines())
    return _AUTOLINK.sub(_unlink, _MARKDOWN.sub(r"\\\1", text))


def markdown_code_block(text: str) -> str:
    """``text`` as a fenced Markdown code block whose fence no backtick run inside can
    close (so the text cannot break out of the block)."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}\n{body}{fence}\n"
