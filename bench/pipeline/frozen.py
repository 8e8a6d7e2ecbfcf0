"""A frozen energy register, caught by the meter's own present power.

A register that stops advancing while the same meter reports a load is not "no consumption": it
is a fault (firmware, a stuck counter). Interval energies from it would be 0 kWh and *measured*,
then one interval would carry the catch-up jump when the counter resumes. This check compares
each pair of consecutive register readings with the meter's own power readings over the same
span and, where the register stood still while the power implies several register steps, marks
the affected intervals **estimated** and refills them:

* if the register later catches up (an increase well above what the power implies), the register
  increase over the whole affected span is redistributed over its intervals in proportion to
  ∫P dt: the register's energy is conserved, only its timing is estimated;
* if it never catches up (the energy was not counted), each affected interval gets its ∫P dt.

Pure numpy; the caller gives the interval series, the readings and the register step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR, format_iso_utc
from meterbench.pipeline.events import PipelineEvent
from meterbench.pipeline.series import IntervalSeries

FROZEN = "frozen_register"
#: A register standing still counts as frozen only when the power implies at least this many
#: register steps over the span: fewer could be quantization of a small load.
MIN_STEPS = 3.0


@dataclass(frozen=True)
class FrozenResult:
    series: IntervalSeries
    events: list[PipelineEvent]
    affected: np.ndarray  # bool per interval


def _power_energy_kwh(p_t: np.ndarray, p_w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """∫P dt (kWh) over each span [a, b], trapezoid over the power readings interpolated at the ends."""
    if len(p_t) == 0:
        return np.zeros(len(a))
    grid = np.unique(np.concatenate([p_t, a, b]))
    pw = np.interp(grid, p_t, p_w)
    cum = np.concatenate([[0.0], np.cumsum((pw[1:] + pw[:-1]) / 2 * np.diff(grid))])
    return (np.interp(b, grid, cum) - np.interp(a, grid, cum)) / MS_PER_HOUR / 1000.0


def detect_frozen(series: IntervalSeries, e_t: np.ndarray, e_v: np.ndarray, p_t: np.ndarray,
                  p_w: np.ndarray, step_kwh: float, *, meter: str | None = None,
                  channel: str | None = None) -> FrozenResult:
    e_t, e_v = np.asarray(e_t, np.int64), np.asarray(e_v, float)
    p_t, p_w = np.asarray(p_t, np.int64), np.asarray(p_w, float)
    none = FrozenResult(series, [], np.zeros(len(series), bool))
    if len(e_t) < 2 or len(p_t) < 2 or len(series) == 0:
        return none
    de = np.diff(e_v)
    pos = np.clip(p_w, 0, None)
    expected = _power_energy_kwh(p_t, pos, e_t[:-1], e_t[1:])
    # Only a load present at both ends of the pair counts: a load switching on or off between two
    # power samples would otherwise look like energy the register "missed".
    p_at = np.interp(e_t, p_t, pos)
    surely = np.minimum(p_at[:-1], p_at[1:]) * np.diff(e_t) / MS_PER_HOUR / 1000.0
    threshold = MIN_STEPS * max(step_kwh, 1e-9)
    frozen_pair = (np.abs(de) <= step_kwh / 2) & (surely >= threshold)
    if not frozen_pair.any():
        return none
    q = series.quantity.copy()
    quality = series.quality.copy()
    affected = np.zeros(len(series), bool)
    events = []
    res = series.resolution_ms
    starts = series.start_ms
    idx = np.flatnonzero(frozen_pair)
    # runs of consecutive frozen pairs
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for run in np.split(idx, breaks + 1):
        first, last = int(run[0]), int(run[-1])
        t0, t1 = int(e_t[first]), int(e_t[last + 1])
        catch = last + 1  # the first pair after the run where the register moves again
        while catch < len(de) and abs(de[catch]) <= step_kwh / 2:
            catch += 1  # still flat, no power to judge by: the load stopped before the catch-up
        caught_up = (catch < len(de) and de[catch] > expected[catch] + threshold)
        span_end = int(e_t[catch + 1]) if caught_up else t1
        hit = (starts + res > t0) & (starts < span_end)
        # The catch-up is believable when the power implies at least that much energy over the
        # frozen span and the catch-up pair (10 % and the step threshold for sampling slack).
        implied = float(expected[first:catch + 1].sum())
        explained = caught_up and de[catch] <= 1.1 * implied + threshold
        if caught_up and not explained:
            caught_up, span_end = False, t1  # a jump larger than the load can explain: not ours
            hit = (starts + res > t0) & (starts < span_end)
        if not hit.any():
            continue
        power_kwh = _power_energy_kwh(p_t, np.clip(p_w, 0, None), starts[hit], starts[hit] + res)
        if caught_up:
            # The register itself, across the affected quarter-hours: an upstream jump check may
            # have broken the series at the catch-up, but the register's energy is still there.
            first_start, last_end = int(starts[hit][0]), int(starts[hit][-1]) + res
            total = float(np.interp(last_end, e_t, e_v) - np.interp(first_start, e_t, e_v))
            weights = power_kwh / power_kwh.sum() if power_kwh.sum() > 0 else np.full(len(power_kwh), 1 / len(power_kwh))
            q[hit] = total * weights
            how = (f"the register caught up by {de[catch]:.4g} kWh at {format_iso_utc(int(e_t[catch + 1]))}; "
                   f"its increase over the span ({total:.4f} kWh) was spread over the "
                   f"{int(hit.sum())} quarter-hours in proportion to the meter's power")
        else:
            q[hit] = power_kwh
            how = (f"the register never caught up: the {int(hit.sum())} quarter-hours were filled with "
                   f"the meter's own ∫P dt ({power_kwh.sum():.4f} kWh)")
        # Filled from power, an interval that had no value stays missing; spread from the register
        # (caught up), every affected interval has its share of a known total.
        keep_missing = (quality[hit] == Quality.MISSING) & (not caught_up)
        quality[hit] = np.where(keep_missing, Quality.MISSING, Quality.ESTIMATED)
        q[hit] = np.where(keep_missing, np.nan, q[hit])
        affected |= hit
        events.append(PipelineEvent(
            FROZEN, t0, t1,
            f"energy register frozen from {format_iso_utc(t0)} to {format_iso_utc(t1)} while the meter "
            f"reported power ({expected[first:last + 1].sum():.4f} kWh by ∫P dt); {how}; marked estimated",
            meter, channel))
    return FrozenResult(IntervalSeries(starts, q, quality, res), events, affected)
