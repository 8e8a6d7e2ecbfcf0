"""Operator meter vs reference meter, interval by interval.

The accuracy verdicts build on this: per interval the relative error of the operator value against
the reference, and both qualities, so a verdict can keep to intervals measured on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.quality import Quality
from meterbench.pipeline.series import IntervalSeries


@dataclass(frozen=True)
class IntervalComparison:
    """Intervals present in both series (matched by start). ``error_pct`` is
    ``(operator - reference) / reference x 100``, NaN when either value is missing or the
    reference is below ``min_reference_kwh`` (a relative error of nothing means nothing)."""

    start_ms: np.ndarray
    resolution_ms: int
    operator_kwh: np.ndarray
    reference_kwh: np.ndarray
    error_kwh: np.ndarray
    error_pct: np.ndarray
    operator_quality: np.ndarray
    reference_quality: np.ndarray

    @property
    def both_measured(self) -> np.ndarray:
        return ((self.operator_quality == Quality.MEASURED)
                & (self.reference_quality == Quality.MEASURED))

    def energy_weighted_error_pct(self, mask: np.ndarray | None = None) -> float:
        """Σ(op − ref) / Σ ref x 100 over ``mask`` (default: intervals measured on both sides
        with a usable error); NaN if the reference energy there is zero."""
        m = self.both_measured & np.isfinite(self.error_pct) if mask is None else mask
        ref = float(np.sum(self.reference_kwh[m]))
        if ref == 0:
            return float("nan")
        return float(np.sum(self.operator_kwh[m] - self.reference_kwh[m]) / ref * 100.0)


def compare_intervals(operator: IntervalSeries, reference: IntervalSeries, *,
                      min_reference_kwh: float = 0.0) -> IntervalComparison:
    """Match the two series by interval start and compute the per-interval error."""
    if operator.resolution_ms != reference.resolution_ms:
        raise ValueError(f"resolutions differ: {operator.resolution_ms} ms vs "
                         f"{reference.resolution_ms} ms")
    starts, io, ir = np.intersect1d(operator.start_ms, reference.start_ms, assume_unique=True,
                                    return_indices=True)
    op = operator.quantity[io]
    ref = reference.quantity[ir]
    err = op - ref
    usable = np.isfinite(err) & (np.abs(ref) > min_reference_kwh) & (ref != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(usable, err / np.where(usable, ref, 1.0) * 100.0, np.nan)
    return IntervalComparison(starts, operator.resolution_ms, op, ref, err, pct,
                              operator.quality[io], reference.quality[ir])
