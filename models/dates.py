"""Danish dates, from Babel: "1. maj 2012", "tirsdag den 1. maj 2012"."""

from __future__ import annotations

from datetime import date, datetime


def dansk_dato(d: date | datetime) -> str:
    """``1. maj 2012``."""
    from babel.dates import format_date

    day = d.date() if isinstance(d, datetime) else d
    return format_date(day, "d. MMMM y", locale="da_DK")


def dansk_ugedag_dato(d: date | datetime) -> str:
    """``tirsdag den 1. maj 2012``."""
    from babel.dates import format_date

    day = d.date() if isinstance(d, datetime) else d
    return format_date(day, "EEEE 'den' d. MMMM y", locale="da_DK")


def dansk_tid(t: datetime) -> str:
    """``1. maj 2012 kl. 09.00``."""
    from babel.dates import format_time

    return f"{dansk_dato(t)} kl. {format_time(t, 'HH.mm', locale='da_DK')}"


MAANEDER = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)
