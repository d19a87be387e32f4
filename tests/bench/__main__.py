from __future__ import annotations

import importlib
import pkgutil
import sys

import tests.bench as bench


def main(argv: list[str]) -> int:
    modules = pkgutil.iter_modules(bench.__path__)
    names = sorted(m.name for m in modules if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    failed = 0
    print(f"{'benchmark':58} {'figure':>12} {'unit':8} {'budget':>10}  ok")
    for name in wanted:
        module = importlib.import_module(f"tests.bench.{name}")
        for r in module.run():
            sign = ">=" if r.higher_is_better else "<="
            budget = f"{sign}{r.budget:g}" if r.budget is not None else ""
            print(f"{r.name:58} {r.value:12.3f} {r.unit:8} {budget:>10}  {'yes' if r.ok else 'NO'}"
                  + (f"  ({r.note})" if r.note else ""), flush=True)
            failed += not r.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
