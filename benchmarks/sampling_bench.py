"""How fast the sampling steps are on realistic sizes (run: ``python benchmarks/sampling_bench.py``).

Prints seconds per step and a ratio against an in-process baseline: the auditable SHA-256 ranking
against ``random.Random(seed).sample`` (fast, but tied to CPython's generator), and lot formation
plus due dates on the 3,500-meter example against just reading its CSV. No targets are asserted:
these numbers back the claim that no progress display is needed.
"""

from __future__ import annotations

import random
import time
from datetime import date

from meterbench.core.errors import UserError  # noqa: E402
from meterbench.sampling import iso2859
from meterbench.sampling.example import example_inventory, example_inventory_text
from meterbench.sampling.inventory import read_inventory_text
from meterbench.sampling.lots import form_lots
from meterbench.sampling.schemes import due_status, get_scheme
from meterbench.sampling.selection import select


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ids = [f"M{i:07d}" for i in range(200_000)]
    t_sel = timed(lambda: select(ids, 1250, seed="bench", spares=125))
    t_base = timed(lambda: random.Random("bench").sample(ids, 1375))
    print(f"select 1250+125 of 200,000 meters: {t_sel:.3f} s "
          f"(baseline random.sample {t_base:.4f} s, ratio {t_sel / t_base:.0f}x)")

    text = example_inventory_text()
    t_read = timed(lambda: read_inventory_text(text))
    meters = example_inventory()
    scheme = get_scheme("dk-7y")
    t_due = timed(lambda: [due_status(scheme, lot, date(2026, 11, 27))
                           for lot in form_lots(meters)])
    print(f"read 3,500-meter inventory: {t_read:.3f} s; lots + due: {t_due:.3f} s "
          f"(ratio to reading {t_due / t_read:.2f})")

    cells = []
    for s, lv, a in ((s, lv, a) for s in iso2859.INSPECTIONS for lv in iso2859.LEVELS
                     for a in iso2859.AQL_SERIES):
        try:  # cells the sources disagree on are refused (docs/sampling.md): not timed
            iso2859.single_plan(10_000, a, level=lv, inspection=s)
        except UserError:
            continue
        cells.append((s, lv, a))
    t_plans = timed(lambda: [iso2859.single_plan(10_000, a, level=lv, inspection=s)
                             for s, lv, a in cells])
    print(f"{len(cells)} plan look-ups (refused cells left out): {t_plans:.3f} s "
          f"({1e6 * t_plans / len(cells):.0f} us each)")


if __name__ == "__main__":
    main()
