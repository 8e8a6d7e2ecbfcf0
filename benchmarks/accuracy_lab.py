"""Wall time of a whole MID initial-verification plan on the simulated lab.

Measures, in one process, the same plan (12 points rising and falling, starting, creep, dial and
summation tests, 30 min warm-up, all on a virtual clock) for 1 and 4 meters under test:

* reading the meters' registers over Modbus TCP (the real driver against ``ModbusTcpGateway``:
  what ``meterbench run sim-lab`` does);
* the baseline: reading the same simulated meters directly (``SimMeter.read_channels``), so the
  ratio is what the Modbus round trips cost on top of the SCPI instruments.

Run: ``python benchmarks/accuracy_lab.py``. Prints seconds per plan and the ratios.
"""

from __future__ import annotations

import time

from meterbench.accuracy.job import LabPlan, run_plan  # noqa: E402
from meterbench.accuracy.rating import MeterRating  # noqa: E402
from meterbench.accuracy.register import RegisterRead, register_step_kwh  # noqa: E402
from meterbench.clocks.lab_clock import LabClock  # noqa: E402
from meterbench.instruments.regmap import DATA_TYPES, Channel  # noqa: E402
from meterbench.instruments.sim.meter import ErrorCurve  # noqa: E402
from meterbench.run.lab_devices import SimMut, start_sim_lab  # noqa: E402

RATING = MeterRating("B", i_min=0.25, i_tr=0.5, i_ref=5.0, i_max=20.0)
CURVE = ErrorCurve((0.25, 5.0, 20.0), (0.8, 0.2, -0.3), 0.4)
PLAN = LabPlan(kind="initial", dial_kwh=1.0)
FLOAT32 = Channel("energy.import", 0x48, 4, DATA_TYPES["float32"])


class DirectReader:
    """Baseline: the simulated meter's registers without Modbus (float32 step kept)."""

    def __init__(self, meter, clock) -> None:
        self.meter, self.clock = meter, clock

    def read(self) -> RegisterRead:
        now = self.clock()
        v = self.meter.read_channels(["energy.import", "energy.export"], now)
        return RegisterRead(v, now, now)

    def step_kwh(self, channel: str, value: float) -> float:
        return register_step_kwh(FLOAT32, value)

    def close(self) -> None:
        pass


def _plan_seconds(n_meters: int, direct: bool) -> tuple[float, int]:
    muts = [SimMut(f"m{k}", "eastron_sdm630", RATING, CURVE, import_kwh=1000.0 + k, unit=k + 1)
            for k in range(n_meters)]
    with start_sim_lab(muts, LabClock(1_780_000_000_000)) as lab:
        if direct:
            for h in lab.muts:
                h.reader.close()
                h.reader = DirectReader(lab.meters[h.id], lab.clock)  # type: ignore[assignment]
        t0 = time.perf_counter()
        records = run_plan(lab.bench, lab.muts, PLAN)
        return time.perf_counter() - t0, len(records)


def main() -> None:
    print("MID initial-verification plan on the simulated lab (virtual clock)")
    for n in (1, 4):
        base, n_rec = _plan_seconds(n, direct=True)
        modbus, n_rec2 = _plan_seconds(n, direct=False)
        assert n_rec == n_rec2
        print(f"  {n} meter(s), {n_rec} records: direct reads {base:.3f} s, Modbus TCP {modbus:.3f} s,"
              f" ratio {modbus / base:.2f}")


if __name__ == "__main__":
    main()
