"""What happens to a committee's file after the intake checks: reading the form back.

The engine (:func:`flows.engine.register_submission`) checks a submitted file with
:func:`letters.intake.check_docx` (refused: ``refused: <file>: <reason>``, exit 1, nothing
stored), stores it whole, content-addressed (:func:`letters.intake.store`), journals it (a
``documents`` row, a ``submissions`` row and an audit entry) and then reads it back here with
:func:`letters.readback.read_form` against the goals that concern the committee
(``wheel.goals_for(committee)``, the same goals the form it was sent has headings for).

What was read and what was missing is told to the coordinator in two places:

- the receipt run's :class:`flows.report.RunReport` notes (Danish), which the CLI prints and
  the receipt flow's Prefect artifact (``aarshjul-<year>-oversigt``) lists under
  "Bemærkninger": :func:`reading_notes`;
- ``aarshjul status`` (column "Læst") and ``status --json`` (``"reading"`` per request):
  :func:`submission_readings` reads the latest stored revision of each request again, so
  status needs no extra state (a form reads in a few milliseconds).

A file that is not our form (no goal heading, no initiatives table) is still accepted and kept
as a document; the reading then says so with a warning ("ikke formularen").

No Prefect, no clock reads. The warnings themselves are :mod:`letters.readback`'s (English,
naming the goal key or the table row); the lines around them are Danish.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.numbers import count_text, end_sentence, format_dkk

if TYPE_CHECKING:
    from letters.readback import FormReading
    from models.wheel import Wheel

MAX_WARNINGS_LISTED = 10


def expected_goals(wheel: Wheel, committee: str) -> list[str]:
    """The goal keys the committee's form has headings for (CONTRACT §4)."""
    return [g.key for g in wheel.goals_for(committee)]


def read_submission(wheel: Wheel, committee: str, data: bytes) -> FormReading:
    """Read an accepted file back against the committee's goals (never raises on content)."""
    from letters.readback import read_form

    return read_form(
        data,
        expected_goals(wheel, committee),
        known_goals=[g.key for g in wheel.goals],
        goal_titles={g.key: g.title for g in wheel.goals},
    )


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
            "is_form": self.is_form,
            "goals_expected": list(self.expected),
            "goals_read": list(self.read),
            "goals_empty": list(self.empty),
            "goals_missing": list(self.missing),
            "initiatives": self.initiatives,
            "amount_dkk": self.amount_dkk,
            "table_found": self.table_found,
            "warnings": list(self.warnings),
            "label": self.label,
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


def reading_notes(
    reading: FormReading, expected: Iterable[str], file_name: str, stored_as: str
) -> list[str]:
    """The Danish notes of a receipt run: where the file is kept, what was read, what not."""
    exp = list(expected)
    notes = [f"Filen «{file_name}» er modtaget og gemt uændret som {stored_as}."]
    if not reading.is_form:
        notes.append(
            "Advarsel: filen ligner ikke årshjulets formular (ingen overskrift for "
            f"{_keys(exp) or 'udvalgets mål'} og ingen initiativtabel). Den er gemt som "
            "dokument, men intet er læst ind til statusrapporten."
        )
    else:
        read = [k for k in exp if reading.goals.get(k)]
        empty = [k for k in exp if k in reading.goals and not reading.goals[k]]
        notes.append(
            f"Læst fra formularen: tekst under {len(read)} af {len(exp)} mål"
            + (f" ({_keys(read)})" if read else "")
            + "."
        )
        if empty:
            notes.append(f"Overskrift uden tekst under: {_keys(empty)}.")
        if reading.missing_goals:
            notes.append(
                f"Mangler: ingen overskrift for {_keys(reading.missing_goals)}; intet læst for "
                + ("det mål." if len(reading.missing_goals) == 1 else "de mål.")
            )
        if reading.table_found:
            total = sum(i.amount_dkk or 0 for i in reading.initiatives)
            n = len(reading.initiatives)
            notes.append(end_sentence(
                f"Initiativtabel: {count_text(n, 'initiativ', 'initiativer')}"
                + (f", i alt {format_dkk(total)}" if n else "")
            ))
        else:
            notes.append("Mangler: ingen initiativtabel fundet; ingen initiativer læst.")
    if reading.warnings:
        listed = reading.warnings[:MAX_WARNINGS_LISTED]
        more = len(reading.warnings) - len(listed)
        notes.append(
            ("1 advarsel" if len(reading.warnings) == 1 else f"{len(reading.warnings)} advarsler")
            + " ved indlæsningen: "
            + "; ".join(listed)
            + (f"; … og {more} flere" if more else "")
        )
    return notes


def registered_notes(wheel: Wheel, reg: Any, file_name: str) -> list[str]:
    """Notes for a :class:`flows.engine.Registered` that carries its ``reading``."""
    reading = getattr(reg, "reading", None)
    if reading is None:
        return []
    return reading_notes(
        reading, expected_goals(wheel, reg.action.committee), file_name, reg.document
    )


def submission_readings(st: Any, year: int | None) -> dict[tuple[str, str], ReadSummary]:
    """For each request of ``year`` with a submission: what its latest revision reads as.

    Keyed by (committee, deliverable). Reads the stored files under ``st.data`` again; a file
    that is gone reads as not the form, with a warning.
    """
    from sqlmodel import Session, col, select

    from models.state import Document, Request, Submission

    with Session(st.db) as s:
        q = (
            select(Request.committee, Request.deliverable, Submission.revision, Document.path)
            .join(Submission, col(Submission.request_id) == col(Request.id))
            .join(Document, col(Document.id) == col(Submission.document_id))
        )
        if year is not None:
            q = q.where(Request.year == year)
        rows = s.exec(q.order_by(col(Submission.revision))).all()
    latest: dict[tuple[str, str], str] = {}
    for committee, deliverable, _rev, path in rows:
        latest[(committee, deliverable)] = path
    out: dict[tuple[str, str], ReadSummary] = {}
    for (committee, deliverable), rel in latest.items():
        p = Path(st.data) / rel
        try:
            data = p.read_bytes()
        except OSError as exc:
            from letters.readback import FormReading

            out[(committee, deliverable)] = summarize(
                FormReading(
                    {},
                    (),
                    (f"the stored file {rel} cannot be read ({exc.strerror})",),
                    tuple(expected_goals(st.wheel, committee)),
                    False,
                ),
                expected_goals(st.wheel, committee),
            )
            continue
        out[(committee, deliverable)] = summarize(
            read_submission(st.wheel, committee, data), expected_goals(st.wheel, committee)
        )
    return out
