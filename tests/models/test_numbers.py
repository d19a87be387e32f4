"""Danish numbers: written (dansk_tal, format_dkk, ...) and read (parse_dkk)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.numbers import (
    MAX_DKK,
    MAX_DKK_TEXT,
    count_text,
    dansk_tal,
    end_sentence,
    format_dkk,
    format_mio_dkk,
    parse_dkk,
    read_dkk,
    with_unit,
)


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


@pytest.mark.parametrize("text", [
    "99999999999999999999999999 mia. kr.",
    "9" * 76 + " kr",
    "1.001 mia. kr.",
    "1.000.000.000.001 kr.",
    "-2.000 mia. kr.",
    "999999999999 mio.",
])
def test_an_implausible_amount_is_refused_not_a_crash(text: str) -> None:
    assert read_dkk(text).too_large
    assert read_dkk(text).kroner is None
    assert parse_dkk(text) is None


def test_the_bound_itself_is_an_amount() -> None:
    assert parse_dkk(MAX_DKK_TEXT) == MAX_DKK
    assert parse_dkk("1.000.000.000.000 kr.") == MAX_DKK
    assert not read_dkk("1,5 mio. kr.").too_large
    assert not read_dkk("se bilag").too_large  # not an amount at all, not a large one


def test_a_narrow_decimal_context_does_not_matter() -> None:
    import decimal

    with decimal.localcontext(decimal.Context(prec=3, traps=[decimal.Inexact])):
        assert parse_dkk("1.500.000,50 kr.") == 1_500_001
        assert read_dkk("99999999999999999999999999 mia. kr.").too_large


@given(st.text(max_size=120))
def test_parse_dkk_never_raises(text: str) -> None:
    reading = read_dkk(text)
    assert reading.kroner is None or abs(reading.kroner) <= MAX_DKK
    assert parse_dkk(text) == reading.kroner


@given(st.from_regex(r"[-+]?[0-9.,]{1,40} ?(mia|mio|t\.kr|kr|,-|dkk)?\.?", fullmatch=True))
def test_parse_dkk_never_raises_on_number_like_text(text: str) -> None:
    reading = read_dkk(text)
    assert reading.kroner is None or abs(reading.kroner) <= MAX_DKK


@pytest.mark.parametrize(("value", "text"), [
    (5.8, "5,8"), (1234.5, "1.234,5"), (7, "7"), (-0.25, "-0,25"), (1_000_000, "1.000.000"),
    (2.999, "3"), (float("nan"), "–"), (10**20, "100.000.000.000.000.000.000"),
])
def test_dansk_tal(value: float, text: str) -> None:
    assert dansk_tal(value) == text


def test_amounts_and_units_as_written() -> None:
    assert format_dkk(1_500_000) == "1.500.000 kr."
    assert format_dkk(0) == "0 kr." and format_dkk(-50_000) == "-50.000 kr."
    assert format_mio_dkk(1_500_000) == "1,5 mio. kr."
    assert format_mio_dkk(250_000) == "0,25 mio. kr."
    assert format_mio_dkk(2_000_000_000) == "2.000 mio. kr."
    assert with_unit(7.4, "%") == "7,4 %" and with_unit(3, "") == "3"
    assert parse_dkk(format_mio_dkk(1_234_000)) == 1_230_000


def test_a_sentence_ending_in_an_amount_has_one_full_stop() -> None:
    assert end_sentence(f"bevilget {format_dkk(2_550_000)}") == "bevilget 2.550.000 kr."
    assert end_sentence("1 mangler") == "1 mangler."
    assert end_sentence("færdig. ") == "færdig."


def test_count_text_agrees_in_number() -> None:
    assert count_text(1, "rettidig", "rettidige") == "1 rettidig"
    assert count_text(2, "rettidig", "rettidige") == "2 rettidige"
    assert count_text(0, "rettidig", "rettidige") == "0 rettidige"


@given(st.integers(min_value=-MAX_DKK, max_value=MAX_DKK))
def test_format_dkk_round_trips(n: int) -> None:
    assert parse_dkk(format_dkk(n)) == n
