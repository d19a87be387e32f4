"""Business days (README "Business days"): properties against an independent oracle, and named
days.

The oracle below does not use the ``holidays`` package: it computes the Danish public
holidays from Easter (the Gregorian computus), so a mistake in how
:class:`models.calendar.BusinessCalendar` asks the package shows up here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calendar import BusinessCalendar, Roll

# --- independent oracle ---------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Meeus/Jones/Butcher algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def dk_public_holidays(year: int) -> set[date]:
    """Danish public holidays by law (helligdagsloven); Store Bededag until 2023."""
    e = easter_sunday(year)
    days = {
        date(year, 1, 1),  # Nytårsdag
        e - timedelta(days=3),  # Skærtorsdag
        e - timedelta(days=2),  # Langfredag
        e,  # Påskedag
        e + timedelta(days=1),  # 2. påskedag
        e + timedelta(days=39),  # Kristi Himmelfartsdag
        e + timedelta(days=49),  # Pinsedag
        e + timedelta(days=50),  # 2. pinsedag
        date(year, 12, 25),  # Juledag
        date(year, 12, 26),  # 2. juledag
    }
    if year <= 2023:  # Store Bededag, abolished from 2024
        days.add(e + timedelta(days=26))
    return days


Closed = frozenset[tuple[int, int]]  # (month, day) pairs closed every year


def oracle_is_business_day(d: date, closed: Closed) -> bool:
    return (
        d.weekday() < 5 and d not in dk_public_holidays(d.year) and (d.month, d.day) not in closed
    )


# --- strategies ---------------------------------------------------------------------------

YEARS = st.integers(2011, 2030)
MONTH_DAYS = st.dates(date(2001, 1, 1), date(2001, 12, 31)).map(lambda d: (d.month, d.day))
CLOSED = st.frozensets(MONTH_DAYS, max_size=8)
ROLLS: st.SearchStrategy[Roll] = st.sampled_from(["keep", "previous", "next"])


@st.composite
def day_in_years(draw: st.DrawFn) -> date:
    year = draw(YEARS)
    return draw(st.dates(date(year, 1, 1), date(year, 12, 31)))


PROPS = settings(max_examples=150, deadline=None)


# --- properties ---------------------------------------------------------------------------


@PROPS
@given(d=day_in_years(), closed=CLOSED)
def test_business_day_matches_the_oracle(d: date, closed: Closed) -> None:
    cal = BusinessCalendar("DK", tuple(closed))
    for day in (d + timedelta(days=k) for k in range(-7, 8)):
        assert cal.is_business_day(day) == oracle_is_business_day(day, closed), day


@PROPS
@given(d=day_in_years(), closed=CLOSED, how=ROLLS)
def test_a_moved_day_is_a_business_day_except_keep(d: date, closed: Closed, how: Roll) -> None:
    moved = BusinessCalendar("DK", tuple(closed)).roll(d, how)
    if how == "keep":
        assert moved == d
    else:
        assert oracle_is_business_day(moved, closed)
    if oracle_is_business_day(d, closed):
        assert moved == d


@PROPS
@given(d=day_in_years(), closed=CLOSED, how=ROLLS)
def test_a_move_never_crosses_a_business_day(d: date, closed: Closed, how: Roll) -> None:
    moved = BusinessCalendar("DK", tuple(closed)).roll(d, how)
    if how == "previous":
        assert moved <= d
    elif how == "next":
        assert moved >= d
    lo, hi = min(d, moved), max(d, moved)
    between = [lo + timedelta(days=k) for k in range(1, (hi - lo).days)]
    assert not [x for x in between if oracle_is_business_day(x, closed)]
    # the nominal day itself is passed over only when it is not a business day
    if moved != d:
        assert not oracle_is_business_day(d, closed)


@PROPS
@given(d=day_in_years(), closed=CLOSED)
def test_next_and_previous_are_strict_and_adjacent(d: date, closed: Closed) -> None:
    cal = BusinessCalendar("DK", tuple(closed))
    nxt, prev = cal.next_business_day(d), cal.previous_business_day(d)
    assert prev < d < nxt
    assert oracle_is_business_day(nxt, closed) and oracle_is_business_day(prev, closed)
    assert cal.business_days(prev, nxt) == [
        x for x in (prev, d, nxt) if oracle_is_business_day(x, closed)
    ]


# --- named days ---------------------------------------------------------------------------

DK = BusinessCalendar("DK", ((12, 24), (12, 31)))


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        pytest.param("keep", date(2011, 5, 1), id="1-may-2011-sunday-keep-stays-sunday"),
        pytest.param("previous", date(2011, 4, 29), id="1-may-2011-sunday-previous-friday-29-apr"),
        pytest.param("next", date(2011, 5, 2), id="1-may-2011-sunday-next-monday-2-may"),
    ],
)
def test_1_may_2011_a_sunday(how: Roll, expected: date) -> None:
    assert date(2011, 5, 1).weekday() == 6
    assert DK.roll(date(2011, 5, 1), how) == expected


@pytest.mark.parametrize(
    ("day", "business"),
    [
        pytest.param(date(2012, 5, 1), True, id="1-may-2012-tuesday-not-a-statutory-holiday"),
        pytest.param(date(2012, 5, 4), False, id="store-bededag-2012-fri-4-may"),
        pytest.param(date(2013, 4, 26), False, id="store-bededag-2013-fri-26-apr"),
        pytest.param(date(2023, 5, 5), False, id="store-bededag-2023-fri-5-may-the-last"),
        pytest.param(date(2024, 4, 26), True, id="store-bededag-2024-abolished-fri-26-apr"),
        pytest.param(date(2012, 5, 17), False, id="kristi-himmelfart-2012-thu-17-may"),
        pytest.param(date(2012, 5, 18), True, id="friday-after-kristi-himmelfart-2012"),
        pytest.param(date(2013, 5, 9), False, id="kristi-himmelfart-2013-thu-9-may"),
        pytest.param(date(2013, 5, 10), True, id="friday-after-kristi-himmelfart-2013"),
        pytest.param(date(2012, 4, 5), False, id="skaertorsdag-2012"),
        pytest.param(date(2012, 4, 6), False, id="langfredag-2012"),
        pytest.param(date(2012, 4, 9), False, id="2-paaskedag-2012"),
        pytest.param(date(2012, 5, 28), False, id="2-pinsedag-2012"),
        pytest.param(date(2012, 5, 29), True, id="tuesday-after-2-pinsedag-2012"),
        pytest.param(date(2012, 6, 5), True, id="grundlovsdag-2012-not-a-public-holiday"),
        pytest.param(date(2012, 12, 24), False, id="juleaften-2012-closed-day"),
        pytest.param(date(2012, 12, 27), True, id="27-dec-2012-between-the-holidays"),
        pytest.param(date(2012, 12, 31), False, id="nytaarsaften-2012-closed-day"),
        pytest.param(date(2013, 1, 1), False, id="nytaarsdag-2013"),
    ],
)
def test_named_days(day: date, business: bool) -> None:
    assert DK.is_business_day(day) is business


def test_friday_after_ascension_is_closed_when_listed_in_closed_days() -> None:
    cal = BusinessCalendar("DK", ((5, 18),))
    assert not cal.is_business_day(date(2012, 5, 18))
    # Thu 17 May holiday, Fri 18 May closed, weekend: the next business day is Mon 21 May
    assert cal.roll(date(2012, 5, 17), "next") == date(2012, 5, 21)
    assert cal.roll(date(2012, 5, 18), "previous") == date(2012, 5, 16)
    # closed_days are every year: 18 May 2013 is a Saturday anyway, Fri 10 May 2013 is open
    assert cal.is_business_day(date(2013, 5, 10))


@pytest.mark.parametrize(
    ("day", "how", "expected"),
    [
        pytest.param(date(2012, 4, 6), "previous", date(2012, 4, 4), id="easter-2012-previous"),
        pytest.param(date(2012, 4, 6), "next", date(2012, 4, 10), id="easter-2012-next"),
        pytest.param(date(2012, 5, 4), "previous", date(2012, 5, 3), id="store-bededag-2012-prev"),
        pytest.param(date(2012, 5, 4), "next", date(2012, 5, 7), id="store-bededag-2012-next"),
        pytest.param(date(2013, 4, 26), "next", date(2013, 4, 29), id="store-bededag-2013-next"),
        pytest.param(date(2012, 12, 31), "previous", date(2012, 12, 28), id="nytaar-2012-prev"),
        pytest.param(date(2012, 12, 31), "next", date(2013, 1, 2), id="nytaar-2012-next-new-year"),
        pytest.param(date(2012, 12, 24), "next", date(2012, 12, 27), id="jul-2012-next"),
    ],
)
def test_named_moves(day: date, how: Roll, expected: date) -> None:
    assert DK.roll(day, how) == expected


def test_2012_holidays_by_hand() -> None:
    """The public holidays of 2012 as the ``holidays`` package gives them (public only)."""
    assert set(DK.holidays(2012)) == {
        date(2012, 1, 1),  # Nytårsdag (a Sunday)
        date(2012, 4, 5),  # Skærtorsdag
        date(2012, 4, 6),  # Langfredag
        date(2012, 4, 8),  # Påskedag
        date(2012, 4, 9),  # 2. påskedag
        date(2012, 5, 4),  # Store Bededag
        date(2012, 5, 17),  # Kristi Himmelfartsdag
        date(2012, 5, 27),  # Pinsedag
        date(2012, 5, 28),  # 2. pinsedag
        date(2012, 12, 25),  # Juledag
        date(2012, 12, 26),  # 2. juledag
    }
    assert DK.holiday_name(date(2012, 5, 4)) is not None
    assert DK.holiday_name(date(2012, 5, 1)) is None


def test_business_days_of_may_2012() -> None:
    may = DK.business_days(date(2012, 5, 1), date(2012, 5, 31))
    # 23 weekdays in May 2012, less Store Bededag, Kristi Himmelfart and 2. pinsedag
    assert len(may) == 20
    assert date(2012, 5, 4) not in may and date(2012, 5, 1) in may
