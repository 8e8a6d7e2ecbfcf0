"""How long a full MID initial-verification plan takes by the pulse method and by the register
method, both planned for U ≤ MPE/3, on the simulated lab (virtual clock).

One class B Eastron SDM630 (test output 400 imp/kWh from its manual; float32 energy register) is
measured at the 12 initial-verification points, rising and falling, by each method in turn:

* pulse method: a simulated Keysight 53230A counts the reference standard's pulses
  (10^6 imp/kWh) over the planned meter pulses (at least 25, at least 30 s);
* register method: the energy register read at both ends of a reference gate; its resolution is
  the float32 step at the register's value, so the benchmark runs it near 1,234 kWh (step
  1.2e-4 kWh) and near 99,000 kWh (step 0.0078 kWh), with the gate cap raised so every point
  reaches U ≤ MPE/3.

Printed: the simulated (lab) time of the points by each method and their ratio, whether every point
reached its target, and the wall time each plan took to run (the register plan is the baseline).

Run: ``python benchmarks/lab_pulse_method.py``.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from meterbench.accuracy.executor import LabSettings  # noqa: E402
from meterbench.accuracy.job import LabPlan, accuracy_records  # noqa: E402
from meterbench.accuracy.rating import MeterRating  # noqa: E402
from meterbench.clocks.lab_clock import LabClock  # noqa: E402
from meterbench.instruments.sim.lab import (  # noqa: E402
    SimInstrument,
    power_source,
    reference_standard,
)
from meterbench.instruments.sim.meter import ErrorCurve  # noqa: E402
from meterbench.run.lab_devices import SimMut, start_sim_lab  # noqa: E402

RATING = MeterRating("B", i_min=0.25, i_tr=0.5, i_ref=5.0, i_max=20.0)
CURVE = ErrorCurve((0.25, 5.0, 20.0), (0.8, 0.2, -0.3), 0.4)
HOUR_MS = 3_600_000
SETTINGS = LabSettings(warmup_ms=0, max_gate_ms=200 * HOUR_MS)  # let every point reach U ≤ MPE/3
PLANS = {m: LabPlan(kind="initial", starting=False, creep=False, summation=False,
                    settings=replace(SETTINGS, method=m)) for m in ("pulse", "register")}


def _run(method: str, register_kwh: float) -> tuple[float, float, bool, int]:
    """(simulated hours, wall seconds, every point within its target, records)."""
    mut = SimMut("m", "eastron_sdm630", RATING, CURVE, import_kwh=register_kwh,
                 pulse_jitter_ms=0.5)
    counter = SimInstrument("keysight_53230a", {"reference_constant": 1e6, "input_level_v": 2.5},
                            meter="m")
    clock = LabClock(1_780_000_000_000)
    instruments = {"source": power_source(), "reference": reference_standard(0.012, 0.02),
                   "error_calculator:m": counter}
    with start_sim_lab([mut], clock, instruments=instruments) as lab:
        t_sim, t_wall = clock(), time.perf_counter()
        records = accuracy_records(lab.bench, lab.muts, PLANS[method])
        wall = time.perf_counter() - t_wall
        hours = (clock() - t_sim) / HOUR_MS
    assert all(r.data["method"] == method for r in records)
    return hours, wall, all(r.data["uncertainty_ok"] for r in records), len(records)


def main() -> None:
    print("MID initial-verification plan, 12 points rising and falling, class B, U <= MPE/3")
    print(f"load average {os.getloadavg()[0]:.2f}")
    for register_kwh in (1234.5, 99_000.0):
        p_h, p_wall, p_ok, n = _run("pulse", register_kwh)
        r_h, r_wall, r_ok, _ = _run("register", register_kwh)
        print(f"  register near {register_kwh:>9,.1f} kWh ({n} points):")
        print(f"    simulated time: pulse method {p_h:7.2f} h (targets met: {p_ok}), "
              f"register method {r_h:7.2f} h (targets met: {r_ok}); register/pulse = "
              f"{r_h / p_h:.1f}")
        print(f"    wall time: pulse-method plan {p_wall:.3f} s, register-method plan "
              f"{r_wall:.3f} s (pulse/register = {p_wall / r_wall:.2f})")


if __name__ == "__main__":
    main()
