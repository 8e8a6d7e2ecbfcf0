"""Intervals for one meter's cumulative register, with quality and plain-words events.

This is the entry point the run pipeline and the CLI call per (meter, channel). It cleans the
readings (sorts them, drops NaN and duplicate times), runs the vectorized core
(:func:`meterbench.pipeline.registers.intervals_many` with one meter, so both paths give identical
numbers) and explains every anomaly as a :class:`~meterbench.pipeline.events.PipelineEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR, MS_PER_MIN, format_iso_utc
from meterbench.pipeline import events as ev
from meterbench.pipeline.events import PipelineEvent
from meterbench.pipeline.registers import (
    ANOMALY_JUMP,
    ANOMALY_RESET,
    ANOMALY_ROLLOVER,
    ManyMeterIntervals,
    intervals_many,
)
from meterbench.pipeline.series import IntervalSeries, interval_starts

#: Project defaults (docs/pipeline.md), design choices rather than regulation: a boundary is
#: measured when its readings are at most 2.5 polling periods apart, a gap is filled up to 6 h,
#: and CSV exports (polling period unknown) use a 5-minute bracket limit.
MAX_GAP_POLL_FACTOR = 2.5
DEFAULT_ESTIMATE_LIMIT_MS = 6 * MS_PER_HOUR
DEFAULT_CSV_MAX_GAP_MS = 5 * MS_PER_MIN


@dataclass(frozen=True)
class MeterIntervals:
    """One meter channel's interval series and what was odd about its readings."""

    series: IntervalSeries
    events: list[ev.PipelineEvent] = field(default_factory=list)
    max_gap_ms: int = 0


@dataclass(frozen=True)
class CleanReadings:
    times_ms: np.ndarray
    values_kwh: np.ndarray
    events: list[ev.PipelineEvent]


def clean_readings(times_ms: np.ndarray, values_kwh: np.ndarray, *, meter: str | None = None,
                   channel: str | None = None) -> CleanReadings:
    """Sorted readings with NaN dropped and one reading per time (the first one is kept)."""
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(values_kwh, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("times_ms and values_kwh must be 1-D arrays of equal length")
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    events: list[ev.PipelineEvent] = []
    if len(t) > 1:
        dup = np.flatnonzero(np.diff(t) == 0) + 1
        conflicting = dup[v[dup] != v[dup - 1]]
        for i in conflicting[:100]:
            events.append(ev.PipelineEvent(
                ev.DUPLICATE, int(t[i]), int(t[i]),
                f"two readings at {format_iso_utc(int(t[i]))} disagree ({v[i - 1]:.6g} and "
                f"{v[i]:.6g} kWh); the first was kept", meter, channel))
        keep = np.ones(len(t), dtype=bool)
        keep[dup] = False
        t, v = t[keep], v[keep]
    t, v, glitches = _drop_glitches(t, v, meter, channel)
    return CleanReadings(t, v, events + glitches)


def _drop_glitches(t: np.ndarray, v: np.ndarray, meter: str | None, channel: str | None
                   ) -> tuple[np.ndarray, np.ndarray, list[ev.PipelineEvent]]:
    """Single readings that break a register's monotony while their neighbours agree.

    A cumulative register only counts up (or wraps, or resets to near zero and stays there). A
    reading below its predecessor whose successor is back at or above the predecessor, or above
    its successor while the successor is at or above the predecessor, is a misread value, not a
    reset or a burst of consumption: kept, it would make a "reset" (a missing interval) followed
    by a jump of the same size counted as measured energy. No rated power is needed to see it.
    """
    if len(v) < 3:
        return t, v, []
    prev, mid, nxt = v[:-2], v[1:-1], v[2:]
    glitch = (nxt >= prev) & ((mid < prev) | (mid > nxt))
    idx = np.flatnonzero(glitch) + 1
    if not len(idx):
        return t, v, []
    events = [ev.PipelineEvent(
        ev.GLITCH, int(t[i - 1]), int(t[i + 1]),
        f"reading {v[i]:.6g} kWh at {format_iso_utc(int(t[i]))} is out of line with its "
        f"neighbours ({v[i - 1]:.6g} and {v[i + 1]:.6g} kWh): a misread value, not used",
        meter, channel) for i in idx[:100].tolist()]
    keep = np.ones(len(t), dtype=bool)
    keep[idx] = False
    return t[keep], v[keep], events


def polling_period_ms(times_ms: np.ndarray) -> int:
    """The typical spacing of readings (median), used for the default bracket limit."""
    if len(times_ms) < 2:
        return 0
    return int(np.median(np.diff(np.asarray(times_ms, dtype=np.int64))))


def intervals_from_register(times_ms: np.ndarray, values_kwh: np.ndarray, start_ms: int,
                            end_ms: int, resolution_ms: int, max_gap_ms: int | None = None,
                            estimate_limit_ms: int = DEFAULT_ESTIMATE_LIMIT_MS,
                            rollover_kwh: float | None = None, max_power_w: float | None = None,
                            *, meter: str | None = None, channel: str | None = None
                            ) -> MeterIntervals:
    """Intervals ``[start_ms, end_ms)`` of one cumulative register (import or export).

    ``max_gap_ms=None`` means 2.5 x the median polling period. ``start_ms``/``end_ms`` must lie on
    the resolution grid. The rules are described in :mod:`meterbench.pipeline.registers`.
    """
    starts = interval_starts(start_ms, end_ms, resolution_ms)
    clean = clean_readings(times_ms, values_kwh, meter=meter, channel=channel)
    t, v = clean.times_ms, clean.values_kwh
    if max_gap_ms is None:
        max_gap_ms = int(MAX_GAP_POLL_FACTOR * polling_period_ms(t))
    core = intervals_many(np.array([0, len(t)]), t, v, start_ms, end_ms, resolution_ms,
                          max_gap_ms, estimate_limit_ms, rollover_kwh, max_power_w)
    series = IntervalSeries(starts, core.quantity[0], core.quality[0], resolution_ms)
    events = list(clean.events)
    events += _anomaly_events(t, v, core.anomaly_pair, core.anomaly_kind, series, rollover_kwh,
                              meter, channel)
    events += _gap_events(t, core.gap_pair, series, max_gap_ms, estimate_limit_ms, meter,
                          channel)
    events.sort(key=lambda e: (e.start_ms, e.kind))
    return MeterIntervals(series, events, int(max_gap_ms))


def many_meter_events(result: ManyMeterIntervals, offsets: np.ndarray, times_ms: np.ndarray,
                      values_kwh: np.ndarray, meters: list[str], *,
                      max_gap_ms: float | np.ndarray, estimate_limit_ms: float | np.ndarray,
                      rollover_kwh: float | np.ndarray | None = None,
                      channel: str | None = None) -> list[PipelineEvent]:
    """Plain-words events for the meters of an :func:`intervals_many` result that had any.

    Same texts as :func:`intervals_from_register`; only meters with anomalies or gaps cost time.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n_meters = len(offsets) - 1

    def per_meter(x: float | np.ndarray | None, m: int) -> float | None:
        if x is None:
            return None
        return float(np.broadcast_to(np.asarray(x, dtype=np.float64), (n_meters,))[m])

    owner_a = np.searchsorted(offsets, result.anomaly_pair, side="right") - 1
    owner_g = np.searchsorted(offsets, result.gap_pair, side="right") - 1
    out: list[PipelineEvent] = []
    for m in np.union1d(owner_a, owner_g).tolist():
        a = int(offsets[m])
        t = np.asarray(times_ms[a:int(offsets[m + 1])], dtype=np.int64)
        v = np.asarray(values_kwh[a:int(offsets[m + 1])], dtype=np.float64)
        series = IntervalSeries(result.start_ms, result.quantity[m], result.quality[m],
                                result.resolution_ms)
        sel = owner_a == m
        out += _anomaly_events(t, v, result.anomaly_pair[sel] - a, result.anomaly_kind[sel],
                               series, per_meter(rollover_kwh, m), meters[m], channel)
        out += _gap_events(t, result.gap_pair[owner_g == m] - a, series,
                           int(per_meter(max_gap_ms, m) or 0),
                           int(per_meter(estimate_limit_ms, m) or 0), meters[m], channel)
    out.sort(key=lambda e: (e.meter or "", e.start_ms, e.kind))
    return out


def _affected(series: IntervalSeries, t0: int, t1: int) -> tuple[int, int, int]:
    """(first, last, n) of intervals overlapping ``[t0, t1]`` that are not measured."""
    res = series.resolution_ms
    hit = (series.start_ms < t1) & (series.start_ms + res > t0) & (series.quality
                                                                    != Quality.MEASURED)
    idx = np.flatnonzero(hit)
    if not len(idx):
        return -1, -1, 0
    return int(idx[0]), int(idx[-1]), len(idx)


def _span_words(series: IntervalSeries, first: int, last: int, n: int) -> str:
    if n == 0:
        return "no interval in the requested span is affected"
    a = format_iso_utc(int(series.start_ms[first]))
    b = format_iso_utc(int(series.start_ms[last]) + series.resolution_ms)
    qualities = {Quality(int(q)).label for q in series.quality[first:last + 1]
                 if q != Quality.MEASURED}
    return f"{n} interval(s) between {a} and {b} are {' / '.join(sorted(qualities))}"


def _anomaly_events(t: np.ndarray, v: np.ndarray, pairs: np.ndarray, kinds: np.ndarray,
                    series: IntervalSeries, rollover_kwh: float | None, meter: str | None,
                    channel: str | None) -> list[ev.PipelineEvent]:
    out: list[ev.PipelineEvent] = []
    for k, kind in zip(pairs.tolist(), kinds.tolist(), strict=True):
        t0, t1 = int(t[k]), int(t[k + 1])
        when = f"between {format_iso_utc(t0)} and {format_iso_utc(t1)}"
        if kind == ANOMALY_ROLLOVER:
            text = (f"register rolled over at its modulus {rollover_kwh:g} kWh {when} "
                    f"({v[k]:.6g} -> {v[k + 1]:.6g} kWh); unwrapped, energy kept")
            out.append(ev.PipelineEvent(ev.ROLLOVER, t0, t1, text, meter, channel))
            continue
        first, last, n = _affected(series, t0, t1)
        if kind == ANOMALY_RESET:
            text = (f"register went down {when} ({v[k]:.6g} -> {v[k + 1]:.6g} kWh): a reset, "
                    f"not consumption; the energy across it is unknown, so "
                    f"{_span_words(series, first, last, n)}")
            out.append(ev.PipelineEvent(ev.RESET, t0, t1, text, meter, channel))
        elif kind == ANOMALY_JUMP:
            hours = (t1 - t0) / MS_PER_HOUR
            kw = (v[k + 1] - v[k]) / hours if hours > 0 else float("inf")
            text = (f"implausible jump {when}: {v[k]:.6g} -> {v[k + 1]:.6g} kWh implies "
                    f"{kw:,.1f} kW, above the meter's maximum; not used, so "
                    f"{_span_words(series, first, last, n)}")
            out.append(ev.PipelineEvent(ev.JUMP, t0, t1, text, meter, channel))
    return out


def _gap_events(t: np.ndarray, gap_pairs: np.ndarray, series: IntervalSeries, max_gap_ms: int,
                estimate_limit_ms: int, meter: str | None, channel: str | None
                ) -> list[ev.PipelineEvent]:
    out: list[ev.PipelineEvent] = []
    for k in gap_pairs.tolist():
        t0, t1 = int(t[k]), int(t[k + 1])
        minutes = (t1 - t0) / MS_PER_MIN
        first, last, n = _affected(series, t0, t1)
        if t1 - t0 <= estimate_limit_ms:
            how = "filled by a straight line between the readings (energy conserved)"
        else:
            how = (f"longer than the estimation limit of {estimate_limit_ms / MS_PER_HOUR:g} h, "
                   "so not filled")
        text = (f"no readings for {minutes:,.1f} min between {format_iso_utc(t0)} and "
                f"{format_iso_utc(t1)} (more than {max_gap_ms / 1000:g} s): {how}; "
                f"{_span_words(series, first, last, n)}")
        out.append(ev.PipelineEvent(ev.GAP, t0, t1, text, meter, channel))
    return out
