"""YAML as written: core-schema scalars only, a line for every key path, no surprises."""

from __future__ import annotations

import pytest

from models.yamlsrc import MAX_NODES, Source, parse


def data(text: str) -> object:
    src, problems = parse(text, "t.yaml")
    assert problems == [], problems
    return src.data


@pytest.mark.parametrize(
    "text",
    ["NO", "no", "on", "Off", "yes", "y", "05-01", "09:00", "2012-04-20", "2012-04-20T10:00",
     "0x1F", "0o17", "1_000", ".inf", ".nan", "1:30:00", "=?utf-8?q?x?="],
)
def test_plain_scalars_that_yaml_1_1_would_coerce_stay_strings(text: str) -> None:
    assert data(f"a: {text}\n") == {"a": text}


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("-7", -7), ("5.8", 5.8), ("1e3", 1000.0), ("true", True), ("False", False),
     ("null", None), ("~", None), ("", None), ('"1"', "1"), ("'true'", "true")],
)
def test_core_schema_scalars_are_typed(text: str, value: object) -> None:
    got = data(f"a: {text}\n")
    assert isinstance(got, dict)
    assert got == {"a": value} and type(got["a"]) is type(value)


def test_every_key_path_has_its_line() -> None:
    src, _ = parse("# c\npolicy:\n  years: [2011,\n    2014]\nlist:\n  - a: 1\n    b: 2\n  - x\n",
                   "t.yaml")
    assert isinstance(src, Source)
    assert src.lines[("policy",)] == 2
    assert src.lines[("policy", "years")] == 3
    assert src.lines[("policy", "years", 1)] == 4
    assert src.lines[("list", 0, "b")] == 7
    assert src.lines[("list", 1)] == 8
    # a missing key is placed at its nearest ancestor
    assert src.line_of(("list", 0, "c")) == 6
    assert src.problem(("list", 0, "c"), "m").path == "list[0].c"


def test_duplicate_keys_are_refused_at_the_second_one() -> None:
    src, problems = parse("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "t.yaml")
    assert [(p.line, p.path) for p in problems] == [(4, "b.c"), (5, "a")]
    assert problems[0].message == "the key 'c' is given twice (first on line 3); keep one"
    assert src.data == {"a": 1, "b": {"c": 1}}  # the first value is kept, nothing merged


@pytest.mark.parametrize(
    ("text", "line", "path", "needle"),
    [
        ("a: !!python/object/apply:os.system [x]\n", 1, "a", "!!python/object/apply:os.system"),
        ("a:\n  b: !secret x\n", 2, "a.b", "the tag !secret is not allowed"),
        ("a: !!binary aGk=\n", 1, "a", "!!binary"),
        ("a: !!timestamp 2012-01-01\n", 1, "a", "!!timestamp"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", 3, "c", "merge keys (<<) are not supported"),
        ("? [a, b]\n: 1\n", 1, "(top level)", "a key must be a plain word"),
        ("~: 1\n", 1, "(top level)", "a key must be a plain word"),
        ("true: 1\n", 1, "(top level)", "a key must be a plain word"),
    ],
)
def test_what_the_reader_refuses(text: str, line: int, path: str, needle: str) -> None:
    _, problems = parse(text, "t.yaml")
    assert [(p.line, p.path) for p in problems] == [(line, path)]
    assert needle in problems[0].message


def test_aliases_expand_within_bounds() -> None:
    assert data("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    bomb = "a: &a [" + ", ".join(["x"] * 10) + "]\n"
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    src, problems = parse(bomb, "t.yaml")
    assert src.data is None
    assert [(p.line, p.path) for p in problems] == [(5, "e")]  # 111,111 values under e
    assert f"more than {MAX_NODES:,} values" in problems[0].message


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ('a: 1\nb: "open\nc: 2\n', 2, 'a quoted text is not closed (a " is missing)'),
        ("a: 1\nb: [x, y\nc: 2\n", 2, "a [ ] list is not closed"),
        ("a: {x: 1\nb: 2\n", 1, "a { } mapping is not closed"),
        ("a:\n\t- x\n", 2, "a tab character; indent with spaces only"),
        ("a: 1\nb: x: y\n", 2, "a ': ' where none may be"),
        ("a:\n  b: 1\n c: 2\n", 3, "the indentation does not line up"),
        ("a:\n  b: 1\n  - c\n", 3, "the indentation does not line up"),
        ("a: 1\nb\nc: 2\n", 2, "a line with no ':' after its key"),
        ("a: *nowhere\n", 1, "an alias (*name) refers to no anchor"),
        ("a: 1\n---\nb: 2\n", 2, "more than one document"),
        ('a: "x\\q"\n', 1, "unknown escape"),
        ("a: 1\nunit: %\n", 2, "a value cannot begin with this character"),
        ("a: 1\nb: @x\n", 2, "put the value in quotes"),
    ],
)
def test_syntax_errors_in_plain_words(text: str, line: int, needle: str) -> None:
    src, problems = parse(text, "t.yaml")
    assert src.data is None
    [p] = problems
    assert (p.line, p.path) == (line, "(syntax)")
    assert p.message.startswith("YAML syntax error: ") and needle in p.message


def test_control_characters_and_empty_documents() -> None:
    _, problems = parse("a: 1\nb: x\x07y\n", "t.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (2, "the file contains the control character U+0007, which is not allowed in YAML; "
            "remove it")
    ]
    for text in ("", "\n\n", "# only a comment\n", "---\n"):
        _, problems = parse(text, "t.yaml")
        assert [p.message for p in problems] == ["the file is empty (it holds no keys)"]


def test_deep_block_nesting_is_refused_not_crashed() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(400)) + " " * 400 + "x: 1\n"
    src, problems = parse(text, "t.yaml")
    assert src.data is None and len(problems) == 1
    assert "nested" in problems[0].message
