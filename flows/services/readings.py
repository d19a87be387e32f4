"""What a handed-in form reads as: the text under each goal heading and the initiatives.

A submitted file is read back with :func:`letters.readback.read_form` against the goals
that concern the committee (the same goals its form has headings for). What was read and
what was missing is told to the coordinator in the receipt run's notes (Danish) and in
``aarshjul status`` (column "Læst", and ``"reading"`` in ``status --json``), which reads the
latest stored revision of each request again (a form reads in a few milliseconds). A file
that is not our form (no goal heading, no initiatives table) is still kept as a document;
its reading says so with a warning ("ikke formularen").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.services.setup import Setup
from letters.readback import FormReading, read_form
from models.numbers import count_text, end_sentence, format_dkk
from models.state import Document, Request, Submission
from models.text import shown
from models.wheel import Wheel

MAX_WARNINGS_LISTED = 10


def expected_goals(wheel: Wheel, committee: str) -> list[str]:
    """The goal keys the committee's form has headings for."""
    return [g.key for g in wheel.goals_for(committee)]


def read_submission(wheel: Wheel, committee: str, data: bytes) -> FormReading:
    """Read an accepted file back against the committee's goals (never raises on content)."""
    return read_form(data, expected_goals(wheel, committee), known_goals=list(wheel.goal),
                     goal_titles={g.key: g.title for g in wheel.goals})


@dataclass(frozen=True)
class ReadSummary:
    """What was read from one submitted file, for ``status`` and the notes."""

    is_form: bool
    expected: tuple[str, ...]
    read: tuple[str, ...]  # expected goals with text under their heading
    empty: tuple[str, ...]  # expected goals whose heading is there, with nothing under it
    missing: tuple[str, ...]  # expected goals whose heading was not found
    initiatives: int
    amount_dkk: int  # the sum of the amounts that could be read
    table_found: bool
    warnings: tuple[str, ...]

    @property
    def label(self) -> str:
        """Short Danish text for the status table: ``3/3 mål, 2 initiativer, 1 advarsel``."""
        if not self.is_form:
            return "ikke formularen"
        parts = [f"{len(self.read)}/{len(self.expected)} mål"]
        if self.table_found:
            parts.append(f"{self.initiatives} initiativ" + ("" if self.initiatives == 1 else "er"))
        else:
            parts.append("ingen initiativtabel")
        n = len(self.warnings)
        if n:
            parts.append(f"{n} advarsel" if n == 1 else f"{n} advarsler")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "is_form": self.is_form, "goals_expected": list(self.expected),
            "goals_read": list(self.read), "goals_empty": list(self.empty),
            "goals_missing": list(self.missing), "initiatives": self.initiatives,
            "amount_dkk": self.amount_dkk, "table_found": self.table_found,
            "warnings": list(self.warnings), "label": self.label,
        }


def summarize(reading: FormReading, expected_keys: Iterable[str]) -> ReadSummary:
    expected = tuple(expected_keys)
    empty = set(reading.empty_goals)
    return ReadSummary(
        is_form=reading.is_form,
        expected=expected,
        read=tuple(k for k, v in reading.goals.items() if v and k in expected),
        empty=tuple(k for k in reading.goals if k in empty and k in expected),
        missing=tuple(reading.missing_goals),
        initiatives=len(reading.initiatives),
        amount_dkk=sum(i.amount_dkk or 0 for i in reading.initiatives),
        table_found=reading.table_found,
        warnings=tuple(reading.warnings),
    )


def _keys(keys: Iterable[str]) -> str:
    return ", ".join(keys)


def _goal_notes(reading: FormReading, exp: list[str]) -> list[str]:
    read = [k for k in exp if reading.goals.get(k)]
    empty = [k for k in exp if k in reading.goals and not reading.goals[k]]
    notes = [f"Læst fra formularen: tekst under {len(read)} af {len(exp)} mål"
             + (f" ({_keys(read)})" if read else "") + "."]
    if empty:
        notes.append(f"Overskrift uden tekst under: {_keys(empty)}.")
    if reading.missing_goals:
        missing = reading.missing_goals
        notes.append(f"Mangler: ingen overskrift for {_keys(missing)}; intet læst for "
                     + ("det mål." if len(missing) == 1 else "de mål."))
    if reading.table_found:
        total = sum(i.amount_dkk or 0 for i in reading.initiatives)
        n = len(reading.initiatives)
        notes.append(end_sentence(f"Initiativtabel: {count_text(n, 'initiativ', 'initiativer')}"
                                  + (f", i alt {format_dkk(total)}" if n else "")))
    else:
        notes.append("Mangler: ingen initiativtabel fundet; ingen initiativer læst.")
    return notes


def reading_notes(reading: FormReading, expected: Iterable[str], file_name: str,
                  stored_as: str) -> list[str]:
    """The Danish notes of a receipt run: where the file is kept, what was read, what not."""
    exp = list(expected)
    notes = [f"Filen «{shown(file_name)}» er modtaget og gemt uændret som {stored_as}."]
    if not reading.is_form:
        notes.append(
            "Advarsel: filen ligner ikke årshjulets formular (ingen overskrift for "
            f"{_keys(exp) or 'udvalgets mål'} og ingen initiativtabel). Den er gemt som "
            "dokument, men intet er læst ind til statusrapporten.")
    else:
        notes += _goal_notes(reading, exp)
    if reading.warnings:
        listed = reading.warnings[:MAX_WARNINGS_LISTED]
        more = len(reading.warnings) - len(listed)
        n = len(reading.warnings)
        notes.append(("1 advarsel" if n == 1 else f"{n} advarsler") + " ved indlæsningen: "
                     + "; ".join(listed) + (f"; … og {more} flere" if more else ""))
    return notes


def _unreadable(st: Setup, committee: str, rel: str, why: str | None) -> ReadSummary:
    exp = expected_goals(st.wheel, committee)
    reading = FormReading({}, (), (f"the stored file {rel} cannot be read ({why})",),
                          tuple(exp), False)
    return summarize(reading, exp)


def submission_readings(st: Setup, year: int | None) -> dict[tuple[str, str], ReadSummary]:
    """For each request of ``year`` with a submission: what its latest revision reads as,
    keyed by (committee, deliverable). A stored file that is gone reads as not the form,
    with a warning."""
    with Session(st.db) as s:
        q = (select(Request.committee, Request.deliverable, Submission.revision, Document.path)
             .join(Submission, col(Submission.request_id) == col(Request.id))
             .join(Document, col(Document.id) == col(Submission.document_id)))
        if year is not None:
            q = q.where(Request.year == year)
        rows = s.exec(q.order_by(col(Submission.revision))).all()
    latest = {(c, d): path for c, d, _rev, path in rows}
    out: dict[tuple[str, str], ReadSummary] = {}
    for (committee, deliverable), rel in latest.items():
        try:
            data = (Path(st.data) / rel).read_bytes()
        except OSError as exc:
            out[(committee, deliverable)] = _unreadable(st, committee, rel, exc.strerror)
            continue
        out[(committee, deliverable)] = summarize(read_submission(st.wheel, committee, data),
                                                  expected_goals(st.wheel, committee))
    return out
