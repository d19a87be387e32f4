"""Read YAML as the user wrote it, keeping the line of every key.

Values are never coerced behind the user's back: only the YAML 1.2 core schema's
integers, floats, ``null`` and ``true``/``false`` are typed; ``NO``, ``on``, ``05-01``,
``09:00`` and ``2012-04-20T10:00`` stay strings. Duplicate keys are errors, custom tags
are refused, and aliases are expanded with a bound so a "billion laughs" file cannot
exhaust memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from models.problems import Path, Problem, format_path

try:  # the C parser is several times faster; the pure one is identical in behaviour
    from yaml import CParser as _Parser
except ImportError:  # pragma: no cover - libyaml is in the wheels we lock
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]

MAX_NODES = 200_000


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: no yes/no/on/off booleans, no dates, no sexagesimals."""


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?[0-9]+$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null",
    re.compile(r"^(?:~|null|Null|NULL|)$"),
    ["~", "n", "N", ""],
)

if _Parser is yaml.parser.Parser:  # pragma: no cover
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, _Parser, yaml.composer.Composer, _Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Resolver.__init__(self)
else:

    class _Loader(_Parser, _Resolver):  # type: ignore[no-redef,misc]
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
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
            raise _TooLarge(node)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _STANDARD_TAGS:
            self._problem(node, path, f"the tag {node.tag!r} is not allowed here")
            return None
        if isinstance(node, MappingNode):
            out: dict[str, Any] = {}
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:null":
                    self._problem(key_node, path, "a key must be a plain word")
                    continue
                key = str(key_node.value)
                if key == "<<":
                    self._problem(key_node, path, "merge keys (<<) are not supported")
                    continue
                line = key_node.start_mark.line + 1
                if key in out:
                    self._problem(
                        key_node,
                        (*path, key),
                        f"duplicate key {key!r} (first given on line {first_line[key]})",
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


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


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


def parse(text: str, file: str) -> tuple[Source, list[Problem]]:
    """Parse ``text``; return the source and any problems (syntax, duplicates, tags)."""
    loader = _Loader(text)
    builder = _Builder(file)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or "the file is not valid YAML"
        ctx = f" ({exc.context})" if exc.context else ""
        return Source(file, None), [
            Problem(file, line, "(syntax)", f"YAML syntax error: {what}{ctx}")
        ]
    except yaml.YAMLError as exc:
        return Source(file, None), [Problem(file, 1, "(syntax)", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if node is None:
        return Source(file, None), [Problem(file, 1, "(top level)", "the file is empty")]
    try:
        data = builder.build(node, ())
    except _TooLarge as exc:
        return Source(file, None), [
            Problem(
                file,
                exc.node.start_mark.line + 1,
                "(top level)",
                f"the document expands to more than {MAX_NODES} values (aliases?)",
            )
        ]
    return Source(file, data, builder.lines), builder.problems
