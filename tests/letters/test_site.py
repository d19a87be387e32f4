"""The read-only wheel site: the pages parsed with a real HTML parser (lxml), and, under the
``ui`` marker, opened in Debian's Chromium through chromium-driver: a DOM assertion, the
print styles, a screenshot (a copy of one run's is kept in tests/letters/evidence/, looked at
by a person) and axe-core's WCAG 2.1 AA rules, with no violation allowed."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from letters.ics import calendar_bytes
from letters.site import CSS, INDEX, STATUS, StatusRow, build_site, site_name
from letters.wheel_picture import render_wheel
from models.config import loads
from models.plan import year_plan
from models.wheel import Wheel
from tests import CPH, ROOT

STAMP = datetime(2026, 11, 22, 8, tzinfo=ZoneInfo("UTC"))
AS_OF = datetime(2011, 6, 1, 9, tzinfo=CPH)
AXE = ROOT / ".tools" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
HOSTILE = "Udvalg <script>alert('x')</script> & \"Co\""


def _site(wheel: Wheel, year: int, status: list[StatusRow] | None = None) -> dict[str, bytes]:
    plan = year_plan(wheel, year)
    return build_site(wheel, plan, svg=render_wheel(wheel, plan, fmt="svg"),
                      ics=calendar_bytes(wheel, plan, stamp=STAMP), status=status,
                      as_of=AS_OF if status is not None else None)


def _rows(wheel: Wheel) -> list[StatusRow]:
    statuses = ["on_time", "late", "missing", "open", "excused", "on_time", "late"]
    return [
        StatusRow(c.name, d.title, date(2011, 5, 2) if d.key == "handleplan" else
                  date(2011, 5, 16), s, date(2011, 4, 28) if s in ("on_time", "late") else None)
        for d in wheel.deliverables for c, s in zip(wheel.committees, statuses, strict=True)
    ]


@pytest.fixture(scope="module")
def files(wheel: Wheel) -> dict[str, bytes]:
    return _site(wheel, 2011, _rows(wheel))


def _doc(data: bytes) -> Any:
    return lxml.html.document_fromstring(data.decode("utf-8"))


def _text(el: Any) -> str:
    return " ".join(el.text_content().split())


def test_the_files_and_the_calendar_are_the_calendar_verbs_bytes(
    wheel: Wheel, files: dict[str, bytes]
) -> None:
    assert list(files) == [INDEX, STATUS, CSS, "aarshjul-2011.ics"]
    plan = year_plan(wheel, 2011)
    assert files[site_name(2011)] == calendar_bytes(wheel, plan, stamp=STAMP)
    without = _site(wheel, 2011)
    assert STATUS not in without
    assert b"status.html" not in without[INDEX]  # no link to a page that is not there


def test_index_is_danish_accessible_html(files: dict[str, bytes]) -> None:
    doc = _doc(files[INDEX])
    assert doc.get("lang") == "da"
    assert doc.find(".//title").text == "Årshjul 2011 – Københavns Integrationspolitik 2011-2014"
    assert doc.xpath("//script") == []  # readable without any script
    body = doc.find("body")
    skip = body[0]
    assert skip.tag == "a" and skip.get("href") == "#indhold" and "Gå til indholdet" in _text(skip)
    assert doc.get_element_by_id("indhold").tag == "main"
    # the wheel, inline, as an image with a name and a description
    svg = doc.xpath("//figure/*[local-name()='svg']")
    assert len(svg) == 1
    assert svg[0].get("role") == "img"
    for ref in svg[0].get("aria-labelledby").split():
        assert doc.xpath(f"//*[@id='{ref}']"), ref
    assert "Årshjul 2011" in _text(doc.xpath("//*[@id='hjul-titel']")[0])
    assert svg[0].get("width") is None and svg[0].get("viewbox")  # scales with the page
    # tables: a caption, column headers with scope, a row header per row
    tables = doc.xpath("//table")
    assert len(tables) == 2
    for t in tables:
        assert t.find("caption") is not None and _text(t.find("caption"))
        assert all(th.get("scope") == "col" for th in t.xpath("./thead//th"))
        for tr in t.xpath("./tbody/tr"):
            assert [th.get("scope") for th in tr.xpath("./th")] == ["row"]
    # headings in order
    assert [h.tag for h in doc.xpath("//h1|//h2")][:3] == ["h1", "h2", "h2"]


def test_the_plan_table_lists_every_event_and_deadline_as_moved(
    wheel: Wheel, files: dict[str, bytes]
) -> None:
    doc = _doc(files[INDEX])
    plan = year_plan(wheel, 2011)
    rows = doc.xpath("//table[contains(@class,'plan')]/tbody/tr")
    assert len(rows) == len(plan.events) + len(plan.deliverables) == 10
    cells = [[_text(c) for c in r] for r in rows]
    whats = [c[1] for c in cells]
    for e in plan.events:
        assert any(w.startswith(e.title) for w in whats), e.title
    by_what = {c[1].split(" (beder om")[0]: c for c in cells}
    # 1 May 2011 was a Sunday: the handleplan is due Monday 2 May
    due = by_what["Frist: Revideret handleplan"]
    assert due[0] == "mandag den 2. maj 2011"
    assert due[4] == "Flyttet fra søndag den 1. maj 2011 (weekend)"
    # 12 June 2011 was Whit Sunday
    talks = by_what["Drøftelse med relevante borgmestre"]
    assert talks[0] == "tirsdag den 14. juni 2011 kl. 09.00"
    assert talks[4] == "Flyttet fra søndag den 12. juni 2011 (helligdag: Pinsedag)"
    assert by_what["Årlig integrationskonference"][4] == ""  # not moved, nothing said
    assert "(beder om: Revideret handleplan, Integrationsredegørelse)" in whats[1]
    assert cells[1][3] == "Alle 7 udvalg"
    # the ladder
    ladder = doc.xpath("//table[contains(@class,'deadlines')]/tbody/tr")
    first = [_text(c) for c in ladder[0]]
    assert first[0] == "Revideret handleplan"
    assert first[2].startswith("mandag den 18. april 2011")  # påmindelser
    assert "eskalering" not in first[4] and first[4] == "mandag den 16. maj 2011"
    closed = [_text(li) for li in doc.xpath("//ul[@class='closed']/li")]
    assert "lørdag den 24. december 2011: lukkedag" in closed
    assert "fredag den 20. maj 2011: Store bededag" in closed
    link = doc.xpath("//section[@aria-labelledby='kalender']//a")[0]
    assert link.get("href") == "aarshjul-2011.ics" and "22 aftaler" in _text(link)


def test_a_day_moved_from_a_closed_day_says_so() -> None:
    w = loads(
        "version: 1\npolicy:\n  name: Lille politik\n  owner: A\n  years: [2013, 2013]\n"
        "  timezone: Europe/Copenhagen\n  country: DK\n  closed_days: [\"12-27\"]\n"
        "  send_time: \"09:00\"\n  sender: {name: Sekretariatet, email: sek@lille.example}\n"
        "  coordinator: {name: Koordinator, email: koord@lille.example}\ncommittees:\n"
        "  - {key: A, name: Udvalg A, to: [a@lille.example]}\n"
        "  - {key: B, name: Udvalg B, to: [b@lille.example]}\n"
        "events:\n  - {key: m, title: Julemøde, date: \"12-27\", do: meeting}\n").wheel
    doc = _doc(_site(w, 2013)[INDEX])
    row = [_text(c) for c in doc.xpath("//table[contains(@class,'plan')]/tbody/tr")[0]]
    assert row[0] == "mandag den 30. december 2013 kl. 09.00"
    assert row[4] == "Flyttet fra fredag den 27. december 2013 (lukkedag)"


def test_every_link_is_relative_and_leads_somewhere(files: dict[str, bytes]) -> None:
    for name in (INDEX, STATUS):
        doc = _doc(files[name])
        ids = set(doc.xpath("//@id"))
        for href in doc.xpath("//a/@href|//link/@href"):
            assert "://" not in href and not href.startswith("/"), (name, href)
            target, _, anchor = href.partition("#")
            if target:
                assert target in files, (name, href)
            if anchor and not target:
                assert anchor in ids, (name, href)


def test_status_page_says_who_handed_in_what_in_danish(wheel: Wheel,
                                                       files: dict[str, bytes]) -> None:
    doc = _doc(files[STATUS])
    assert "pr. 1. juni 2011 kl. 09.00" in _text(doc.find(".//p[@class='lead']"))
    tables = doc.xpath("//table[contains(@class,'status')]")
    assert len(tables) == 2  # one per deliverable
    rows = [[_text(c) for c in tr] for tr in tables[0].xpath("./tbody/tr")]
    assert rows[0] == ["Økonomiudvalget", "mandag den 2. maj 2011", "✓ rettidig",
                       "torsdag den 28. april 2011"]
    assert [r[2] for r in rows] == ["✓ rettidig", "! for sen", "✗ mangler", "… afventer",
                                    "– fritaget", "✓ rettidig", "! for sen"]
    assert rows[2][3] == "–"
    # the symbol only repeats the word, for the eye; screen readers get the word
    for sym in tables[0].xpath(".//span[@class='symbol']"):
        assert sym.get("aria-hidden") == "true"
    summary = [[_text(c) for c in tr] for tr in doc.xpath("//table[@class='summary']/tbody/tr")]
    assert summary[0] == ["Revideret handleplan", "mandag den 2. maj 2011", "2", "2", "1", "1",
                          "1", "7"]
    head = [_text(th) for th in doc.xpath("//table[@class='summary']/thead//th")]
    assert head == ["Aflevering", "Frist", "rettidig", "for sen", "mangler", "afventer",
                    "fritaget", "I alt"]


def test_no_personal_data_on_the_pages(wheel: Wheel, files: dict[str, bytes]) -> None:
    for name in (INDEX, STATUS):
        text = files[name].decode("utf-8")
        assert "@" not in text, name  # no address of any kind
        for c in wheel.committees:
            if c.chair:
                assert c.chair not in text, (name, c.chair)
        assert wheel.policy.coordinator.name not in text


def test_names_and_titles_from_the_wheel_are_escaped(tmp_path: Path) -> None:
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    text = text.replace("name: Kultur- og Fritidsudvalget", f"name: {json.dumps(HOSTILE)}")
    text = text.replace("title: Årlig integrationskonference",
                        "title: \"Konference <img src=x onerror=alert(1)> & mere\"")
    assert HOSTILE.split()[1] in text
    w = loads(text).wheel
    site = _site(w, 2012, [StatusRow(HOSTILE, "Revideret handleplan <b>", date(2012, 5, 1),
                                     "open")])
    for name in (INDEX, STATUS):
        doc = _doc(site[name])
        assert doc.xpath("//script") == [] and doc.xpath("//img") == [], name
        assert doc.xpath("//b") == [], name
        assert doc.xpath("//@onerror") == [], name
    status = _text(_doc(site[STATUS]))
    assert HOSTILE in status and "Revideret handleplan <b>" in status
    index = _text(_doc(site[INDEX]))
    assert "Konference <img src=x onerror=alert(1)> & mere" in index


def test_refusals(wheel: Wheel) -> None:
    plan = year_plan(wheel, 2011)
    with pytest.raises(ValueError, match="as_of"):
        build_site(wheel, plan, svg=render_wheel(wheel, plan, fmt="svg"), ics=b"",
                   status=[], as_of=None)
    with pytest.raises(ValueError, match="naive"):
        build_site(wheel, plan, svg=render_wheel(wheel, plan, fmt="svg"), ics=b"",
                   status=[], as_of=datetime(2011, 6, 1, 9))
    with pytest.raises(ValueError, match="unknown status"):
        _site(wheel, 2011, [StatusRow("A", "B", date(2011, 5, 2), "lost")])
    with pytest.raises(ValueError, match="not an SVG"):
        build_site(wheel, plan, svg=b"<html/>", ics=b"")


def test_styles_for_print_focus_and_contrast(files: dict[str, bytes]) -> None:
    css = files[CSS].decode("utf-8")
    assert re.search(r"@page\s*{\s*size:\s*A4", css)
    assert "@media print" in css and ":focus-visible" in css
    assert ".skip:focus" in css


# --- in a real browser -------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Any:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (make ci-deps installs it under CI)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def _write(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _axe(driver: Any) -> list[dict[str, Any]]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})"
        ".then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})),"
        " passes: r.passes.length, version: axe.version}))"
        ".catch(e => done({error: String(e)}));")
    assert "error" not in result, result
    assert result["passes"] > 10, result  # the rules really ran
    return list(result["violations"])


def _full_screenshot(driver: Any, path: Path) -> bytes:
    import base64

    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True})
    data = base64.b64decode(shot["data"])
    path.write_bytes(data)
    return data


@pytest.mark.ui
@pytest.mark.slow
def test_the_site_in_chromium_dom_print_screenshot_and_axe(
    browser: Any, wheel: Wheel, files: dict[str, bytes], tmp_path: Path
) -> None:
    import pikepdf
    from PIL import Image

    folder = _write(files, tmp_path / "site")
    browser.get((folder / INDEX).as_uri())
    # the DOM as Chromium built it
    dom = browser.execute_script(
        "return {lang: document.documentElement.lang,"
        " svg: document.querySelector('figure svg[role=img]') !== null,"
        " svgWidth: document.querySelector('figure svg').getBoundingClientRect().width,"
        " rows: document.querySelectorAll('table.plan tbody tr').length,"
        " caption: document.querySelector('table.plan caption').textContent,"
        " scripts: document.scripts.length}")
    assert dom["lang"] == "da" and dom["svg"] and dom["scripts"] == 0
    assert dom["rows"] == 10 and dom["caption"].startswith("Begivenheder og frister i 2011")
    assert dom["svgWidth"] > 900  # the wheel fills the page's width at 1280 px
    # the skip link is the first stop of the keyboard, and visible when focused
    from selenium.webdriver.common.keys import Keys

    browser.find_element("tag name", "body").send_keys(Keys.TAB)
    focused = browser.execute_script(
        "const a = document.activeElement; const r = a.getBoundingClientRect();"
        " const s = getComputedStyle(a);"
        " return {href: a.getAttribute('href'), top: r.top, outline: s.outlineStyle};")
    assert focused["href"] == "#indhold" and focused["top"] >= 0
    assert focused["outline"] != "none"
    # axe-core, WCAG 2.1 A and AA: no violation
    assert _axe(browser) == []
    shot = _full_screenshot(browser, tmp_path / "site-index.png")
    assert 1200 <= Image.open(io.BytesIO(shot)).size[0] <= 1280  # the window, less a scrollbar
    # print: the navigation goes, and the page is A4
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.execute_script(
        "return getComputedStyle(document.querySelector('nav')).display") == "none"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    import base64

    pdf = base64.b64decode(browser.execute_cdp_cmd(
        "Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})["data"])
    printed = pikepdf.open(io.BytesIO(pdf))
    box = [float(x) for x in printed.pages[0].MediaBox]
    assert abs(box[2] - 595.3) < 2 and abs(box[3] - 841.9) < 2, box  # A4 in points

    browser.get((folder / STATUS).as_uri())
    assert browser.execute_script(
        "return document.querySelectorAll('table.status tbody tr').length") == 14
    badge = browser.execute_script(
        "return document.querySelector('.badge-missing').textContent.trim()")
    assert badge == "✗ mangler"
    assert _axe(browser) == []
    _full_screenshot(browser, tmp_path / "site-status.png")
