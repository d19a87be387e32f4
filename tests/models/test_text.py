"""Unsafe and unbounded text in the wheel file is refused at its line; file names are shown
escaped (models/text.py)."""

from __future__ import annotations

import pytest

from models.config import loads
from models.problems import ConfigError, Problem
from models.text import NAME_MAX, TEXT_MAX, TITLE_MAX, UNIT_MAX, shown
from tests.models.test_config import variant

COMMITTEE = "    name: Økonomiudvalget\n"


def _problem(old: str, new: str) -> Problem:
    with pytest.raises(ConfigError) as info:
        loads(variant(old, new))
    [p] = info.value.problems
    return p


@pytest.mark.parametrize(
    ("escape", "needle"),
    [
        ("\\u202a", "U+202A LEFT-TO-RIGHT EMBEDDING"),
        ("\\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
        ("\\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\\u200d", "U+200D ZERO WIDTH JOINER"),
        ("\\u200f", "U+200F RIGHT-TO-LEFT MARK"),
        ("\\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\\ud800", "U+D800 (a lone surrogate"),
        ("\\udfff", "U+DFFF (a lone surrogate"),
    ],
)
def test_bidi_zero_width_and_surrogates_are_refused_at_their_line(escape: str,
                                                                  needle: str) -> None:
    p = _problem(COMMITTEE, f'    name: "Økonomi{escape}udvalget"\n')
    assert (p.line, p.path) == (21, "committees[0].name")
    assert needle in p.message and "at position 8" in p.message


def test_unsafe_characters_are_refused_in_titles_and_long_text_too() -> None:
    p = _problem("    title: Opfordringsskrivelse til de stående udvalg",
                 '    title: "Opfordrings\\u202eskrivelse"')
    assert p.path == "events[0].title" and "U+202E" in p.message
    p = _problem("    lighthouse: Fordobling af fleksjobpulje",
                 '    lighthouse: "Fordobling af \\u2067fleksjobpulje"')
    assert p.path == "focus_areas[0].lighthouse" and "U+2067" in p.message


@pytest.mark.parametrize(
    ("old", "field", "cap"),
    [
        (COMMITTEE, "name", NAME_MAX),
        ("  name: Københavns Integrationspolitik 2011-2014\n", "name", NAME_MAX),
        ("    title: Opfordringsskrivelse til de stående udvalg\n", "title", TITLE_MAX),
    ],
)
def test_one_line_text_has_a_length_cap(old: str, field: str, cap: int) -> None:
    indent = old[: len(old) - len(old.lstrip())]
    at_cap = f'{indent}{field}: "{"x" * cap}"' + ("\n" if old.endswith("\n") else "")
    loads(variant(old, at_cap))  # exactly the cap is allowed
    p = _problem(old, at_cap.replace("x" * cap, "x" * (cap + 1)))
    assert p.path.endswith(f".{field}") or p.path == field
    assert p.message == f"is {cap + 1:,} characters long; at most {cap:,} are allowed"


def test_every_capped_field_keeps_its_cap() -> None:
    from pydantic import ValidationError

    from models.wheel import Committee, Contact, Deliverable, Event, FocusArea, Goal

    committee = {"key": "BUU", "name": "B", "to": ["a@b.dk"]}
    goal = {"key": "HM1", "title": "T", "unit": "pct.", "direction": "up"}
    cases = [
        (Committee, committee, "name", NAME_MAX), (Committee, committee, "chair", NAME_MAX),
        (Contact, {"name": "N", "email": "a@b.dk"}, "name", NAME_MAX),
        (Goal, goal, "title", TITLE_MAX), (Goal, goal, "unit", UNIT_MAX),
        (Goal, goal, "target_text", TITLE_MAX),
        (FocusArea, {"key": "F", "title": "T", "lighthouse": "L"}, "title", TITLE_MAX),
        (FocusArea, {"key": "F", "title": "T", "lighthouse": "L"}, "lighthouse", TEXT_MAX),
        (Deliverable, {"key": "d", "title": "T", "due": "05-01"}, "title", TITLE_MAX),
        (Event, {"key": "e", "title": "T", "date": "01-20", "do": "letters"}, "title",
         TITLE_MAX),
    ]
    for model, base, field, cap in cases:
        model.model_validate({**base, field: "x" * cap})
        with pytest.raises(ValidationError, match=f"at most {cap:,} are allowed"):
            model.model_validate({**base, field: "x" * (cap + 1)})


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("plain ÆØÅ.docx", "plain ÆØÅ.docx"),
        ("a\x1b[2Jb.docx", "a\\x1b[2Jb.docx"),
        ("line\nbreak\r.csv", "line\\nbreak\\r.csv".replace("\\n", "\\x0a").replace("\\r",
                                                                                   "\\x0d")),
        ("bell\x07\x7f\x9b.csv", "bell\\x07\\x7f\\x9b.csv"),
        ("fil\u202excod.docx", "fil\\u202excod.docx"),
        ("zero\u200bwidth\u2028.docx", "zero\\u200bwidth\\u2028.docx"),
        ("lone\udcff.docx", "lone\\udcff.docx"),
    ],
)
def test_file_names_are_shown_with_controls_escaped(name: str, printed: str) -> None:
    assert shown(name) == printed
    assert all(ch.isprintable() or ch == " " for ch in shown(name))
