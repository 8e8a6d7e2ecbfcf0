"""Synthetic ground truth for the pipeline tests: a piecewise-constant load and meters reading it.

The true cumulative energy is exact (piecewise linear), so every test knows the truth it must
recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from meterbench.core.timeutil import to_ms
from meterbench.pipeline.localday import reindex
from meterbench.pipeline.series import IntervalSeries

MIN = 60_000
H = 3_600_000
DAY = 24 * H
#: A May day (summer time) for clock tests.
T0 = to_ms(datetime(2026, 5, 4, tzinfo=UTC))
#: Two weeks around the spring daylight-saving change of 29 March 2026.
SPAN_START = to_ms(datetime(2026, 3, 22, tzinfo=UTC))
SPAN_END = to_ms(datetime(2026, 4, 5, tzinfo=UTC))
#: Two weeks around the autumn change of 25 October 2026.
AUTUMN_SPAN = (to_ms(datetime(2026, 10, 18, tzinfo=UTC)), to_ms(datetime(2026, 11, 1, tzinfo=UTC)))
CPH = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class Load:
    edges_ms: np.ndarray  # switching times, increasing
    kw: np.ndarray  # power before the first edge, between edges, after the last (len(edges)+1)

    @classmethod
    def random(cls, rng: np.random.Generator, start_ms: int, end_ms: int, *,
               mean_step_ms: int = 5 * 60_000, max_kw: float = 10.0) -> Load:
        n = max(int((end_ms - start_ms) / mean_step_ms), 2)
        edges = np.sort(rng.uniform(start_ms, end_ms, n))
        return cls(edges, rng.uniform(0.0, max_kw, n + 1))

    def energy_kwh(self, t_ms: np.ndarray) -> np.ndarray:
        """True cumulative kWh since the first edge, at (float) times."""
        t = np.asarray(t_ms, dtype=np.float64)
        cum = np.concatenate([[0.0], np.cumsum(self.kw[1:-1] * np.diff(self.edges_ms) / H)])
        i = np.clip(np.searchsorted(self.edges_ms, t, side="right") - 1, 0, len(cum) - 1)
        before = t < self.edges_ms[0]
        e = cum[i] + self.kw[i + 1] * (t - self.edges_ms[i]) / H
        return np.where(before, self.kw[0] * (t - self.edges_ms[0]) / H, e)


def poll_times(rng: np.random.Generator, start_ms: int, end_ms: int, step_ms: int,
               jitter_ms: int) -> np.ndarray:
    base = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    if jitter_ms:
        base = base + rng.integers(-jitter_ms, jitter_ms + 1, len(base))
    return np.unique(base)


def operator_and_reference(seed: int, offset_ms: float, drift_ppm: float, step_ms: int = MIN):
    rng = np.random.default_rng(seed)
    load = Load.random(rng, T0 - 2 * H, T0 + DAY + 2 * H)
    rt = poll_times(rng, T0, T0 + DAY, step_ms, 2000)
    rv = np.round(1000 + load.energy_kwh(rt), 3)
    tau = poll_times(rng, T0, T0 + DAY, step_ms, 2000)  # true times of the operator's polls
    ov = np.round(500 + load.energy_kwh(tau) * 1.004, 3)  # +0.4 % meter error, 1 Wh register
    t_mid = T0 + DAY // 2
    ot = np.round(tau + offset_ms + drift_ppm * 1e-6 * (tau - t_mid)).astype(np.int64)
    return load, (ot, ov), (rt, rv), tau, t_mid


def utc_offset_ms(t_ms: np.ndarray) -> np.ndarray:
    return np.array([int(datetime.fromtimestamp(x / 1000, UTC).astimezone(CPH)
                         .utcoffset().total_seconds() * 1000) for x in t_ms.tolist()])


def daily_reference(seed: int, res: int, span: tuple[int, int] = (SPAN_START, SPAN_END)
                    ) -> IntervalSeries:
    """A reference meter's intervals: base load, an evening peak, random appliance events."""
    rng = np.random.default_rng(seed)
    starts = np.arange(span[0], span[1], res, dtype=np.int64)
    hour = (starts // H) % 24
    base = 0.2 + 0.8 * ((hour >= 17) & (hour < 21)) + 0.3 * rng.random(len(starts))
    ev = (rng.random(len(starts)) < 0.08) * rng.uniform(1, 3, len(starts))
    qty = (base + ev) * res / H
    return IntervalSeries(starts, qty, np.ones(len(starts), dtype=np.uint8), res)


def relabel(ref: IntervalSeries, label_of_true: np.ndarray, seed: int) -> IntervalSeries:
    rng = np.random.default_rng(seed + 1)
    qty = ref.quantity * (1.002 + 0.003 * rng.standard_normal(len(ref)))
    labelled = IntervalSeries(label_of_true, qty, ref.quality.copy(), ref.resolution_ms)
    order = np.argsort(labelled.start_ms, kind="stable")
    labelled = IntervalSeries(labelled.start_ms[order], labelled.quantity[order],
                              labelled.quality[order], ref.resolution_ms)
    return reindex(labelled, int(labelled.start_ms[0]), int(labelled.start_ms[-1]) + ref.resolution_ms)
