"""Intake benchmarks: time per refusal of each hostile file (budget 2 s each, measured in a
child process under a 256 MB address-space limit, with its peak memory), intake of one typical
filled-in form (check + read back, budget 100 ms), and one barometer chart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result, median_seconds

CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
from letters.intake import Refused, check_docx
data = open(sys.argv[1], "rb").read()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    try:
        check_docx(data, sys.argv[2])
        outcome = "accepted"
    except Refused:
        outcome = "refused"
    times.append(time.perf_counter() - t0)
times.sort()
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print(json.dumps({"outcome": outcome, "median": times[2], "worst": times[-1], "hwm_kb": hwm}))
"""


def _filled_form(picture: bool = False) -> bytes:
    import io

    import docx

    from tests.letters.test_readback import fill, sent_form

    d = fill(docx.Document(io.BytesIO(sent_form())))
    if picture:  # a photo-sized picture of noise (does not compress): ~3 MB
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(1)
        img = Image.fromarray(rng.integers(0, 255, (1000, 1000, 3), dtype=np.uint8))
        png = io.BytesIO()
        img.save(png, format="PNG")
        png.seek(0)
        d.add_picture(png)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def run() -> list[Result]:
    from letters.intake import check_docx
    from letters.readback import read_form
    from tests.letters import hostile

    results: list[Result] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        for case, (maker, name, _fragment) in sorted(hostile.HOSTILE.items()):
            path = Path(tmp) / "f.bin"
            path.write_bytes(maker())
            proc = subprocess.run([PY, "-c", CHILD, str(path), name], capture_output=True,
                                  text=True, cwd=ROOT, env=env, check=True)
            out = json.loads(proc.stdout)
            assert out["outcome"] == "refused", case
            results.append(Result(
                f"refuse: {case}", out["worst"], "s", budget=2.0,
                note=f"median {out['median'] * 1000:.1f} ms; peak RSS "
                     f"{out['hwm_kb'] / 1024:.0f} MB, the file itself included",
            ))

    form = _filled_form()
    goals = ["HM1", "HM3", "HM5"]

    def intake() -> None:
        check_docx(form, "handleplan.docx")
        read_form(form, goals)

    intake()
    results.append(Result("intake of one typical form (check + read back)",
                          median_seconds(intake, 21), "s", budget=0.1,
                          note=f"{len(form) / 1000:.0f} kB .docx from the real template"))
    results.append(Result("  of which check_docx", median_seconds(
        lambda: check_docx(form, "f.docx"), 21), "s"))
    big = _filled_form(picture=True)
    results.append(Result("intake of a form with a 3 MB picture (check + read back)",
                          median_seconds(lambda: (check_docx(big, "f.docx"),
                                                  read_form(big, goals)), 7), "s",
                          note=f"{len(big) / 1e6:.1f} MB .docx"))

    from letters.charts import goal_chart
    from models.barometer import Reading
    from models.config import load

    wheel = load(ROOT / "aarshjul.yaml").wheel
    rs = [Reading("HM2", f"{2011 + i // 2}-H{i % 2 + 1}", 7.4 - 0.2 * i) for i in range(6)]
    goal_chart(wheel.goal["HM2"], rs)
    results.append(Result("barometer chart, one goal (PNG 975x540, warm)",
                          median_seconds(lambda: goal_chart(wheel.goal["HM2"], rs), 7), "s"))
    results.append(Result("barometer chart, one goal (SVG, warm)",
                          median_seconds(lambda: goal_chart(wheel.goal["HM2"], rs, fmt="svg"), 7),
                          "s"))
    return results


if __name__ == "__main__":
    for r in run():
        print(r)
    sys.exit(0)
