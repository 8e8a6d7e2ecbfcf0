"""Synthetic ground truth for the pipeline tests: a piecewise-constant load and meters reading it.

The true cumulative energy is exact (piecewise linear), so every test knows the truth it must
recover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

H = 3_600_000


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
