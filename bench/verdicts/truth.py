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

Every interval of the bench period is expected: one that the bench did not recover (missing, or
NaN) fails the check, it is never left out of it.

:func:`check_virtual_point` compares the virtual main point DataHub settles (``main − Σ serial``,
from the meters' values) with the same difference of the world's true energies, against the
uncertainty the meters' own accuracy classes allow.
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
        """Intervals the bench recovered a value for (the others count as not recovered)."""
        return np.isfinite(self.recovered_kwh)

    @property
    def expected_count(self) -> int:
        return len(self.start_ms)

    @property
    def recovered_count(self) -> int:
        return int(self.checked.sum())

    @property
    def excess_kwh(self) -> np.ndarray:
        """How far each recovered interval lies beyond its bound (≤ 0: within); NaN if missing."""
        return np.where(self.checked, np.abs(self.deviation_kwh) - self.allowed_kwh, np.nan)

    @property
    def worst_index(self) -> int | None:
        """The recovered interval closest to (or furthest beyond) its bound."""
        c = self.checked
        return int(np.nanargmax(self.excess_kwh)) if c.any() else None

    @property
    def within(self) -> bool:
        """Every expected interval recovered, and each within its bound."""
        c = self.checked
        return bool(c.all() and len(c) and np.all(np.abs(self.deviation_kwh) <= self.allowed_kwh))

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


@dataclass(frozen=True)
class VirtualPointTruth:
    """The virtual main point against the world's truth, with the bound the meters' classes allow."""

    point: str
    virtual_kwh: float            # Σ (main − Σ serial) from the meters' interval values
    true_kwh: float               # the same difference of the world's true energies
    bound_kwh: float              # U (k = 2) from each meter's MPE and quantization
    expected: int
    recovered: int                # intervals with a value on every meter of the point
    contributions: dict[str, float]  # u (kWh, k = 1) per meter

    @property
    def deviation_kwh(self) -> float:
        return self.virtual_kwh - self.true_kwh


def check_virtual_point(world: SimWorld, analysis: Analysis) -> VirtualPointTruth:
    """``main − Σ serial`` from the intervals against the true ``main − Σ serial`` of the world.

    The bound: each meter may err by its class's MPE (MID, Directive 2014/32/EU Annex V Table 2,
    Itr…Imax at +5…+30 °C), taken as a rectangular distribution over the energy it measured
    (u = MPE·E/√3), plus half a register step at each end of the period; the terms combine in
    quadrature and expand with k = 2 (all Type B, many degrees of freedom). A serial meter reading
    well outside its class shows here as a virtual point that no longer matches the house.
    """
    from meterbench.accuracy.limits import mpe_pct
    from meterbench.accuracy.register import reading_step_kwh

    cfg = analysis.config
    n = analysis.netting
    starts = analysis.quarter_starts
    res = analysis.meters[cfg.main.id].quarter["energy.import"].series.resolution_ms
    ids = (cfg.main.id, *n.serial)
    true = {m: world.true_intervals(m, starts, res) for m in ids}
    values = {cfg.main.id: n.main.import_kwh,
              **{s: n.subs.import_kwh[j] for j, s in enumerate(n.serial)}}
    complete = np.all([np.isfinite(values[m]) for m in ids], axis=0)
    true_virtual = true[cfg.main.id] - sum(true[s] for s in n.serial)
    contributions = {}
    for m in ids:
        spec = cfg.meter(m)
        energy = float(np.nansum(np.abs(values[m])))
        u_class = mpe_pct(spec.accuracy_class) / 100.0 * energy / np.sqrt(3.0)
        step = reading_step_kwh(spec.model, analysis.meters[m].readings["energy.import"].values)
        u_q = step / np.sqrt(3.0)  # half a step at each end, rectangular
        contributions[m] = float(np.hypot(u_class, u_q))
    bound = 2.0 * float(np.sqrt(sum(u * u for u in contributions.values())))
    return VirtualPointTruth(
        point=cfg.virtual_point,
        virtual_kwh=float(np.sum(n.virtual.import_kwh[complete])),
        true_kwh=float(np.sum(true_virtual[complete])), bound_kwh=bound,
        expected=len(starts), recovered=int(complete.sum()), contributions=contributions)
