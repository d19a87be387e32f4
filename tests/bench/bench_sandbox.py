"""How fast ``aarshjul check`` refuses a hostile template (the template limits of the sandbox).

For each hostile template — nested ``range(100000)`` loops, nested ``range(10000)`` loops
(100 million iterations), ``{{ 'x' * 10**9 }}`` — placed in the January letter and in the
reminder's mail text: the time of the whole template check (every template rendered for
every committee, the mail bodies for every kind) until it returns the problem, worst of 3,
with a fresh check cache. Budget: 1 s each ("well under a second"); without the limits the
first two never returned and the third ended in a MemoryError after 15 s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from tests import ROOT
from tests.bench import Result

HOSTILE = {
    "nested range(100000)":
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested range(10000)":
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "'x' * 10**9": "{{ 'x' * 10**9 }}",
}


def run() -> list[Result]:
    from letters.checks import template_problems
    from letters.render import TEMPLATES_DIR
    from models.config import load
    from tests.letters.fixtures.docs import make_docx

    loaded = load(ROOT / "aarshjul.yaml")
    out = []
    before = os.environ.get("XDG_CACHE_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # nothing remembered
        for where in ("letter", "mail"):
            for label, tag in HOSTILE.items():
                worst = 0.0
                for n in range(3):
                    d = Path(tmp) / f"{where}-{len(out)}-{n}"
                    shutil.copytree(TEMPLATES_DIR, d)
                    if where == "letter":
                        make_docx(d / "opfordringsskrivelse.docx",
                                  ["Til {{ committee.name }}", tag])
                    else:
                        (d / "mail" / "reminder.txt").write_text(
                            "Kære {{ salutation }}\n" + tag + "\n", encoding="utf-8")
                    t0 = time.perf_counter()
                    problems = template_problems(loaded, d)
                    worst = max(worst, time.perf_counter() - t0)
                    assert len(problems) == 1, problems
                out.append(Result(f"check refuses {label} in the {where}", worst, "s", 1.0,
                                  note="worst of 3, whole check"))
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
    return out
