"""Letters: 1,000 distinct committees' opfordringsskrivelser in one process.

Figures (compare ratios within one run; the machine is shared):
- fast renderer, letters/s (render only; budget >= 1,000/s) and with the context built
  per letter (``letter_context``) as well;
- docxtpl rendering the same template (30 letters: load, render with autoescape, save), and
  the ratio fast/docxtpl (budget >= 40x);
- a floor that only writes the zip with the same members (the rendered document.xml given,
  deflated, the rest copied), and the ratio fast/floor (budget <= 3x);
- peak RSS of a process rendering 1,000 letters (budget <= 100 MB), measured in a
  subprocess, from its VmHWM (``tests.bench.peak_rss_mb``).
"""

from __future__ import annotations

import json
import subprocess
import time
from io import BytesIO
from typing import Any

from tests import ROOT
from tests.bench import PY, Result

N = 1_000
N_DOCXTPL = 30


def build_wheel(n: int = N) -> Any:
    """The Copenhagen wheel with ``n`` distinct committees, each concerned by two goals."""
    from models.config import load
    from models.wheel import Wheel

    base = load(ROOT / "aarshjul.yaml").wheel
    data = base.model_dump(by_alias=True, exclude_none=True)
    owner = data["policy"]["owner"]
    committees = [c for c in data["committees"] if c["key"] == owner]
    for i in range(n):
        committees.append({
            "key": f"U{i:04d}",
            "name": f"Udvalg nr. {i} for Børn & Unge <æøå> «{i % 97}»",
            "chair": f"Formand {i}",
            "to": [f"udvalg{i}@kk.example"],
        })
    data["committees"] = committees
    keys = [c["key"] for c in committees if c["key"] != owner]
    goals = [g for a in data["focus_areas"] for g in a["goals"]]
    for j, g in enumerate(goals):
        g["committees"] = [owner, *(k for i, k in enumerate(keys) if i % len(goals) in
                                    (j, (j + 1) % len(goals)))]
    for d in data["deliverables"]:
        d["from"] = [owner, *keys]
    for e in data["events"]:
        if "to" in e:
            e["to"] = [owner, *keys]
    return Wheel.model_validate(data)


def _readings(wheel: Any) -> dict[str, list[Any]]:
    from letters.context import Reading

    return {g.key: [Reading(g.key, "2011-H2", 4.2 + k)] for k, g in enumerate(wheel.goals)
            if k % 2 == 0}


def _contexts(wheel: Any, plan: Any) -> list[dict[str, Any]]:
    from letters.context import letter_context

    readings = _readings(wheel)
    keys = [c.key for c in wheel.committees if c.key != wheel.policy.owner]
    return [letter_context(wheel, plan, "opfordring", k, readings) for k in keys]


def _rss_child() -> None:
    """Run in a subprocess: render 1,000 letters, print peak RSS (MB) as JSON."""
    from letters.render import template
    from models.plan import year_plan

    wheel = build_wheel()
    plan = year_plan(wheel, 2012)
    t = template("opfordringsskrivelse")
    from letters.context import letter_context

    readings = _readings(wheel)
    total = 0
    for c in wheel.committees:
        if c.key == wheel.policy.owner:
            continue
        total += len(t.render(letter_context(wheel, plan, "opfordring", c.key, readings)))
    from tests.bench import peak_rss_mb

    print(json.dumps({"rss_mb": peak_rss_mb(), "bytes": total}))


def run() -> list[Result]:
    import zipfile

    from docxtpl import DocxTemplate as DocxTpl

    from letters.render import template, template_path
    from models.plan import year_plan

    wheel = build_wheel()
    plan = year_plan(wheel, 2012)
    t = template("opfordringsskrivelse")

    t0 = time.perf_counter()
    ctxs = _contexts(wheel, plan)
    t_ctx = time.perf_counter() - t0
    assert len(ctxs) == N

    def fast() -> list[bytes]:
        return [t.render(c) for c in ctxs]

    fast()  # warm
    best_fast = min(_timed(fast) for _ in range(3))
    outs = fast()
    assert len(set(outs)) == N, "the letters are not distinct"
    per_fast = best_fast / N

    # floor: the same zip with the same members, the rendered XML given
    xmls = [zipfile.ZipFile(BytesIO(o)).read("word/document.xml") for o in outs]

    def floor() -> None:
        for x in xmls:
            t.writer.write([x])

    best_floor = min(_timed(floor) for _ in range(3))
    per_floor = best_floor / N

    # docxtpl: load, render (autoescape, as ours), save; the same template and data
    path = str(template_path("opfordringsskrivelse"))

    def docxtpl_run() -> None:
        for c in ctxs[:N_DOCXTPL]:
            d = DocxTpl(path)
            d.render(c, autoescape=True)
            d.save(BytesIO())

    docxtpl_run()  # warm (imports)
    per_docxtpl = min(_timed(docxtpl_run) for _ in range(2)) / N_DOCXTPL

    proc = subprocess.run(
        [PY, "-c", "from tests.bench.bench_letters import _rss_child; _rss_child()"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    rss = json.loads(proc.stdout.strip().splitlines()[-1])["rss_mb"]
    size = sum(len(o) for o in outs) / N

    return [
        Result("letters: fast renderer, 1,000 committees (render only)", 1 / per_fast,
               "letter/s", budget=1000, higher_is_better=True,
               note=f"{per_fast * 1e6:.0f} µs/letter, {size / 1024:.1f} KB each"),
        Result("letters: fast renderer incl. building each context", 1 / (per_fast + t_ctx / N),
               "letter/s", note=f"context {t_ctx / N * 1e6:.0f} µs/letter"),
        Result(f"letters: docxtpl, same template ({N_DOCXTPL} letters)", 1 / per_docxtpl,
               "letter/s"),
        Result("letters: fast / docxtpl", per_docxtpl / per_fast, "x", budget=40,
               higher_is_better=True),
        Result("letters: floor (write the zip only)", 1 / per_floor, "letter/s"),
        Result("letters: fast / floor (time per letter)", per_fast / per_floor, "x", budget=3),
        Result("letters: peak RSS rendering 1,000 letters (subprocess)", rss, "MB",
               budget=100),
    ]


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
