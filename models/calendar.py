"""Business days (README "Business days, due dates and the reminder ladder").

A business day is Monday-Friday that is neither a public holiday of the policy's country
in that year (the ``holidays`` package's public category, so Store Bededag counts in
2011-2023 and not from 2024) nor one of the policy's ``closed_days``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

Roll = Literal["keep", "previous", "next"]

# A year has well under 20 non-business days in a row; this bound only guards against a
# configuration that closes every day.
_MAX_SCAN = 400


class BusinessCalendar:
    def __init__(self, country: str, closed_days: tuple[tuple[int, int], ...] = ()) -> None:
        self.country = country
        self.closed_days = frozenset(closed_days)
        self._holidays: dict[int, dict[date, str]] = {}

    def holidays(self, year: int) -> dict[date, str]:
        """Public holidays of ``year`` with their (English) names."""
        if year not in self._holidays:
            import holidays as hol

            h = hol.country_holidays(self.country, years=year, categories=(hol.PUBLIC,))
            self._holidays[year] = dict(h.items())
        return self._holidays[year]

    def holiday_name(self, d: date) -> str | None:
        return self.holidays(d.year).get(d)

    def is_closed_day(self, d: date) -> bool:
        return (d.month, d.day) in self.closed_days

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self.holidays(d.year) and not self.is_closed_day(d)

    def next_business_day(self, d: date) -> date:
        """The earliest business day strictly after ``d``."""
        for _ in range(_MAX_SCAN):
            d += timedelta(days=1)
            if self.is_business_day(d):
                return d
        raise ValueError("no business day within a year")

    def previous_business_day(self, d: date) -> date:
        """The latest business day strictly before ``d``."""
        for _ in range(_MAX_SCAN):
            d -= timedelta(days=1)
            if self.is_business_day(d):
                return d
        raise ValueError("no business day within a year")

    def roll(self, d: date, how: Roll) -> date:
        """``d`` if it is a business day or ``how`` is keep; else the previous or next one."""
        if how == "keep" or self.is_business_day(d):
            return d
        if how == "previous":
            return self.previous_business_day(d)
        return self.next_business_day(d)

    def business_days(self, start: date, end: date) -> list[date]:
        """Every business day from ``start`` to ``end``, inclusive."""
        out = []
        d = start
        while d <= end:
            if self.is_business_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out
