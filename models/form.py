"""The facts of the fill-in form that the engine relies on (README "What is read back from a
form"): the template writes them, the read-back finds the form by them, the reports repeat
them. Defined once, here.

- One heading per goal that concerns the committee, beginning with the goal key and a space:
  ``HM2 – Overledigheden ...`` (:func:`goal_heading`; :func:`begins_with_goal_key` is the
  rule as stated; the read-back is more forgiving, see :mod:`letters.readback`).
- A table of initiatives whose header row is ``Initiativ | Hovedmål | Beløb (kr.) |
  Finansieret`` (:data:`TABLE_HEADER`), one initiative per row.
"""

from __future__ import annotations

from enum import StrEnum


class Column(StrEnum):
    """The columns of the initiatives table, by what they hold."""

    TITLE = "title"
    GOAL = "goal"
    AMOUNT = "amount"
    FINANCED = "financed"


# the header cell of each column, in the order of the form
COLUMN_HEADER: dict[Column, str] = {
    Column.TITLE: "Initiativ",
    Column.GOAL: "Hovedmål",
    Column.AMOUNT: "Beløb (kr.)",
    Column.FINANCED: "Finansieret",
}
TABLE_HEADER: tuple[str, ...] = tuple(COLUMN_HEADER.values())
TABLE_HEADER_TEXT = " | ".join(TABLE_HEADER)  # as the README and the warnings show it

HEADING_DASH = " – "  # between the goal key and its title in a heading


def goal_heading(key: str, title: str) -> str:
    """``HM2 – Overledigheden blandt etniske minoriteter``: the heading of a goal's section."""
    return f"{key}{HEADING_DASH}{title}"


def begins_with_goal_key(text: str, key: str) -> bool:
    """Whether ``text`` begins with the goal key and a space, as every heading of the form does."""
    return text.startswith(key + " ")
