"""The digest's plain data: the samples ``aarshjul check`` renders the template with."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime

from models.digest import Digest, sample_digests, week_monday
from tests import CPH


def test_the_full_sample_fills_every_section_and_the_quiet_one_only_what_is_due() -> None:
    as_of = datetime(2012, 4, 23, 9, tzinfo=CPH)
    full, quiet = sample_digests(2012, "BUU", "handleplan", "opfordring", date(2012, 4, 27),
                                 as_of)
    # A section added to Digest and left out of the sample fails here: the template check
    # would never render it.
    for f in fields(Digest):
        assert getattr(full, f.name), f"the full sample digest leaves {f.name} empty"
    assert full.week_of == quiet.week_of == week_monday(as_of.date()) == date(2012, 4, 23)
    assert not quiet.empty and quiet.due_soon and not (
        quiet.overdue or quiet.excused or quiet.extended or quiet.held or quiet.problems
        or quiet.undelivered or quiet.paused)
