"""Danish amounts to whole kroner."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letters.amounts import parse_dkk


@pytest.mark.parametrize(("text", "kroner"), [
    ("1.500.000 kr.", 1_500_000),
    ("1,5 mio. kr.", 1_500_000),
    ("kr. 250.000", 250_000),
    ("250000", 250_000),
    ("1.5 mio", 1_500_000),
    ("2 mia. kr.", 2_000_000_000),
    ("500 t.kr.", 500_000),
    ("500 t. kr.", 500_000),
    ("500 tkr.", 500_000),
    ("kr. 250.000,-", 250_000),
    ("250.000,- kr.", 250_000),
    ("1.500.000,50 kr.", 1_500_001),
    ("1.500.000,49", 1_500_000),
    ("1 500 000 kr.", 1_500_000),
    ("1\u00a0500\u00a0000\u00a0kr.", 1_500_000),
    ("DKK 750.000", 750_000),
    ("750.000 DKK", 750_000),
    ("750.000 kroner", 750_000),
    ("1,500,000.00", 1_500_000),
    ("250,000", 250_000),
    ("1,500 mio. kr.", 1_500_000),
    ("1.500 mio. kr.", 1_500_000_000),
    ("0,75 mio.", 750_000),
    ("3 millioner kr.", 3_000_000),
    ("1 million", 1_000_000),
    ("ca. 1,2 mio. kr.", 1_200_000),
    ("1,2 mio. kr. årligt", 1_200_000),
    ("1,5mio", 1_500_000),
    ("250000kr.", 250_000),
    ("0", 0),
    ("0 kr.", 0),
    ("  42 kr ", 42),
    ("12,50 kr.", 13),
    ("1.5", 2),
    ("1.500", 1_500),
    ("-50.000 kr.", -50_000),
    ("1,25 mia.", 1_250_000_000),
    ("300 t.kr", 300_000),
])
def test_parse_dkk(text: str, kroner: int) -> None:
    assert parse_dkk(text) == kroner


@pytest.mark.parametrize("text", [
    "", "   ", "kr.", "mio. kr.", "se bilag", "1-2 mio. kr.", "1.50.000", "1.5.0",
    "12 34", "1,5 mio mio", "ja", "250.000 kr. + moms", "1.500,000,00", "x250", "1..5",
    "mio 1,5", "1,5 mio. og 2 mio.",
])
def test_not_one_amount_is_none(text: str) -> None:
    assert parse_dkk(text) is None


@given(st.integers(min_value=0, max_value=10**12))
def test_danish_grouping_round_trips(n: int) -> None:
    grouped = f"{n:,}".replace(",", ".")
    assert parse_dkk(grouped) == n
    assert parse_dkk(f"{grouped} kr.") == n
    assert parse_dkk(f"kr. {grouped},-") == n
    assert parse_dkk(f"{n:,}".replace(",", " ") + " kr.") == n


@given(st.integers(min_value=1, max_value=9999), st.integers(min_value=0, max_value=9))
def test_millions_with_a_decimal_comma(whole: int, tenth: int) -> None:
    assert parse_dkk(f"{whole},{tenth} mio. kr.") == whole * 1_000_000 + tenth * 100_000
