"""The årshjul picture: real PNG and SVG files, decoded and searched; the label layout
measured with matplotlib's own renderer on a crowded wheel."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from letters.wheel_picture import (
    DEADLINE,
    KIND_COLOURS,
    MARKER_R,
    SLOT_COLOURS,
    TODAY,
    draw_wheel,
    render_wheel,
    year_angle,
)
from models.config import load
from models.dates import MAANEDER
from models.plan import year_plan
from models.wheel import Wheel
from tests import ROOT

SVG = "{http://www.w3.org/2000/svg}"

CROWDED_EVENTS = """
  - key: ekstra-1
    title: Temamøde om sprogstimulering i dagtilbud og skoler
    date: "03-01"
    do: meeting
  - key: ekstra-2
    title: Dialogmøde med Eksperttænketanken for integration
    date: "03-02"
    do: meeting
  - key: ekstra-3
    title: Barometer-workshop
    date: "03-05"
    do: barometer
  - key: ekstra-4
    title: Høring om handleplaner i de stående udvalg
    date: "03-16"
    do: meeting
  - key: ekstra-5
    title: Juleafslutning med de frivillige foreninger
    date: "12-10"
    do: meeting
  - key: ekstra-6
    title: Opsamling på årets integrationsindsats til direktionen
    date: "12-11"
    do: status_report
  - key: ekstra-7
    title: Nytårsbrev til udvalgene
    date: "12-28"
    do: letters
    letter: opfordringsskrivelse
"""


@pytest.fixture(scope="module")
def png(wheel: Wheel) -> bytes:
    return render_wheel(wheel, year_plan(wheel, 2012), fmt="png", today=date(2012, 4, 20))


@pytest.fixture(scope="module")
def svg(wheel: Wheel) -> bytes:
    return render_wheel(wheel, year_plan(wheel, 2012), fmt="svg", today=date(2012, 4, 20))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _colours(data: bytes) -> dict[tuple[int, int, int], int]:
    im = Image.open(BytesIO(data)).convert("RGB")
    found: Any = im.getcolors(maxcolors=1 << 20)
    assert found is not None
    return {tuple(c): n for n, c in found}


def test_png_is_an_a4_page_at_300_dpi_and_not_trivial(png: bytes) -> None:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    im = Image.open(BytesIO(png))
    im.load()
    assert im.size == (3507, 2481)  # A4 landscape, 11.69 x 8.27 in at 300 dpi
    assert len(png) > 300_000
    colours = _colours(png)
    assert len(colours) > 2_000
    # the page is mostly white, but far from blank
    white = colours.get((255, 255, 255), 0)
    assert 0.4 < white / (im.size[0] * im.size[1]) < 0.9
    # the kinds' and the deadline's colours are really drawn (markers are solid inside)
    for colour in (DEADLINE, KIND_COLOURS["letters"], KIND_COLOURS["meeting"]):
        assert colours.get(_rgb(colour), 0) > 500, colour


def test_today_marker_only_in_the_current_year(wheel: Wheel, png: bytes, svg: bytes) -> None:
    assert _colours(png).get(_rgb(TODAY), 0) > 500
    plan = year_plan(wheel, 2012)
    other_year = render_wheel(wheel, plan, fmt="png", today=date(2013, 4, 20))
    assert _colours(other_year).get(_rgb(TODAY), 0) == 0
    root = ET.fromstring(svg)
    assert root.find(".//*[@id='today-marker']") is not None
    assert root.find(".//*[@id='today-label']") is not None
    for today in (None, date(2011, 12, 31), date(2013, 1, 1)):
        other = ET.fromstring(render_wheel(wheel, plan, fmt="svg", today=today))
        assert other.find(".//*[@id='today-marker']") is None, today


def _texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_svg_keeps_danish_text_as_text(wheel: Wheel, svg: bytes) -> None:
    texts = _texts(svg)
    for month in MAANEDER:
        assert month in texts, month
    joined = " ".join(texts)
    for e in wheel.events:
        assert e.title in joined, e.title
    for d in wheel.deliverables:
        assert d.title in joined
    assert "2012" in texts
    assert "Københavns Integrationspolitik 2011-2014" in joined
    assert "1  10. januar" in texts  # the first label: number and Danish date
    assert "5  Frist 1. maj" in texts
    assert "påmindelser 17/4, 24/4, 30/4" in texts  # one line per kind of reminder
    assert "rykkere 2/5, 8/5" in texts and "eskalering 15/5" in texts
    for legend in ("Breve", "Møde", "Frist", "Påmindelse", "Rykker", "Eskalering", "I dag"):
        assert legend in texts, legend


def test_svg_is_deterministic(wheel: Wheel, svg: bytes) -> None:
    again = render_wheel(wheel, year_plan(wheel, 2012), fmt="svg", today=date(2012, 4, 20))
    assert again == svg


def test_year_angle_january_on_top_clockwise() -> None:
    assert year_angle(2012, date(2012, 1, 1)) == pytest.approx(90 - 360 * 0.5 / 366)
    assert year_angle(2012, date(2012, 7, 2)) == pytest.approx(90 - 180, abs=1)  # bottom
    assert year_angle(2013, date(2013, 4, 1)) == pytest.approx(0, abs=1.5)  # 3 o'clock


def _crowded(tmp_path: Path) -> Wheel:
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n"
    path = tmp_path / "aarshjul.yaml"
    path.write_text(text + CROWDED_EVENTS, encoding="utf-8")
    return load(path).wheel


@pytest.mark.parametrize("year", [2012, 2013])
def test_labels_and_markers_never_overlap(tmp_path: Path, year: int) -> None:
    """15 events (4 in the first week of March, 3 in December) and 2 deadlines."""
    from matplotlib import rc_context

    from letters.wheel_picture import _style

    w = _crowded(tmp_path)
    with rc_context(_style(year)):
        fig = draw_wheel(w, year_plan(w, year), today=date(year, 12, 5))
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        ax = fig.axes[0]
        boxes = [
            (t.get_gid() or "", t.get_window_extent(renderer))
            for t in ax.texts
            if (t.get_gid() or "").startswith("label-")
        ]
    heads = [g for g, _ in boxes if not g.endswith(("-title", "-detail"))]
    assert len(heads) == len(w.events) + len(w.deliverables) == 17
    page = fig.bbox
    for gid, box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1, gid
        assert page.y0 <= box.y0 and box.y1 <= page.y1, gid
    for (g1, b1), (g2, b2) in itertools.combinations(boxes, 2):
        assert not b1.overlaps(b2), (g1, g2)
    markers = [p for p in ax.patches if (p.get_gid() or "").startswith("event-")]
    assert len(markers) == len(w.events)
    for m1, m2 in itertools.combinations(markers, 2):
        (x1, y1), (x2, y2) = m1.center, m2.center  # type: ignore[attr-defined]
        assert ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5 >= 2 * MARKER_R - 1e-9, (
            m1.get_gid(), m2.get_gid())


MINIMAL = """\
version: 1
policy:
  name: Lille politik
  owner: A
  years: [2013, 2013]
  timezone: Europe/Copenhagen
  country: DK
  closed_days: ["12-31"]
  send_time: "09:00"
  sender: {name: Sekretariatet, email: sek@lille.example}
  coordinator: {name: Koordinator, email: koord@lille.example}
committees:
  - {key: A, name: Udvalg A, to: [a@lille.example]}
  - {key: B, name: Udvalg B, to: [b@lille.example]}
"""


@pytest.mark.parametrize(
    "extra",
    [
        "",  # no events, no deliverables
        # an event on a closed 31 December runs on 2 January of the next year; a
        # deliverable that no letter opens (no period, no reminders); 1 January
        'deliverables:\n  - {key: d, title: Årsberetning, due: "12-20"}\n'
        "events:\n"
        '  - {key: nyt, title: Nytårsmøde, date: "01-01", do: meeting}\n'
        '  - {key: sidst, title: Årets sidste brev, date: "12-31", do: letters, letter: x}\n',
    ],
)
def test_sparse_and_edge_wheels_draw(extra: str) -> None:
    from models.config import loads

    w = loads(MINIMAL + extra).wheel
    plan = year_plan(w, 2013)
    data = render_wheel(w, plan, fmt="svg", today=date(2013, 12, 31))
    texts = _texts(data)
    assert "januar" in texts and "Lille politik" in " ".join(texts)
    for e in plan.events:
        assert -270 <= year_angle(2013, e.at) <= 90
    if extra:
        assert plan.event("sidst").day == date(2014, 1, 2)  # past the year: drawn at its end
        assert year_angle(2013, plan.event("sidst").at) == pytest.approx(-270, abs=0.01)
        assert "Årets sidste brev" in " ".join(texts)


# --- legibility: markers and text at A4 and on a 1280 px wide screen -------------------

A4_TO_1280 = 1280 / (11.69 * 72)  # px per point when the A4 page is shown 1280 px wide


def _leaders(fig: Any) -> dict[str, list[tuple[float, float]]]:
    out = {}
    for line in fig.axes[0].lines:
        gid = line.get_gid() or ""
        if gid.endswith("-leader"):
            xs, ys = line.get_data()
            out[gid] = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    return out


def _cross(p1: Any, p2: Any, q1: Any, q2: Any) -> bool:
    """Segments meet (a proper crossing, or a touch, or an overlap of collinear parts)."""
    def side(a: Any, b: Any, c: Any) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    def on(a: Any, b: Any, c: Any) -> bool:
        return (abs(side(a, b, c)) < 1e-12 and min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    d1, d2 = side(q1, q2, p1), side(q1, q2, p2)
    d3, d4 = side(p1, p2, q1), side(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return on(q1, q2, p1) or on(q1, q2, p2) or on(p1, p2, q1) or on(p1, p2, q2)


def _wheels(tmp_path: Path) -> list[tuple[str, Wheel, int]]:
    w, crowded = load(ROOT / "aarshjul.yaml").wheel, _crowded(tmp_path)
    return [(f"copenhagen-{y}", w, y) for y in (2011, 2012, 2013, 2014)] + [
        (f"crowded-{y}", crowded, y) for y in (2011, 2012, 2013, 2014)]


def test_no_leader_line_crosses_another(tmp_path: Path) -> None:
    """The label lines as drawn, segment by segment: none meets another, on the bundled
    wheel and on the crowded one (same-day events in March and December) in every year."""
    from matplotlib import rc_context

    from letters.wheel_picture import _style

    for name, w, year in _wheels(tmp_path):
        with rc_context(_style(year)):
            fig = draw_wheel(w, year_plan(w, year), today=date(year, 4, 20))
        leaders = _leaders(fig)
        assert len(leaders) == len(w.events) + len(w.deliverables), name
        for (g1, l1), (g2, l2) in itertools.combinations(leaders.items(), 2):
            for p1, p2 in itertools.pairwise(l1):
                for q1, q2 in itertools.pairwise(l2):
                    assert not _cross(p1, p2, q1, q2), (name, g1, g2)


def test_markers_and_text_are_legible_at_a4_and_at_1280_px(wheel: Wheel) -> None:
    from matplotlib import rc_context

    from letters.wheel_picture import _style

    with rc_context(_style(2012)):
        fig = draw_wheel(wheel, year_plan(wheel, 2012), today=date(2012, 4, 20))
    ax = fig.axes[0]
    slots = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("slot-")]
    assert len(slots) == 12  # 6 reminder days for each of the two deliverables
    for ln in slots:
        size = ln.get_markersize()  # points
        assert size >= 7.4, ln.get_gid()  # >= 2.6 mm on paper, >= 11 px on the screen
        assert size * A4_TO_1280 >= 11
    # markers of one deliverable never cover one another
    for a, b in itertools.combinations(slots, 2):
        (xa,), (ya,) = a.get_data()
        (xb,), (yb,) = b.get_data()
        gap = math.hypot(xa - xb, ya - yb) * 72  # points
        assert gap >= (a.get_markersize() + b.get_markersize()) / 2 * 0.9, (
            a.get_gid(), b.get_gid())
    sizes = {t.get_gid() or t.get_text(): t.get_fontsize() for t in ax.texts if t.get_text()}
    assert min(sizes.values()) >= 7.0, min(sizes.items(), key=lambda kv: kv[1])
    assert min(sizes.values()) * A4_TO_1280 >= 10.5  # px high on a 1280 px screen
    for legend_text in ax.get_legend().get_texts():
        assert legend_text.get_fontsize() >= 8


def test_reminder_markers_show_at_1280_px(png: bytes) -> None:
    """The picture scaled to a 1280 px wide screen still shows each påmindelse as a blob of
    its colour, not a speck."""
    im = Image.open(BytesIO(png)).convert("RGB")
    small = im.resize((1280, round(1280 * im.size[1] / im.size[0])), Image.Resampling.BOX)
    colours = _colours_of(small)
    amber = _rgb(SLOT_COLOURS["before"])
    near = sum(n for c, n in colours.items() if max(abs(c[i] - amber[i]) for i in range(3)) < 40)
    assert near >= 6 * 60  # 6 påmindelser, each at least ~9 px across


def _colours_of(im: Any) -> dict[tuple[int, int, int], int]:
    found: Any = im.getcolors(maxcolors=1 << 20)
    return {tuple(c): n for n, c in found}
