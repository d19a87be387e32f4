"""Filled-in forms for a simulated year: what a committee might write, clearly illustrative.

Deterministic: the same committee, deliverable and year give the same text and initiatives,
so a simulated year is reproducible.
"""

from __future__ import annotations

import io
import zlib

import docx
from docx.text.paragraph import Paragraph

from flows.simulate.scenario import PlannedInitiative
from models.numbers import format_dkk, format_mio_dkk
from models.wheel import Wheel

ILLUSTRATIVE = "(Illustrativ tekst)"

# What a committee might do for each of Copenhagen's goals (illustrative, not real plans).
_EFFORTS: dict[str, tuple[str, ...]] = {
    "HM1": ("lektiecaféer og læsevejledning på skoler med mange tosprogede elever",
            "Mentorordning for tosprogede elever", "Sommerskole i dansk og matematik"),
    "HM2": ("virksomhedsrettede forløb og samarbejde med jobcentret om praktikpladser",
            "Virksomhedspraktik med mentor", "Brancheforløb for ledige med anden etnisk "
            "baggrund"),
    "HM3": ("rekruttering med fokus på mangfoldighed og talentforløb for medarbejdere",
            "Mangfoldig rekruttering i forvaltningen", "Talentforløb for kommende ledere"),
    "HM4": ("inddragelse af foreninger og borgermøder i lokalområderne",
            "Foreningsguider i lokalområderne", "Bland dig i Byen – borgerdialog"),
    "HM5": ("opsøgende arbejde, så flere familier i udsatte områder bruger tilbuddene",
            "Brobyggere i boligområderne", "Sundhedsformidlere på flere sprog"),
    "HM6": ("tryghedsvandringer og bedre belysning og byrum i udsatte boligområder",
            "Tryghedsvandringer med beboerne", "Lys og tryghed i byrummet"),
}
_AMOUNTS = (250_000, 400_000, 600_000, 800_000, 1_200_000, 1_500_000, 2_000_000)
_FINANCED = ("Ja", "Nej", "Delvist", "Nej")


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def illustrative_goal_text(
    wheel: Wheel, committee: str, deliverable: str, goal: str, year: int
) -> str:
    """A short, deterministic, clearly illustrative Danish text for a made form."""
    c, g = wheel.committee[committee], wheel.goal[goal]
    effort = _EFFORTS.get(goal, (f"indsatser rettet mod «{g.title}»",))[0]
    if deliverable == "handleplan":
        return (f"{ILLUSTRATIVE} {c.name} vil i {year} bidrage til {goal} «{g.title}» "
                f"gennem {effort}. Indsatsen følges op i integrationsbarometeret.")
    if deliverable == "redegoerelse":
        return (f"{ILLUSTRATIVE} {c.name} har i {year - 1} arbejdet med {effort}. "
                f"Udviklingen for {goal} «{g.title}» vurderes samlet at gå i den rigtige "
                "retning; indsatsen fortsætter.")
    d = wheel.deliverable[deliverable]
    return (f"{ILLUSTRATIVE} {c.name} beskriver i «{d.title}» {year} sit bidrag til {goal} "
            f"«{g.title}» gennem {effort}.")


def _dkk_text(amount: int, style: int) -> str:
    """Amounts as committees write them: every other one in millions."""
    return format_mio_dkk(amount) if style % 2 and amount >= 100_000 else format_dkk(amount)


def illustrative_initiatives(wheel: Wheel, committee: str) -> tuple[PlannedInitiative, ...]:
    """2-4 deterministic illustrative initiatives tied to the committee's goals.

    The same for every deliverable of the committee (a form's table restates them), so the
    reports count each once. Financed rotates Ja, Nej, Delvist, Nej: every committee has
    both financed and not financed initiatives."""
    goals = [g.key for g in wheel.goals_for(committee)]
    if not goals:
        return ()
    n = 2 + _crc(committee) % 3
    out = []
    for i in range(n):
        goal = goals[i % len(goals)]
        titles = _EFFORTS.get(goal, ("", f"Indsats for {goal}", f"Opfølgning på {goal}"))[1:]
        title = titles[(i // len(goals)) % len(titles)]
        if i >= len(goals) * len(titles):  # more rows than titles: keep them apart
            title += f" ({i + 1})"
        amount = _AMOUNTS[_crc(f"{committee}/{title}") % len(_AMOUNTS)]
        out.append(PlannedInitiative(title, goal, _dkk_text(amount, i),
                                     _FINANCED[i % len(_FINANCED)]))
    return tuple(out)


def fill_form(
    raw: bytes, goals: dict[str, str], initiatives: tuple[PlannedInitiative, ...]
) -> bytes:
    """The form ``raw`` filled in: ``goals`` under their headings (the paragraph after the
    heading ``KEY …``), ``initiatives`` in the initiatives table. As a committee would."""
    d = docx.Document(io.BytesIO(raw))
    for key, text in goals.items():
        head = next((p for p in d.paragraphs if p.text.startswith(key + " ")), None)
        if head is None:
            continue
        nxt = head._p.getnext()
        if nxt is not None and nxt.tag == head._p.tag:
            Paragraph(nxt, head._parent).add_run(text)
        else:
            head.insert_paragraph_before("")  # keep order: heading, then text
            new = head._p.getprevious()
            head._p.addnext(new)
            Paragraph(new, head._parent).add_run(text)
    table = next((t for t in d.tables if t.rows and "Initiativ" in t.rows[0].cells[0].text),
                 None)
    if table is not None and initiatives:
        for i, it in enumerate(initiatives):
            cells = table.rows[i + 1].cells if i + 1 < len(table.rows) else table.add_row().cells
            for cell, value in zip(cells, (it.title, it.goal, it.amount, it.financed),
                                   strict=False):
                cell.text = value
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
