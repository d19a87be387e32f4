"""Templates that try to hang or exhaust the engine are refused, with their location: by the
sandbox on its own, through `aarshjul check` for Word and mail templates, and in a running
process that goes on rendering afterwards. Ordinary templates render as before."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jinja2
import pytest
from typer.testing import CliRunner

from letters import limits as L
from letters import sandbox as S
from letters.checks import template_problems
from letters.render import DocxTemplate, RenderError
from models.config import load
from tests import ROOT
from tests.letters.fixtures.docs import make_docx

pytestmark = pytest.mark.usefixtures("fresh_cache")  # each test checks for real

# template -> what the refusal says
HOSTILE = {
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}":
        "range() makes more than 10.000 numbers",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}":
        "loops run more than 100.000 times",
    "{% set s = 'x' * 1000 %}{% for a in s %}{% for b in s %}.{% endfor %}{% endfor %}":
        "loops run more than 100.000 times",
    "{{ 'x' * 10**9 }}": "makes a string of more than 1.000.000 characters",
    "{{ 10**9 * 'x' }}": "makes a string of more than 1.000.000 characters",
    "{{ [1] * 10**9 }}": "makes a list of more than 1.000.000 characters",
    "{% set s = 'x' * 900000 %}{{ s ~ s }}": "makes a string of more than 1.000.000",
    "{% set s = 'x' * 900000 %}{{ s + s }}": "makes a string of more than 1.000.000",
    "{% set s = 'x' * 1000 %}{{ s|replace('x', s) }}": "more than 1.000.000 characters",
    "{% set s = 'x' * 1000 %}{{ s.replace('x', s) }}": "more than 1.000.000 characters",
    "{% set s = 'x' * 100000 %}{{ [s, s, s, s, s, s, s, s, s, s, s]|join }}":
        "more than 1.000.000 characters",
    "{% set s = 'x' * 100000 %}{{ s.join([s] * 20) }}": "more than 1.000.000",
    "{{ 'x'|center(10**9) }}": "more than 1.000.000 characters",
    "{{ 'x'.center(10**9) }}": "more than 1.000.000 characters",
    "{{ 'x'.ljust(10**9) }}": "more than 1.000.000 characters",
    "{{ '%1000000000d' % 1 }}": "width or precision is more than 10.000",
    "{{ '%*d' % (10**9, 1) }}": "given by an argument",
    "{{ '%1000000000d'|format(1) }}": "width or precision is more than 10.000",
    "{{ '{:>1000000000}'.format(1) }}": "width or precision is more than 10.000",
    "{% set f = '{0}' * 250000 %}{{ f.format('x' * 1000) }}": "more than 1.000.000",
    "{{ 10 ** (10 ** 8) }}": "a number of more than 100.000 bits",
    "{% set n = 2**50000 %}{{ n * n * n }}": "a number of more than 100.000 bits",
    "{{ [1]|batch(10**9, 'x') }}": "more than 1.000.000 groups",
    "{{ 'a\nb'|indent(10**9) }}": "more than 1.000.000 characters",
    # a string built up step by step: what all the steps make together counts
    "{% set ns = namespace(s='') %}{% for i in range(10000) %}{% set ns.s = ns.s ~ 'x' * 1000 %}"
    "{% endfor %}": "more than 20.000.000 characters of text",
    "{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}":
        "writes more than 5.000.000 characters",
    "{% for i in range(1000) %}" + "x" * 10_000 + "{% endfor %}":
        "writes more than 5.000.000 characters",
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}": "",  # recursion: refused
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}":
        "more than 10.000 calls",
    "{{ lipsum(10**9) }}": "lipsum",
    "{{ ('word ' * 100000)|wordwrap(1) }}": "wordwrap() is given more than 100.000 characters",
    "{{ ('x' * 200000)|list|sort }}": "sort() is given more than 100.000 characters",
    "{% set l = [] %}{{ l.append(1) }}": "",  # lists cannot be changed
}


def render(source: str, autoescape: bool = False, **ctx: Any) -> str:
    return S.environment(autoescape=autoescape).from_string(source).render(**ctx)


@pytest.mark.parametrize("source", sorted(HOSTILE), ids=lambda s: s[:60])
def test_a_hostile_template_is_refused_by_the_sandbox(source: str) -> None:
    with pytest.raises((jinja2.exceptions.SecurityError, jinja2.UndefinedError,
                        RecursionError)) as info:
        render(source)
    assert HOSTILE[source] in str(info.value)


@pytest.mark.parametrize("source", [
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
])
def test_recursive_loops_are_refused_when_compiled(source: str) -> None:
    with pytest.raises(jinja2.TemplateSyntaxError, match="recursive loops are not allowed"):
        S.environment(autoescape=False).from_string(source)


def test_ordinary_templates_render_as_before() -> None:
    assert render("{% for g in goals %}{{ g.key }}{% if not loop.last %}, {% endif %}"
                  "{% endfor %}", goals=[{"key": "HM1"}, {"key": "HM2"}]) == "HM1, HM2"
    assert render("{{ 'a' ~ b ~ 1 }}", b="&") == "a&1"
    assert render("{{ 'a' ~ b }}", autoescape=True, b="&") == "a&amp;"
    assert render("{{ x * 2 }} {{ 'ab' * 2 }} {{ 2 ** 10 }} {{ '%05.1f' % 3.14159 }}",
                  x=21) == "42 abab 1024 003.1"
    assert render("{{ '{:>6}'.format('x') }}|{{ names|join(', ') }}|{{ 'a b'|replace(' ', '-') }}",
                  names=["A", "B"]) == "     x|A, B|a-b"
    assert render("{% for a, b in pairs %}{{ a }}{{ b }}{% endfor %}", pairs=[(1, 2), (3, 4)]) \
        == "1234"
    assert render("{% for i in range(3) if i %}{{ i }}{% else %}none{% endfor %}") == "12"
    assert render("{% for i in [] %}{{ i }}{% else %}none{% endfor %}") == "none"
    assert render("{{ {'a': 1}|dictsort }}") == "[('a', 1)]"
    assert render("{{ names|sort|join(' ') }} {{ 'a b c'|wordwrap(3) }}",
                  names=["b", "a"]) == "a b a b\nc"
    # the limits are per render: the same template renders again and again
    t = S.environment(autoescape=False).from_string(
        "{% for i in range(10000) %}{% endfor %}{{ ('x' * 999999)|length }}")
    assert [t.render() for _ in range(12)] == ["999999"] * 12


def test_a_render_that_takes_too_long_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.1  # every look at the clock: 100 ms later
        return now[0]

    monkeypatch.setattr(L, "_clock", clock)
    with pytest.raises(L.LimitError, match="took longer than 2 s"):
        render("{% for i in range(10000) %}{{ i }}{% endfor %}")


def test_a_template_is_not_rendered_without_a_budget() -> None:
    t = S.environment(autoescape=False).from_string("{% for i in range(3) %}{{ i }}{% endfor %}")
    with pytest.raises(L.LimitError, match=r"only through Template\.render"):
        "".join(t.root_render_func(t.new_context({})))
    assert "".join(t.generate()) == "012"


def test_renders_in_threads_have_their_own_budgets() -> None:
    t = S.environment(autoescape=False).from_string(
        "{% for i in range(9000) %}{% endfor %}{{ n }}")
    out: list[str] = []

    def work(n: int) -> None:
        out.extend(t.render(n=n) for _ in range(10))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(out) == sorted(str(n) for n in range(4) for _ in range(10))


def test_the_bytecode_cache_is_keyed_by_the_rules() -> None:
    cache = S.bytecode_cache()
    assert isinstance(cache, jinja2.FileSystemBytecodeCache)
    assert S.COMPILER_ID in cache.pattern


# --- through the Word renderer and `aarshjul check` ------------------------------------------


NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
TEN_TO_NINE = "{{ 'x' * 10**9 }}"


@pytest.mark.parametrize(("tag", "says"), [
    (NESTED, "range() makes more than 10.000 numbers"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
     "loops run more than 100.000 times"),
    (TEN_TO_NINE, "makes a string of more than 1.000.000 characters"),
])
def test_check_refuses_a_hostile_letter_with_its_paragraph(tdir: Path, tag: str,
                                                           says: str) -> None:
    make_docx(tdir / "opfordringsskrivelse.docx", ["Til {{ committee.name }}", "Hej", tag])
    (p,) = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    assert p.file.endswith("opfordringsskrivelse.docx") and p.line == 3
    assert p.path == "word/document.xml"
    assert "refused by the sandbox" in p.message and says in p.message


def test_check_refuses_a_hostile_mail_template_with_its_line(tdir: Path) -> None:
    (tdir / "mail" / "reminder.txt").write_text(
        "Kære {{ salutation }}\n\n" + NESTED + "\n", encoding="utf-8")
    (tdir / "mail" / "receipt.html").write_text(
        "{% extends 'base.html' %}{% block body %}\n\n" + TEN_TO_NINE + "{% endblock %}",
        encoding="utf-8")
    problems = template_problems(load(ROOT / "aarshjul.yaml"), tdir)
    by_kind = {p.path: p for p in problems}
    assert set(by_kind) == {"reminder", "receipt"}
    assert by_kind["reminder"].file.endswith("reminder.txt") and by_kind["reminder"].line == 3
    assert "range() makes more than 10.000 numbers" in by_kind["reminder"].message
    assert by_kind["receipt"].file.endswith("receipt.html") and by_kind["receipt"].line == 3
    assert "1.000.000 characters" in by_kind["receipt"].message


def test_aarshjul_check_refuses_a_hostile_template(tdir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cli import app

    make_docx(tdir / "formular.docx", ["{{ deliverable.title }}", NESTED])
    monkeypatch.setenv("AARSHJUL_TEMPLATES_DIR", str(tdir))
    result = CliRunner().invoke(app, ["check", "--config", str(ROOT / "aarshjul.yaml")])
    assert result.exit_code == 1
    assert "formular.docx:2 word/document.xml: paragraph 2" in result.output
    assert "range() makes more than 10.000 numbers" in result.output


def test_a_render_error_is_the_letters_and_the_process_goes_on(tmp_path: Path) -> None:
    bad = DocxTemplate(make_docx(tmp_path / "bad.docx", ["Hej {{ name }}",
                                                         "{% for i in range(10000) %}"
                                                         "{% for j in range(10000) %}"
                                                         "{% endfor %}{% endfor %}"]))
    good = DocxTemplate(make_docx(tmp_path / "good.docx", ["Hej {{ name }}"]))
    for _ in range(3):
        with pytest.raises(RenderError) as info:
            bad.render({"name": "BUU"})
        assert info.value.problem.paragraph == 2
        assert "loops run more than 100.000 times" in info.value.problem.message
        assert good.render({"name": "BUU"}).startswith(b"PK")
