"""The template checker behind `aarshjul check`: missing templates on their YAML line, split
tags (repaired or reported), syntax errors, undefined names, the sandbox, mail bodies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letters.checks import template_problems
from models.config import load, loads
from tests import ROOT
from tests.letters.fixtures.docs import HERE, make_docx

WHEEL_TEXT = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")


pytestmark = pytest.mark.usefixtures("fresh_cache")  # each test checks for real


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_templates_have_no_problems() -> None:
    assert template_problems(load(ROOT / "aarshjul.yaml")) == []


def test_a_missing_letter_template_is_reported_on_its_yaml_line() -> None:
    text = WHEEL_TEXT.replace("letter: konferenceinvitation", "letter: konferenceinvitatoin")
    problems = template_problems(loads(text, "aarshjul.yaml"))
    (p,) = problems
    assert p.file == "aarshjul.yaml"
    assert p.line == _line_of(text, "letter: konferenceinvitatoin")
    assert p.path == "events[2].letter"
    assert "'konferenceinvitatoin' does not exist" in p.message


def test_a_missing_form_template_is_reported_on_its_yaml_line() -> None:
    title = "    title: Integrationsredegørelse\n"
    text = WHEEL_TEXT.replace(title, title + "    form: redegoerelsesformular\n")
    (p,) = template_problems(loads(text, "aarshjul.yaml"))
    assert p.line == _line_of(text, "form: redegoerelsesformular")
    assert p.path == "deliverables[1].form"


def test_the_default_form_missing_is_reported_on_each_deliverable(tdir: Path) -> None:
    (tdir / "formular.docx").unlink()
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert [p.path for p in problems] == ["deliverables[0].key", "deliverables[1].key"]
    assert all("'formular'" in p.message for p in problems)


def test_libreoffice_split_tags_are_repaired(tdir: Path) -> None:
    shutil.copy(HERE / "lo_split.docx", tdir / "opfordringsskrivelse.docx")
    assert template_problems(load(ROOT / "aarshjul.yaml"), tdir) == []


def test_libreoffice_saved_template_with_unrepairable_problems_is_reported(tdir: Path) -> None:
    shutil.copy(HERE / "lo_broken.docx", tdir / "opfordringsskrivelse.docx")
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert {p.file for p in problems} == {str(Path("opfordringsskrivelse.docx"))} or all(
        p.file.endswith("opfordringsskrivelse.docx") for p in problems)
    by_line = {p.line: p for p in problems}
    assert set(by_line) == {13, 16}
    assert by_line[13].path == "word/document.xml"
    assert "is not closed in this paragraph" in by_line[13].message
    assert "«Udvalget {{ committee.»" in by_line[13].message
    assert "syntax error" in by_line[16].message
    assert str(by_line[13]).startswith(f"{by_line[13].file}:13 word/document.xml: paragraph 13")


def test_undefined_names_and_attributes_are_reported_with_their_paragraph(tdir: Path) -> None:
    make_docx(tdir / "opfordringsskrivelse.docx",
              ["Til {{ committee.name }}", "Kære {{ comittee.name }}", "{{ udvalg }}"])
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert [(p.line, p.path) for p in problems] == [(2, "word/document.xml"),
                                                    (3, "word/document.xml")]
    assert "'comittee'" in problems[0].message and "'udvalg'" in problems[1].message
    make_docx(tdir / "opfordringsskrivelse.docx", ["Til {{ committee.name }}",
                                                   "{% for g in goals %}{{ g.maal }}{% endfor %}"])
    (p,) = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert p.line == 2 and "maal" in p.message


def test_the_sandbox_refusal_is_reported(tdir: Path) -> None:
    make_docx(tdir / "konferenceinvitation.docx", ["{{ ''.__class__.__mro__ }}"])
    (p,) = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert p.line == 1 and p.file.endswith("konferenceinvitation.docx")


def test_misplaced_row_tag_and_text_that_would_vanish(tdir: Path) -> None:
    make_docx(tdir / "formular.docx", ["{%tr for g in goals %}", "{%p if year %} tekst",
                                       "{%p endif %}"])
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    msgs = {p.line: p.message for p in problems}
    assert "must stand in a table row" in msgs[1]
    assert "would be lost" in msgs[2]


def test_a_broken_mail_template_is_reported(tdir: Path) -> None:
    (tdir / "mail" / "reminder.txt").write_text(
        "Kære {{ salutation }}\n\nFrist: {{ deliverable.titel }}\n", encoding="utf-8")
    (tdir / "mail" / "receipt.html").write_text("{% if %}", encoding="utf-8")
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    by_kind = {p.path: p for p in problems}
    assert by_kind["reminder"].file.endswith("reminder.txt") and by_kind["reminder"].line == 3
    assert "titel" in by_kind["reminder"].message
    assert "syntax error" in by_kind["receipt"].message


def test_aarshjul_check_refuses_a_broken_template(tdir: Path, monkeypatch) -> None:
    from flows.cli import app

    make_docx(tdir / "opfordringsskrivelse.docx", ["Hej", "Kære {{ comittee.name }}"])
    monkeypatch.setenv("AARSHJUL_TEMPLATES_DIR", str(tdir))
    result = CliRunner().invoke(app, ["check", "--config", str(ROOT / "aarshjul.yaml")])
    assert result.exit_code == 1
    out = result.output
    assert "opfordringsskrivelse.docx:2 word/document.xml: paragraph 2" in out
    assert "in the templates; nothing was run" in out


def test_a_clean_result_is_remembered_until_a_template_changes(
    tdir: Path, fresh_cache: Path
) -> None:
    loaded = load(ROOT / "aarshjul.yaml")
    assert template_problems(loaded, tdir) == []
    (stamp,) = (fresh_cache / "aarshjul").iterdir()
    assert template_problems(loaded, tdir) == []  # from the stamp
    make_docx(tdir / "opfordringsskrivelse.docx", ["Kære {{ comittee.name }}"])
    (p,) = template_problems(loaded, tdir)
    assert p.line == 1
    assert list((fresh_cache / "aarshjul").iterdir()) == [stamp]  # problems are not stamped


def _conference_is_a_letters_event() -> str:
    """The wheel with no meeting: the conference itself is the letters event that invites."""
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    text = text.replace("    invites_to: konference\n", "")
    start = text.index("  - key: konference\n")
    end = text.index("  - key: borgmestersamtaler\n")
    return text[:start] + text[end:]


def test_a_conference_that_is_its_own_letters_event_works_with_the_bundled_template() -> None:
    from letters.context import letter_context
    from letters.render import template
    from models.plan import year_plan

    loaded = loads(_conference_is_a_letters_event())
    assert "konference" not in loaded.wheel.event
    assert [p for p in template_problems(loaded) if p.severity == "error"] == []
    w = loaded.wheel
    plan = year_plan(w, 2012)
    ctx = letter_context(w, plan, "konference-invitation", "BUU")
    assert ctx["conference"]["key"] == "konference-invitation"  # the event itself
    template("konferenceinvitation").render(ctx)


def test_invites_to_names_the_conference_and_is_checked() -> None:
    from letters.context import letter_context
    from models.plan import year_plan

    w = load(ROOT / "aarshjul.yaml").wheel
    ctx = letter_context(w, year_plan(w, 2012), "konference-invitation", "BUU")
    assert ctx["conference"]["key"] == "konference"
    assert ctx["conference"]["weekday_date"] == "torsdag den 15. marts 2012"
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    with pytest.raises(Exception) as info:
        loads(text.replace("invites_to: konference", "invites_to: konferense"))
    problems = info.value.problems  # type: ignore[attr-defined]
    assert [(p.path, "konferense" in p.message) for p in problems] == [
        ("events[2].invites_to", True)]
    with pytest.raises(Exception) as info:
        loads(text.replace("    do: barometer\n", "    do: barometer\n    invites_to: konference\n",
                           1))
    assert "only a letter invites to an event" in str(info.value)
