"""Read YAML as the user wrote it, keeping the line of every key.

Values are never coerced behind the user's back: only the YAML 1.2 core schema's
integers, floats, ``null`` and ``true``/``false`` are typed; ``NO``, ``on``, ``05-01``,
``09:00`` and ``2012-04-20T10:00`` stay strings. Duplicate keys are errors, custom tags
(``!!python/object``, ``!secret``) are refused, and aliases are expanded with a bound so a
"billion laughs" file cannot exhaust memory; nesting is bounded too.

The pure-Python parser is used on purpose: libyaml's composer (``yaml._yaml.CParser``) is
~10x faster on our file (1 ms against 14 ms) but crashes the interpreter with a segmentation
fault on a document nested 100,000 levels deep, where the pure parser raises an exception
we can report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from models.problems import Path, Problem, format_path

MAX_NODES = 100_000  # our file has ~500; an alias bomb has billions
MAX_DEPTH = 20  # our file nests 6 deep


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: no yes/no/on/off booleans, no dates, no sexagesimals."""


# (type, the plain scalars that are of it, the characters they may begin with)
_CORE_SCHEMA = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
     list("-+0123456789.")),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
)
_Resolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _CORE_SCHEMA:
    _Resolver.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), _first)


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)


_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass
class Source:
    """A parsed YAML document with the line of every key path (1-based)."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), message, severity)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def _problem(self, node: Node, path: Path, message: str) -> None:
        self.problems.append(
            Problem(self.file, node.start_mark.line + 1, format_path(path), message)
        )

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(path, f"the file expands to more than {MAX_NODES:,} values "
                            "(an alias (*name) repeated over and over?)")
        if len(path) > MAX_DEPTH:
            raise _TooLarge(path, f"values are nested more than {MAX_DEPTH} levels deep "
                            "(an alias (*name) inside its own anchor?)")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _STANDARD_TAGS:
            self._problem(
                node,
                path,
                f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed "
                "(write plain values)",
            )
            return None
        if isinstance(node, MappingNode):
            out: dict[str, Any] = {}
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag not in _KEY_TAGS:
                    self._problem(key_node, path, "a key must be a plain word")
                    continue
                key = str(key_node.value)
                if key == "<<":
                    self._problem(key_node, path, "merge keys (<<) are not supported")
                    continue
                line = key_node.start_mark.line + 1
                if key in out or key in first_line:
                    self._problem(
                        key_node,
                        (*path, key),
                        f"the key {key!r} is given twice (first on line {first_line[key]}); "
                        "keep one",
                    )
                    continue
                first_line[key] = line
                self.lines[(*path, key)] = line
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return _scalar(node)


_KEY_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int"}


class _TooLarge(Exception):
    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message


def _scalar(node: ScalarNode) -> Any:
    value = node.value
    tag = node.tag
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        return int(value)
    if tag == "tag:yaml.org,2002:float":
        return float(value)
    return value


# The parser's own words, and what they mean to someone editing the file. The second item
# says whether the line where the parser *began* the construct (its context) is the one to
# show: an unclosed quote is found at the end of the file but is fixed where it opens.
_SYNTAX: list[tuple[str, str, bool]] = [
    ("while scanning a quoted scalar", "a quoted text is not closed (a \" or ' is missing)",
     True),
    ("unknown escape character", "unknown escape (\\) in a double-quoted text; use single "
     "quotes or write \\\\", False),
    ("while parsing a flow sequence", "a [ ] list is not closed, or its items are not "
     "separated by commas", True),
    ("while parsing a flow mapping", "a { } mapping is not closed, or its items are not "
     "separated by commas", True),
    ("found character '\\t' that cannot start any token", "a tab character; indent with "
     "spaces only", False),
    ("that cannot start any token", "a value cannot begin with this character (%, @ and ` "
     "are reserved in YAML); put the value in quotes", False),
    ("mapping values are not allowed here", "a ': ' where none may be: put text that "
     "contains ': ' in quotes, or check the indentation", False),
    ("could not find expected ':'", "a line with no ':' after its key (or an unclosed "
     "quote)", True),
    ("expected <block end>", "the indentation does not line up: this line is indented "
     "differently from the keys or '- ' items before it", False),
    ("expected a single document", "the file holds more than one document (a line '---'); "
     "keep one", False),
    ("found undefined alias", "an alias (*name) refers to no anchor (&name)", False),
    ("found duplicate anchor", "the same anchor (&name) is defined twice", False),
    ("while parsing a block", "the indentation does not line up here", False),
]


def _unclosed_quote(lines: list[str]) -> int | None:
    """The first line (1-based) where a double-quoted value opens and does not close.

    No value of ours spans lines inside double quotes, so after a syntax error such a
    line is almost surely the cause, even when the parser stumbles much further down.
    """
    for n, line in enumerate(lines, start=1):
        i, inside = 0, False
        while i < len(line):
            ch = line[i]
            if inside:
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    inside = False
            elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
                break
            elif ch == '"' and line[:i].rstrip()[-1:] in ("", ":", "-", "[", ",", "{"):
                inside = True
            i += 1
        if inside:
            return n
    return None


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    upto = (exc.problem_mark.line + 1) if exc.problem_mark else None
    quote = _unclosed_quote(text.split("\n")[:upto])
    if quote is not None:
        message = 'YAML syntax error: a quoted text is not closed (a " is missing)'
        return Problem(file, quote, "(syntax)", message)
    what = f"{exc.context or ''} {exc.problem or ''}"
    for needle, plain, at_context in _SYNTAX:
        if needle in what:
            mark = (exc.context_mark if at_context else None) or exc.problem_mark
            line = mark.line + 1 if mark else 1
            return Problem(file, line, "(syntax)", f"YAML syntax error: {plain}")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    detail = exc.problem or "the file is not valid YAML"
    ctx = f" ({exc.context})" if exc.context else ""
    return Problem(file, line, "(syntax)", f"YAML syntax error: {detail}{ctx}")


# What YAML's reader refuses: control characters other than tab and line breaks,
# surrogates, and the two non-characters.
_UNPRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


_BRACKETS = re.compile(r"[\[\]{}\n]")


def _flow_too_deep(text: str) -> int | None:
    """The line where [ ] or { } nest deeper than MAX_DEPTH, if they do.

    The pure parser needs seconds for 100,000 nested brackets before it gives up, so this
    cheap over-estimate (it also counts brackets inside quotes) runs first.
    """
    depth, line = 0, 1
    for m in _BRACKETS.finditer(text):
        ch = m.group()
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        else:
            depth = max(depth - 1, 0)
    return None


def parse(text: str, file: str) -> tuple[Source, list[Problem]]:
    """Parse ``text``; return the source and any problems (syntax, duplicates, tags)."""
    bad = _UNPRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        return Source(file, None), [
            Problem(
                file,
                line,
                "(file)",
                f"the file contains the control character U+{ord(bad.group()):04X}, "
                "which is not allowed in YAML; remove it",
            )
        ]
    deep = _flow_too_deep(text)
    if deep is not None:
        return Source(file, None), [
            Problem(file, deep, "(syntax)", "values are nested too deeply to read "
                    f"(more than {MAX_DEPTH} levels of [ ] or {{ }})")
        ]
    builder = _Builder(file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        return Source(file, None), [_syntax_problem(exc, text, file)]
    except yaml.YAMLError as exc:
        return Source(file, None), [Problem(file, 1, "(syntax)", f"YAML error: {exc}")]
    except RecursionError:
        return Source(file, None), [
            Problem(file, 1, "(syntax)", "values are nested too deeply to read")
        ]
    if node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return Source(file, None), [
            Problem(file, 1, "(top level)", "the file is empty (it holds no keys)")
        ]
    try:
        data = builder.build(node, ())
    except _TooLarge as exc:
        # name the key where it happens: the first levels of the path, list positions
        # inside the expansion left out (the deepest real key path of the schema has 6)
        top = exc.path[:6]
        while top and isinstance(top[-1], int):
            top = top[:-1]
        return Source(file, None), [
            Problem(file, builder.lines.get(top, 1), format_path(top), exc.message)
        ]
    return Source(file, data, builder.lines), builder.problems
