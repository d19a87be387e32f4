"""Text from forms and from the wheel is shown, never rendered, in the Markdown artifacts: a
committee's link, image, HTML or table pipe comes out as the text it is (README "Text from
forms and the wheel in artifacts")."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import docx
from markdown_it import MarkdownIt

from flows import runs
from flows.artifacts import summary_markdown, table_rows
from letters.barometer_text import snapshot_markdown
from letters.reports.markdown import budget_markdown, status_markdown
from models.config import loads
from models.text import markdown_code_block, markdown_text
from tests.dbtools import database
from tests.flows.helpers import ROOT, at, make_setup
from tests.letters.report_data import seven_committee_status
from tests.letters.test_readback import TEXTS, fill, sent_form

HOSTILE = ("![x](http://evil) [klik](javascript:alert(1)) <img src=x onerror=alert(1)> "
           "a|b `kode` **fed** www.evil.dk")


def render(markdown: str) -> str:
    """HTML as a CommonMark renderer with raw HTML and GFM tables makes it."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def assert_inert(html: str) -> None:
    assert "<img" not in html and "<a " not in html and "href=" not in html, html
    assert "<strong>fed</strong>" not in html and "<code>kode</code>" not in html, html


def test_the_escape_shows_the_text_and_renders_nothing() -> None:
    html = render(f"| A | B |\n|---|---|\n| {markdown_text(HOSTILE)} | 2 |\n")
    assert_inert(html)
    assert html.count("<td>") == 2  # the pipe did not add a cell
    assert "![x](http://evil) [klik](javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt;" \
        " a|b `kode` **fed** www.evil.dk" in html
    assert markdown_text("linje\n# overskrift") == "linje \\# overskrift"  # no new block


def test_a_code_block_cannot_be_closed_from_inside() -> None:
    html = render(markdown_code_block("før\n```\n<img src=x>\nefter"))
    assert html.count("<pre>") == 1 and "<img" not in html and "efter" in html


def test_a_hostile_form_is_inert_in_the_receipt_runs_summary(tmp_path: Path) -> None:
    rows = [("Mentor " + HOSTILE, HOSTILE, HOSTILE, "Ja")]
    d = fill(docx.Document(io.BytesIO(sent_form())), TEXTS, rows)
    buf = io.BytesIO()
    d.save(buf)
    form = tmp_path / "BUU [klik](javascript:x) <img>.docx"
    form.write_bytes(buf.getvalue())
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        report = runs.submit(st, 2012, "BUU", "handleplan", form, at("2012-04-20T10:00"))
    assert any("javascript:alert(1)" in n for n in report.notes)  # the form's text is there
    html = render(summary_markdown(report))
    assert_inert(html)
    assert "[klik](javascript:alert(1)) &lt;img src=x on" in html
    for row in table_rows(report.requests):
        assert_inert(render(f"| x |\n|---|\n| {row['Seneste handling']} |\n"))


def test_wheel_text_is_inert_in_the_report_and_barometer_artifacts() -> None:
    data = dataclasses.replace(seven_committee_status(), event_title=HOSTILE)
    for markdown in (status_markdown(data), budget_markdown(data)):
        html = render(markdown)
        assert_inert(html)
        assert "[klik](javascript:alert(1))" in html
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    old = "title: Overledigheden blandt etniske minoriteter"
    assert text.count(old) == 1
    hostile = loads(text.replace(old, f"title: '{HOSTILE}'")).wheel
    html = render(snapshot_markdown(hostile, HOSTILE, 2012, at("2012-07-01T09:00").date(), [],
                                    dry_run=False))
    assert_inert(html)
    assert html.count("[klik](javascript:alert(1))") >= 2  # the heading and the goal's row
