"""Intervals from cumulative registers, for many meters at once (the vectorized core).

Readings of all meters sit in flat arrays, meter after meter (``offsets`` in CSR style: meter
``m`` owns readings ``offsets[m]:offsets[m+1]``, strictly increasing times). Each interval
boundary's register value is interpolated linearly between the two readings that bracket it, and
an interval's energy is the difference of its two boundary values. Because the register is
cumulative, this conserves energy exactly: the intervals of a span sum to the register difference
across it, however the readings are spaced.

Rules (the pipeline specification in docs/pipeline.md; quality codes as in RSM-012):

* a boundary is **measured** when it coincides with a reading or its bracketing readings are at
  most ``max_gap_ms`` apart; **estimated** when they are further apart but at most
  ``estimate_limit_ms`` (the straight line between them is the fill); **missing** beyond that, or
  before the first / after the last reading;
* a decrease of the register is a **rollover** when the meter declares a modulus
  (``rollover_kwh``) and the wrapped increase is plausible (within ``max_power_w`` if declared,
  else at most :data:`ROLLOVER_MAX_FRACTION` of the modulus), and is unwrapped; any other
  decrease is a **reset**: the pair of readings across it is a break, never consumption;
* an increase implying a power above ``max_power_w`` is a **jump**: also a break;
* an interval is measured when both boundaries are, missing when either is or when a break lies
  inside it, else estimated.

Everything here is whole-array numpy; anomalies come back as sparse index arrays, which
:mod:`meterbench.pipeline.intervals` turns into plain-words events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.pipeline.series import interval_starts

#: kWh per ms at 1 W: energy [kWh] = power [W] · dt [ms] / (1000 W/kW · 3 600 000 ms/h).
_KWH_PER_W_MS = 1.0 / (1000.0 * MS_PER_HOUR)

#: Without a declared maximum power, a decrease counts as a rollover only if the increase it
#: implies is at most this fraction of the modulus (a reset from mid-range is not a wrap). A design
#: choice, not a standard: declare ``max_power_w`` for a physical test instead.
ROLLOVER_MAX_FRACTION = 0.1

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


#: Readings per chunk when scanning pairs: keeps temporaries in cache instead of allocating
#: several arrays as long as the input (14.4 M readings in the benchmark).
_CHUNK = 1 << 18
#: Meters per block when locating boundaries (same reason).
_BLOCK_METERS = 128


@dataclass(frozen=True)
class _PairScan:
    bad_order: np.ndarray
    gap: np.ndarray
    decrease: np.ndarray
    jump: np.ndarray


def _scan_pairs(t: np.ndarray, v: np.ndarray, gap_limit_ms: float,
                jump_kwh_per_ms: float | None) -> _PairScan:
    """Indices of pairs (k, k+1) that are out of order, further apart than ``gap_limit_ms``,
    decreasing, or (if given) rising faster than ``jump_kwh_per_ms``; one chunked pass."""
    found: dict[str, list[np.ndarray]] = {"bad": [], "gap": [], "dec": [], "jump": []}
    n_pairs = len(t) - 1
    # dt outside (0, limit] in one compare: dt - 1 read as unsigned is above limit - 1 exactly
    # when dt <= 0 or dt > limit (times are integers, so the limit is floored)
    limit = np.uint64(max(int(np.floor(gap_limit_ms)), 0))
    for a in range(0, max(n_pairs, 0), _CHUNK):
        b = min(a + _CHUNK, n_pairs)
        dt = t[a + 1:b + 1] - t[a:b]
        shifted = (dt - 1).view(np.uint64)
        odd = np.flatnonzero(shifted >= limit)
        odd_dt = dt[odd]
        found["bad"].append(odd[odd_dt <= 0] + a)
        found["gap"].append(odd[odd_dt > gap_limit_ms] + a)
        if jump_kwh_per_ms is None:
            found["dec"].append(np.flatnonzero(np.less(v[a + 1:b + 1], v[a:b])) + a)
        else:
            dv = v[a + 1:b + 1] - v[a:b]
            found["dec"].append(np.flatnonzero(dv < 0) + a)
            found["jump"].append(np.flatnonzero(dv > dt * jump_kwh_per_ms) + a)

    def cat(key: str) -> np.ndarray:
        parts = found[key]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    return _PairScan(cat("bad"), cat("gap"), cat("dec"), cat("jump"))


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

    starts = interval_starts(start_ms, end_ms, resolution_ms)  # refuses an off-grid span
    n_int = len(starts)
    bounds = np.arange(start_ms, start_ms + (n_int + 1) * resolution_ms, resolution_ms,
                       dtype=np.int64)
    n_b = len(bounds)

    if n == 0:  # nothing read: every interval is missing
        shape = (n_meters, n_int)
        return ManyMeterIntervals(starts, resolution_ms, np.full(shape, np.nan),
                                  np.zeros(shape, dtype=np.uint8),
                                  np.full((n_meters, n_b), np.nan), np.empty(0, np.int64),
                                  np.empty(0, np.uint8), np.empty(0, np.int64))

    # --- pairs of consecutive readings: spacing, decreases, jumps (sparse results) ------------
    # pair k joins readings k and k+1; a pair that joins two meters (a seam) is not a pair
    seam = offsets[1:-1] - 1
    seam = seam[(seam >= 0) & (seam < n - 1)]

    def meter_of(idx: np.ndarray) -> np.ndarray:
        return np.searchsorted(offsets, idx, side="right") - 1

    def drop_seams(idx: np.ndarray) -> np.ndarray:
        return idx[~np.isin(idx, seam)] if len(idx) and len(seam) else idx

    scan = _scan_pairs(t, v, float(max_gap.min()),
                       None if p_max is None else float(p_max.min()) * _KWH_PER_W_MS)
    bad_order = drop_seams(scan.bad_order)
    if len(bad_order):
        k = int(bad_order[0])
        raise ValueError(f"times must increase strictly within a meter (reading {k + 1})")

    def dt(idx: np.ndarray) -> np.ndarray:
        return t[idx + 1] - t[idx]

    def increment(idx: np.ndarray) -> np.ndarray:
        return v[idx + 1] - v[idx]

    gap_pair = drop_seams(scan.gap)
    if not np.all(max_gap == max_gap[0]):  # candidates were found against the smallest limit
        gap_pair = gap_pair[dt(gap_pair) > max_gap[meter_of(gap_pair)]]
    decrease = drop_seams(scan.decrease)
    pm_dec = meter_of(decrease)
    is_roll = np.zeros(len(decrease), dtype=bool)
    if modulus is not None and len(decrease):
        wrapped = increment(decrease) + modulus[pm_dec]
        if p_max is not None:
            plausible = wrapped <= p_max[pm_dec] * dt(decrease) * _KWH_PER_W_MS
        else:  # no power limit declared: a wrap must be a small part of the modulus
            plausible = wrapped <= ROLLOVER_MAX_FRACTION * modulus[pm_dec]
        is_roll = (wrapped >= 0) & plausible
    rollover = decrease[is_roll]
    reset = decrease[~is_roll]

    jump = np.empty(0, dtype=np.int64)
    if p_max is not None:
        # candidates against the smallest limit, then each against its own meter's limit
        cand = drop_seams(scan.jump)
        jump = cand[increment(cand) > dt(cand) * p_max[meter_of(cand)] * _KWH_PER_W_MS]
        if len(rollover):  # an unwrapped rollover can itself be a jump
            pm = meter_of(rollover)
            wrapped = increment(rollover) + modulus[pm]
            roll_jump = wrapped > p_max[pm] * dt(rollover) * _KWH_PER_W_MS
            jump = np.union1d(jump, rollover[roll_jump])
            rollover = rollover[~roll_jump]  # a break: the offset after it no longer matters
    breaks = np.union1d(reset, jump)

    # --- rollover correction: reading j of meter m gains modulus x (rollovers of m before j) ---
    if len(rollover):
        w = modulus[meter_of(rollover)]
        cumw = np.concatenate(([0.0], np.cumsum(w)))

        def unwrap_add(idx: np.ndarray, meter: np.ndarray) -> np.ndarray | float:
            before = np.searchsorted(rollover, idx, side="left")
            first = np.searchsorted(rollover, offsets[meter], side="left")
            return cumw[before] - cumw[first]
    else:
        def unwrap_add(idx: np.ndarray, meter: np.ndarray) -> np.ndarray | float:
            return 0.0

    # --- boundaries: locate the bracketing readings of every (meter, boundary) --------------
    # a sorted key over a block of meters: (time - base) + meter x span, so one searchsorted
    # per block brackets every boundary of every meter in it
    has = offsets[1:] > offsets[:-1]  # times increase within a meter: ends are its extremes
    t_min = min(int(t[offsets[:-1][has]].min()), int(bounds[0]))
    t_max = max(int(t[offsets[1:][has] - 1].max()), int(bounds[-1]))
    span = t_max - t_min + 2
    base = t_min - 1
    meter_base = np.arange(n_meters, dtype=np.int64) * span - base
    scalar_limits = bool(np.all(max_gap == max_gap[0]) and np.all(est_limit == est_limit[0]))
    n_q = n_meters * n_b
    lo_c = np.empty(n_q, dtype=np.int64)
    exact = np.empty(n_q, dtype=bool)
    interpolate = np.empty(n_q, dtype=bool)
    value = np.empty(n_q, dtype=np.float64)
    b_quality = np.empty(n_q, dtype=np.uint8)
    counts = np.diff(offsets)
    tiled = np.tile(bounds, min(n_meters, _BLOCK_METERS))
    # Everything per boundary is computed block by block: a block's readings, keys and
    # boundary arrays stay in cache instead of streaming arrays of every boundary through
    # memory a dozen times.
    for m0 in range(0, n_meters, _BLOCK_METERS):
        m1 = min(m0 + _BLOCK_METERS, n_meters)
        a, b = int(offsets[m0]), int(offsets[m1])
        q0, q1 = m0 * n_b, m1 * n_b
        key = np.repeat(meter_base[m0:m1], counts[m0:m1])
        key += t[a:b]
        bq = tiled[:q1 - q0]
        query = np.repeat(meter_base[m0:m1], n_b)
        query += bq
        lo = np.searchsorted(key, query, side="right")
        lo += a - 1
        first = np.repeat(offsets[m0:m1], n_b)
        has_lo = lo >= first
        # a boundary before a meter's first reading takes that reading (its quality is
        # missing below)
        lc = lo_c[q0:q1]
        np.maximum(lo, first, out=lc)
        np.minimum(lc, n - 1, out=lc)
        hc = np.minimum(lc + 1, n - 1)
        t_lo, t_hi, v_lo, v_hi = t[lc], t[hc], v[lc], v[hc]
        if len(rollover):
            bmeter = np.repeat(np.arange(m0, m1, dtype=np.int64), n_b)
            v_lo += unwrap_add(lc, bmeter)
            v_hi += unwrap_add(hc, bmeter)
        ex = exact[q0:q1]
        np.equal(t_lo, bq, out=ex)
        ex &= has_lo
        last = np.repeat(offsets[m0 + 1:m1 + 1], n_b)
        last -= 1
        has_hi = has_lo & (lc < last)
        bracketed = ex | has_hi
        gap = t_hi - t_lo
        gap[ex] = 0
        np.greater(has_hi, ex, out=interpolate[q0:q1])  # has_hi and not exact
        # exact: (b - t_lo) = 0, so frac = 0; unbracketed boundaries get garbage that the
        # quality below turns into NaN
        frac = (bq - t_lo) / np.maximum(gap, 1)
        val = value[q0:q1]
        np.subtract(v_hi, v_lo, out=val)
        val *= frac
        val += v_lo
        if scalar_limits:
            bmg, bel = max_gap[0], est_limit[0]
        else:
            bmg, bel = np.repeat(max_gap[m0:m1], n_b), np.repeat(est_limit[m0:m1], n_b)
        bql = b_quality[q0:q1]
        bql.fill(Quality.MISSING)
        bql[bracketed & (gap <= bel)] = Quality.ESTIMATED
        bql[bracketed & (gap <= bmg)] = Quality.MEASURED
    if len(breaks):
        in_break = interpolate & np.isin(lo_c, breaks)
        b_quality[in_break] = Quality.MISSING
    b_quality[np.isnan(value)] = Quality.MISSING  # a NaN reading (uncleaned input) knows nothing
    value[b_quality == Quality.MISSING] = np.nan

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
