"""Intervals from cumulative registers, for many meters at once (the vectorized core).

Readings of all meters sit in flat arrays, meter after meter (``offsets`` in CSR style: meter
``m`` owns readings ``offsets[m]:offsets[m+1]``, strictly increasing times). Each interval
boundary's register value is interpolated linearly between the two readings that bracket it, and
an interval's energy is the difference of its two boundary values. Because the register is
cumulative, this conserves energy exactly: the intervals of a span sum to the register difference
across it, however the readings are spaced.

Rules (issue 6, shared domain notes market.md):

* a boundary is **measured** when it coincides with a reading or its bracketing readings are at
  most ``max_gap_ms`` apart; **estimated** when they are further apart but at most
  ``estimate_limit_ms`` (the straight line between them is the fill); **missing** beyond that, or
  before the first / after the last reading;
* a decrease of the register is a **rollover** when the meter declares a modulus
  (``rollover_kwh``) and the wrapped increase is plausible, and is unwrapped; any other decrease
  is a **reset**: the pair of readings across it is a break, never consumption;
* an increase implying a power above ``max_power_w`` is a **jump**: also a break;
* an interval is measured when both boundaries are, missing when either is or when a break lies
  inside it, else estimated.

Everything here is whole-array numpy; anomalies come back as sparse index arrays, which
:mod:`bench.pipeline.intervals` turns into plain-words events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.quality import Quality
from bench.timeutil import MS_PER_HOUR

#: kWh per ms at 1 W: energy [kWh] = power [W] · dt [ms] / (1000 W/kW · 3 600 000 ms/h).
_KWH_PER_W_MS = 1.0 / (1000.0 * MS_PER_HOUR)

ANOMALY_RESET = 1
ANOMALY_ROLLOVER = 2
ANOMALY_JUMP = 3


@dataclass(frozen=True)
class ManyMeterIntervals:
    """Interval energies of ``n_meters`` on one grid, plus where the readings were anomalous.

    ``quantity``/``quality`` have shape ``(n_meters, n_intervals)``. ``anomaly_pair`` indexes the
    pair of readings ``(i, i+1)`` in the flat input; ``anomaly_kind`` is one of ``ANOMALY_*``.
    ``gap_pair`` lists pairs further apart than ``max_gap_ms``.
    """

    start_ms: np.ndarray
    resolution_ms: int
    quantity: np.ndarray
    quality: np.ndarray
    boundary_kwh: np.ndarray
    anomaly_pair: np.ndarray
    anomaly_kind: np.ndarray
    gap_pair: np.ndarray


def _as_per_meter(value: float | np.ndarray | None, n_meters: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_meters,))
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive")
    return arr


def intervals_many(offsets: np.ndarray, times_ms: np.ndarray, values_kwh: np.ndarray,
                   start_ms: int, end_ms: int, resolution_ms: int,
                   max_gap_ms: float | np.ndarray, estimate_limit_ms: float | np.ndarray,
                   rollover_kwh: float | np.ndarray | None = None,
                   max_power_w: float | np.ndarray | None = None) -> ManyMeterIntervals:
    """Intervals ``[start_ms, end_ms)`` at ``resolution_ms`` for every meter in ``offsets``.

    ``max_gap_ms``, ``estimate_limit_ms``, ``rollover_kwh`` and ``max_power_w`` are scalars or one
    value per meter. Raises ``ValueError`` if times are not strictly increasing within a meter.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(values_kwh, dtype=np.float64)
    n_meters = len(offsets) - 1
    n = len(t)
    if len(v) != n or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must run from 0 to len(times) and times/values match in length")
    if estimate_limit_ms is None:
        raise ValueError("estimate_limit_ms is required")
    max_gap = np.broadcast_to(np.asarray(max_gap_ms, dtype=np.float64), (n_meters,))
    est_limit = np.broadcast_to(np.asarray(estimate_limit_ms, dtype=np.float64), (n_meters,))
    modulus = _as_per_meter(rollover_kwh, n_meters, "rollover_kwh")
    p_max = _as_per_meter(max_power_w, n_meters, "max_power_w")

    starts = np.arange(start_ms, end_ms, resolution_ms, dtype=np.int64)
    n_int = len(starts)
    bounds = np.arange(start_ms, start_ms + (n_int + 1) * resolution_ms, resolution_ms,
                       dtype=np.int64)
    n_b = len(bounds)

    # --- pairs of consecutive readings: spacing, decreases, jumps (sparse results) ------------
    counts = np.diff(offsets)
    meter_of_reading = np.repeat(np.arange(n_meters, dtype=np.int64), counts)
    # pair k joins readings k and k+1; pairs that join two meters are not pairs at all
    seam = offsets[1:-1] - 1
    seam = seam[(seam >= 0) & (seam < n - 1)]
    dt = np.diff(t)
    dv = np.diff(v)
    bad_order = np.flatnonzero(dt <= 0)
    if len(bad_order):
        bad_order = np.setdiff1d(bad_order, seam, assume_unique=False)
        if len(bad_order):
            k = int(bad_order[0])
            raise ValueError(f"times must increase strictly within a meter (reading {k + 1})")
    gap_pair = np.setdiff1d(np.flatnonzero(dt > max_gap[meter_of_reading[:-1]]), seam)

    decrease = np.setdiff1d(np.flatnonzero(dv < 0), seam)
    pm_dec = meter_of_reading[decrease]
    is_roll = np.zeros(len(decrease), dtype=bool)
    if modulus is not None and len(decrease):
        wrapped = dv[decrease] + modulus[pm_dec]
        if p_max is not None:
            plausible = wrapped <= p_max[pm_dec] * dt[decrease] * _KWH_PER_W_MS
        else:  # without a power limit, a wrap must at least be a small part of the modulus
            plausible = wrapped < 0.5 * modulus[pm_dec]
        is_roll = (wrapped >= 0) & plausible
    rollover = decrease[is_roll]
    reset = decrease[~is_roll]

    jump = np.empty(0, dtype=np.int64)
    if p_max is not None:
        limit = p_max[meter_of_reading[:-1]] * dt * _KWH_PER_W_MS
        jump = np.setdiff1d(np.flatnonzero(dv > limit), seam)
        if len(rollover):  # an unwrapped rollover can itself be a jump
            wrapped = dv[rollover] + modulus[meter_of_reading[rollover]]
            roll_jump = wrapped > limit[rollover]
            jump = np.union1d(jump, rollover[roll_jump])
            rollover = rollover[~roll_jump]  # a break: the offset after it no longer matters
    breaks = np.union1d(reset, jump)

    # --- rollover correction: reading j of meter m gains modulus x (rollovers of m before j) ---
    if len(rollover):
        w = modulus[meter_of_reading[rollover]]
        cumw = np.concatenate(([0.0], np.cumsum(w)))

        def unwrap_add(idx: np.ndarray, meter: np.ndarray) -> np.ndarray:
            before = np.searchsorted(rollover, idx, side="left")
            first = np.searchsorted(rollover, offsets[meter], side="left")
            return cumw[before] - cumw[first]
    else:
        def unwrap_add(idx: np.ndarray, meter: np.ndarray) -> np.ndarray:
            return np.zeros(idx.shape)

    # --- boundaries: locate the bracketing readings of every (meter, boundary) --------------
    span = int(max(int(t.max()) if n else 0, int(bounds[-1])) - min(int(t.min()) if n else 0,
                                                                      int(bounds[0]))) + 2
    base = min(int(t.min()) if n else 0, int(bounds[0])) - 1
    key = (t - base) + meter_of_reading * span
    bmeter = np.repeat(np.arange(n_meters, dtype=np.int64), n_b)
    query = np.tile(bounds - base, n_meters) + bmeter * span
    lo = np.searchsorted(key, query, side="right") - 1
    first = offsets[:-1][bmeter]
    last = offsets[1:][bmeter] - 1
    has_lo = lo >= first
    lo_c = np.where(has_lo, lo, first)
    lo_c = np.minimum(lo_c, max(n - 1, 0))
    bq = np.tile(bounds, n_meters)
    exact = has_lo & (t[lo_c] == bq) if n else np.zeros(len(bq), dtype=bool)
    hi_c = np.minimum(lo_c + 1, max(n - 1, 0))
    has_hi = has_lo & (lo_c < last)
    bracketed = exact | has_hi

    v_lo = v[lo_c] + unwrap_add(lo_c, bmeter) if n else np.zeros(len(bq))
    v_hi = v[hi_c] + unwrap_add(hi_c, bmeter) if n else np.zeros(len(bq))
    t_lo = t[lo_c] if n else np.zeros(len(bq), dtype=np.int64)
    t_hi = t[hi_c] if n else np.zeros(len(bq), dtype=np.int64)
    gap = np.where(exact, 0, t_hi - t_lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(exact | ~has_hi, 0.0, (bq - t_lo) / np.where(gap > 0, gap, 1))
    value = v_lo + (v_hi - v_lo) * frac
    bmg = max_gap[bmeter]
    bel = est_limit[bmeter]
    b_quality = np.full(len(bq), Quality.MISSING, dtype=np.uint8)
    b_quality[bracketed & (gap <= bel)] = Quality.ESTIMATED
    b_quality[bracketed & (gap <= bmg)] = Quality.MEASURED
    if len(breaks):
        in_break = ~exact & has_hi & np.isin(lo_c, breaks)
        b_quality[in_break] = Quality.MISSING
    value = np.where(b_quality == Quality.MISSING, np.nan, value)

    # --- intervals -------------------------------------------------------------------------
    qb = b_quality.reshape(n_meters, n_b)
    vb = value.reshape(n_meters, n_b)
    q0, q1 = qb[:, :-1], qb[:, 1:]
    quality = np.where((q0 == Quality.MEASURED) & (q1 == Quality.MEASURED),
                       np.uint8(Quality.MEASURED), np.uint8(Quality.ESTIMATED)).astype(np.uint8)
    quality[(q0 == Quality.MISSING) | (q1 == Quality.MISSING)] = Quality.MISSING
    if len(breaks):
        lo2 = lo_c.reshape(n_meters, n_b)
        ex2 = exact.reshape(n_meters, n_b)
        p_first = lo2[:, :-1]
        p_last = np.where(ex2[:, 1:], lo2[:, 1:] - 1, lo2[:, 1:])
        n_breaks = (np.searchsorted(breaks, p_last, side="right")
                    - np.searchsorted(breaks, p_first, side="left"))
        quality[n_breaks > 0] = Quality.MISSING
    quantity = vb[:, 1:] - vb[:, :-1]
    quantity[quality == Quality.MISSING] = np.nan

    kinds = np.concatenate([np.full(len(reset), ANOMALY_RESET), np.full(len(rollover),
                            ANOMALY_ROLLOVER), np.full(len(jump), ANOMALY_JUMP)]).astype(np.uint8)
    pairs = np.concatenate([reset, rollover, jump]).astype(np.int64)
    order = np.argsort(pairs, kind="stable")
    return ManyMeterIntervals(starts, resolution_ms, quantity, quality, vb, pairs[order],
                              kinds[order], gap_pair.astype(np.int64))
