"""The year plan: ``year_plan`` for the real wheel and for one with 1,000 committees.

The plan is recomputed by every chase and every read-only verb, so it must stay cheap
next to loading the file. Figures are medians within one run; compare the ratios.
"""

from __future__ import annotations

from tests import ROOT
from tests.bench import Result, median_seconds


def _big_wheel_text(n: int) -> str:
    """The real wheel with ``n`` extra committees in both deliverables and the letters."""
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    keys = [f"U{i:04d}" for i in range(n)]
    extra = "".join(
        f"  - {{key: {k}, name: Udvalg {k}, to: [{k.lower()}@kk.example]}}\n" for k in keys
    )
    text = text.replace("\nfocus_areas:", extra + "\nfocus_areas:", 1)
    listed = "[OEU, BUU, KFU, SUU, SOU, TMU, BIU]"
    return text.replace(listed, "[OEU, BUU, KFU, SUU, SOU, TMU, BIU, " + ", ".join(keys) + "]")


def run() -> list[Result]:
    from models.calendar import BusinessCalendar
    from models.config import load, loads
    from models.plan import year_plan

    wheel = load(ROOT / "aarshjul.yaml").wheel
    t_load = median_seconds(lambda: load(ROOT / "aarshjul.yaml"), repeat=9)
    # a fresh calendar each time: the holiday look-up is part of the cost
    t_plan = median_seconds(
        lambda: year_plan(wheel, 2012, BusinessCalendar("DK", wheel.policy.closed)), repeat=9
    )
    big = loads(_big_wheel_text(1000)).wheel
    t_big = median_seconds(lambda: year_plan(big, 2012), repeat=5)
    n_big = len(year_plan(big, 2012).requests)
    return [
        Result("load aarshjul.yaml (median of 9)", t_load * 1000, "ms"),
        Result(
            "year_plan 2012, real wheel, 14 requests (median of 9)",
            t_plan * 1000,
            "ms",
            note=f"{t_plan / t_load:.2f}x the load",
        ),
        Result(
            f"year_plan 2012, 1,007 committees, {n_big} requests (median of 5)",
            t_big * 1000,
            "ms",
            budget=300.0,
            note=f"{t_big / t_plan:.0f}x the real wheel",
        ),
    ]
