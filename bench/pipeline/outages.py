"""Intervals the acquisition could not watch are never "measured".

A failed poll, the first poll an acquisition missed while it was down, or a value the meter
flagged (NaN, "not available") leaves the register unobserved from the last valid reading before
it to the first valid one after it. The interval stage alone cannot see that: if the readings on
either side are close enough (within the bracket limit, 2.5 poll periods in a run or ``--max-gap``
for a CSV), the boundaries between them interpolate as "measured". But "measured" claims the meter
was watched; across an outage the energy rests on the register having only counted (no reset, no
jump, no freeze) while nobody could see it, which is an estimate. So every measured interval that
overlaps an unobserved span becomes estimated (energy unchanged), and one event per span says so.

Pure function on arrays, like every stage.
"""

from __future__ import annotations

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import format_iso_utc
from meterbench.pipeline import events as ev
from meterbench.pipeline.series import IntervalSeries


def unobserved_spans(reading_ms: np.ndarray, outage_ms: np.ndarray) -> np.ndarray:
    """``(n, 2)`` merged spans ``(last valid reading before, first valid reading after)`` around
    each outage time (the outage itself where the readings end)."""
    t = np.sort(np.asarray(reading_ms, dtype=np.int64))
    o = np.sort(np.asarray(outage_ms, dtype=np.int64))
    if not len(o):
        return np.empty((0, 2), dtype=np.int64)
    i = np.searchsorted(t, o, side="left")
    lo = np.where(i > 0, t[np.maximum(i - 1, 0)] if len(t) else o, o)
    j = np.searchsorted(t, o, side="right")
    hi = np.where(j < len(t), t[np.minimum(j, len(t) - 1)] if len(t) else o, o)
    spans = np.stack([lo, hi], axis=1)
    merged = [spans[0].tolist()]
    for a, b in spans[1:].tolist():
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=np.int64)


def mark_outages(series: IntervalSeries, reading_ms: np.ndarray, outage_ms: np.ndarray, *,
                 meter: str | None = None, channel: str | None = None
                 ) -> tuple[IntervalSeries, list[ev.PipelineEvent]]:
    """``series`` with every measured interval that overlaps an unobserved span estimated, and
    one event per span that changed an interval."""
    spans = unobserved_spans(reading_ms, outage_ms)
    if not len(spans):
        return series, []
    starts, res = series.start_ms, series.resolution_ms
    quality = series.quality.copy()
    events: list[ev.PipelineEvent] = []
    outage = np.asarray(outage_ms, dtype=np.int64)
    for a, b in spans.tolist():
        hit = (starts < max(b, a + 1)) & (starts + res > a) & (quality == Quality.MEASURED)
        if not hit.any():
            continue
        quality[hit] = Quality.ESTIMATED
        n_out = int(((outage >= a) & (outage <= b)).sum())
        idx = np.flatnonzero(hit)
        events.append(ev.PipelineEvent(
            ev.OUTAGE, int(a), int(b),
            f"no valid reading between {format_iso_utc(int(a))} and {format_iso_utc(int(b))} "
            f"({n_out} failed or flagged poll(s), or acquisition downtime): the register was not "
            f"watched, so {len(idx)} interval(s) between {format_iso_utc(int(starts[idx[0]]))} and "
            f"{format_iso_utc(int(starts[idx[-1]]) + res)} are estimated, not measured",
            meter, channel))
    return IntervalSeries(starts, series.quantity, quality, res), events
