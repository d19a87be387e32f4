"""Template checks for ``aarshjul check`` (and before anything is sent).

For the wheel that was loaded:

- every template it names (``events[].letter``; ``deliverables[].form``, default
  ``formular``) must exist: otherwise an error on the YAML line of that key;
- each template is compiled (:class:`letters.render.DocxTemplate`): tags split across
  Word runs are repaired, those that cannot be (a tag over two paragraphs) are errors, as
  are Jinja syntax errors and misplaced row/paragraph tags;
- each template is rendered with representative data (every committee it goes to, with
  and without barometer readings) under StrictUndefined: undefined names and attributes
  and operations the sandbox refuses are errors;
- the e-mail bodies (``letters/templates/mail``) are compiled and rendered likewise.

A template problem is ``<template path>:<paragraph> <part>: <message>``, e.g.
``letters/templates/opfordringsskrivelse.docx:12 word/document.xml: paragraph 12 («Kære
{{ comittee.name }}»): undefined: 'comittee' ...``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from letters import TEMPLATES_DIR
from letters.context import REPORT_COVERS, cover_context, form_context, letter_context
from models.barometer import Reading
from models.config import Loaded
from models.plan import year_plan
from models.problems import Problem

DEFAULT_FORM = "formular"
COVER = "statusrapport_forside"


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)


def _sample_readings(wheel: Any) -> dict[str, list[Any]]:
    return {g.key: [Reading(g.key, "2011-H2", 1.5, "eksempel", illustrative=True)]
            for g in wheel.goals}


def _stamp(loaded: Loaded, directory: Path) -> Path | None:
    """A file whose existence says: this wheel with these templates and this code was
    checked and had no problem. Keyed by the wheel's content, every template file's name,
    size and modification time, and the checking code's; None when there is no cache dir."""

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    h = hashlib.sha256()
    h.update(json.dumps(loaded.wheel.model_dump(mode="json", by_alias=True),
                        sort_keys=True).encode())
    h.update(str(directory.resolve()).encode())
    here = Path(__file__).resolve().parent
    files = sorted(directory.rglob("*")) if directory.is_dir() else []
    files += [here / f for f in ("checks.py", "render.py", "sandbox.py", "limits.py", "context.py",
                                  "bodies.py")]
    files += [here.parent / "models" / f for f in ("dates.py", "numbers.py", "plan.py", "wheel.py")]
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return Path(base) / "aarshjul" / f"templates-ok-{h.hexdigest()[:32]}"


def template_problems(loaded: Loaded, templates_dir: Path | None = None) -> list[Problem]:
    """Every problem with the templates the wheel names; empty when all is well.

    A clean result is remembered (a stamp file in ``~/.cache/aarshjul``), so the check that
    runs before every verb costs nothing until the wheel, a template or the code changes.
    """
    directory = templates_dir or TEMPLATES_DIR
    stamp = _stamp(loaded, directory)
    if stamp is not None and stamp.exists():
        return []
    problems = _template_problems(loaded, directory)
    if not problems and stamp is not None:
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()
        except OSError:
            pass
    return problems


def _template_problems(loaded: Loaded, directory: Path) -> list[Problem]:
    from letters import render

    wheel, source = loaded.wheel, loaded.source
    problems: list[Problem] = []
    plan = year_plan(wheel, wheel.policy.years[0])

    # name -> list of representative contexts
    uses: dict[str, list[Mapping[str, Any]]] = {}
    readings = _sample_readings(wheel)
    for i, ev in enumerate(wheel.events):
        if ev.do != "letters" or not ev.letter:
            continue
        path = render.template_path(ev.letter, directory)
        if not path.is_file():
            problems.append(source.problem(
                ("events", i, "letter"),
                f"the letter template {ev.letter!r} does not exist (looked for {_shown(path)})"))
            continue
        ctxs = uses.setdefault(ev.letter, [])
        for ckey in wheel.event_to(ev):
            ctxs.append(letter_context(wheel, plan, ev.key, ckey))
            ctxs.append(letter_context(wheel, plan, ev.key, ckey, readings))
    for i, d in enumerate(wheel.deliverables):
        name = d.form or DEFAULT_FORM
        path = render.template_path(name, directory)
        if not path.is_file():
            where: tuple[str | int, ...] = ("deliverables", i, "form" if d.form else "key")
            problems.append(source.problem(
                where, f"the form template {name!r} for {d.key!r} does not exist "
                f"(looked for {_shown(path)})"))
            continue
        ctxs = uses.setdefault(name, [])
        for ckey in wheel.deliverable_from(d):
            ctxs.append(form_context(wheel, plan, d.key, ckey))
    cover = render.template_path(COVER, directory)
    if cover.is_file():
        uses.setdefault(COVER, []).extend(cover_context(wheel, plan, _report_day(plan), kind)
                                          for kind in REPORT_COVERS)

    for name, contexts in uses.items():
        path = render.template_path(name, directory)
        problems += docx_problems(path, contexts)

    from letters.bodies import body_problems

    problems += body_problems(wheel, plan, directory)
    return problems


def _report_day(plan: Any) -> date:
    for e in plan.events:
        if e.do == "status_report":
            return e.day
    return date(plan.year, 8, 15)


def docx_problems(path: Path, contexts: list[Mapping[str, Any]]) -> list[Problem]:
    """The problems of one .docx template, rendered with ``contexts``."""
    from letters.render import DocxTemplate, TemplateError, TemplateProblem

    shown = _shown(path)
    try:
        t = DocxTemplate(path)
    except TemplateError as exc:
        return [_problem(shown, p) for p in exc.problems]
    except OSError as exc:
        return [Problem(shown, 0, "(file)", f"cannot read the template: {exc}")]
    found: list[TemplateProblem] = list(t.problems)
    if not any("syntax error" in p.message for p in found):
        found += t.check(contexts)
    return [_problem(shown, p) for p in found]


def _problem(shown: str, p: Any) -> Problem:
    where = f"paragraph {p.paragraph}" if p.paragraph else "before the first paragraph"
    text = f" («{_short(p.text)}»)" if p.text else ""
    return Problem(shown, p.paragraph, p.part, f"{where}{text}: {p.message}")


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
