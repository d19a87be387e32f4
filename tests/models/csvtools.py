"""Helpers shared by the CSV import tests (barometer readings, budget decisions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from models.problems import ConfigError
from models.wheel import Wheel


def refusal(parse: Callable[[str, Wheel, str], object], text: str, wheel: Wheel) -> list[str]:
    """The problems ``parse`` refuses ``text`` with (as the file ``b.csv``), one
    ``file:line column: message`` line each; the test fails if ``parse`` accepts it."""
    with pytest.raises(ConfigError) as info:
        parse(text, wheel, "b.csv")
    return [str(p) for p in info.value.problems]


def refusals(parse: Callable[[str, Wheel, str], object]) -> Callable[[str, Wheel], list[str]]:
    """:func:`refusal` of ``parse``: ``problems(text, wheel)``."""
    return lambda text, wheel: refusal(parse, text, wheel)
