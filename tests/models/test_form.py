"""The facts of the form, as the README states them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.form import TABLE_HEADER, TABLE_HEADER_TEXT, begins_with_goal_key, goal_heading


def test_the_initiatives_header_row_is_the_documented_one() -> None:
    assert TABLE_HEADER == ("Initiativ", "Hovedmål", "Beløb (kr.)", "Finansieret")
    assert TABLE_HEADER_TEXT == "Initiativ | Hovedmål | Beløb (kr.) | Finansieret"


def test_a_goal_heading_begins_with_the_key_and_a_space() -> None:
    assert goal_heading("HM2", "Overledigheden") == "HM2 – Overledigheden"
    assert begins_with_goal_key("HM2 – Overledigheden", "HM2")
    assert not begins_with_goal_key("HM21 – Andet", "HM2")
    assert not begins_with_goal_key("HM2: Overledigheden", "HM2")


@given(st.from_regex(r"[A-Z]{1,3}[0-9]{1,2}", fullmatch=True), st.text(max_size=40))
def test_every_heading_the_engine_writes_follows_the_rule(key: str, title: str) -> None:
    assert begins_with_goal_key(goal_heading(key, title), key)
