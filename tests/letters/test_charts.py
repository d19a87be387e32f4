"""Barometer charts: trend against target and baseline, Danish labels, illustrative label,
alt text with the figures."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from letters.charts import chart_alt_text, chart_rows, goal_chart
from models.barometer import Reading
from models.wheel import Wheel
from tests import ROOT

ILL = "Illustrative tal"
READINGS = [
    Reading("HM2", "2011-H2", 7.1, ILL),
    Reading("HM2", "2011-H1", 7.4, ILL),  # out of order on purpose
    Reading("HM2", "2012-H1", 6.8, ILL),
    Reading("HM1", "2011-H2", 52.0, ILL),
    Reading("HM1", "2012-H1", 53.5, ILL),
]


def svg_text(wheel: Wheel, key: str, readings: list[Reading] = READINGS, **kw: bool) -> str:
    return goal_chart(wheel.goal[key], readings, fmt="svg", **kw).decode()


def test_svg_shows_trend_baseline_and_target_in_danish(wheel: Wheel) -> None:
    plain = [Reading(r.goal, r.period, r.value) for r in READINGS]
    svg = svg_text(wheel, "HM2", plain)
    assert svg.startswith("<?xml")
    for text in ("HM2 – Overledigheden blandt etniske minoriteter",
                 "Udgangspunkt (1. halvår 2011):", "7,4 %", "Seneste (1. halvår 2012):",
                 "6,8 %", "Mål for 2014:", "5,8 %",
                 "↓ lavere er bedre", "7,1", "H2", "2014"):
        assert text in svg, text
    assert "mål ikke fastsat" not in svg
    assert "53,5" not in svg  # another goal's readings are not drawn
    assert ILL not in svg


def test_goal_without_target_says_so(wheel: Wheel) -> None:
    svg = svg_text(wheel, "HM1")
    assert "mål ikke fastsat" in svg
    assert "(politikken: forbedres med" in svg and "X\u00a0%)" in svg  # % kept with X
    assert "Mål for" not in svg
    assert "↑ højere er bedre" in svg


def test_goal_without_readings(wheel: Wheel) -> None:
    svg = svg_text(wheel, "HM4")
    assert "Ingen måling endnu" in svg
    assert "mål ikke fastsat" in svg
    svg2 = svg_text(wheel, "HM2", [])
    assert "Ingen måling endnu" in svg2 and "Mål for 2014:" in svg2


def test_illustrative_label(wheel: Wheel) -> None:
    assert svg_text(wheel, "HM2", illustrative=True).count(ILL) >= 2  # label and watermark


def _red_pixels(png: bytes) -> int:
    import numpy as np
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = img.size
    box = np.asarray(img.crop((int(w * 0.75), 0, w, int(h * 0.1)))).reshape(-1, 3)
    r, g, b = box[:, 0], box[:, 1], box[:, 2]
    return int(((r > 180) & (g < 80) & (b < 80)).sum())


def test_png_carries_a_visible_illustrative_label(wheel: Wheel) -> None:
    from PIL import Image

    plain = goal_chart(wheel.goal["HM2"], READINGS)
    marked = goal_chart(wheel.goal["HM2"], READINGS, illustrative=True)
    assert plain.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(marked)).size == (975, 540)
    assert _red_pixels(plain) == 0
    assert _red_pixels(marked) > 500


def test_output_is_deterministic(wheel: Wheel) -> None:
    g = wheel.goal["HM6"]
    assert goal_chart(g, READINGS, fmt="svg") == goal_chart(g, READINGS, fmt="svg")
    assert goal_chart(g, READINGS) == goal_chart(g, READINGS)


def test_unknown_format_is_refused(wheel: Wheel) -> None:
    with pytest.raises(ValueError, match="png or svg"):
        goal_chart(wheel.goal["HM2"], READINGS, fmt="pdf")  # type: ignore[arg-type]


def test_alt_text_carries_the_figures(wheel: Wheel) -> None:
    assert chart_alt_text(wheel.goal["HM2"], READINGS, illustrative=True) == (
        "Graf for HM2 – Overledigheden blandt etniske minoriteter, målt i %. "
        "Illustrative tal: eksempeldata, ikke målinger. "
        "Målinger: 1. halvår 2011: 7,4 %; 2. halvår 2011: 7,1 %; 1. halvår 2012: 6,8 %. "
        "Udgangspunkt: 7,4 % (1. halvår 2011). "
        "Seneste: 6,8 % (1. halvår 2012), 0,6 procentpoint lavere end udgangspunktet. "
        "Mål: 5,8 % i 2014. Lavere er bedre."
    )
    assert chart_alt_text(wheel.goal["HM4"], READINGS) == (
        "Graf for HM4 – Etniske minoriteters inklusionsindeks sammenlignet med etniske "
        "danskere, målt i %. Ingen målinger endnu. Målet er ikke fastsat (politikken: "
        "forbedres med X %). Højere er bedre."
    )
    one = chart_alt_text(wheel.goal["HM6"], [Reading("HM6", "2012-H1", 100.0)])
    assert "Målinger: 1. halvår 2012: 100 indeks." in one and "Seneste" not in one


def test_chart_rows(wheel: Wheel) -> None:
    assert chart_rows(wheel.goal["HM2"], READINGS) == [
        ("1. halvår 2011", "7,4 %"), ("2. halvår 2011", "7,1 %"), ("1. halvår 2012", "6,8 %"),
    ]


def test_importing_charts_does_not_import_matplotlib() -> None:
    code = "import sys, letters.charts; assert 'matplotlib' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
