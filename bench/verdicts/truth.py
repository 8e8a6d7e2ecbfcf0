"""Ground truth checks for simulated runs: did the bench recover what really happened?

The simulator knows each interval's true energy and each meter's true error. A recovered interval
may deviate from ``true × (1 + error)`` by no more than what the method itself allows:

* register quantization: each boundary value is interpolated from two readings, each off by at
  most half a register step (the model's encoding: float32 spacing at that value, or an integer
  register's scale), so an interval, the
  difference of two boundaries, is off by at most one step;
* boundary interpolation: between readings at t1 < b < t2 the register rises at a power between
  Pmin and Pmax, so linear interpolation at b is off by at most
  ``(Pmax − Pmin)·(b − t1)·(t2 − b)/(t2 − t1)``.

Both are computed per interval from the actual readings and the world's actual power, so the bound
is tight where the load is steady and honest where it switches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from meterbench.instruments.registers import load_register_map
from meterbench.run.analysis import Analysis
from meterbench.run.simworld import SimWorld, power_range_w
from meterbench.store.run_store import Series
from meterbench.units import MS_PER_HOUR


@dataclass(frozen=True)
class TruthCheck:
    meter: str
    start_ms: np.ndarray
    recovered_kwh: np.ndarray
    true_kwh: np.ndarray
    expected_kwh: np.ndarray
    allowed_kwh: np.ndarray
    true_error_pct: float

    @property
    def deviation_kwh(self) -> np.ndarray:
        return self.recovered_kwh - self.expected_kwh

    @property
    def checked(self) -> np.ndarray:
        return np.isfinite(self.recovered_kwh)

    @property
    def within(self) -> bool:
        c = self.checked
        return bool(np.all(np.abs(self.deviation_kwh[c]) <= self.allowed_kwh[c]))

    @property
    def recovered_error_pct(self) -> float:
        c = self.checked & (self.true_kwh > 0)
        return float((self.recovered_kwh[c].sum() / self.true_kwh[c].sum() - 1.0) * 100.0)


def boundary_bound_kwh(world: SimWorld, meter_id: str, readings: Series, boundary_ms: int,
                       error_pct: float, step: Callable[[float], float]) -> float:
    """Worst-case error of the interpolated register value at one boundary.

    ``step(value)`` is the register's quantization step near a value (float32 spacing, or the
    scale of an integer register), from the meter model's register map.
    """
    t = readings.times_ms
    k = int(np.searchsorted(t, boundary_ms))
    if k < len(t) and t[k] == boundary_ms:
        return step(readings.values[k]) / 2
    if k == 0 or k == len(t):
        return float("inf")
    t1, t2 = int(t[k - 1]), int(t[k])
    pmin, pmax = power_range_w(world, meter_id, t1, t2)
    spread_kw = (pmax - pmin) * (1 + error_pct / 100.0) / 1000.0
    interp = spread_kw * (boundary_ms - t1) * (t2 - boundary_ms) / (t2 - t1) / MS_PER_HOUR
    quant = max(step(readings.values[k - 1]), step(readings.values[k])) / 2
    return interp + quant


def check_meter(world: SimWorld, analysis: Analysis, meter_id: str) -> TruthCheck:
    ma = analysis.meters[meter_id]
    series = ma.quarter["energy.import"].series
    res = series.resolution_ms
    true = world.true_intervals(meter_id, series.start_ms, res)
    spec = world.config.meter(meter_id)
    err = spec.sim.error_pct
    step = load_register_map(spec.model).channel("energy.import").step_at
    readings = ma.readings["energy.import"]
    bounds = np.array([boundary_bound_kwh(world, meter_id, readings, int(b), err, step)
                       for b in np.append(series.start_ms, series.start_ms[-1] + res)])
    allowed = bounds[:-1] + bounds[1:] + 1e-9  # + float64 arithmetic slack
    return TruthCheck(meter_id, series.start_ms, series.quantity, true, true * (1 + err / 100.0),
                      allowed, err)
