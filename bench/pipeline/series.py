"""An interval series: regular UTC intervals labelled by their start, with quantity and quality.

The arrays are the contract between stages: ``start_ms`` int64, ``quantity`` float64 kWh with NaN
where nothing is known, ``quality`` uint8 :class:`meterbench.core.quality.Quality` codes. A missing interval
always has NaN quantity and quality MISSING, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.quality import Quality


@dataclass(frozen=True)
class IntervalSeries:
    """Regular intervals ``[start_ms[k], start_ms[k] + resolution_ms)``."""

    start_ms: np.ndarray
    quantity: np.ndarray
    quality: np.ndarray
    resolution_ms: int

    def __post_init__(self) -> None:
        n = len(self.start_ms)
        if len(self.quantity) != n or len(self.quality) != n:
            raise ValueError("start_ms, quantity and quality must have the same length")

    def __len__(self) -> int:
        return len(self.start_ms)

    @property
    def end_ms(self) -> int:
        """End of the last interval (exclusive)."""
        if not len(self.start_ms):
            raise ValueError("empty series has no end")
        return int(self.start_ms[-1]) + self.resolution_ms

    def slice_time(self, start_ms: int, end_ms: int) -> IntervalSeries:
        """The intervals whose start lies in ``[start_ms, end_ms)``."""
        keep = (self.start_ms >= start_ms) & (self.start_ms < end_ms)
        return IntervalSeries(self.start_ms[keep], self.quantity[keep], self.quality[keep],
                              self.resolution_ms)

    def total_kwh(self) -> float:
        """Sum over intervals that have a quantity (missing ones contribute nothing)."""
        return float(np.nansum(self.quantity))

    def count(self, quality: Quality) -> int:
        return int(np.count_nonzero(self.quality == quality))


def interval_starts(start_ms: int, end_ms: int, resolution_ms: int) -> np.ndarray:
    """Starts of the intervals covering ``[start_ms, end_ms)``; both ends must be on the grid."""
    if resolution_ms <= 0:
        raise ValueError(f"resolution must be positive, got {resolution_ms} ms")
    if start_ms % resolution_ms or end_ms % resolution_ms:
        raise ValueError(f"start {start_ms} and end {end_ms} must be multiples of the "
                         f"resolution {resolution_ms} ms (intervals sit on the UTC grid)")
    if end_ms < start_ms:
        raise ValueError("end before start")
    return np.arange(start_ms, end_ms, resolution_ms, dtype=np.int64)


def empty_like_grid(starts: np.ndarray, resolution_ms: int) -> IntervalSeries:
    """All-missing series on the given grid."""
    n = len(starts)
    return IntervalSeries(starts, np.full(n, np.nan), np.zeros(n, dtype=np.uint8), resolution_ms)
