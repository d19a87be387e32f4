"""`aarshjul check` whole-process median next to `python -c "import yaml"` (budget 1.0 s)."""

from __future__ import annotations

from pathlib import Path

from tests import ROOT
from tests.bench import PY, Result, process_median


def run() -> list[Result]:
    aarshjul = str(Path(PY).with_name("aarshjul"))
    base = process_median([PY, "-c", "import yaml"], repeat=9)
    check = process_median([aarshjul, "check", "--config", str(ROOT / "aarshjul.yaml")], repeat=9)
    return [
        Result("python -c 'import yaml' (floor)", base, "s"),
        Result("aarshjul check (whole process, median of 9)", check, "s", budget=1.0,
               note=f"{check / base:.1f}x the floor"),
    ]
